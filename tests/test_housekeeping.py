from datetime import UTC, datetime, timedelta

from auth.rate_limit import LOGIN_PER_ACCOUNT, record_failure
from models.security import FailedAttempt
from models.sessions import Session
from server.housekeeping import tidy_once
from tests.conftest import World


async def test_tidy_forgets_ended_sessions_and_old_failures_only(world: World) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    live = await Session.filter(staff_user_id=world.staff.id).first()
    await Session.filter(staff_user_id=world.admin.id).update(expires_at=long_ago)
    await Session.filter(contact_id=world.contact_a.id).update(revoked_at=long_ago)
    await record_failure(LOGIN_PER_ACCOUNT, "old")
    await FailedAttempt.all().update(created_at=long_ago)
    await record_failure(LOGIN_PER_ACCOUNT, "recent")

    await tidy_once()

    assert not await Session.filter(staff_user_id=world.admin.id).exists()
    assert not await Session.filter(contact_id=world.contact_a.id).exists()
    assert await Session.filter(id=live.id).exists()
    assert [a.key for a in await FailedAttempt.all()] == ["login-account:recent"]
