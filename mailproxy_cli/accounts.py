"""``mailproxy accounts …``: a tenant's SMTP accounts."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mailproxy_cli.context import Cli, FullHelpGroup, json_option, pass_cli
from mailproxy_cli.payloads import build, file_option, set_option


@click.group(cls=FullHelpGroup)
def accounts() -> None:
    """SMTP accounts a tenant sends through."""


@accounts.command("list")
@click.argument("tenant_id")
@json_option
@pass_cli
def list_(cli: Cli, tenant_id: str) -> None:
    """A tenant's SMTP accounts (passwords never shown)."""
    data = cli.api.call("GET", "/accounts", {"tenant_id": tenant_id})
    cli.listing(
        data,
        data.get("accounts", []),
        ["id", "host", "port", "user", "use_tls", "batch_size", "limit_per_minute", "limit_per_hour"],
    )


@accounts.command()
@click.argument("tenant_id")
@click.argument("account_id")
@click.option("--host", required=True)
@click.option("--port", required=True, type=int)
@click.option("--user")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--tls/--no-tls", "use_tls", default=None, help="Default: implicit TLS on 465, else plain.")
@click.option("--batch-size", type=int)
@click.option("--limit-per-minute", type=int)
@click.option("--limit-per-hour", type=int)
@click.option("--limit-per-day", type=int)
@file_option
@set_option
@json_option
@pass_cli
def add(
    cli: Cli,
    tenant_id: str,
    account_id: str,
    host: str,
    port: int,
    user: str | None,
    password_stdin: bool,
    use_tls: bool | None,
    batch_size: int | None,
    limit_per_minute: int | None,
    limit_per_hour: int | None,
    limit_per_day: int | None,
    from_file: Path | None,
    pairs: tuple[str, ...],
) -> None:
    """Add or replace an account (a replacement is whole: omitted fields take defaults).

    \b
    Examples:
      mailproxy accounts add acme main --host smtp.acme.example --port 587 --user mailer --password-stdin
      mailproxy accounts add acme maildev --host 127.0.0.1 --port 1025 --no-tls
    """
    # The password never goes on the command line, where ps and shell history would keep it.
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    body = build(
        from_file,
        pairs,
        id=account_id,
        tenant_id=tenant_id,
        host=host,
        port=port,
        user=user,
        password=password,
        use_tls=use_tls,
        batch_size=batch_size,
        limit_per_minute=limit_per_minute,
        limit_per_hour=limit_per_hour,
        limit_per_day=limit_per_day,
    )
    data = cli.api.call("POST", "/account", body=body)
    for warning in data.get("warnings") or []:
        click.echo(f"warning: {warning}", err=True)
    cli.done(data, f"{tenant_id}/{account_id} saved")


@accounts.command()
@click.argument("tenant_id")
@click.argument("account_id")
@click.option("--yes", is_flag=True, help="Do not ask.")
@json_option
@pass_cli
def delete(cli: Cli, tenant_id: str, account_id: str, yes: bool) -> None:
    """Delete an account with its messages."""
    if not yes:
        click.confirm(f"Delete account {account_id} of {tenant_id} and its messages?", abort=True)
    data = cli.api.call("DELETE", f"/account/{account_id}", {"tenant_id": tenant_id})
    cli.done(data, f"{tenant_id}/{account_id} deleted")


COMMANDS = (accounts,)
