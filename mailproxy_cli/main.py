"""``mailproxy``: the root command, its error handling, and the commands of the service itself
(health, status, run-now, suspend, activate, send-test, command-log)."""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any

import click

from mailproxy_cli import show
from mailproxy_cli.client import FAILED, NOT_FOUND, USAGE, ApiError
from mailproxy_cli.context import Cli, FullHelpGroup, When, json_option, pass_cli
from mailproxy_cli.settings import SettingsError

FINAL = ("sent", "error", "bounced")


class _Root(FullHelpGroup):
    """Turns what the API said into a message on stderr and an exit code scripts can trust."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except SettingsError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(USAGE)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="MAILPROXY_URL", help="API base URL [env MAILPROXY_URL].")
@click.option("--token", envvar="MAILPROXY_TOKEN", help="Admin token or tenant API key [env MAILPROXY_TOKEN].")
@click.option("--profile", default="default", show_default=True, help="Table of the config file to read.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answers (for scripts).")
@click.version_option("1.1.0", prog_name="mailproxy")
@click.pass_context
def cli(ctx: click.Context, url: str | None, token: str | None, profile: str, as_json: bool) -> None:
    """Operate a Mail Proxy deployment over its HTTP API.

    URL and token come from --url/--token, MAILPROXY_URL/MAILPROXY_TOKEN, or the config file
    (MAILPROXY_CONFIG, else ~/.config/mailproxy/config.toml). Exit codes: 0 done, 1 failed,
    2 usage, 3 not found, 4 not allowed, 5 refused by the API, 6 API unreachable or failing.
    Times are shown in UTC as YYYY-MM-DD HH:MM:SS.

    \b
    A first session against make dev (it prints the export line):
      export MAILPROXY_CONFIG=/tmp/mailproxy-stack-…/mailproxy.toml
      mailproxy tenants create acme --name ACME
      mailproxy accounts add acme main --host 127.0.0.1 --port 1025 --no-tls
      mailproxy send-test acme --account main --to you@example.com
      mailproxy messages search acme --to you@example.com
    """
    ctx.obj = Cli(url, token, profile, as_json)


@cli.command()
@json_option
@pass_cli
def health(cli: Cli) -> None:
    """Is the API up (no token needed)."""
    data = cli.api.call("GET", "/health")
    cli.done(data, "ok" if data.get("status") == "ok" else str(data))


@cli.command()
@json_option
@pass_cli
def status(cli: Cli) -> None:
    """The service's status as the token sees it: each component's health and, for the admin
    token, the settings in force (secrets never shown).

    \b
    Example:
      mailproxy status
      mailproxy --json status | jq .settings.MAILPROXY_MAX_RETRIES
    """
    data = cli.api.call("GET", "/status")
    cli.out(data, lambda: show.status(data))


@cli.command("run-now")
@click.argument("tenant_id", required=False)
@json_option
@pass_cli
def run_now(cli: Cli, tenant_id: str | None) -> None:
    """Dispatch due messages now (one tenant, or all with the admin token)."""
    cli.done(cli.api.call("POST", "/commands/run-now", {"tenant_id": tenant_id}), "dispatch started")


def _batch_command(verb: str, summary: str, without_batch: str) -> click.Command:
    """suspend and activate: the same shape, the same answer."""

    @click.argument("tenant_id")
    @click.option("--batch", help=f"One batch code; without it {without_batch}.")
    @json_option
    @pass_cli
    def command(cli: Cli, tenant_id: str, batch: str | None) -> None:
        data = cli.api.call("POST", f"/commands/{verb}", {"tenant_id": tenant_id, "batch_code": batch})
        held = ", ".join(data.get("suspended_batches") or []) or "none"
        cli.done(data, f"{tenant_id}: suspended batches {held}; {data.get('pending_messages')} pending")

    return cli.command(verb, help=summary)(command)


_batch_command(
    "suspend",
    "Hold a tenant's messages (or one batch of them).\n\n\b\nExamples:\n"
    "  mailproxy suspend acme --batch newsletter\n  mailproxy suspend acme",
    "the whole tenant",
)
_batch_command("activate", "Release what suspend held.", "every suspension of the tenant")


@cli.command("send-test")
@click.argument("tenant_id")
@click.option("--account", "account_id", required=True, help="SMTP account to send through.")
@click.option("--to", "to", required=True, multiple=True, help="Recipient (repeatable).")
@click.option("--from", "sender", default="mail-proxy-test@example.com", show_default=True)
@click.option("--subject", default="Mail Proxy test message", show_default=True)
@click.option("--body", default="This is a test message sent with the mailproxy CLI.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the outcome.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the outcome.")
@json_option
@pass_cli
def send_test(
    cli: Cli,
    tenant_id: str,
    account_id: str,
    to: tuple[str, ...],
    sender: str,
    subject: str,
    body: str,
    wait: bool,
    timeout: float,
) -> None:
    """Send one test message and (by default) wait until it is sent or fails.

    \b
    Examples:
      mailproxy send-test acme --account main --to you@example.com
      mailproxy send-test acme --account main --to a@example.com --to b@example.com --no-wait
    """
    message_id = f"cli-test-{int(time.time())}-{uuid.uuid4().hex[:8]}"
    message = {
        "id": message_id,
        "tenant_id": tenant_id,
        "account_id": account_id,
        "from": sender,
        "to": list(to),
        "subject": subject,
        "body": body,
    }
    try:
        cli.api.call("POST", "/commands/add-messages", body={"messages": [message]})
    except ApiError as exc:
        raise _explained(cli, exc, tenant_id, account_id) from None
    record: dict[str, Any] = {"id": message_id, "status": "pending"}
    deadline = time.monotonic() + timeout
    while wait and record.get("status") not in FINAL and time.monotonic() < deadline:
        time.sleep(0.25)
        record = cli.api.call("GET", f"/messages/{message_id}", {"tenant_id": tenant_id})["message"]
    outcome = record.get("status")
    cli.out(
        {"ok": True, "message": record},
        lambda: click.echo(
            f"{message_id}: {outcome}"
            + (f" ({record.get('error') or record.get('last_error')})" if outcome in ("error", "bounced") else "")
        ),
    )
    if wait and outcome not in ("sent",):
        sys.exit(FAILED)


def _explained(cli: Cli, exc: ApiError, tenant_id: str, account_id: str) -> ApiError:
    """API v1 answers "account not found for tenant" for an unknown tenant too (docs/api.md
    §4.3): say which it is, and what to run."""
    if exc.status != 400 or "account not found for tenant" not in str(exc):
        return exc
    try:
        cli.api.call("GET", f"/tenant/{tenant_id}")
    except ApiError as missing:
        if missing.exit_code == NOT_FOUND:
            return ApiError(f"tenant {tenant_id!r} does not exist (mailproxy tenants list)", NOT_FOUND, 400)
        return exc
    return ApiError(
        f"tenant {tenant_id!r} has no account {account_id!r} (mailproxy accounts list {tenant_id})", NOT_FOUND, 400
    )


@cli.command("command-log")
@click.option("--tenant", "tenant_id")
@click.option("--since", type=When(), help="From (Unix s, ISO date, or an age like 2h).")
@click.option("--until", type=When())
@click.option("--filter", "endpoint_filter", help="Only endpoints containing this text.")
@click.option("--limit", default=100, show_default=True)
@json_option
@pass_cli
def command_log(
    cli: Cli, tenant_id: str | None, since: int | None, until: int | None, endpoint_filter: str | None, limit: int
) -> None:
    """State-changing commands, oldest first (admin)."""
    data = cli.api.call(
        "GET",
        "/command-log",
        {
            "tenant_id": tenant_id,
            "since_ts": since,
            "until_ts": until,
            "endpoint_filter": endpoint_filter,
            "limit": limit,
        },
    )
    rows = [{**c, "command_ts": show.when(c.get("command_ts"))} for c in data.get("commands", [])]
    cli.listing(data, rows, ["id", "command_ts", "endpoint", "tenant_id", "response_status"])


def _register() -> None:
    from mailproxy_cli import accounts, instance, messages, tenants

    for module in (tenants, accounts, messages, instance):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="mailproxy")
