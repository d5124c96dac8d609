from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from integrations.placeholders import placeholder
from resolvers import email_templates
from schema.context import Info
from schema.edge import LONG_TEXT_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.permissions import IsAdmin, IsStaff

STAFF_USERS_ONLY = "Staff users only."


@strawberry.enum(description="The emails whose wording an organization may rewrite.")
class EmailTemplateName(Enum):
    REVIEW_REQUEST = email_templates.REVIEW_REQUEST.name


@strawberry.type(description="A value the email fills in where the text names it.")
class TemplatePlaceholder:
    name: str
    token: str = strawberry.field(description="What to write in the text, e.g. {{ contact_name }}.")
    description: str


@strawberry.type(
    description="The subject and body an email is sent with: the organization's own wording, "
    "sent as written in every language, or Portico's built-in one, translated into each "
    f"customer's portal language. {STAFF_USERS_ONLY}"
)
class EmailTemplate:
    name: EmailTemplateName
    subject: str
    body: str = strawberry.field(
        description="Plain text: a blank line starts a paragraph, placeholders like "
        "{{ contact_name }} are filled in; nothing else is interpreted."
    )
    customized: bool = strawberry.field(
        description="false: the built-in wording, shown in the organization's language."
    )
    updated_at: datetime | None
    placeholders: list[TemplatePlaceholder]

    @classmethod
    def of(cls, wording: email_templates.Wording) -> EmailTemplate:
        template = wording.template
        return cls(
            name=EmailTemplateName(template.name),
            subject=wording.subject,
            body=wording.body,
            customized=wording.customized,
            updated_at=wording.updated_at,
            placeholders=[
                TemplatePlaceholder(
                    name=p.name, token=placeholder(p.name), description=p.description
                )
                for p in template.placeholders
            ],
        )


@strawberry.type
class EmailTemplateQueries:
    @strawberry.field(permission_classes=[IsStaff], description=STAFF_USERS_ONLY)
    async def email_template(self, info: Info, name: EmailTemplateName) -> EmailTemplate:
        wording = await email_templates.wording(info.context.staff, name.value)
        return EmailTemplate.of(wording)


@strawberry.input
class UpdateEmailTemplateInput:
    name: EmailTemplateName
    subject: str = strawberry.field(description="One line, at most 200 characters.")
    body: str = limited(
        LONG_TEXT_LENGTH,
        description="At most 10,000 characters; must contain the placeholders the email "
        "cannot do without (the review request: {{ review_link }}).",
    )


@strawberry.input
class ResetEmailTemplateInput:
    name: EmailTemplateName


@strawberry.type
class EmailTemplatePayload:
    email_template: EmailTemplate | None = None
    errors: list[UserError]


@strawberry.type
class EmailTemplateMutations:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Saves the organization's own subject and body for an email. Placeholders "
        "not on the email's list are refused (UNKNOWN_PLACEHOLDER). Administrators only.",
    )
    async def update_email_template(
        self, info: Info, input: UpdateEmailTemplateInput
    ) -> EmailTemplatePayload:
        async def action() -> dict:
            wording = await email_templates.update(
                info.context.staff, input.name.value, input.subject, input.body
            )
            return {"email_template": EmailTemplate.of(wording)}

        return await payload_or_errors(EmailTemplatePayload, action)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Goes back to the built-in, translated wording. Administrators only.",
    )
    async def reset_email_template(
        self, info: Info, input: ResetEmailTemplateInput
    ) -> EmailTemplatePayload:
        async def action() -> dict:
            wording = await email_templates.reset(info.context.staff, input.name.value)
            return {"email_template": EmailTemplate.of(wording)}

        return await payload_or_errors(EmailTemplatePayload, action)
