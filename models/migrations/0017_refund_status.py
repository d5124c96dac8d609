from tortoise import migrations
from tortoise.migrations import operations as ops
from models.payments import RefundStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0016_persisted_queries')]

    initial = False

    operations = [
        ops.AddField(
            model_name='PaymentRefund',
            name='failure_reason',
            field=fields.CharField(default='', max_length=300),
        ),
        ops.AddField(
            model_name='PaymentRefund',
            name='gateway_reference',
            field=fields.CharField(default='', max_length=100),
        ),
        ops.AddField(
            model_name='PaymentRefund',
            name='refund_key',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='PaymentRefund',
            name='status',
            field=fields.CharEnumField(default=RefundStatus.SUCCEEDED, description='PROCESSING: PROCESSING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=RefundStatus, max_length=16),
        ),
        ops.AddIndex(
            model_name='PaymentRefund',
            index=Index(fields=['refund_key']),
        ),
        ops.AddIndex(
            model_name='PaymentRefund',
            index=Index(fields=['status', 'created_at']),
        ),
    ]
