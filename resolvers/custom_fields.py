"""Custom fields of customers: staff define the fields their organization uses and mark those
portal contacts may fill in. A customer's values are matched to definitions by name, ignoring
case, so renaming or deleting a definition leaves the values customers already have alone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError

from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.customers import CustomFieldDefinition
from resolvers import transactions
from resolvers.errors import ErrorCode, Rejected, reject
from resolvers.validation import Checker

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader

    from resolvers.loaders import Loaders

NAME_LIMIT = 100


async def define(
    principal: StaffPrincipal, name: str, editable_in_portal: bool
) -> CustomFieldDefinition:
    name = _clean_name(name)
    await _refuse_taken(principal.organization_id, name)
    try:
        async with transactions.unit_of_work():
            return await CustomFieldDefinition.create(
                organization_id=principal.organization_id,
                name=name,
                editable_in_portal=editable_in_portal,
            )
    except IntegrityError:  # the same name, defined at the same moment
        raise _taken() from None


async def update(
    principal: StaffPrincipal, definition_id: int, changes: dict[str, Any]
) -> CustomFieldDefinition:
    definition = await _get(principal, definition_id)
    if changes.get("name") is not None:
        definition.name = _clean_name(changes["name"])
        await _refuse_taken(principal.organization_id, definition.name, exclude_id=definition.id)
    if changes.get("editable_in_portal") is not None:
        definition.editable_in_portal = bool(changes["editable_in_portal"])
    try:
        async with transactions.unit_of_work():
            await definition.save()
    except IntegrityError:
        raise _taken() from None
    return definition


async def delete(principal: StaffPrincipal, definition_id: int) -> None:
    definition = await _get(principal, definition_id)
    await definition.delete()


async def editable_names(organization_id: int) -> dict[str, str]:
    """The fields portal contacts may fill in, by lowercased name: their defined names."""
    names = await CustomFieldDefinition.filter(
        organization_id=organization_id, editable_in_portal=True
    ).values_list("name", flat=True)
    return {name.lower(): name for name in names}


def editable_loader(loaders: Loaders) -> DataLoader[int, frozenset[str]]:
    """The lowercased names of the portal-editable fields of each organization (of customers
    the caller could already see), one query per request."""
    return loaders.keyed(("custom-fields-editable",), _editable_by_organization)


async def _editable_by_organization(organization_ids: Sequence[int]) -> list[frozenset[str]]:
    rows = await CustomFieldDefinition.filter(
        organization_id__in=list(organization_ids), editable_in_portal=True
    ).values_list("organization_id", "name")
    names: dict[int, set[str]] = defaultdict(set)
    for organization_id, name in rows:
        names[organization_id].add(name.lower())
    return [frozenset(names[organization_id]) for organization_id in organization_ids]


async def _get(principal: StaffPrincipal, definition_id: int) -> CustomFieldDefinition:
    definition = await scoped(CustomFieldDefinition, principal).get_or_none(id=definition_id)
    if definition is None:
        raise reject(ErrorCode.NOT_FOUND, "Custom field not found.", ["id"])
    return definition


def _clean_name(name: str | None) -> str:
    checker = Checker()
    name = checker.text(name, ["name"], max_length=NAME_LIMIT, required=True)
    checker.raise_if_any()
    return name


async def _refuse_taken(organization_id: int, name: str, exclude_id: int | None = None) -> None:
    taken = CustomFieldDefinition.filter(organization_id=organization_id, name__iexact=name)
    if exclude_id is not None:
        taken = taken.exclude(id=exclude_id)
    if await taken.exists():
        raise _taken()


def _taken() -> Rejected:
    return reject(ErrorCode.DUPLICATE, "A custom field with this name exists.", ["name"])
