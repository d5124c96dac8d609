from datetime import UTC, datetime, timedelta

from auth.rate_limit import LOGIN_PER_ACCOUNT, reserve
from models.security import FailedAttempt
from models.sessions import Session
from server.housekeeping import tidy_once
from tests.conftest import TODAY, World


async def test_tidy_forgets_ended_sessions_and_old_failures_only(world: World) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    live = await Session.filter(staff_user_id=world.staff.id).first()
    await Session.filter(staff_user_id=world.admin.id).update(expires_at=long_ago)
    await Session.filter(contact_id=world.contact_a.id).update(revoked_at=long_ago)
    await reserve((LOGIN_PER_ACCOUNT, "old"))
    await FailedAttempt.all().update(created_at=long_ago)
    await reserve((LOGIN_PER_ACCOUNT, "recent"))

    await tidy_once()

    assert not await Session.filter(staff_user_id=world.admin.id).exists()
    assert not await Session.filter(contact_id=world.contact_a.id).exists()
    assert await Session.filter(id=live.id).exists()
    assert [a.key for a in await FailedAttempt.all()] == ["login-account:recent"]


async def test_old_verification_codes_and_visits_are_pruned(db) -> None:
    from datetime import UTC, datetime, timedelta

    from models.sharing import CodeChannel, VerificationCode, VerifiedVisit
    from resolvers.public_links import prune

    link = await _a_public_link()
    long_ago = datetime.now(UTC) - timedelta(days=2)
    await VerificationCode.create(link=link, channel=CodeChannel.EMAIL, destination="a@b.example",
                                  code_hash="x", expires_at=long_ago)  # fmt: skip
    await VerificationCode.create(link=link, channel=CodeChannel.EMAIL, destination="a@b.example",
                                  code_hash="y", expires_at=datetime.now(UTC))  # fmt: skip
    await VerifiedVisit.create(link=link, token_hash="z" * 64, expires_at=long_ago)
    assert await prune() == 2
    assert await VerificationCode.all().count() == 1


async def _a_public_link():
    from datetime import UTC, datetime, timedelta

    from models.customers import Customer
    from models.documents import DocumentKind, SalesDocument
    from models.organizations import Organization
    from models.sharing import PublicLink

    org = await Organization.create(name="O", portal_name="o-prune")
    customer = await Customer.create(organization=org, display_name="C", currency="USD")
    document = await SalesDocument.create(
        organization=org, customer=customer, kind=DocumentKind.INVOICE, number="INV-1",
        currency="USD", issue_date=TODAY,
    )  # fmt: skip
    return await PublicLink.create(organization=org, document=document, token_hash="h" * 64,
                                   expires_at=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
