"""Settings read from environment variables (documented in the README's configuration table)."""

from __future__ import annotations

import dataclasses
import hmac
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, urlparse, urlsplit

# Every `portico` command, `--help` and `--version` included, imports this module first and pays
# for what it imports: only the standard library and small modules of constants and URL checks,
# never Tortoise, strawberry or graphql (tests/test_start_up.py holds this).
from auth import passwords
from integrations.broker import DEFAULT_TIMEOUT_SECONDS
from integrations.mailer import (
    DEFAULT_MAIL_FROM,
    DEFAULT_MAIL_URL,
    MailConfigurationError,
    mailer_from_url,
)
from integrations.sms import DEFAULT_SMS_URL, SmsConfigurationError, sender_from_url
from resolvers.links import Links
from resolvers.upload_rules import DEFAULT_MAX_UPLOAD_BYTES
from schema.cost_limit import MAX_COST
from server.origins import normalize_origin

# Who must send documents of the trusted registry: nobody, or portal contacts.
TRUSTED_DOCUMENTS = ("off", "contacts")
# JSON lines, or one readable line per record (server.logs).
LOG_FORMATS = ("json", "text")
# A bearer token for /metrics shorter than this could be guessed.
MIN_METRICS_TOKEN = 16


class ConfigurationError(RuntimeError):
    """Every bad setting at once, one line each, so one fix-and-retry round suffices."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# Hosts that mean "every interface": a browser reaches them as the loopback names.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - recognized, not bound
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


class _Environment:
    """Reads variables and notes each bad one instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def text(self, name: str, default: str = "") -> str:
        return self.environ.get(name, default).strip() or default

    def refuse(self, name: str, raw: str, accepted: str) -> None:
        self.problems.append(f"{name}={raw!r} is not valid: {accepted}")

    def integer(self, name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
        raw = self.text(name)
        if not raw:
            return default
        accepted = f"an integer of at least {minimum}"
        if maximum is not None:
            accepted = f"an integer from {minimum} to {maximum}"
        try:
            value = int(raw)
        except ValueError:
            self.refuse(name, raw, f"expected {accepted}")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            self.refuse(name, raw, f"expected {accepted}")
            return default
        return value

    def seconds(self, name: str, default: float) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            seconds = float(raw)
        except ValueError:
            seconds = math.nan
        if not 0 < seconds < math.inf:
            self.refuse(name, raw, "expected a number of seconds more than 0, e.g. 0.5 or 30")
            return default
        return seconds

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.text(name)
        if not raw:
            return default
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        self.refuse(name, raw, "expected true or false (1/true/yes/on, 0/false/no/off)")
        return default

    def flag(self, name: str) -> bool | None:
        """None when unset, for a default that depends on other settings."""
        return self.boolean(name, default=False) if self.text(name) else None

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self.text(name)
        if not raw:
            return default
        if raw.lower() not in choices:
            listed = " or ".join(choices) if len(choices) < 3 else "one of " + ", ".join(choices)
            self.refuse(name, raw, f"expected {listed}")
            return default
        return raw.lower()

    def url(self, name: str, schemes: tuple[str, ...]) -> str:
        raw = self.text(name).rstrip("/")
        parts = urlsplit(raw)
        # A unix socket's URL names a path, not a host.
        if raw and (parts.scheme not in schemes or not (parts.netloc or parts.scheme == "unix")):
            example = f"{schemes[0]}://host:port"
            self.refuse(
                name, raw, f"expected a URL starting {' or '.join(schemes)}://, e.g. {example}"
            )
            return ""
        return raw

    def origins(self, name: str) -> tuple[str, ...]:
        raw = self.text(name)
        origins = []
        for item in (item.strip() for item in raw.split(",")):
            if not item:
                continue
            origin = normalize_origin(item)
            if (
                origin is None
                or urlsplit(item.rstrip("/")).path
                or origin.split(":")[0]
                not in (
                    "http",
                    "https",
                )
            ):
                self.refuse(
                    name, item, "expected comma-separated origins like https://portal.example.com"
                )
                continue
            origins.append(origin)
        return tuple(origins)


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = "sqlite://var/portico.sqlite3"
    secret_key: str = ""
    # Where `portico serve` listens; the defaults of the two URL settings below follow it.
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # PORTICO_ALLOWED_ORIGINS as set; empty: the served address (see allowed_origins).
    configured_origins: tuple[str, ...] = ()
    # PORTICO_PUBLIC_URL as set; empty: the served address (see public_base_url).
    public_url: str = ""
    staff_app_url: str = ""
    redis_url: str = ""
    redis_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    mail_url: str = DEFAULT_MAIL_URL
    mail_from: str = DEFAULT_MAIL_FROM
    sms_url: str = DEFAULT_SMS_URL
    outbox_poll_seconds: int = 2
    log_level: str = "INFO"
    # One of LOG_FORMATS; None: json in production, text in development.
    log_format: str | None = None
    # Bearer token that /metrics asks for; empty: /metrics is not served (404).
    metrics_token: str = field(default="", repr=False)
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
    # CPU time one PDF may take to render (pdf.worker); a document needing more is refused.
    pdf_cpu_seconds: float = 60.0
    files_dir: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    # Each API key's bucket of query cost, and its refill per second (schema.query_budget);
    # a budget of 0 costs and limits nothing.
    api_key_budget: int = 10_000
    api_key_budget_refill: int = 100
    # Where traces go (server.tracing): empty unless OTEL_* variables ask for tracing.
    trace_exporters: tuple[str, ...] = ()

    @property
    def served_origins(self) -> tuple[str, ...]:
        """The origins a browser reaches `portico serve` at, by the names it answers to."""
        if self.host in WILDCARD_HOSTS or self.host in LOOPBACK_NAMES:
            names = sorted(LOOPBACK_NAMES, key=lambda name: name != self.host)
        else:
            names = [f"[{self.host}]" if ":" in self.host else self.host]
        return tuple(f"http://{name}:{self.port}" for name in names)

    @property
    def public_base_url(self) -> str:
        """Where links (PDFs, portal, GraphiQL) point: the configured URL or the served one."""
        return self.public_url or self.served_origins[0]

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """Origins trusted for CORS, cookies and websockets, besides same-origin requests."""
        if self.configured_origins:
            return self.configured_origins
        public = normalize_origin(self.public_base_url)
        derived = (public, *self.served_origins) if public else self.served_origins
        return tuple(dict.fromkeys(derived))

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
    def log_format_in_use(self) -> str:
        return self.log_format or ("json" if self.is_production else "text")

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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of the environment; ConfigurationError lists every bad value."""
        env = _Environment(os.environ if environ is None else environ)
        environment = env.choice("PORTICO_ENV", "development", ("development", "production"))
        var_dir = Path(env.text("PORTICO_VAR_DIR", "var"))
        production = environment == "production"
        database_url = _database_url(env, var_dir)
        settings = cls(
            environment=environment,
            database_url=database_url,
            host=env.text("PORTICO_HOST", cls.host),
            port=env.integer("PORTICO_PORT", cls.port, minimum=1, maximum=65535),
            workers=env.integer("PORTICO_WORKERS", cls.workers),
            configured_origins=env.origins("PORTICO_ALLOWED_ORIGINS"),
            public_url=env.url("PORTICO_PUBLIC_URL", ("http", "https")),
            staff_app_url=env.url("PORTICO_STAFF_APP_URL", ("http", "https")),
            redis_url=env.url("REDIS_URL", ("redis", "rediss", "unix")),
            redis_timeout_seconds=env.seconds(
                "PORTICO_REDIS_TIMEOUT_SECONDS", cls.redis_timeout_seconds
            ),
            mail_url=_mail_url(env, cls.mail_url),
            mail_from=_mail_from(env, cls.mail_from),
            sms_url=_sms_url(env, cls.sms_url),
            # Zero would make every delivery loop query the database non-stop.
            outbox_poll_seconds=env.integer("PORTICO_OUTBOX_POLL_SECONDS", cls.outbox_poll_seconds),
            log_level=env.choice(
                "PORTICO_LOG_LEVEL", cls.log_level, tuple(level.lower() for level in LOG_LEVELS)
            ).upper(),
            log_format=env.choice("PORTICO_LOG_FORMAT", "", LOG_FORMATS) or None,
            metrics_token=_metrics_token(env),
            graphiql=env.boolean("PORTICO_GRAPHIQL", not production),
            introspection=env.flag("PORTICO_INTROSPECTION"),
            trusted_documents=env.choice("PORTICO_TRUSTED_DOCUMENTS", "", TRUSTED_DOCUMENTS)
            or None,
            max_body_bytes=env.integer("PORTICO_MAX_BODY_BYTES", cls.max_body_bytes),
            body_timeout_seconds=env.seconds(
                "PORTICO_BODY_TIMEOUT_SECONDS", cls.body_timeout_seconds
            ),
            shutdown_timeout_seconds=env.seconds(
                "PORTICO_SHUTDOWN_TIMEOUT_SECONDS", cls.shutdown_timeout_seconds
            ),
            session_idle_minutes=env.integer(
                "PORTICO_SESSION_IDLE_MINUTES", cls.session_idle_minutes
            ),
            session_max_hours=env.integer("PORTICO_SESSION_MAX_HOURS", cls.session_max_hours),
            argon2_time_cost=env.integer("PORTICO_ARGON2_TIME_COST", cls.argon2_time_cost),
            # argon2 needs 8 KiB per lane, and the hasher uses 4 lanes.
            argon2_memory_kib=env.integer(
                "PORTICO_ARGON2_MEMORY_KIB", cls.argon2_memory_kib, minimum=32
            ),
            password_workers=env.integer("PORTICO_PASSWORD_WORKERS", cls.password_workers),
            var_dir=var_dir,
            gateway_webhook_secret=env.text("PORTICO_GATEWAY_WEBHOOK_SECRET"),
            test_gateway_ledger=Path(ledger)
            if (ledger := env.text("PORTICO_TEST_GATEWAY_LEDGER"))
            else None,
            pdf_workers=env.integer("PORTICO_PDF_WORKERS", cls.pdf_workers),
            pdf_cpu_seconds=env.seconds("PORTICO_PDF_CPU_SECONDS", cls.pdf_cpu_seconds),
            files_dir=Path(files) if (files := env.text("PORTICO_FILES_DIR")) else None,
            max_upload_bytes=env.integer("PORTICO_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            api_key_budget=_api_key_budget(env, cls.api_key_budget),
            api_key_budget_refill=env.integer(
                "PORTICO_API_KEY_BUDGET_REFILL", cls.api_key_budget_refill
            ),
            trace_exporters=_trace_exporters(env),
        )
        key = _secret_key(env, production)
        if env.problems:
            raise ConfigurationError(env.problems)
        # Only a valid configuration creates the development key file.
        return dataclasses.replace(settings, secret_key=key or _development_key(var_dir))


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip() or default


def _database_url(env: _Environment, var_dir: Path) -> str:
    url = env.text("DATABASE_URL", f"sqlite://{var_dir}/portico.sqlite3")
    if not tortoise_reads(url):
        env.refuse(
            "DATABASE_URL",
            url,
            "expected sqlite://path/file.sqlite3 or postgres://user:pass@host/db",
        )
    return url


# The schemes of the engines Portico's migrations and queries are written for (SQLite and
# asyncpg), and the options Tortoise converts to numbers for each.
_SQLITE_NUMBERS = {"journal_size_limit": int}
_POSTGRES_NUMBERS = dict.fromkeys(
    (
        "min_size",
        "max_size",
        "max_queries",
        "timeout",
        "statement_cache_size",
        "max_cached_statement_lifetime",
        "max_cacheable_statement_size",
    ),
    int,
) | {"max_inactive_connection_lifetime": float}
DATABASE_SCHEMES = {
    "sqlite": _SQLITE_NUMBERS,
    "postgres": _POSTGRES_NUMBERS,
    "postgresql": _POSTGRES_NUMBERS,
    "asyncpg": _POSTGRES_NUMBERS,
}


def tortoise_reads(url: str) -> bool:
    """Whether Tortoise opens `url` with SQLite or asyncpg, without error: its own reading
    (tortoise.backends.base.config_generator.expand_db_url) redone with the standard library,
    since importing Tortoise would cost every command a quarter of a second. A test in
    tests/test_settings.py holds the two to the same answers."""
    scheme, separator, rest = url.partition("://")
    at = rest.find("@")
    if separator and at != -1:
        # Tortoise encodes brackets in the user and password, which urlparse takes for IPv6.
        rest = rest[:at].replace("[", "%5B").replace("]", "%5D") + rest[at:]
    try:
        parts = urlparse(f"{scheme}{separator}{rest}")
        numbers = DATABASE_SCHEMES.get(parts.scheme)
        if numbers is None:
            return False
        if parts.scheme == "sqlite":
            if not parts.netloc + parts.path:
                return False
        else:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        for name, values in parse_qs(parts.query).items():
            numbers.get(name, str)(values[-1])
    except ValueError:
        return False
    return True


def _api_key_budget(env: _Environment, default: int) -> int:
    value = env.integer("PORTICO_API_KEY_BUDGET", default, minimum=0)
    if value != 0 and value < MAX_COST:
        env.refuse(
            "PORTICO_API_KEY_BUDGET",
            str(value),
            f"expected 0 (off) or at least {MAX_COST:,}, the most one operation may cost",
        )
        return default
    return value


# The exporters Portico has (OpenTelemetry's names); "none" turns tracing off.
TRACE_EXPORTERS = ("otlp", "console")


def _trace_exporters(env: _Environment) -> tuple[str, ...]:
    """OpenTelemetry's variables: tracing is on when OTEL_TRACES_EXPORTER names an exporter, or
    an OTLP endpoint is set (the exporter then defaults to otlp); OTEL_SDK_DISABLED turns it
    off. Only OTLP over HTTP is installed, so asking for gRPC is refused, not ignored."""
    if env.boolean("OTEL_SDK_DISABLED", False):
        return ()
    raw = env.text("OTEL_TRACES_EXPORTER")
    if raw:
        names = tuple(dict.fromkeys(name.strip().lower() for name in raw.split(",")))
        if names == ("none",):
            return ()
        if not names or any(name not in TRACE_EXPORTERS for name in names):
            env.refuse("OTEL_TRACES_EXPORTER", raw, "expected otlp, console, both or none")
            return ()
    elif env.text("OTEL_EXPORTER_OTLP_ENDPOINT") or env.text("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        names = ("otlp",)
    else:
        return ()
    if "otlp" in names:
        for variable in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            env.url(variable, ("http", "https"))
        for variable in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
            protocol = env.text(variable)
            if protocol and protocol != "http/protobuf":
                env.refuse(variable, protocol, "expected http/protobuf (Portico exports over HTTP)")
    return names


def _mail_url(env: _Environment, default: str) -> str:
    # Checked at start-up, so a typo fails `portico serve` instead of every email later.
    url = env.text("PORTICO_MAIL_URL", default)
    try:
        mailer_from_url(url)
    except MailConfigurationError as exc:
        env.refuse("PORTICO_MAIL_URL", url, str(exc))
        return default
    return url


def _sms_url(env: _Environment, default: str) -> str:
    url = env.text("PORTICO_SMS_URL", default)
    try:
        sender_from_url(url)
    except SmsConfigurationError as exc:
        env.refuse("PORTICO_SMS_URL", url, str(exc))
        return default
    return url


def _mail_from(env: _Environment, default: str) -> str:
    value = env.text("PORTICO_MAIL_FROM", default)
    if "@" not in parseaddr(value)[1]:
        env.refuse("PORTICO_MAIL_FROM", value, f"expected an address like {DEFAULT_MAIL_FROM!r}")
        return default
    return value


def _metrics_token(env: _Environment) -> str:
    token = env.text("PORTICO_METRICS_TOKEN")
    if token and (len(token) < MIN_METRICS_TOKEN or not token.isprintable() or " " in token):
        # Like the secret key, never echoed.
        env.problems.append(
            f"PORTICO_METRICS_TOKEN is not valid: expected at least {MIN_METRICS_TOKEN} "
            "printable characters without spaces"
        )
        return ""
    return token


def _secret_key(env: _Environment, production: bool) -> str:
    """The configured key; empty when a development key is to be kept in the var directory."""
    key = env.text("PORTICO_SECRET_KEY")
    if key and len(key) < 32:
        # The value itself is never echoed: it may be a real secret, merely short.
        env.problems.append(
            f"PORTICO_SECRET_KEY is not valid: expected at least 32 characters, got {len(key)}"
        )
    elif not key and production:
        env.problems.append("PORTICO_SECRET_KEY is required when PORTICO_ENV=production")
    return key


def _development_key(var_dir: Path) -> str:
    # Development keeps one generated key so sessions survive restarts.
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
