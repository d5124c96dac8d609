"""Mail transports: the log (default) or an SMTP server, chosen by a URL.

Failures fall into two kinds, by one rule: a 5xx reply to MAIL FROM, RCPT TO or DATA means the
server refused this message for good (`PermanentMailError`). Anything else (no connection, a
timeout, a 4xx, a login or TLS problem) is transient: the exception propagates and the outbox
tries again later, because fixing the server or the configuration makes the message deliverable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    import aiosmtplib

logger = logging.getLogger("portico.mail")

DEFAULT_MAIL_URL = "console"
DEFAULT_MAIL_FROM = "Portico <no-reply@localhost>"

TlsMode = Literal["auto", "starttls", "none", "implicit"]


class MailConfigurationError(ValueError):
    pass


class PermanentMailError(Exception):
    """The server refused the message with a 5xx reply; sending it again cannot succeed."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class ConsoleMailer:
    """Writes each message to the log instead of sending it (development and demos): a line
    at INFO, the whole message only at DEBUG, since a body may carry a sign-in link or code."""

    async def send(self, message: EmailMessage) -> None:
        logger.info(
            "Email %s to %s not sent (PORTICO_MAIL_URL=console; the message is logged at DEBUG)",
            message["Message-ID"],
            masked_recipients(message),
        )
        logger.debug("Email %s:\n%s", message["Message-ID"], _readable(message))


def _readable(message: EmailMessage) -> str:
    """Its headers and text parts, decoded (a link must be clickable), attachments left out."""
    lines = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            lines.append(f"\n{part.get_content()}")
    return "\n".join(lines)


def masked_address(address: str) -> str:
    """Enough of an address to tell messages apart in a log: `a***@acorn.example`."""
    local, at, domain = address.strip().rpartition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


def masked_recipients(message: EmailMessage) -> str:
    return ", ".join(masked_address(address) for address in message.get_all("To", []))


@dataclass(frozen=True)
class SmtpMailer:
    """One SMTP connection per message: simple, and no idle connection for a server to drop."""

    hostname: str
    port: int
    tls: TlsMode = "auto"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0

    async def send(self, message: EmailMessage) -> None:
        # Here, not at the top: reading the settings checks mail URLs, and most processes
        # never send through SMTP (the console mailer, the CLI's commands).
        import aiosmtplib

        try:
            await aiosmtplib.send(
                message,
                hostname=self.hostname,
                port=self.port,
                username=self.username or None,
                password=self.password or None,
                use_tls=self.tls == "implicit",
                start_tls=_START_TLS[self.tls],
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(_permanent(refusal.code) for refusal in exc.recipients):
                raise PermanentMailError(_describe(exc.recipients[0])) from exc
            raise
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            if _permanent(exc.code):
                raise PermanentMailError(_describe(exc)) from exc
            raise


# aiosmtplib's start_tls: None upgrades whenever the server offers STARTTLS, True insists.
_START_TLS: dict[TlsMode, bool | None] = {
    "auto": None,
    "starttls": True,
    "none": False,
    "implicit": False,
}


def _permanent(code: int) -> bool:
    return 500 <= code < 600


def _describe(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}"


_DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
_TLS_OPTIONS: dict[str, TlsMode] = {"starttls": "starttls", "none": "none"}


def mailer_from_url(url: str) -> Mailer:
    """`console`, `smtp://[user:pass@]host[:port][?tls=starttls|none][&timeout=S]`, `smtps://`."""
    url = url.strip()
    if url.lower() in {"", DEFAULT_MAIL_URL}:
        return ConsoleMailer()
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise MailConfigurationError(
            f"Mail URL must be 'console', smtp://... or smtps://..., got {_redact(url)!r}"
        )
    if not parts.hostname:
        raise MailConfigurationError(f"Mail URL {_redact(url)!r} has no host")
    options = _options(parts.query)
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise MailConfigurationError(f"Mail URL {_redact(url)!r} has an invalid port") from exc
    return SmtpMailer(
        hostname=parts.hostname,
        port=port,
        tls=_tls_mode(parts.scheme, options.get("tls")),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        timeout=_timeout(options.get("timeout")),
    )


def _options(query: str) -> dict[str, str]:
    options = {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}
    # A misspelt option would otherwise be ignored silently, e.g. sending in plain text.
    unknown = set(options) - {"tls", "timeout"}
    if unknown:
        raise MailConfigurationError(f"Unknown mail URL option(s): {', '.join(sorted(unknown))}")
    return options


def _tls_mode(scheme: str, option: str | None) -> TlsMode:
    if scheme == "smtps":
        if option is not None:
            raise MailConfigurationError("smtps:// always uses TLS; drop the tls option")
        return "implicit"
    if option is None:
        return "auto"
    if option not in _TLS_OPTIONS:
        raise MailConfigurationError(f"tls must be starttls or none, got {option!r}")
    return _TLS_OPTIONS[option]


def _timeout(option: str | None) -> float:
    if option is None:
        return SmtpMailer.timeout
    try:
        seconds = float(option)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise MailConfigurationError(f"timeout must be seconds between 0 and 600, got {option!r}")
    return seconds


def _redact(url: str) -> str:
    """The URL without its password, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
