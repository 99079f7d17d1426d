"""Dispatch (docs/api.md §5.1-5.8): claim due messages, build MIME, send, record each outcome.

One run handles one tenant: per account it leases ``batch_size`` due messages at a time in
order (priority, created_at, id; priority 0 first), sends them over at most
``max_connections_per_account`` reused SMTP connections, and hands each outcome to the run's
group commit (services/outcomes.py) right after its SMTP answer, so that a crash can repeat
at most the messages in flight and the outcomes not yet written."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib import limits
from chalicelib.domain import metrics
from chalicelib.domain.messages import WHOLE_TENANT
from chalicelib.domain.rows import AccountRow, MessageRow, TenantRow
from chalicelib.domain.suppression import ALL_SUPPRESSED
from chalicelib.domain.targets import SmtpTarget
from chalicelib.domain.work_records import Reason
from chalicelib.errors import DeliveryError, InfrastructureError, SecretUnreadable
from chalicelib.services import compose, throttle
from chalicelib.services.enqueue import enqueue
from chalicelib.services.feed import Feed
from chalicelib.services.outcomes import OutcomeWriter, RunSummary
from chalicelib.services.ports import Ports, Sender
from chalicelib.services.recipients import RunSuppressions
from chalicelib.services.signing import RunSigner
from chalicelib.services.verdicts import Verdicts

log = logging.getLogger(__name__)
UNREADABLE_ACCOUNT = (
    "the account's stored password cannot be decrypted with this deployment's "
    "MAILPROXY_ENCRYPTION_KEY (stored under another key): set the key back, or save "
    "the account's password again"
)


class _LongLived(ThreadPoolExecutor):
    """The runs' threads for blocking calls (the database, the suppression list): started once
    per environment. asyncio.run gives each run a new default pool and joins it at the end, so
    a tenant's run with one message started and stopped two or three threads."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None  # lives as long as the environment


_THREADS = _LongLived(max_workers=8, thread_name_prefix="dispatch-io")


async def serve(ports: Ports, tenant_id: str, owner: str | None = None, budget_seconds: float = 0.0) -> RunSummary:
    """Dispatch runs for one tenant, one after another while due messages remain and the
    time budget lasts; then, if work is left, a new work record. A coroutine, so that one
    invocation serves its batch's tenants side by side in one event loop."""
    started = time.monotonic()
    total = RunSummary(tenant_id)
    while True:
        run = _Run(ports, tenant_id, owner, continue_until=started + budget_seconds)
        summary = await run.execute()
        total.add(summary)
        in_budget = summary.claimed > 0 and time.monotonic() - started < budget_seconds
        if summary.more_due and in_budget:  # a full batch: more is likely behind it
            continue
        # The batches ran dry: the record is spent. Clear the tenant's mark, then look once
        # more (services/enqueue.py); what arrived meanwhile is served here or by a new record.
        more = await asyncio.to_thread(ports.dispatch.end_run, tenant_id, ports.now()) or summary.more_due
        if not (more and in_budget):
            break
    if more:
        await asyncio.to_thread(enqueue, ports, [tenant_id], Reason.CONTINUE)
    return total


class _Run:
    def __init__(self, ports: Ports, tenant_id: str, owner: str | None, continue_until: float = 0.0):
        self.ports = ports
        # An account's next batch is claimed in the same run (same connections) until then.
        self.continue_until = continue_until
        self._full: set[str] = set()  # accounts whose last claim was a full batch
        self._capped: set[str] = set()  # accounts whose rate window bound a claim
        self._looked: set[str] = set()  # accounts given their one last look past the budget
        self._in_flight: dict[str, int] = {}  # claimed, not yet done, per account
        self.tenant_id = tenant_id
        self.owner = owner or f"dispatch-{uuid.uuid4()}"
        self.summary = RunSummary(tenant_id)
        # Stop starting new messages well before the lease runs out; an accepted message's
        # record is retried until shortly before it does.
        self.deadline = time.monotonic() + max(1.0, ports.settings.claim_lease_seconds * 0.8)
        self.lease_ends = time.monotonic() + max(1.0, ports.settings.claim_lease_seconds * 0.95)
        self.suppressions: RunSuppressions | None = None
        self.signer: RunSigner | None = None
        self.outcomes = OutcomeWriter(
            ports.dispatch,
            self.owner,
            self.lease_ends,
            limits.OUTCOME_BATCH,
            more_coming=lambda: any(self._in_flight.values()),
        )
        self.verdicts = Verdicts(ports, self.outcomes, self.summary)

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def execute(self) -> RunSummary:
        asyncio.get_running_loop().set_default_executor(_THREADS)
        store = self.ports.dispatch
        tenant, accounts = await self._db(store.tenant_and_accounts, self.tenant_id)
        # A suspended tenant has nothing due: no claim reads its backlog to find that out.
        if tenant is None or not tenant["active"] or WHOLE_TENANT in tenant["suspended_batches"]:
            return self.summary
        self.summary.reports_to = bool(tenant.get("client_base_url"))
        now = self.ports.now()
        work = []
        try:
            for account in accounts:
                # A spent rate window keeps its messages waiting until it ends
                # (services/throttle.py). The claim takes the account's lease with it: another
                # run sending for this account keeps it, and its messages wait for that run.
                if throttle.held(account, now):
                    continue
                claimed = await self._claim(account)
                if claimed:
                    work.append(self._account(tenant, account, claimed))
            if work:
                try:
                    await asyncio.gather(*work)
                finally:
                    await self.outcomes.close()
        finally:
            await self._db(store.release_account_leases, self.tenant_id, self.owner)
        self.summary.more_due = self.summary.more_due or bool(self._full)
        return self.summary

    async def _account(self, tenant: TenantRow, account: AccountRow, messages: list[MessageRow]) -> None:
        try:
            password = self.ports.cipher.decrypt_opt(account.get("password_enc"))
        except SecretUnreadable:
            await self._unreadable(account, messages)
            return
        target = SmtpTarget(
            host=account["host"],
            port=account["port"],
            user=account.get("username"),
            password=password,
            use_tls=account.get("use_tls"),
        )
        width = min(self.ports.settings.max_connections_per_account, len(messages))
        sessions = [self.ports.smtp(target) for _ in range(width)]
        suppressions = self._suppressions(tenant)
        try:
            while messages:
                await suppressions.load(messages)
                # Priority 0 finishes before anything else of the batch starts.
                urgent = Feed([m for m in messages if m["priority"] == 0], 0, None, suppressions.load)
                await asyncio.gather(*(self._worker(s, tenant, account, urgent) for s in sessions))
                # Then the rest; next batches join it while the budget lasts (services/feed.py),
                # each claimed when half the batch at hand is left: a claim under load takes
                # longer than the connections' last few messages (measured: the workers waited
                # 8-17 % of a run for the next batch when it was claimed at `width` left).
                feed = Feed(
                    [m for m in messages if m["priority"] != 0],
                    max(width, account["batch_size"] // 2),
                    lambda: self._next_batch(account),
                    suppressions.load,
                )
                try:
                    await asyncio.gather(*(self._worker(s, tenant, account, feed) for s in sessions))
                finally:
                    for left in await feed.close():  # claimed, never started: due again now
                        self._in_flight[account["id"]] -= 1
                        await self._release(left)
                messages = feed.held or await self._last_look(account)
        finally:
            await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)

    async def _unreadable(self, account: AccountRow, messages: list[MessageRow]) -> None:
        """Never pending for ever: each message ends in error saying what to do, and the
        account is flagged (/status, /metrics, alert) until it is saved again."""
        await self._db(self.ports.dispatch.flag_account, self.tenant_id, account["id"], UNREADABLE_ACCOUNT)
        log.error(
            "account password unreadable with this deployment's key",
            extra={"account_id": account["id"], "messages": len(messages)},
        )
        for message in messages:
            await self.verdicts.give_up(message, UNREADABLE_ACCOUNT, counters=(metrics.ERRORS,))

    def _signer(self, tenant: TenantRow) -> RunSigner:
        self.signer = self.signer or RunSigner(self.ports, tenant)
        return self.signer

    def _suppressions(self, tenant: TenantRow) -> RunSuppressions:
        self.suppressions = self.suppressions or RunSuppressions(self.ports, tenant)
        return self.suppressions

    async def _claim(self, account: AccountRow) -> list[MessageRow]:
        key = account["id"]
        room = await self._db(
            throttle.room, self.ports, self.tenant_id, account, account["batch_size"], self._in_flight.get(key, 0)
        )
        if room.spent:  # the rest waits for the window's end, held at once
            held = await self._db(throttle.hold, self.ports, self.tenant_id, account, room)
            self.summary.deferred += held.deferred
            self.summary.errors += held.rejected
        claimed: list[MessageRow] = (
            await self._db(
                self.ports.dispatch.claim,
                self.tenant_id,
                key,
                self.owner,
                self.ports.now(),
                self.ports.settings.claim_lease_seconds,
                room.claim,
            )
            if room.claim
            else []
        )
        self.summary.claimed += len(claimed)
        self._in_flight[key] = self._in_flight.get(key, 0) + len(claimed)
        if claimed and len(claimed) >= room.claim:
            self._full.add(key)
        else:
            self._full.discard(key)
        if room.until is not None and not room.spent:  # the window bound it: look again (_last_look)
            self._capped.add(key)
        return claimed

    async def _next_batch(self, account: AccountRow) -> list[MessageRow]:
        more = account["id"] in self._full and time.monotonic() < min(self.continue_until, self.deadline)
        return await self._claim(account) if more else []

    async def _last_look(self, account: AccountRow) -> list[MessageRow]:
        """Once the account's messages are done: if its rate window bound a claim, claim again,
        once whatever the budget: a spent window holds the rest now, and room a failure before
        SMTP left goes to the next due message."""
        key = account["id"]
        if key not in self._capped or time.monotonic() >= self.deadline:
            return []
        if key in self._looked and time.monotonic() >= self.continue_until:
            return []
        self._capped.discard(key)
        self._looked.add(key)
        return await self._claim(account)

    async def _worker(self, session: Sender, tenant: TenantRow, account: AccountRow, feed: Feed) -> None:
        while (message := await feed.next()) is not None:
            try:
                await self._one(session, tenant, account, message)
            finally:
                self._in_flight[account["id"]] -= 1

    async def _one(self, session: Sender, tenant: TenantRow, account: AccountRow, message: MessageRow) -> None:
        if time.monotonic() > self.deadline:
            await self._db(self.ports.dispatch.release_claim, message["pk"], self.owner, None)
            self.summary.released += 1
            self.summary.more_due = True
            return
        try:
            await self._attempt(session, tenant, account, message)
        except InfrastructureError:
            # The database (or another dependency) failed: leave the message to its lease.
            log.warning(
                "dispatch of one message interrupted; its lease makes it due again", extra={"message_id": message["id"]}
            )
            await self._release(message)
        except Exception as exc:
            # A bug or an unforeseen input: retried on the retry plan like a temporary
            # failure (so at most max retries + 1 attempts), never at once and for ever.
            log.exception("dispatch of one message failed unexpectedly", extra={"message_id": message["id"]})
            try:
                await self.verdicts.failed(
                    message, DeliveryError(f"internal error: {type(exc).__name__}", code=None, temporary=True)
                )
            except Exception:  # noqa: BLE001 - recording failed too: the lease covers it
                await self._release(message)

    async def _release(self, message: MessageRow) -> None:
        try:
            await self._db(self.ports.dispatch.release_claim, message["pk"], self.owner, None)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.warning("claim not released; it expires with its lease")

    async def _attempt(self, session: Sender, tenant: TenantRow, account: AccountRow, message: MessageRow) -> None:
        """Build, leave out suppressed recipients, take a rate slot, send: each step may end
        the attempt with its verdict (services/verdicts.py)."""
        ready = await self._ready(tenant, message)
        if ready is None:
            return
        windows = throttle.windows_of(account, self.ports.now())
        if windows:
            exhausted = await self._db(self.ports.rates.take, self.tenant_id, account["id"], windows)
            if exhausted:
                await self.verdicts.rate_limited(account, message, exhausted)
                return
        suppressions = self._suppressions(tenant)
        try:
            refused = await session.send(ready.built.envelope.sender, ready.recipients, ready.built.data)
        except DeliveryError as exc:
            await suppressions.refused(message, exc.refused)
            if windows:  # the slot goes back: nothing was delivered
                await self._db(self.ports.rates.release, self.tenant_id, account["id"], windows)
            await self.verdicts.failed(message, exc)
            return
        accepted = time.time()
        if refused:
            await suppressions.refused(message, refused)
        await self.verdicts.sent(message, accepted, refused, ready.left_out, ready.built.fallbacks)
        self.summary.sent += 1

    async def _ready(self, tenant: TenantRow, message: MessageRow) -> _Ready | None:
        """The message's bytes and the recipients to send them to; None when it ended here
        (it cannot be built, or every recipient is suppressed: no SMTP attempt, no rate slot)."""
        built = await compose.build(self.ports, tenant, message, self._signer(tenant))
        if isinstance(built, compose.Unsendable):
            await self.verdicts.give_up(message, built.error, counters=(metrics.ERRORS,))
            return None
        recipients, left_out = self._suppressions(tenant).split(built.envelope.recipients)
        if not recipients:
            await self.verdicts.give_up(
                message, ALL_SUPPRESSED, counters=(metrics.ERRORS,), metadata={"suppressed": left_out}
            )
            return None
        return _Ready(built, recipients, left_out)


@dataclass(frozen=True)
class _Ready:
    built: compose.Built
    recipients: list[str]
    left_out: list[str]
