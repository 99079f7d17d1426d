"""One-click unsubscribe (docs/api.md §7.3): the headers of a sent message, the
provider's POST that suppresses its recipients, the page a person sees."""

from __future__ import annotations

import html

from chalicelib.domain import suppression, unsubscribe
from chalicelib.domain.rows import Row, TenantRow
from chalicelib.errors import NotFoundError
from chalicelib.services.ports import Ports

UNKNOWN = "Unknown unsubscribe link"  # the same answer whatever the cause


def headers_for(ports: Ports, tenant: TenantRow, message: Row) -> dict[str, str]:
    """The List-Unsubscribe headers this message gets; none when off, when it brings its own,
    or when no public URL is configured (a link to nowhere would be worse than none)."""
    config = tenant.get("unsubscribe")
    public_url = ports.settings.public_url
    if not public_url or not unsubscribe.wanted(message, config):
        return {}
    value = unsubscribe.token(ports.settings.keys, tenant["id"], message["id"])
    return unsubscribe.headers(public_url, value, (config or {}).get("mailto"))


def _message(ports: Ports, token: str) -> Row:
    named = unsubscribe.read(ports.settings.keys, token)
    row = ports.feedback.message(*named) if named else None
    if row is None:
        raise NotFoundError(UNKNOWN)
    return row


def confirm(ports: Ports, token: str) -> Row:
    """Suppress every ``to`` address of the message, once; the event once too."""
    row = _message(ports, token)
    now = ports.now()
    if row["suppression_enabled"]:
        addresses = suppression.to_suppress(None, row["payload"].get("to"))
        ports.suppressions.add(
            row["tenant_id"], addresses, suppression.UNSUBSCRIBE, now, row["id"], "one-click unsubscribe"
        )
    ports.feedback.record(row["pk"], "unsubscribed", now, None, reported=not row["report_extensions"])
    return {"ok": True}


def page(ports: Ports, token: str) -> tuple[int, str]:
    """(status, HTML): a button that sends the one-click POST; showing it changes nothing."""
    try:
        _message(ports, token)
    except NotFoundError:
        return 404, _html("Link not found", "<p>This unsubscribe link is not known. It may have expired.</p>")
    form = (
        f'<form method="post" action="{html.escape(token)}">'
        f'<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">Unsubscribe</button></form>'
    )
    return 200, _html("Unsubscribe", "<p>Stop receiving these messages at this address?</p>" + form)


def _html(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        "<style>body{font:1.1rem/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        "button{font:inherit;padding:.6rem 1.4rem;cursor:pointer}</style></head>"
        f"<body><main><h1>{title}</h1>{body}</main></body></html>"
    )
