"""Emails whose wording an organization may rewrite: the subject and body it saved, or else
Portico's own translated template. Saved wording is sent as written, in every language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from auth.principals import StaffPrincipal
from integrations.placeholders import (
    normalize_newlines,
    placeholder,
    placeholders_in,
    render_written,
)
from integrations.templating import RenderedEmail, render_email
from models.organizations import Organization
from models.reviews import EmailTemplate
from resolvers import transactions
from resolvers.errors import ErrorCode, reject
from resolvers.notifications import language_of
from resolvers.validation import Checker

SUBJECT_LIMIT = 200
BODY_LIMIT = 10_000


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: str


@dataclass(frozen=True)
class Customizable:
    """An email an organization may rewrite; `name` is also its built-in template's name."""

    name: str
    placeholders: tuple[Placeholder, ...]
    # Placeholders the body cannot do without, e.g. the link the email exists for.
    required: tuple[str, ...] = ()
    # Placeholders holding a URL, made clickable in the HTML part.
    links: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.placeholders)


REVIEW_REQUEST = Customizable(
    "review_request",
    (
        Placeholder("contact_name", "The name of the contact person the email goes to."),
        Placeholder("customer_name", "The customer's display name."),
        Placeholder("organization_name", "Your organization's name."),
        Placeholder("review_link", "The customer portal page where the review is written."),
    ),
    required=("review_link",),
    links=("review_link",),
)
CUSTOMIZABLE = {template.name: template for template in (REVIEW_REQUEST,)}


@dataclass(frozen=True)
class Wording:
    template: Customizable
    subject: str
    body: str
    customized: bool
    updated_at: datetime | None = None


async def wording(principal: StaffPrincipal, name: str) -> Wording:
    """What the organization sends: its own wording, or the built-in one in its language."""
    template = _customizable(name)
    saved = await saved_wording(principal.organization_id, template)
    if saved is not None:
        return Wording(template, saved.subject, saved.body, True, saved.updated_at)
    return await _built_in(principal.organization_id, template)


async def update(principal: StaffPrincipal, name: str, subject: str, body: str) -> Wording:
    template = _customizable(name)
    subject, body = _checked(template, subject, body)
    now = datetime.now(UTC)
    values = {"subject": subject, "body": body, "updated_at": now}
    where = {"organization_id": principal.organization_id, "name": template.name}
    async with transactions.unit_of_work():
        if not await EmailTemplate.filter(**where).update(**values):
            try:
                async with transactions.savepoint():
                    await EmailTemplate.create(**where, **values)
            except IntegrityError:  # saved a moment ago by another request
                await EmailTemplate.filter(**where).update(**values)
    return Wording(template, subject, body, True, now)


async def reset(principal: StaffPrincipal, name: str) -> Wording:
    """Back to the built-in, translated wording."""
    template = _customizable(name)
    await EmailTemplate.filter(
        organization_id=principal.organization_id, name=template.name
    ).delete()
    return await _built_in(principal.organization_id, template)


def render(
    template: Customizable,
    saved: EmailTemplate | None,
    *,
    values: Mapping[str, str],
    language: str,
    organization_name: str,
) -> RenderedEmail:
    """`saved` is the organization's wording (`saved_wording`); None sends the built-in one."""
    if saved is None:
        return render_email(template.name, values, language)
    return render_written(
        subject=saved.subject,
        body=saved.body,
        values=values,
        language=language,
        organization_name=organization_name,
        links=template.links,
    )


async def saved_wording(organization_id: int, template: Customizable) -> EmailTemplate | None:
    return await EmailTemplate.get_or_none(organization_id=organization_id, name=template.name)


async def _built_in(organization_id: int, template: Customizable) -> Wording:
    organization = await Organization.get(id=organization_id)
    # Rendered with the placeholders as values, it reads as a starting point for rewriting.
    markers = {name: placeholder(name) for name in template.names}
    rendered = render_email(template.name, markers, language_of(organization.locale))
    return Wording(template, rendered.subject, rendered.text.strip(), False)


def _customizable(name: str) -> Customizable:
    template = CUSTOMIZABLE.get(name)
    if template is None:
        raise reject(ErrorCode.NOT_FOUND, "No such email template.", ["name"])
    return template


def _checked(template: Customizable, subject: str, body: str) -> tuple[str, str]:
    checker = Checker()
    subject = checker.text(subject, ["subject"], max_length=SUBJECT_LIMIT, required=True)
    if "\n" in subject:
        checker.add(ErrorCode.INVALID, "The subject is one line.", ["subject"])
    body = normalize_newlines(body or "")
    body = checker.text(body, ["body"], max_length=BODY_LIMIT, required=True)
    for field, text in (("subject", subject), ("body", body)):
        unknown = [name for name in placeholders_in(text) if name not in template.names]
        if unknown:
            known = ", ".join(placeholder(name) for name in template.names)
            checker.add(
                ErrorCode.UNKNOWN_PLACEHOLDER,
                f"Unknown placeholder {placeholder(unknown[0])}. Use {known}.",
                [field],
            )
    missing = [name for name in template.required if name not in placeholders_in(body)]
    if body and missing:
        checker.add(
            ErrorCode.MISSING_PLACEHOLDER,
            f"The body needs {placeholder(missing[0])}.",
            ["body"],
        )
    checker.raise_if_any()
    return subject, body
