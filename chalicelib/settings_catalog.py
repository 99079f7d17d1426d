"""Every setting the functions read, declared once (docs/operations.md, "Configuration").

Pure data. ``config.py`` parses the environment from it; ``infra/template.py`` makes each
operator-tunable setting a template parameter (its default and range) and hands it to every
function's environment; ``make dev`` routes its own ``MAILPROXY_*`` variables through the same
parameters (``devstack/settings.py``), so a value reaches the code the same way in AWS and
locally; ``GET /status`` shows the effective values of the non-secret ones.

``where`` says how a value reaches a function:
- ``parameter``: a template parameter (``parameter``), locally the variable of the same name;
- ``secret``: Secrets Manager in AWS (the template's secret), locally the variable;
- ``local``: only meaningful locally (in AWS the template fixes it);
- ``wiring``: written by the template itself (ARNs, URLs of what it created); never set by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from chalicelib import limits

Kind = Literal["int", "float", "bool", "text", "delays", "allow", "prefix", "url"]
Where = Literal["parameter", "secret", "local", "wiring"]

DEFAULT_RETRY_DELAYS: Final = (60, 300, 900, 3600, 7200)


@dataclass(frozen=True)
class Setting:
    env: str  # the environment variable
    attribute: str  # the field of config.Settings it fills
    kind: Kind
    default: object
    where: Where
    doc: str
    parameter: str | None = None  # the template parameter (where == "parameter")
    minimum: float | None = None  # inclusive
    maximum: float | None = None  # inclusive

    @property
    def secret(self) -> bool:
        return self.where == "secret"


def _p(
    env: str,
    attribute: str,
    kind: Kind,
    default: object,
    parameter: str,
    doc: str,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Setting:
    return Setting(env, attribute, kind, default, "parameter", doc, parameter, minimum, maximum)


SETTINGS: Final[tuple[Setting, ...]] = (
    # Operator-tunable: template parameters in AWS, the same variable in make dev.
    _p(
        "MAILPROXY_RETRY_DELAYS",
        "retry_delays",
        "delays",
        DEFAULT_RETRY_DELAYS,
        "RetryDelays",
        "seconds before each retry of a temporary failure, comma-separated (the last one reused)",
        minimum=0,
        maximum=7 * 24 * 3600,
    ),
    _p(
        "MAILPROXY_MAX_RETRIES",
        "max_retries",
        "int",
        5,
        "MaxRetries",
        "temporary failures tolerated before a message ends in error",
        0,
        100,
    ),
    _p(
        "MAILPROXY_REPORT_INTERVAL",
        "report_interval",
        "int",
        300,
        "ReportInterval",
        "seconds between empty delivery-report syncs, and the cap of a failing report's backoff",
        1,
        86_400,
    ),
    _p(
        "MAILPROXY_ATTACHMENT_TIMEOUT",
        "attachment_timeout",
        "float",
        30.0,
        "AttachmentTimeout",
        "seconds one attachment download may take",
        0.1,
        limits.DISPATCH_BUDGET,
    ),
    _p(
        "MAILPROXY_ATTACHMENT_BASE_DIR",
        "attachment_base_dir",
        "text",
        None,
        "AttachmentBaseDir",
        "the only directory filesystem attachments are read from (empty: filesystem attachments off)",
    ),
    _p(
        "MAILPROXY_MAX_LIST",
        "max_list",
        "int",
        10_000,
        "MaxList",
        "the most messages an unpaged GET /messages answers (then it carries next_cursor)",
        1,
        100_000,
    ),
    _p(
        "MAILPROXY_SMTP_CONNECTIONS",
        "max_connections_per_account",
        "int",
        3,
        "SmtpConnections",
        "concurrent SMTP connections per account and dispatch run",
        1,
        50,
    ),
    _p(
        "MAILPROXY_SMTP_CONNECT_TIMEOUT",
        "smtp_connect_timeout",
        "float",
        10.0,
        "SmtpConnectTimeout",
        "seconds to connect to an SMTP server and read its greeting",
        0.1,
        limits.DISPATCH_BUDGET,
    ),
    _p(
        "MAILPROXY_SMTP_TIMEOUT",
        "smtp_timeout",
        "float",
        30.0,
        "SmtpTimeout",
        "seconds one SMTP transaction may take",
        0.1,
        limits.DISPATCH_BUDGET,
    ),
    _p(
        "MAILPROXY_DB_POOL_SIZE",
        "db_pool_size",
        "int",
        4,
        "DatabasePoolSize",
        "PostgreSQL connections per execution environment",
        1,
        50,
    ),
    _p(
        "MAILPROXY_CLAIM_LEASE",
        "claim_lease_seconds",
        "int",
        limits.CLAIM_LEASE,
        "ClaimLease",
        "seconds a dispatcher holds a claimed message; an expired lease makes it due again "
        "(the template's minimum outlives a dispatch run)",
        1,
        86_400,
    ),
    _p(
        "MAILPROXY_VISIBILITY_TIMEOUT",
        "visibility_timeout",
        "int",
        limits.QUEUE_VISIBILITY_TIMEOUT,
        "QueueVisibilityTimeout",
        "SQS visibility timeout of the queues the dispatcher reads (s)",
        1,
        43_200,
    ),
    _p(
        "MAILPROXY_QUEUE_PREFIX",
        "queue_prefix",
        "prefix",
        "mailproxy",
        "QueuePrefix",
        "prefix of the stack's SQS queue names (<= 30 of A-Z a-z 0-9 _ -)",
    ),
    _p(
        "MAILPROXY_OUTBOUND_ALLOW",
        "outbound",
        "allow",
        "",
        "OutboundAllow",
        "CIDRs and host:port entries tenants' SMTP accounts, attachment downloads, endpoint "
        "attachments and delivery reports may reach besides public addresses",
    ),
    _p(
        "MAILPROXY_PUBLIC_URL",
        "public_url",
        "url",
        None,
        "PublicUrl",
        "the API's public URL, the base of one-click unsubscribe links (empty in AWS: the stack's API URL)",
    ),
    _p(
        "MAILPROXY_TENANT_CONCURRENCY",
        "tenant_concurrency",
        "int",
        limits.TENANT_CONCURRENCY,
        "TenantConcurrency",
        "MaximumConcurrency of each tenant's event source mapping",
        2,
        1000,
    ),
    _p(
        "MAILPROXY_TENANT_BATCH_SIZE",
        "tenant_batch_size",
        "int",
        limits.BATCH_SIZE,
        "TenantBatchSize",
        "BatchSize of each tenant's event source mapping",
        1,
        10,
    ),
    _p(
        "MAILPROXY_TENANT_BATCHING_WINDOW",
        "tenant_batching_window",
        "int",
        limits.BATCHING_WINDOW,
        "TenantBatchingWindow",
        "MaximumBatchingWindowInSeconds of each tenant's mapping",
        0,
        300,
    ),
    _p(
        "MAILPROXY_SCHEDULER_ENABLED",
        "scheduler_enabled",
        "bool",
        True,
        "SchedulerEnabled",
        "API v1's instance flag, reported as active by /status",
    ),
    # Secrets: Secrets Manager in AWS (the template generates or is given them).
    Setting(
        "MAILPROXY_API_TOKEN",
        "api_token",
        "text",
        None,
        "secret",
        "the admin token (AWS: the AdminTokenSecret; unset locally: make dev generates and keeps one)",
    ),
    Setting(
        "MAILPROXY_ENCRYPTION_KEY",
        "encryption_key",
        "text",
        None,
        "secret",
        "key of the secrets stored at rest, 'new,old' to rotate (AWS: the EncryptionKeySecret)",
    ),
    Setting(
        "DATABASE_URL",
        "database_url",
        "text",
        None,
        "secret",
        "postgresql:// URL (AWS: the DatabaseUrl parameter, kept as a secret, or the database the stack makes)",
    ),
    # Local only: in AWS the template fixes these.
    Setting(
        "MAILPROXY_SCHEDULE_TICK",
        "schedule_tick",
        "float",
        60.0,
        "local",
        "seconds between scheduled runs of the local function runner (AWS: EventBridge, every minute)",
        minimum=0.1,
        maximum=3600,
    ),
    # Wiring: the template writes these from what it created.
    Setting(
        "MAILPROXY_API_TOKEN_SECRET_ARN", "api_token_secret_arn", "text", None, "wiring", "the admin token's secret"
    ),
    Setting(
        "MAILPROXY_ENCRYPTION_KEY_SECRET_ARN",
        "encryption_key_secret_arn",
        "text",
        None,
        "wiring",
        "the encryption key's secret",
    ),
    Setting(
        "MAILPROXY_DATABASE_SECRET_ARN",
        "database_secret_arn",
        "text",
        None,
        "wiring",
        "the database URL's (or credentials') secret",
    ),
    Setting(
        "MAILPROXY_DATABASE_HOST",
        "database_host",
        "text",
        None,
        "wiring",
        "RDS Proxy's endpoint, when the stack made the database",
    ),
    Setting(
        "MAILPROXY_DATABASE_NAME",
        "database_name",
        "text",
        "mailproxy",
        "wiring",
        "the database's name, when the stack made it",
    ),
    Setting(
        "MAILPROXY_DISPATCH_FUNCTION_ARN",
        "dispatch_function_arn",
        "text",
        None,
        "wiring",
        "new tenant queues get an event source mapping onto this function",
    ),
    Setting(
        "MAILPROXY_SYSTEM_QUEUE_URL",
        "system_queue_url",
        "text",
        None,
        "wiring",
        "the stack's queue for instance-wide work",
    ),
    Setting(
        "MAILPROXY_WORK_QUEUE_URL",
        "work_queue_url",
        "text",
        None,
        "wiring",
        "the shared queue every pooled tenant's work records go to (one fair queue, one mapping)",
    ),
    Setting("MAILPROXY_ALARM_TOPIC_ARN", "alarm_topic_arn", "text", None, "wiring", "where per-tenant alarms notify"),
)

BY_ENV: Final = {s.env: s for s in SETTINGS}
BY_PARAMETER: Final = {s.parameter: s for s in SETTINGS if s.parameter}

# MAILPROXY_* variables that are not the functions' settings: make dev's own (ports, which
# AWS endpoint), the CLI's, and the test tiers' knobs. make dev refuses any other name.
DEVSTACK_VARIABLES: Final = frozenset(
    {
        "MAILPROXY_PORT",
        "MAILPROXY_AWS",
        "MAILPROXY_AWS_PORT",
        "MAILPROXY_PG_PORT",
        "MAILPROXY_PG_DIR",
    }
)
CLI_VARIABLES: Final = frozenset({"MAILPROXY_URL", "MAILPROXY_TOKEN", "MAILPROXY_CONFIG"})
TEST_VARIABLES: Final = frozenset({"MAILPROXY_FUZZ_CASES", "MAILPROXY_CHAOS_MESSAGES"})


def render(setting: Setting, value: object) -> str:
    """A value as the environment variable would hold it (for /status and make dev's echo)."""
    if value is None:
        return ""
    if setting.kind == "delays" and isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if setting.kind == "bool":
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
