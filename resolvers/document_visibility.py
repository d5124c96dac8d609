"""Which kinds of document a portal contact may see, by the organization's preferences."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.queryset import QuerySet

from auth.errors import Forbidden
from auth.principals import Principal, portal_customer_of
from auth.scoping import scoped
from models.comments import Comment
from models.documents import DocumentKind, DocumentStatus, SalesDocument
from resolvers import portal_features
from resolvers.portal_features import Feature
from resolvers.preferences import preferences_for

# Kinds shown in the portal only while their switch is on.
GATED: dict[DocumentKind, Feature] = {
    DocumentKind.SALES_ORDER: portal_features.SALES_ORDERS,
    DocumentKind.CREDIT_NOTE: portal_features.CREDIT_NOTES,
}


async def hidden_kinds(principal: Principal) -> frozenset[DocumentKind]:
    if portal_customer_of(principal) is None:
        return frozenset()
    return await hidden_in_portal(principal.organization_id)


async def hidden_in_portal(organization_id: int) -> frozenset[DocumentKind]:
    preferences = await preferences_for(organization_id)
    return frozenset(
        kind
        for kind, feature in GATED.items()
        if not portal_features.is_on(feature, preferences, customer=None)
    )


async def shown_in_portal(document: SalesDocument) -> bool:
    """Whether the customer's portal contacts see the document now."""
    if document.status == DocumentStatus.DRAFT:
        return False
    return document.kind not in await hidden_in_portal(document.organization_id)


async def visible_comments(principal: Principal) -> QuerySet[Comment]:
    """The comments a principal sees: its scope, less those on a kind the portal hides. Their
    attachments follow the same rule."""
    comments = scoped(Comment, principal)
    hidden = await hidden_kinds(principal)
    return comments.exclude(document__kind__in=list(hidden)) if hidden else comments


async def require_visible(principal: Principal, kinds: Iterable[DocumentKind]) -> None:
    """A hidden kind asked for by name is refused outright, not answered with nothing."""
    hidden = await hidden_kinds(principal)
    for kind in kinds:
        if kind in hidden:
            raise Forbidden(GATED[kind].refusal)
