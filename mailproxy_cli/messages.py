"""``mailproxy messages …`` (find, show with its timeline, delete) and ``mailproxy suppressions …``."""

from __future__ import annotations

import click

from mailproxy_cli import show
from mailproxy_cli.context import Cli, FullHelpGroup, When, json_option, pass_cli

STATUSES = ("pending", "deferred", "suspended", "sent", "error", "bounced")


@click.group(cls=FullHelpGroup)
def messages() -> None:
    """Find a tenant's messages and see what happened to them."""


@messages.command()
@click.argument("tenant_id")
@click.option("--to", "q", help="A recipient address (any case) or a message id.")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--batch", "batch_code")
@click.option("--account", "account_id")
@click.option("--since", type=When(), help="Created from (Unix s, ISO date, or an age like 2h).")
@click.option("--until", type=When(), help="Created until.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--all", "everything", is_flag=True, help="Follow the cursor to the last page.")
@json_option
@pass_cli
def search(
    cli: Cli,
    tenant_id: str,
    q: str | None,
    status: str | None,
    batch_code: str | None,
    account_id: str | None,
    since: int | None,
    until: int | None,
    limit: int,
    everything: bool,
) -> None:
    """Messages of a tenant in dispatch order, one page (or --all).

    \b
    Examples:
      mailproxy messages search acme --to customer@example.com
      mailproxy messages search acme --status deferred --since 2h
      mailproxy --json messages search acme --batch newsletter --all
    """
    query = {
        "tenant_id": tenant_id,
        "q": q,
        "status": status,
        "batch_code": batch_code,
        "account_id": account_id,
        "since": since,
        "until": until,
    }
    found = cli.api.pages("/messages", "messages", query, limit, everything)
    rows = [
        {
            "id": m.get("id"),
            "status": m.get("status"),
            "to": show.recipients((m.get("message") or {}).get("to")),
            "subject": (m.get("message") or {}).get("subject"),
            "created_at": show.when(m.get("created_at")),
            "sent_ts": show.sent_when(m),
            "retries": m.get("retry_count"),
        }
        for m in found
    ]
    cli.listing(
        {"ok": True, "messages": found}, rows, ["id", "status", "to", "subject", "created_at", "sent_ts", "retries"]
    )


@messages.command("show")
@click.argument("tenant_id")
@click.argument("message_id")
@json_option
@pass_cli
def show_message(cli: Cli, tenant_id: str, message_id: str) -> None:
    """One message: where it stands, and its timeline.

    \b
    Examples:
      mailproxy messages show acme order-1042-confirmation
    """
    data = cli.api.call("GET", f"/messages/{message_id}", {"tenant_id": tenant_id})
    record = data["message"]

    def people() -> None:
        payload = record.get("message") or {}
        summary = {
            k: record.get(k)
            for k in (
                "id",
                "status",
                "account_id",
                "batch_code",
                "priority",
                "retry_count",
                "last_error",
                "error",
                "bounce_type",
                "bounce_reason",
            )
            if record.get(k) is not None
        }
        summary.update({"to": show.recipients(payload.get("to")), "subject": payload.get("subject")})
        show.fields(summary, ("id", "status", "to", "subject"))
        click.echo("")
        show.table(show.timeline(record), ["when", "what", "next_try", "detail"], cut_last=False)

    cli.out(data, people)


@messages.command()
@click.argument("tenant_id")
@click.argument("message_ids", nargs=-1, required=True)
@json_option
@pass_cli
def delete(cli: Cli, tenant_id: str, message_ids: tuple[str, ...]) -> None:
    """Delete messages (any status) with their events."""
    data = cli.api.call("POST", "/commands/delete-messages", {"tenant_id": tenant_id}, body={"ids": list(message_ids)})
    others = data.get("unauthorized") or []
    cli.done(data, f"removed {data.get('removed')}" + (f"; not this tenant's: {', '.join(others)}" if others else ""))


@click.group(cls=FullHelpGroup)
def suppressions() -> None:
    """Addresses a tenant never sends to again (bounces, complaints, unsubscribes, by hand)."""


@suppressions.command("list")
@click.argument("tenant_id")
@click.option("--reason", type=click.Choice(["hard_bounce", "complaint", "unsubscribe", "manual"]))
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--all", "everything", is_flag=True, help="Follow the cursor to the last page.")
@json_option
@pass_cli
def list_(cli: Cli, tenant_id: str, reason: str | None, limit: int, everything: bool) -> None:
    """A tenant's suppressed addresses, newest first (one page, or --all)."""
    found = cli.api.pages(
        "/suppressions", "suppressions", {"tenant_id": tenant_id, "reason": reason}, limit, everything
    )
    rows = [{**s, "created_ts": show.when(s.get("created_ts"))} for s in found]
    cli.listing({"ok": True, "suppressions": found}, rows, ["address", "reason", "created_ts", "detail"])


@suppressions.command()
@click.argument("tenant_id")
@click.argument("addresses", nargs=-1, required=True)
@click.option("--detail", help="Why (kept with each address).")
@json_option
@pass_cli
def add(cli: Cli, tenant_id: str, addresses: tuple[str, ...], detail: str | None) -> None:
    """Suppress addresses for a tenant by hand (reason "manual").

    \b
    Example:
      mailproxy suppressions add acme gone@example.com --detail "asked by phone"
    """
    body = {"tenant_id": tenant_id, "addresses": list(addresses), "detail": detail}
    data = cli.api.call("POST", "/suppressions", body={k: v for k, v in body.items() if v is not None})
    cli.done(data, f"suppressed {len(addresses)} address(es) for {tenant_id}")


@suppressions.command()
@click.argument("tenant_id")
@click.argument("address")
@json_option
@pass_cli
def remove(cli: Cli, tenant_id: str, address: str) -> None:
    """Let an address receive the tenant's mail again."""
    data = cli.api.call("DELETE", f"/suppressions/{address}", {"tenant_id": tenant_id})
    cli.done(data, f"{address} may receive mail from {tenant_id} again")


COMMANDS = (messages, suppressions)
