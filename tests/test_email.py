"""Email: rendering and translations, the transactional outbox, and delivery over real SMTP."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from tortoise.exceptions import DBConnectionError

from integrations import outbox
from integrations.mailer import (
    ConsoleMailer,
    MailConfigurationError,
    SmtpMailer,
    mailer_from_url,
)
from integrations.outbox import claim_batch, deliver_once, retry_delay, run_delivery_loop
from integrations.templating import (
    SHARED_TEMPLATES,
    TEMPLATES,
    TRANSLATIONS,
    locale_for,
    render_email,
)
from models.activity import ActivityKind
from models.customers import Customer
from models.outbox import OutboxMessage, OutboxStatus
from pdf.worker import TEMPLATES as PDF_TEMPLATES
from resolvers import transactions
from resolvers.database_outage import is_database_unreachable
from resolvers.email import enqueue_activity_email, enqueue_email
from resolvers.validation import SUPPORTED_LANGUAGES
from server.settings import ConfigurationError, Settings
from tests.conftest import World, email_body
from tests.smtp import SmtpServer

OCCURRED = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)  # 15:30 in Berlin
SENDER = "Alpha Trading <billing@alpha.example>"


def activity(**overrides: Any) -> dict[str, Any]:
    context = {
        "organization_name": "Alpha Trading",
        "actor_name": "Ann Contact",
        "customer_name": "Acorn Ltd",
        "kind": ActivityKind.PAYMENT_MADE,
        "document_number": "INV-000123",
        "occurred_at": OCCURRED,
        "timezone": "Europe/Berlin",
        "amount_minor": 123450,
        "currency": "USD",
        "link": "https://portal.example/activity?id=1&x=2",
    }
    return {**context, **overrides}


async def enqueue(world: World, to: str = "staff@alpha.example", **overrides: Any):
    return await enqueue_activity_email(
        to=to, language="de", organization_id=world.org_a.id, **activity(**overrides)
    )


async def make_all_due() -> None:
    await OutboxMessage.all().update(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))


# Rendering and translations


@pytest.mark.parametrize(
    ("language", "subject", "when", "words"),
    [
        # CLDR puts a narrow no-break space before AM/PM.
        ("en", "Acorn Ltd: Ann Contact made a payment of $1,234.50",
         "March 5, 2026, 3:30\u202fPM", ["Customer", "Document", "Open in Portico", "receive"]),
        ("de", "Acorn Ltd: Ann Contact hat eine Zahlung über 1.234,50 $ geleistet",
         "5. März 2026, 15:30 MEZ", ["Kunde", "Dokument", "In Portico öffnen", "erhalten"]),
        ("es", "Acorn Ltd: Ann Contact realizó un pago de 1.234,50 US$",
         "5 de marzo de 2026, 15:30", ["Cliente", "Documento", "Abrir en Portico", "Recibe"]),
        # A subject is one line of plain spaces, French's no-break ones too.
        ("fr", "Acorn Ltd : Ann Contact a effectué un paiement de 1 234,50 $US",
         "5 mars 2026, 15:30", ["Client", "Document", "Ouvrir dans Portico", "Vous recevez"]),
        ("it", "Acorn Ltd: Ann Contact ha effettuato un pagamento di 1.234,50 USD",
         "5 marzo 2026 15:30 CET", ["Cliente", "Documento", "Apri in Portico", "Riceve"]),
        ("nl", "Acorn Ltd: Ann Contact heeft een betaling van US$ 1.234,50 gedaan",
         "5 maart 2026, 15:30 CET", ["Klant", "Document", "Openen in Portico", "ontvangt"]),
        ("pt", "Acorn Ltd: Ann Contact fez um pagamento de US$ 1.234,50",
         "5 de março de 2026 15:30", ["Cliente", "Documento", "Abrir no Portico", "recebe"]),
        ("ja", "Acorn Ltd：Ann Contact が$1,234.50を支払いました",  # noqa: RUF001
         "2026年3月5日 15:30", ["顧客", "書類", "Porticoで開く", "受け取る"]),
        ("zh", "Acorn Ltd：Ann Contact 支付了 US$1,234.50",  # noqa: RUF001
         "2026年3月5日 15:30", ["客户", "单据", "在 Portico 中打开", "您收到此邮件"]),
        ("ar", "Acorn Ltd: Ann Contact سدّد دفعة بقيمة \u200f1,234.50 US$",
         "5 مارس 2026، 3:30 م", ["العميل", "المستند", "فتح في Portico", "تتلقى"]),
    ],
)  # fmt: skip
def test_renders_subject_text_and_html_in_the_recipients_language(
    language: str, subject: str, when: str, words: list[str]
) -> None:
    email = render_email("activity_notification", activity(), language)
    assert email.subject == subject
    colon, stop = {
        "fr": ("\u00a0: ", "."),
        "ja": ("\uff1a", "\u3002"),
        "zh": ("\uff1a", "\u3002"),
    }.get(language, (": ", "."))
    assert email.text.startswith(f"{subject}{stop}\n")
    assert f"{words[0]}{colon}Acorn Ltd\n{words[1]}{colon}INV-000123\n" in email.text
    assert f"<title>{subject}</title>" in email.html
    direction = ' dir="rtl"' if language == "ar" else ""
    assert f'<html lang="{language}"{direction}>' in email.html
    for part in (email.text, email.html):
        assert when in part
        for word in words:
            assert word in part


@pytest.mark.parametrize(
    ("language", "phrase"),
    [
        ("en", "Ann Contact logged in to the portal for the first time"),
        ("de", "Ann Contact hat sich zum ersten Mal im Portal angemeldet"),
        ("es", "Ann Contact inició sesión en el portal por primera vez"),
    ],
)
def test_first_login_phrase(language: str, phrase: str) -> None:
    email = render_email("activity_notification", activity(kind="FIRST_LOGIN"), language)
    assert email.subject == f"Acorn Ltd: {phrase}"


def test_money_uses_the_currency_exponent_and_no_amount_reads_without_one() -> None:
    yen = render_email("activity_notification", activity(amount_minor=5000, currency="JPY"), "en")
    assert yen.subject.endswith("made a payment of ¥5,000")
    dinar = activity(amount_minor=1234567, currency="KWD", kind="PAYMENT_REFUNDED")
    assert render_email("activity_notification", dinar, "de").subject.endswith(
        "hat eine Zahlung über 1.234,567 KWD erstattet"
    )
    none = render_email("activity_notification", activity(amount_minor=None), "es")
    assert none.subject == "Acorn Ltd: Ann Contact realizó un pago"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_activity_kind_has_its_own_phrase(language: str) -> None:
    fallback = render_email("activity_notification", activity(kind="SOMETHING_NEW"), language)
    subjects = {
        render_email("activity_notification", activity(kind=kind), language).subject
        for kind in ActivityKind
    }
    assert len(subjects) == len(ActivityKind)
    assert fallback.subject not in subjects


@pytest.mark.parametrize(
    "templates", [TEMPLATES, PDF_TEMPLATES, SHARED_TEMPLATES], ids=["email", "pdf", "shared"]
)
@pytest.mark.parametrize("language", [lang for lang in SUPPORTED_LANGUAGES if lang != "en"])
def test_catalog_translates_every_message_in_the_templates(language: str, templates: Path) -> None:
    with (TRANSLATIONS / f"{language}.po").open("rb") as po:
        catalog = read_po(po)
    extracted = extract_from_dir(
        templates,
        method_map=[("**.txt", "jinja2"), ("**.html", "jinja2")],
        options_map={"**": {"extensions": "jinja2.ext.i18n"}},
    )
    msgids = {msgid for _, _, msgid, _, _ in extracted}
    assert msgids
    for msgid in msgids:
        message = catalog.get(msgid)
        assert message is not None and message.string, f"{language}: {msgid!r} untranslated"
        assert (message.string.strip() and message.string != msgid) or msgid in SAME_IN, (
            f"{language}: {msgid!r} left in English"
        )
        assert not message.fuzzy
        # The same placeholders, each once; a language may put them in another order.
        placeholders = sorted(re.findall(r"%\(\w+\)s", message.string))
        assert placeholders == sorted(re.findall(r"%\(\w+\)s", msgid)), (language, msgid)
        assert "%" not in re.sub(r"%\(\w+\)s", "", message.string), (language, msgid)


# Words that some languages write as English does.
SAME_IN = {
    "Document",
    "Total",
    "Details",
    "Notes",
    "Date",
    "Item",
    "Subtotal",
    "Cheque",
    "Page %(page)s of %(pages)s",
}


def test_every_accepted_language_but_english_has_a_catalog_and_only_those() -> None:
    catalogs = {path.stem for path in TRANSLATIONS.glob("*.po")}
    assert catalogs == set(SUPPORTED_LANGUAGES) - {"en"}


def test_regional_and_unknown_languages() -> None:
    assert str(locale_for("de-AT")) == "de_AT"
    assert str(locale_for("klingon")) == "en"
    assert str(locale_for("")) == "en"
    austrian = render_email("activity_notification", activity(currency="EUR"), "de-AT")
    assert "hat eine Zahlung über € 1.234,50 geleistet" in austrian.subject
    unknown = render_email("activity_notification", activity(), "xx")
    assert "made a payment of $1,234.50" in unknown.subject


def test_html_escapes_what_users_typed_and_text_keeps_it() -> None:
    names = activity(actor_name="<b>Ann</b> & Co", customer_name='Acorn "Ltd"')
    email = render_email("activity_notification", names, "en")
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; Co" in email.html
    assert "<b>" not in email.html
    assert "<b>Ann</b> & Co" in email.text
    assert 'href="https://portal.example/activity?id=1&amp;x=2"' in email.html


def test_an_unknown_timezone_shows_utc() -> None:
    email = render_email("activity_notification", activity(timezone="Mars/Olympus"), "en")
    assert "March 5, 2026, 2:30\u202fPM UTC" in email.text


# The outbox row and the caller's transaction


class Abort(Exception):
    pass


async def test_email_exists_only_if_the_callers_change_commits(world: World) -> None:
    with pytest.raises(Abort):
        async with transactions.unit_of_work():
            await Customer.filter(id=world.customer_a.id).update(display_name="Renamed")
            await enqueue(world)
            raise Abort
    assert await OutboxMessage.all().count() == 0
    assert (await Customer.get(id=world.customer_a.id)).display_name == "Acorn Ltd"

    async with transactions.unit_of_work():
        await Customer.filter(id=world.customer_a.id).update(display_name="Renamed")
        queued = await enqueue(world)
    row = await OutboxMessage.get(id=queued.id)
    assert row.status == OutboxStatus.PENDING
    assert row.organization_id == world.org_a.id
    assert re.fullmatch(r"<[0-9a-f]{32}@portico>", row.message_id)
    assert row.next_attempt_at <= datetime.now(UTC)
    assert row.subject == "Acorn Ltd: Ann Contact hat eine Zahlung über 1.234,50 $ geleistet"
    body = email_body(row)
    assert "Kunde: Acorn Ltd" in body.text and "<html" in body.html
    assert row.template == "activity_notification"


@pytest.mark.parametrize("address", ["nobody", "a@b.example\nBcc: x@evil.example", "A <a@b.c>"])
async def test_enqueue_refuses_what_is_not_one_plain_address(address: str) -> None:
    with pytest.raises(ValueError, match="Not an email address"):
        await enqueue_email(to=address, template="activity_notification", context={}, language="en")


# Delivery


async def test_delivers_each_message_once_with_message_id_text_and_html(
    world: World, smtp: SmtpServer
) -> None:
    rows = [await enqueue(world, to=f"staff{i}@alpha.example") for i in range(3)]
    await OutboxMessage.filter(id=rows[0].id).update(reply_to="help@alpha.example")
    mailer = mailer_from_url(smtp.url)

    assert await deliver_once(mailer, "w1", mail_from=SENDER) == 3
    assert await deliver_once(mailer, "w1", mail_from=SENDER) == 0

    received = {str(message["Message-ID"]): message for message in smtp.inbox.messages}
    assert len(smtp.inbox.messages) == 3
    assert set(received) == {row.message_id for row in rows}
    first = received[rows[0].message_id]
    assert first["From"] == SENDER
    assert first["To"] == "staff0@alpha.example"
    assert first["Reply-To"] == "help@alpha.example"
    assert first["Subject"] == rows[0].subject
    assert first["Auto-Submitted"] == "auto-generated"
    assert first.get_content_type() == "multipart/alternative"
    text = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert "Kunde: Acorn Ltd" in text
    assert "<td>Acorn Ltd</td>" in html
    for row in await OutboxMessage.all():
        assert row.status == OutboxStatus.SENT
        assert row.sent_at is not None and row.attempts == 1 and row.claimed_until is None
        # Sent: the body goes, with any link it carried; what staff look for stays.
        assert row.sealed_body == "" and row.subject and row.to_address


async def test_smtp_outage_delays_messages_and_loses_none(world: World, smtp: SmtpServer) -> None:
    mailer = mailer_from_url(smtp.url)
    smtp.stop()
    rows = [await enqueue(world, to=f"staff{i}@alpha.example") for i in range(3)]

    assert await deliver_once(mailer, "w1") == 3
    before = datetime.now(UTC)
    for row in await OutboxMessage.all():
        assert row.status == OutboxStatus.PENDING
        assert row.attempts == 1
        assert "ConnectError" in row.last_error
        assert row.next_attempt_at > before
        assert row.claimed_until is None
    assert await deliver_once(mailer, "w1") == 0  # not due yet

    smtp.start()
    await make_all_due()
    assert await deliver_once(mailer, "w1") == 3
    await make_all_due()
    assert await deliver_once(mailer, "w1") == 0
    assert sorted(smtp.inbox.message_ids()) == sorted(row.message_id for row in rows)
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 3


async def test_a_4xx_reply_is_retried_later(world: World, smtp: SmtpServer) -> None:
    smtp.inbox.refuse["busy@alpha.example"] = "451 4.3.0 Try again later"
    row = await enqueue(world, to="busy@alpha.example")
    mailer = mailer_from_url(smtp.url)

    assert await deliver_once(mailer, "w1") == 1

    row = await OutboxMessage.get(id=row.id)
    assert row.status == OutboxStatus.PENDING
    assert "451" in row.last_error
    assert row.next_attempt_at > datetime.now(UTC)

    del smtp.inbox.refuse["busy@alpha.example"]
    await make_all_due()
    assert await deliver_once(mailer, "w1") == 1
    [message] = smtp.inbox.messages
    assert "Kunde: Acorn Ltd" in message.get_body(("plain",)).get_content()


async def test_a_5xx_refusal_fails_the_message_for_good(world: World, smtp: SmtpServer) -> None:
    smtp.inbox.refuse["gone@alpha.example"] = "550 5.1.1 No such user"
    refused = await enqueue(world, to="gone@alpha.example")
    accepted = await enqueue(world, to="staff@alpha.example")
    mailer = mailer_from_url(smtp.url)

    assert await deliver_once(mailer, "w1") == 2
    await make_all_due()
    assert await deliver_once(mailer, "w1") == 0

    refused = await OutboxMessage.get(id=refused.id)
    assert refused.status == OutboxStatus.FAILED
    assert "550" in refused.last_error and "No such user" in refused.last_error
    assert refused.sealed_body == ""
    assert smtp.inbox.refused == ["gone@alpha.example"]
    assert (await OutboxMessage.get(id=accepted.id)).status == OutboxStatus.SENT
    assert smtp.inbox.message_ids() == [accepted.message_id]


async def test_the_stored_body_is_sealed_to_its_message_and_recipient(
    world: World, smtp: SmtpServer
) -> None:
    """A body opens only on its own row, for its own recipient, under the server key: a body
    copied onto another row or a row redirected elsewhere is never sent, nor retried."""
    original = await enqueue(world, to="staff@alpha.example")
    copy = await enqueue(world, to="other@alpha.example")
    redirected = await enqueue(world, to="kim@alpha.example")
    stored = await OutboxMessage.get(id=original.id)
    assert stored.sealed_body.startswith("v1:") and "Acorn" not in stored.sealed_body
    await OutboxMessage.filter(id=copy.id).update(sealed_body=stored.sealed_body)
    await OutboxMessage.filter(id=redirected.id).update(to_address="evil@attacker.example")

    assert await deliver_once(mailer_from_url(smtp.url), "w1") == 3

    assert smtp.inbox.message_ids() == [original.message_id]
    for row in await OutboxMessage.filter(id__in=[copy.id, redirected.id]):
        assert row.status == OutboxStatus.FAILED and row.sealed_body == ""
        assert "does not open" in row.last_error


async def test_concurrent_workers_send_each_message_exactly_once(
    world: World, smtp: SmtpServer
) -> None:
    rows = [await enqueue(world, to=f"staff{i}@alpha.example") for i in range(30)]
    mailer = mailer_from_url(smtp.url)
    attempted: dict[str, int] = {}

    async def worker(worker_id: str) -> None:
        attempted[worker_id] = 0
        for _ in range(500):  # bounded, so a bug cannot hang the test
            if not await OutboxMessage.filter(status=OutboxStatus.PENDING).exists():
                return
            attempted[worker_id] += await deliver_once(mailer, worker_id)
            await asyncio.sleep(0)

    await asyncio.gather(*(worker(f"worker-{n}") for n in range(4)))

    assert sum(attempted.values()) == 30
    assert sorted(smtp.inbox.message_ids()) == sorted(row.message_id for row in rows)
    assert {row.attempts for row in await OutboxMessage.all()} == {1}


async def test_a_lease_keeps_others_away_until_it_expires(world: World) -> None:
    row = await enqueue(world)
    assert [m.id for m in await claim_batch("a", 10, timedelta(minutes=5))] == [row.id]
    assert await claim_batch("b", 10, timedelta(minutes=5)) == []

    await OutboxMessage.filter(id=row.id).update(
        claimed_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    [reclaimed] = await claim_batch("b", 10, timedelta(minutes=5))
    assert reclaimed.id == row.id and reclaimed.claimed_by == "b"


async def test_delivery_loop_wakes_up_for_new_email_and_stops_cleanly(
    world: World, smtp: SmtpServer
) -> None:
    stop = asyncio.Event()
    loop = asyncio.create_task(
        run_delivery_loop(mailer_from_url(smtp.url), worker_id="loop", poll_seconds=60, stop=stop)
    )
    await asyncio.sleep(0.1)  # let the loop find nothing and start its 60 s wait
    row = await enqueue(world)
    for _ in range(100):
        if smtp.inbox.messages:
            break
        await asyncio.sleep(0.02)
    assert smtp.inbox.message_ids() == [row.message_id]

    stop.set()
    await asyncio.wait_for(loop, timeout=2)
    assert not outbox._listeners


async def test_a_round_that_meets_a_database_outage_logs_one_line_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()

    async def unreachable(*args: Any, **kwargs: Any) -> int:
        stop.set()
        raise DBConnectionError("connection refused")

    monkeypatch.setattr(outbox, "deliver_once", unreachable)
    with caplog.at_level(logging.INFO, logger="portico.outbox"):
        await run_delivery_loop(
            mailer_from_url("console"),
            worker_id="loop",
            poll_seconds=60,
            stop=stop,
            is_outage=is_database_unreachable,
        )
    [failed] = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert failed.levelno == logging.WARNING and failed.exc_info is None
    assert "database unreachable (DBConnectionError)" in failed.getMessage()


def test_retry_delay_doubles_from_5_seconds_up_to_an_hour_with_jitter() -> None:
    assert timedelta(seconds=3.75) <= retry_delay(1) <= timedelta(seconds=5)
    assert timedelta(seconds=7.5) <= retry_delay(2) <= timedelta(seconds=10)
    assert timedelta(minutes=45) <= retry_delay(11) <= timedelta(hours=1)
    assert timedelta(minutes=45) <= retry_delay(100_000) <= timedelta(hours=1)


# Configuration


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("console", ConsoleMailer()),
        ("", ConsoleMailer()),
        ("smtp://mail.example", SmtpMailer("mail.example", 587, "auto")),
        ("smtp://mail.example:25?tls=none", SmtpMailer("mail.example", 25, "none")),
        ("smtp://mail.example?tls=starttls&timeout=10",
         SmtpMailer("mail.example", 587, "starttls", timeout=10)),
        ("smtps://mail.example", SmtpMailer("mail.example", 465, "implicit")),
        ("smtps://u%40corp:p%2Fss%3A@mail.example:2465",
         SmtpMailer("mail.example", 2465, "implicit", username="u@corp", password="p/ss:")),
    ],
)  # fmt: skip
def test_mailer_from_url(url: str, expected: object) -> None:
    assert mailer_from_url(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("log://", "must be 'console'"),
        ("smtp://", "has no host"),
        ("smtp://mail.example:port", "invalid port"),
        ("smtp://mail.example?tls=maybe", "tls must be"),
        ("smtp://mail.example?tls=", "tls must be"),
        ("smtps://mail.example?tls=none", "always uses TLS"),
        ("smtp://mail.example?timeout=0", "timeout"),
        ("smtp://mail.example?tsl=none", "Unknown mail URL option"),
    ],
)
def test_mailer_from_url_refuses_bad_urls(url: str, problem: str) -> None:
    with pytest.raises(MailConfigurationError, match=problem):
        mailer_from_url(url)


def test_errors_and_reprs_never_show_the_password() -> None:
    with pytest.raises(MailConfigurationError) as refused:
        mailer_from_url("smtp://user:hunter2@mail.example?tls=bogus&x=1")
    assert "hunter2" not in str(refused.value)
    with pytest.raises(MailConfigurationError) as refused:
        mailer_from_url("ftp://user:hunter2@mail.example")
    assert "hunter2" not in str(refused.value)
    assert "hunter2" not in repr(mailer_from_url("smtp://user:hunter2@mail.example"))


async def test_console_mailer_logs_a_line_and_the_whole_message_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = EmailMessage()
    message["To"] = "ann@b.example"
    message["Message-ID"] = "<m@portico>"
    message.set_content("Hallo Ann")
    message.add_alternative("<p>Hallo Ann</p>", subtype="html")
    with caplog.at_level(logging.INFO, logger="portico.mail"):
        await ConsoleMailer().send(message)
    [line] = [record.getMessage() for record in caplog.records]
    assert "<m@portico>" in line and "a***@b.example" in line
    assert "Hallo" not in line and "ann@" not in line
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="portico.mail"):
        await ConsoleMailer().send(message)
    logged = caplog.records[-1].getMessage()
    assert "Message-ID: <m@portico>" in logged and "To: ann@b.example" in logged
    assert "Hallo Ann" in logged and "<p>Hallo Ann</p>" in logged


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("PORTICO_MAIL_URL", "sendmail://localhost", "PORTICO_MAIL_URL"),
        ("PORTICO_MAIL_FROM", "Portico", "PORTICO_MAIL_FROM"),
        ("PORTICO_OUTBOX_POLL_SECONDS", "0", "PORTICO_OUTBOX_POLL_SECONDS"),
    ],
)
def test_settings_refuse_bad_mail_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv("PORTICO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=problem):
        Settings.from_env()


def test_mail_settings_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PORTICO_VAR_DIR", str(tmp_path))
    for variable in ("PORTICO_MAIL_URL", "PORTICO_MAIL_FROM", "PORTICO_OUTBOX_POLL_SECONDS"):
        monkeypatch.delenv(variable, raising=False)
    settings = Settings.from_env()
    assert settings.mail_url == "console"
    assert settings.mail_from == "Portico <no-reply@localhost>"
    assert settings.outbox_poll_seconds == 2
