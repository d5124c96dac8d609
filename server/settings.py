"""Settings read from environment variables (documented in the README's configuration table)."""

from __future__ import annotations

import hmac
import math
import os
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from auth import passwords
from integrations.mailer import (
    DEFAULT_MAIL_FROM,
    DEFAULT_MAIL_URL,
    MailConfigurationError,
    mailer_from_url,
)
from integrations.redis_broker import DEFAULT_TIMEOUT_SECONDS
from integrations.sms import DEFAULT_SMS_URL, SmsConfigurationError, sender_from_url
from resolvers.files import DEFAULT_MAX_UPLOAD_BYTES
from resolvers.links import Links

# Who must send documents of the trusted registry: nobody, or portal contacts.
TRUSTED_DOCUMENTS = ("off", "contacts")


class ConfigurationError(RuntimeError):
    pass


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def _env_seconds(name: str, default: float) -> float:
    raw = _env(name)
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not 0 < seconds < math.inf:
        raise ConfigurationError(f"{name} must be more than 0 seconds, got {raw!r}")
    return seconds


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name).lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _env_flag(name: str) -> bool | None:
    """None when unset, for a default that depends on other settings."""
    return _env_bool(name, default=False) if _env(name) else None


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = _env(name)
    if not raw:
        return default
    return tuple(item.strip().rstrip("/") for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = "sqlite://var/portico.sqlite3"
    secret_key: str = ""
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000", "http://localhost:8000")
    public_base_url: str = "http://127.0.0.1:8000"
    staff_app_url: str = ""
    redis_url: str = ""
    redis_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    mail_url: str = DEFAULT_MAIL_URL
    mail_from: str = DEFAULT_MAIL_FROM
    sms_url: str = DEFAULT_SMS_URL
    outbox_poll_seconds: int = 2
    log_level: str = "INFO"
    graphiql: bool = True
    # None: on in development; in production only with GraphiQL, which cannot work without it.
    introspection: bool | None = None
    # One of TRUSTED_DOCUMENTS; None: "contacts" in production, "off" in development.
    trusted_documents: str | None = None
    max_body_bytes: int = 1_048_576
    body_timeout_seconds: float = 60.0
    shutdown_timeout_seconds: float = 30.0
    session_idle_minutes: int = 120
    session_max_hours: int = 24 * 7
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536
    password_workers: int = passwords.DEFAULT_WORKERS
    var_dir: Path = field(default=Path("var"))
    gateway_webhook_secret: str = ""
    test_gateway_ledger: Path | None = None
    pdf_workers: int = 2
    files_dir: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES

    @property
    def webhook_secret(self) -> bytes:
        """Signs the test gateway's webhooks; derived from the secret key unless set."""
        if self.gateway_webhook_secret:
            return self.gateway_webhook_secret.encode()
        return hmac.new(self.secret_key.encode(), b"test-gateway-webhooks", "sha256").digest()

    @property
    def test_gateway_ledger_path(self) -> Path:
        return self.test_gateway_ledger or self.var_dir / "test-gateway.sqlite3"

    @property
    def files_root(self) -> Path:
        """Where uploaded files are kept: never inside a directory a web server serves."""
        return self.files_dir or self.var_dir / "files"

    @property
    def links(self) -> Links:
        public = self.public_base_url
        return Links(public_base_url=public, staff_app_url=self.staff_app_url or public)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def allows_introspection(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return not self.is_production or self.graphiql

    @property
    def contacts_run_registered_documents_only(self) -> bool:
        default = "contacts" if self.is_production else "off"
        return (self.trusted_documents or default) == "contacts"

    @property
    def secure_cookies(self) -> bool:
        return self.is_production or self.public_base_url.startswith("https://")

    @staticmethod
    def database_url_from_env() -> str:
        var_dir = _env("PORTICO_VAR_DIR", "var")
        return _env("DATABASE_URL", f"sqlite://{var_dir}/portico.sqlite3")

    @classmethod
    def from_env(cls) -> Settings:
        environment = _env("PORTICO_ENV", "development").lower()
        if environment not in {"development", "production"}:
            raise ConfigurationError("PORTICO_ENV must be development or production")
        var_dir = Path(_env("PORTICO_VAR_DIR", "var"))
        production = environment == "production"
        return cls(
            environment=environment,
            database_url=cls.database_url_from_env(),
            secret_key=_secret_key(production, var_dir),
            allowed_origins=_env_list("PORTICO_ALLOWED_ORIGINS", cls.allowed_origins),
            public_base_url=_env("PORTICO_PUBLIC_URL", cls.public_base_url).rstrip("/"),
            staff_app_url=_env("PORTICO_STAFF_APP_URL").rstrip("/"),
            redis_url=_env("REDIS_URL"),
            redis_timeout_seconds=_env_seconds(
                "PORTICO_REDIS_TIMEOUT_SECONDS", cls.redis_timeout_seconds
            ),
            mail_url=_mail_url(_env("PORTICO_MAIL_URL", cls.mail_url)),
            mail_from=_mail_from(_env("PORTICO_MAIL_FROM", cls.mail_from)),
            sms_url=_sms_url(_env("PORTICO_SMS_URL", cls.sms_url)),
            outbox_poll_seconds=_poll_seconds(cls.outbox_poll_seconds),
            log_level=_env("PORTICO_LOG_LEVEL", cls.log_level).upper(),
            graphiql=_env_bool("PORTICO_GRAPHIQL", not production),
            introspection=_env_flag("PORTICO_INTROSPECTION"),
            trusted_documents=_trusted_documents(),
            max_body_bytes=_env_int("PORTICO_MAX_BODY_BYTES", cls.max_body_bytes),
            body_timeout_seconds=_env_seconds(
                "PORTICO_BODY_TIMEOUT_SECONDS", cls.body_timeout_seconds
            ),
            shutdown_timeout_seconds=_env_seconds(
                "PORTICO_SHUTDOWN_TIMEOUT_SECONDS", cls.shutdown_timeout_seconds
            ),
            session_idle_minutes=_env_int("PORTICO_SESSION_IDLE_MINUTES", cls.session_idle_minutes),
            session_max_hours=_env_int("PORTICO_SESSION_MAX_HOURS", cls.session_max_hours),
            argon2_time_cost=_env_int("PORTICO_ARGON2_TIME_COST", cls.argon2_time_cost),
            argon2_memory_kib=_env_int("PORTICO_ARGON2_MEMORY_KIB", cls.argon2_memory_kib),
            password_workers=_worker_count("PORTICO_PASSWORD_WORKERS", cls.password_workers),
            var_dir=var_dir,
            gateway_webhook_secret=_env("PORTICO_GATEWAY_WEBHOOK_SECRET"),
            test_gateway_ledger=Path(ledger)
            if (ledger := _env("PORTICO_TEST_GATEWAY_LEDGER"))
            else None,
            pdf_workers=_worker_count("PORTICO_PDF_WORKERS", cls.pdf_workers),
            files_dir=Path(files) if (files := _env("PORTICO_FILES_DIR")) else None,
            max_upload_bytes=_max_upload_bytes(cls.max_upload_bytes),
        )


def _trusted_documents() -> str | None:
    value = _env("PORTICO_TRUSTED_DOCUMENTS").lower()
    if value and value not in TRUSTED_DOCUMENTS:
        raise ConfigurationError(
            f"PORTICO_TRUSTED_DOCUMENTS must be {' or '.join(TRUSTED_DOCUMENTS)}, got {value!r}"
        )
    return value or None


def _mail_url(url: str) -> str:
    # Checked at start-up, so a typo fails `portico serve` instead of every email later.
    try:
        mailer_from_url(url)
    except MailConfigurationError as exc:
        raise ConfigurationError(f"PORTICO_MAIL_URL: {exc}") from exc
    return url


def _sms_url(url: str) -> str:
    try:
        sender_from_url(url)
    except SmsConfigurationError as exc:
        raise ConfigurationError(f"PORTICO_SMS_URL: {exc}") from exc
    return url


def _mail_from(value: str) -> str:
    if "@" not in parseaddr(value)[1]:
        raise ConfigurationError(
            f"PORTICO_MAIL_FROM must be an address like {DEFAULT_MAIL_FROM!r}, got {value!r}"
        )
    return value


def _poll_seconds(default: int) -> int:
    seconds = _env_int("PORTICO_OUTBOX_POLL_SECONDS", default)
    if seconds < 1:  # zero would make every delivery loop query the database non-stop
        raise ConfigurationError("PORTICO_OUTBOX_POLL_SECONDS must be at least 1")
    return seconds


def _worker_count(name: str, default: int) -> int:
    workers = _env_int(name, default)
    if workers < 1:
        raise ConfigurationError(f"{name} must be at least 1")
    return workers


def _max_upload_bytes(default: int) -> int:
    size = _env_int("PORTICO_MAX_UPLOAD_BYTES", default)
    if size < 1:
        raise ConfigurationError("PORTICO_MAX_UPLOAD_BYTES must be at least 1")
    return size


def _secret_key(production: bool, var_dir: Path) -> str:
    key = _env("PORTICO_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ConfigurationError("PORTICO_SECRET_KEY must be at least 32 characters")
        return key
    if production:
        raise ConfigurationError("PORTICO_SECRET_KEY is required when PORTICO_ENV=production")
    # Development keeps one generated key so sessions survive restarts.
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
