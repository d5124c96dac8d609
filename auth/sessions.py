"""Login sessions: opaque bearer tokens stored as hashes, with idle and absolute expiry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from auth.prepared import PreparedQuery
from auth.principals import (
    Anonymous,
    ContactPrincipal,
    PartnerPrincipal,
    Principal,
    StaffPrincipal,
)
from auth.tokens import hash_token, new_token
from models.customers import ContactPerson, PortalAccess
from models.organizations import Organization
from models.sessions import Session
from models.staff import StaffUser

SESSION_PREFIX = "pts"
# Writing last_seen_at on every request would turn reads into writes; a minute is precise enough.
_TOUCH_INTERVAL = timedelta(minutes=1)
# Well below SQLite's limit on bound parameters.
_LOGINS_PER_QUERY = 500


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: SessionSettings) -> SessionPolicy:
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
        )


class SessionSettings(Protocol):
    session_idle_minutes: int
    session_max_hours: int


async def start_session(
    policy: SessionPolicy,
    *,
    staff_user: StaffUser | None = None,
    contact: ContactPerson | None = None,
    client_address: str = "",
    user_agent: str = "",
) -> tuple[str, Session]:
    owner = staff_user or contact
    assert owner is not None
    secret, token_hash = new_token(SESSION_PREFIX)
    now = datetime.now(UTC)
    session = await Session.create(
        token_hash=token_hash,
        organization_id=owner.organization_id,
        staff_user=staff_user,
        contact=contact,
        last_seen_at=now,
        expires_at=now + policy.absolute,
        client_address=client_address[:64],
        user_agent=user_agent[:300],
    )
    return secret, session


# Every authenticated request asks this. The portal preferences and a contact's customer come
# along because nearly every request reads them next, and a query saved is a database round
# trip saved.
_live_session = PreparedQuery[Session | None](
    lambda token_hash: Session.get_or_none(token_hash=token_hash, revoked_at=None).select_related(
        "staff_user", "contact__customer", "organization__portal_preferences"
    )
)


async def principal_for_session(
    policy: SessionPolicy, secret: str
) -> tuple[Principal, Organization | None]:
    """Who the session's token stands for, and its organization, with its stored portal
    preferences (`portal_preferences`, None until first saved) read along, as is a contact's
    customer (`contact.customer`)."""
    session = await _live_session.run(token_hash=hash_token(secret))
    now = datetime.now(UTC)
    if session is None or session.expires_at <= now or session.last_seen_at + policy.idle <= now:
        return Anonymous(), None
    principal = _principal_of(session)
    if isinstance(principal, Anonymous):
        return principal, None
    if now - session.last_seen_at >= _TOUCH_INTERVAL:
        await Session.filter(id=session.id).update(last_seen_at=now)
    return principal, session.organization


def _principal_of(session: Session) -> Principal:
    staff_user: StaffUser | None = session.staff_user
    if staff_user is not None:
        return StaffPrincipal(staff_user, session.id) if staff_user.is_active else Anonymous()
    contact: ContactPerson | None = session.contact
    if (
        contact is not None
        and contact.portal_access == PortalAccess.ACTIVE
        and portal_is_open(session.organization)
    ):
        return ContactPrincipal(contact, session.id)
    return Anonymous()


def portal_is_open(organization: Organization) -> bool:
    """Whether the organization's portal is on; `organization.portal_preferences` must have been
    read along (select_related). The session is kept while it is off: it counts again once the
    portal is turned back on."""
    preferences = organization.portal_preferences
    # No stored preferences yet: the defaults, which have the portal on.
    return preferences is None or preferences.portal_enabled


async def end_session(session_id: int) -> None:
    await Session.filter(id=session_id, revoked_at=None).update(revoked_at=datetime.now(UTC))


async def end_sessions_of(
    *,
    staff_user_id: int | None = None,
    contact_id: int | None = None,
    keep_session_id: int | None = None,
) -> None:
    query = Session.filter(revoked_at=None)
    if staff_user_id is not None:
        query = query.filter(staff_user_id=staff_user_id)
    elif contact_id is not None:
        query = query.filter(contact_id=contact_id)
    else:
        raise ValueError("end_sessions_of needs a staff user or a contact")
    if keep_session_id is not None:
        query = query.exclude(id=keep_session_id)
    await query.update(revoked_at=datetime.now(UTC))


async def prune_sessions(older_than: timedelta = timedelta(days=1)) -> int:
    """Forget sessions that ended (expired or revoked) more than `older_than` ago."""
    cutoff = datetime.now(UTC) - older_than
    expired = await Session.filter(expires_at__lt=cutoff).delete()
    revoked = await Session.filter(revoked_at__lt=cutoff).delete()
    return expired + revoked


# What a login stands on: ("session", id), ("api_key", id), or ("none", None) for principals
# that hold neither (and so never stand for long).
Login = tuple[str, int | None]


def login_of(principal: Principal) -> Login:
    """What a principal's login stands on: its session or its API key."""
    match principal:
        case PartnerPrincipal():
            return ("api_key", principal.api_key.id)
        case StaffPrincipal() | ContactPrincipal() if principal.session_id is not None:
            return ("session", principal.session_id)
    return ("none", None)


async def ended_logins(principals: Iterable[Principal]) -> set[Login]:
    """The logins (`login_of`) of long-lived connections that no longer stand: revoked,
    expired, their user, contact or key disabled, or a contact's portal turned off. Sessions
    are read in one query per _LOGINS_PER_QUERY however many connections share or hold them;
    keys one by one (few)."""
    from auth.api_keys import api_key_is_live

    logins = {login_of(principal) for principal in principals}
    live: set[Login] = set()
    session_ids = sorted(id for kind, id in logins if kind == "session" and id is not None)
    now = datetime.now(UTC)
    for start in range(0, len(session_ids), _LOGINS_PER_QUERY):
        chunk = session_ids[start : start + _LOGINS_PER_QUERY]
        sessions = await Session.filter(
            id__in=chunk, revoked_at=None, expires_at__gt=now
        ).select_related("staff_user", "contact", "organization__portal_preferences")
        live.update(
            ("session", session.id)
            for session in sessions
            if not isinstance(_principal_of(session), Anonymous)
        )
    for kind, id in logins:
        if kind == "api_key" and id is not None and await api_key_is_live(id):
            live.add((kind, id))
    return logins - live
