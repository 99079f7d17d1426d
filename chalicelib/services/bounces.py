"""Bounce polling (docs/api.md §5.11): read new mails over IMAP, record bounces, report them."""

from __future__ import annotations

import logging
from email.utils import getaddresses

from chalicelib.domain import defaults, suppression
from chalicelib.domain.addresses import address_list
from chalicelib.domain.bounces import Bounce, parse, start_uid
from chalicelib.domain.feedback import Complaint, parse_complaint
from chalicelib.domain.rows import Row
from chalicelib.domain.targets import MailboxTarget
from chalicelib.domain.work_records import Reason
from chalicelib.errors import MailboxError
from chalicelib.services.enqueue import enqueue
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

LEASE_SECONDS = 300.0


def _recipients(payload: Row) -> set[str]:
    found = set()
    for field in ("to", "cc", "bcc"):
        for _, addr in getaddresses(address_list(payload.get(field))):
            found.add(addr.lower())
    return found


def _match(candidates: list[Row], bounce: Bounce) -> Row | None:
    """The bounced message: the one whose recipients include the bounced address, else the
    latest sent (candidates come newest first)."""
    if not candidates:
        return None
    if bounce.recipient:
        for row in candidates:
            if bounce.recipient.lower() in _recipients(row["payload"]):
                return row
    return candidates[0]


def _suppress(ports: Ports, match: Row, bounce: Bounce) -> None:
    """A hard bounce suppresses the bounced address (the DSN's recipient, else the message's
    ``to``) for the message's tenant, unless the tenant turned suppression off (7.1)."""
    tenant = ports.tenants.get(match["tenant_id"])
    if tenant is None or not tenant.get("suppression_enabled", True):
        return
    addresses = suppression.to_suppress(bounce.recipient, match["payload"].get("to"))
    ports.suppressions.add(
        match["tenant_id"],
        addresses,
        suppression.HARD_BOUNCE,
        ports.now(),
        match["payload"].get("id"),
        bounce.bounce_reason,
    )


def _complain(ports: Ports, match: Row, complaint: Complaint) -> bool:
    """A complaint event (once), the message's complaint_ts, and the complained address
    suppressed (Original-Rcpt-To, else the message's ``to``); the status stays (7.2)."""
    tenant = ports.tenants.get(match["tenant_id"])
    if tenant is None:
        return False
    now = ports.now()
    if tenant["suppression_enabled"]:
        addresses = suppression.to_suppress(complaint.recipient, match["payload"].get("to"))
        ports.suppressions.add(
            match["tenant_id"],
            addresses,
            suppression.COMPLAINT,
            now,
            match["payload"].get("id"),
            complaint.feedback_type,
        )
    metadata = {"feedback_type": complaint.feedback_type, "user_agent": complaint.user_agent}
    return ports.feedback.record(match["pk"], "complaint", now, metadata, reported=not tenant["report_extensions"])


def poll(ports: Ports, force: bool = False) -> Row:
    """One poll, if bounces are enabled and a poll is due (or forced by reload-bounce)."""
    now = ports.clock()
    settings = ports.bounces.take_lease(now, LEASE_SECONDS, force)
    if settings is None:
        return {"polled": False}
    next_poll = int(now) + int(settings["bounce_poll_interval"] or defaults.INSTANCE["bounce_poll_interval"])
    host = (settings.get("bounce_imap_host") or "").strip()
    if not host:
        ports.bounces.finish_poll(None, None, next_poll, False)
        return {"polled": False}
    target = MailboxTarget(
        host=host,
        port=int(settings["bounce_imap_port"] or defaults.INSTANCE["bounce_imap_port"]),
        use_ssl=bool(settings["bounce_imap_ssl"]),
        user=settings.get("bounce_imap_user") or "",
        password=ports.cipher.decrypt_opt(settings.get("bounce_imap_password_enc")) or "",
        folder=settings.get("bounce_imap_folder") or defaults.INSTANCE["bounce_imap_folder"],
    )
    tenants: set[str] = set()
    recorded = complaints = 0
    try:
        with ports.mailboxes(target) as box:
            last = start_uid(settings.get("bounce_last_uid"), settings.get("bounce_uidvalidity"), box.uidvalidity)
            recognised: list[int] = []
            for uid in box.uids_after(last):
                raw = box.fetch(uid)
                complaint = parse_complaint(raw)
                bounce = parse(raw) if complaint is None else None
                if complaint is not None:
                    recognised.append(uid)
                    found = ports.bounces.candidates(complaint.mail_id) if complaint.mail_id else []
                    if found and _complain(ports, found[0], complaint):
                        tenants.add(found[0]["tenant_id"])
                        complaints += 1
                if bounce is not None:
                    recognised.append(uid)
                    match = _match(ports.bounces.candidates(bounce.mail_id), bounce) if bounce.mail_id else None
                    if match is not None:
                        ports.bounces.record(
                            match["pk"], ports.now(), bounce.bounce_type, bounce.bounce_code, bounce.bounce_reason
                        )
                        if bounce.bounce_type == "hard":
                            _suppress(ports, match, bounce)
                        tenants.add(match["tenant_id"])
                        recorded += 1
                # Progress is kept per mail, so a crash re-reads at most the mail in hand.
                ports.bounces.finish_poll(uid, box.uidvalidity, None, False)
                last = uid
                ports.bounces.take_lease(ports.clock(), LEASE_SECONDS, True)
            box.delete(recognised)
            # The UID reached with this UIDVALIDITY, even 0 for a recreated, still empty mailbox
            # (keeping the old UID there would skip its first mails).
            ports.bounces.finish_poll(last, box.uidvalidity, next_poll, True)
    except MailboxError as exc:
        log.warning("bounce poll failed: %s", exc)
        ports.bounces.finish_poll(None, None, next_poll, False)
        return {"polled": False, "error": str(exc)}
    enqueue(ports, sorted(tenants), Reason.REPORT)
    return {"polled": True, "bounces": recorded, "complaints": complaints}
