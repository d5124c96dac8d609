"""Prepared queries answer what Tortoise answers for the same values: the SQL is rendered once
per shape, dates and the parts of Q filters are parameters, and what cannot be prepared runs
as Tortoise renders it (lenient) or is refused (strict)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from tortoise.expressions import Q
from tortoise.functions import Coalesce
from tortoise.queryset import QuerySet

from auth.prepared import PreparedQuery, Unpreparable
from models.customers import ContactPerson
from models.documents import SalesDocument
from models.preferences import PortalPreferences
from tests.conftest import TODAY, World
from tests.test_statement_counts import seed_invoices


def _issued(where: Q, organization_id: int) -> QuerySet[SalesDocument]:
    return SalesDocument.filter(organization_id=organization_id).filter(where).order_by("-id")


async def _numbers(query: PreparedQuery[list[SalesDocument]], **values: object) -> list[str]:
    return [row.number for row in await query.run(**values)]


async def test_dates_and_q_filters_are_parameters_of_one_rendering(world: World) -> None:
    await seed_invoices(world, 12, lines=0)
    prepared: PreparedQuery[list[SalesDocument]] = PreparedQuery(_issued)
    for days in (0, 3, 7, 11):
        cutoff = TODAY - timedelta(days=days)
        where = Q(issue_date__lt=cutoff) | Q(issue_date=cutoff, number__not="INV-000000")
        expected = [row.number for row in await _issued(where, world.org_a.id)]
        assert await _numbers(prepared, where=where, organization_id=world.org_a.id) == expected
        assert len(expected) == 11 - days + (days > 0)  # INV-000000 is the one issued today
    negated = ~Q(issue_date__gte=TODAY - timedelta(days=1))
    assert await _numbers(prepared, where=negated, organization_id=world.org_a.id) == [
        row.number for row in await _issued(negated, world.org_a.id)
    ]
    assert len(prepared._templates) == 2  # the OR shape and the negated one, not one per date
    assert await _numbers(prepared, where=Q(), organization_id=world.org_b.id) == []


async def test_what_cannot_be_prepared_runs_unprepared_when_lenient(world: World) -> None:
    await seed_invoices(world, 5, lines=0)
    later = datetime.now(UTC) - timedelta(days=1)
    for where in (Q(created_at__gte=later), Q(number__icontains="00003")):
        expected = [row.number for row in await _issued(where, world.org_a.id)]
        lenient: PreparedQuery[list[SalesDocument]] = PreparedQuery(_issued, lenient=True)
        assert await _numbers(lenient, where=where, organization_id=world.org_a.id) == expected
        assert expected
        strict: PreparedQuery[list[SalesDocument]] = PreparedQuery(_issued)
        with pytest.raises(Unpreparable):
            await strict.run(where=where, organization_id=world.org_a.id)


async def test_instances_of_a_prepared_page_are_tortoise_s_own(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_invoices(world, 4, lines=0)
    await SalesDocument.filter(number="INV-000002").update(
        due_date=None, voided_at=datetime.now(UTC)
    )

    def page(organization_id: int) -> QuerySet[SalesDocument]:
        return (
            SalesDocument.filter(organization_id=organization_id)
            .annotate(sort_key=Coalesce("due_date", date(9999, 12, 31)))
            .order_by("sort_key", "id")
        )

    prepared: PreparedQuery[list[SalesDocument]] = PreparedQuery(page)
    with monkeypatch.context() as patched:  # made from the rows, not by Tortoise's executor
        patched.setattr(QuerySet, "_execute", _not_called)
        ours = await prepared.run(organization_id=world.org_a.id)
    theirs = await page(world.org_a.id)
    # repr: the same values of the same types, time zones included.
    assert [repr((dict(row), row.sort_key)) for row in ours] == [
        repr((dict(row), row.sort_key)) for row in theirs
    ]
    assert {type(row.voided_at) for row in ours} == {datetime, type(None)}
    assert all(row._saved_in_db and not row._partial for row in ours)


async def _not_called(self: QuerySet) -> None:
    raise AssertionError("Tortoise's executor built the page's instances")


async def test_what_a_prepared_query_selects_along_is_set_as_tortoise_sets_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await PortalPreferences.create(organization=world.org_b, banner_message="Closed Friday")

    def contact(contact_id: int) -> QuerySet[ContactPerson]:
        return ContactPerson.get_or_none(id=contact_id).select_related(  # type: ignore[return-value]
            "customer", "organization__portal_preferences"
        )

    prepared: PreparedQuery[ContactPerson | None] = PreparedQuery(contact)
    for person in (world.contact_a, world.contact_b, world.contact_other_org):
        with monkeypatch.context() as patched:
            patched.setattr(QuerySet, "_execute", _not_called)
            ours = await prepared.run(contact_id=person.id)
        theirs = await contact(person.id)
        assert ours is not None and theirs is not None
        assert repr(dict(ours)) == repr(dict(theirs))
        assert repr(dict(ours.customer)) == repr(dict(theirs.customer))
        assert repr(dict(ours.organization)) == repr(dict(theirs.organization))
        preferences = ours.organization.portal_preferences
        expected = theirs.organization.portal_preferences
        assert (dict(preferences) if preferences else None) == (
            dict(expected) if expected else None
        )
    other = await prepared.run(contact_id=world.contact_other_org.id)
    assert other is not None and other.organization.portal_preferences is not None
    assert other.organization.portal_preferences.banner_message == "Closed Friday"
    assert (
        await prepared.run(contact_id=world.contact_a.id)
    ).organization.portal_preferences is None
    assert await prepared.run(contact_id=10**12) is None
