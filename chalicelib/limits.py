"""The numbers AWS checks against each other, written once.

The CloudFormation template (``infra/template.py``) declares them on its functions, queues
and event source mappings and hands them to the code as environment variables; the code's
defaults (``config.py``) are these same values, and the local stack reads them back from the
built template. AWS's rules between them are checked by ``rules()`` in the template tests
and by the local function runner at start-up (docs/operations.md, "The numbers").
"""

from __future__ import annotations

# Function timeouts (s). API Gateway gives up on an integration after 29 s.
API_TIMEOUT = 29
DISPATCH_TIMEOUT = 120
SCHEDULED_TIMEOUT = 60
RETENTION_TIMEOUT = 120
BOUNCES_TIMEOUT = 120
MIGRATE_TIMEOUT = 300

# A dispatch run keeps serving a tenant for at most this long; the rest continues in a
# fresh invocation through a new work record. Well inside DISPATCH_TIMEOUT, so that the
# run ends, records its outcomes and deletes its work records before Lambda kills it.
DISPATCH_BUDGET = 60

# A tenant's outstanding work record (migration 012) older than this is presumed lost and
# the retry tick sends another: longer than a run's budget, so a run that is still going is
# rarely doubled; short enough that a lost record delays its tenant by at most this plus a
# tick.
WORK_RECORD_STALE = DISPATCH_BUDGET + 30
# Retention removes in batches of this many rows while its budget lasts (a share of its
# timeout, so a run always ends well inside it); the next run resumes. cleanup-messages,
# on the API's clock, stops sooner and says how many it removed: call it again for the rest.
RETENTION_BATCH = 5000
RETENTION_BUDGET = RETENTION_TIMEOUT // 5
CLEANUP_BUDGET = API_TIMEOUT // 3
# Suspending or activating a batch sets or clears its messages' held flag (migration 017) in
# steps of this many rows: the request does what its budget allows, the retry tick the rest.
HOLD_BATCH = 5000
HOLD_REQUEST_BUDGET = API_TIMEOUT // 10
HOLD_TICK_BUDGET = SCHEDULED_TIMEOUT // 5
# The command log keeps this many days; past rate windows are dropped after this many.
COMMAND_LOG_DAYS = 30
RATE_WINDOW_DAYS = 2

# A /metrics answer larger than this is refused with the shard count that fits (Lambda's
# answer limit is 6 MB, base64 and headers included; a margin for the estimate).
METRICS_ANSWER_BYTES = 5_000_000
METRICS_MAX_SHARDS = 1024

# The retry and report ticks send at most this many work records per run (least recently
# served first, so every tenant comes round); SendMessageBatch carries ten per call.
TICK_TENANTS = 5000

# Memory (MB).
API_MEMORY = 512
DISPATCH_MEMORY = 512
SCHEDULED_MEMORY = 256

# Queues. AWS recommends a visibility timeout of at least six times the timeout of the
# function an event source mapping feeds (and refuses a mapping below 1x).
VISIBILITY_MULTIPLE = 6
QUEUE_VISIBILITY_TIMEOUT = VISIBILITY_MULTIPLE * DISPATCH_TIMEOUT
MAX_RECEIVE_COUNT = 5
DEAD_LETTER_RETENTION = 14 * 24 * 3600
QUEUE_RETENTION = 4 * 24 * 3600

# Event source mappings (tenant queues and the system queue).
BATCH_SIZE = 10
BATCHING_WINDOW = 0  # s: dispatch at once; a window only adds latency here
TENANT_CONCURRENCY = 2  # MaximumConcurrency of each dedicated tenant's mapping (AWS minimum: 2)
# The pooled path (every tenant without a dedicated queue): one mapping onto the work queue.
# Reserved concurrency keeps the API answering whatever dispatch does; the defaults fit an
# account with AWS's default 1,000 concurrent executions (700 stay unreserved).
WORK_CONCURRENCY = 50  # MaximumConcurrency of the work queue's mapping
DISPATCH_RESERVED = 200  # the dispatch function's reserved concurrency (pool + system + dedicated)
API_RESERVED = 100  # the API function's reserved concurrency
SYSTEM_CONCURRENCY = 2  # and of the system queue's (bounce polls)

# A claimed message's lease must outlive any invocation that could still be sending it.
CLAIM_LEASE = 300
# Outcomes written per statement at most (services/outcomes.py); with the connections in
# flight it bounds the duplicate window of one dispatch run: 2 x OUTCOME_BATCH + connections.
OUTCOME_BATCH = 16

# Scheduled functions fire this often (EventBridge; minute granularity in AWS).
SCHEDULE = "rate(1 minute)"


# The database path (docs/operations.md "Database sizing"). Aurora PostgreSQL sets
# max_connections to LEAST(DBInstanceClassMemory / 9531392, 5000), the memory being that of the
# cluster's maximum capacity: about 225 per ACU (2 GiB each). RDS Proxy may open
# PROXY_MAX_CONNECTIONS_PERCENT of them; the rest stay for migrations and an operator's psql.
DB_CONNECTIONS_PER_ACU = 225
DB_MAX_CONNECTIONS = 5000
PROXY_MAX_CONNECTIONS_PERCENT = 90
DATABASE_MIN_ACU = 0.5
DATABASE_MAX_ACU = 8
# Functions without reserved concurrency that hold a pool: the four scheduled ones (a run
# may overlap the next tick's) and the migration.
UNRESERVED_DB_CLIENTS = 4 * 2 + 1


def database_budget(*, pool_size: int, reserved: dict[str, int], max_acu: float) -> list[str]:
    """Every connection the functions may hold at once against what the proxy may open: each
    warm environment holds up to ``pool_size``, and reserved concurrency bounds the environments.
    Statements are never prepared on the server (adapters/database.py): a prepared statement
    pins a client to one backend through RDS Proxy, and multiplexing is what this sum relies on
    being the worst case, not the usual one."""
    clients = pool_size * (sum(reserved.values()) + UNRESERVED_DB_CLIENTS)
    backends = min(int(max_acu * DB_CONNECTIONS_PER_ACU), DB_MAX_CONNECTIONS) * PROXY_MAX_CONNECTIONS_PERCENT // 100
    if clients > backends:
        return [
            f"{clients} database connections at full concurrency (pool {pool_size} x "
            f"{sum(reserved.values()) + UNRESERVED_DB_CLIENTS} environments) exceed the proxy's "
            f"{backends} at {max_acu} ACU: raise DatabaseMaxCapacity or lower the pool or reservations"
        ]
    return []


def rules(
    *, function_timeouts: dict[str, int], mappings: list[tuple[int, int, int]], claim_lease: int, budget: int
) -> list[str]:
    """The AWS (and our own) rules between the numbers; returns what is broken.

    ``mappings``: (queue visibility timeout, function timeout, batch size) per event source
    mapping. Pure, so the template tests and the local runner share it.
    """
    broken = []
    for name, timeout in function_timeouts.items():
        if not 1 <= timeout <= 900:
            broken.append(f"{name}: Lambda timeout {timeout}s outside 1..900")
    if function_timeouts.get("api", 0) > API_TIMEOUT:
        broken.append(f"api: timeout {function_timeouts['api']}s exceeds API Gateway's {API_TIMEOUT}s")
    for visibility, timeout, batch in mappings:
        if visibility < timeout:
            broken.append(f"queue visibility {visibility}s below function timeout {timeout}s (AWS refuses it)")
        elif visibility < VISIBILITY_MULTIPLE * timeout:
            broken.append(f"queue visibility {visibility}s below {VISIBILITY_MULTIPLE}x function timeout {timeout}s")
        if not 1 <= batch <= 10:
            broken.append(f"batch size {batch} outside 1..10 (no batching window)")
    dispatch = function_timeouts.get("dispatch", 0)
    if claim_lease <= dispatch:
        broken.append(f"claim lease {claim_lease}s must outlive the dispatch timeout {dispatch}s")
    if budget >= dispatch:
        broken.append(f"dispatch budget {budget}s must end before the dispatch timeout {dispatch}s")
    return broken
