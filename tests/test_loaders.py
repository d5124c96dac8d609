"""Per-request DataLoaders (resolvers.loaders)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from auth.principals import StaffPrincipal
from models.customers import ContactPerson
from resolvers.loaders import Loaders
from tests.conftest import World


async def test_a_field_given_up_leaves_the_others_waiting_on_the_same_row_their_result(
    db, world: World
) -> None:
    """graphql-core cancels the pending siblings of a field that failed; another field that
    asked for the same row (its future is shared by key) still gets it."""

    async def field(load: Awaitable[Any]) -> Any:
        return await load

    loader = Loaders(StaffPrincipal(world.staff)).by_id(ContactPerson)
    given_up = asyncio.create_task(field(loader.load(world.contact_a.id)))
    waiting = asyncio.create_task(field(loader.load(world.contact_a.id)))
    await asyncio.sleep(0)  # both wait on the batch
    given_up.cancel()
    row = await waiting
    assert row.id == world.contact_a.id
    assert given_up.cancelled()
    assert (await loader.load(world.contact_a.id)).id == world.contact_a.id  # cached
