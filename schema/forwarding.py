from __future__ import annotations

import strawberry

from resolvers import forwarding
from schema.context import Info
from schema.documents import document_id
from schema.edge import EMAIL_LENGTH, LONG_TEXT_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.permissions import IsContact


@strawberry.input
class ForwardSalesDocumentInput:
    id: strawberry.ID = strawberry.field(description="An invoice, quote or sales order.")
    to: str = limited(EMAIL_LENGTH, description="The email address to send it to.")
    message: str = limited(LONG_TEXT_LENGTH, default="")


@strawberry.type
class ForwardSalesDocumentPayload:
    sent_to: str | None = None
    errors: list[UserError]


@strawberry.type
class ForwardingMutations:
    @strawberry.mutation(
        permission_classes=[IsContact],
        description="Emails an invoice, quote or sales order with its PDF to someone, with a "
        "message, while the portal allows forwarding; the recipient becomes a contact person "
        "of the customer without portal access. At most 20 an hour.",
    )
    async def forward_sales_document(
        self, info: Info, input: ForwardSalesDocumentInput
    ) -> ForwardSalesDocumentPayload:
        async def action() -> dict:
            sent_to = await forwarding.forward_document(
                info.context.contact, document_id(input.id), input.to, input.message
            )
            return {"sent_to": sent_to}

        return await payload_or_errors(ForwardSalesDocumentPayload, action)
