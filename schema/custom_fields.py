from __future__ import annotations

from datetime import datetime

import strawberry
from tortoise.expressions import Q

from models.customers import CustomFieldDefinition as CustomFieldDefinitionRow
from resolvers import custom_fields
from resolvers.pagination import Ordering
from schema.context import Info
from schema.errors import UserError, payload_or_errors
from schema.inputs import changes_of
from schema.permissions import IsAuthenticated, IsStaff
from schema.relay import Connection, ModelNode, connection, decode_id

BY_NAME = Ordering("name")


@strawberry.type(
    description="A custom field the organization keeps on its customers. A customer's value "
    "belongs to the definition of the same name, ignoring case."
)
class CustomFieldDefinition(ModelNode):
    model = CustomFieldDefinitionRow

    id: strawberry.relay.NodeID[int]
    name: str
    editable_in_portal: bool = strawberry.field(
        description="Portal contacts may set this field on their customer (updateMyCustomer) "
        "while the portal lets customers edit their details."
    )
    created_at: datetime

    @classmethod
    def from_row(cls, row: CustomFieldDefinitionRow) -> CustomFieldDefinition:
        return cls(
            id=row.id,
            name=row.name,
            editable_in_portal=row.editable_in_portal,
            created_at=row.created_at,
        )


@strawberry.input
class CustomFieldDefinitionFilter:
    editable_in_portal: bool | None = None


@strawberry.type
class CustomFieldQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The organization's custom fields by name: for staff, portal contacts and "
        "partner keys (customers:read).",
    )
    async def custom_field_definitions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: CustomFieldDefinitionFilter | None = None,
    ) -> Connection[CustomFieldDefinition]:
        where = Q()
        if filter and filter.editable_in_portal is not None:
            where = Q(editable_in_portal=filter.editable_in_portal)
        return await connection(
            info, CustomFieldDefinition, where=where, order_by=BY_NAME, first=first, after=after
        )


@strawberry.input
class DefineCustomFieldInput:
    name: str
    editable_in_portal: bool = False


@strawberry.input
class UpdateCustomFieldDefinitionInput:
    id: strawberry.ID
    name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Customers' values are not renamed: those under the old name no longer "
        "belong to this field.",
    )
    editable_in_portal: bool | None = strawberry.UNSET


@strawberry.input
class DeleteCustomFieldDefinitionInput:
    id: strawberry.ID


@strawberry.type
class CustomFieldDefinitionPayload:
    custom_field_definition: CustomFieldDefinition | None = None
    errors: list[UserError]


@strawberry.type
class DeleteCustomFieldDefinitionPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class CustomFieldMutations:
    @strawberry.mutation(
        permission_classes=[IsStaff], description="Names are unique, ignoring case."
    )
    async def define_custom_field(
        self, info: Info, input: DefineCustomFieldInput
    ) -> CustomFieldDefinitionPayload:
        async def action() -> dict:
            row = await custom_fields.define(
                info.context.staff, input.name, input.editable_in_portal
            )
            return {"custom_field_definition": CustomFieldDefinition.from_row(row)}

        return await payload_or_errors(CustomFieldDefinitionPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def update_custom_field_definition(
        self, info: Info, input: UpdateCustomFieldDefinitionInput
    ) -> CustomFieldDefinitionPayload:
        async def action() -> dict:
            definition_id = decode_id(input.id, CustomFieldDefinition)
            row = await custom_fields.update(info.context.staff, definition_id, changes_of(input))
            return {"custom_field_definition": CustomFieldDefinition.from_row(row)}

        return await payload_or_errors(CustomFieldDefinitionPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Customers keep their values of the field; contacts can no longer edit them.",
    )
    async def delete_custom_field_definition(
        self, info: Info, input: DeleteCustomFieldDefinitionInput
    ) -> DeleteCustomFieldDefinitionPayload:
        async def action() -> dict:
            definition_id = decode_id(input.id, CustomFieldDefinition)
            await custom_fields.delete(info.context.staff, definition_id)
            return {"deleted_id": input.id}

        return await payload_or_errors(DeleteCustomFieldDefinitionPayload, action)
