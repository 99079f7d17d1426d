"""``mailproxy tenants …`` and ``mailproxy keys …`` (admin token)."""

from __future__ import annotations

from pathlib import Path

import click

from mailproxy_cli import show
from mailproxy_cli.client import NOT_FOUND, REFUSED, ApiError
from mailproxy_cli.context import Cli, FullHelpGroup, json_option, pass_cli
from mailproxy_cli.payloads import build, file_option, set_option

ORDER = ("id", "name", "active", "client_base_url", "retention_days", "suppression_enabled", "created_at", "updated_at")


@click.group(cls=FullHelpGroup)
def tenants() -> None:
    """Tenants: the client applications that send through the proxy."""


@tenants.command("list")
@click.option("--active-only", is_flag=True)
@json_option
@pass_cli
def list_(cli: Cli, active_only: bool) -> None:
    """Every tenant (admin)."""
    data = cli.api.call("GET", "/tenants", {"active_only": active_only or None})
    cli.listing(data, data.get("tenants", []), ["id", "name", "active", "client_base_url", "created_at"])


@tenants.command("show")
@click.argument("tenant_id")
@json_option
@pass_cli
def show_tenant(cli: Cli, tenant_id: str) -> None:
    """One tenant as the API shows it (secrets never shown)."""
    data = cli.api.call("GET", f"/tenant/{tenant_id}")
    cli.out(data, lambda: show.fields(data, ORDER))


@tenants.command()
@click.argument("tenant_id")
@click.option("--name")
@click.option("--client-base-url")
@click.option("--retention-days", type=int)
@click.option("--replace", is_flag=True, help="Replace an existing tenant's fields instead of refusing.")
@file_option
@set_option
@json_option
@pass_cli
def create(
    cli: Cli,
    tenant_id: str,
    name: str | None,
    client_base_url: str | None,
    retention_days: int | None,
    from_file: Path | None,
    pairs: tuple[str, ...],
    replace: bool,
) -> None:
    """Create a tenant; its API key and signing secret are shown once. An existing tenant is
    refused unless --replace is given (then every field is replaced; the key and signing
    secret are kept).

    \b
    Examples:
      mailproxy tenants create acme --name "ACME Corp"
      mailproxy tenants create acme --client-base-url https://acme.example.com --set retention_days=30
      mailproxy tenants create acme --file acme.json --replace
    """
    body = build(
        from_file, pairs, id=tenant_id, name=name, client_base_url=client_base_url, retention_days=retention_days
    )
    if not replace and _exists(cli, tenant_id):
        raise ApiError(
            f"tenant {tenant_id!r} exists; --replace replaces all its fields "
            "(its API key and signing secret are kept), 'tenants update' changes some",
            REFUSED,
        )
    data = cli.api.call("POST", "/tenant", body=body)
    if "api_key" in data:
        cli.out(
            data,
            lambda: click.echo(
                f"created {tenant_id}\napi_key         {data['api_key']}\n"
                f"signing_secret  {data['signing_secret']}\n"
                "(shown once: store them now)"
            ),
        )
    else:
        cli.done(data, f"replaced {tenant_id} (key and signing secret kept)")


@tenants.command()
@click.argument("tenant_id")
@click.option("--name")
@click.option("--client-base-url")
@click.option("--retention-days", type=int)
@click.option("--active/--inactive", default=None)
@file_option
@set_option
@json_option
@pass_cli
def update(
    cli: Cli,
    tenant_id: str,
    name: str | None,
    client_base_url: str | None,
    retention_days: int | None,
    active: bool | None,
    from_file: Path | None,
    pairs: tuple[str, ...],
) -> None:
    """Change the fields given; the rest stay."""
    body = build(
        from_file, pairs, name=name, client_base_url=client_base_url, retention_days=retention_days, active=active
    )
    cli.done(cli.api.call("PUT", f"/tenant/{tenant_id}", body=body), f"updated {tenant_id}")


@tenants.command()
@click.argument("tenant_id")
@click.option("--yes", is_flag=True, help="Do not ask.")
@json_option
@pass_cli
def delete(cli: Cli, tenant_id: str, yes: bool) -> None:
    """Delete a tenant with its key, accounts, messages and events."""
    if not yes:
        click.confirm(f"Delete tenant {tenant_id} and all its messages?", abort=True)
    cli.done(cli.api.call("DELETE", f"/tenant/{tenant_id}"), f"deleted {tenant_id}")


@tenants.command("sync-status")
@json_option
@pass_cli
def sync_status(cli: Cli) -> None:
    """When each tenant was last reported to, and whether it is due."""
    data = cli.api.call("GET", "/tenants/sync-status")
    rows = [{**t, "last_sync_ts": show.when(t.get("last_sync_ts"))} for t in data.get("tenants", [])]
    cli.listing(data, rows, ["id", "active", "client_base_url", "last_sync_ts", "next_sync_due", "in_dnd"])


@click.group(cls=FullHelpGroup)
def keys() -> None:
    """A tenant's API key and report signing secret."""


@keys.command()
@click.argument("tenant_id")
@click.option("--expires-at", type=int, help="Unix seconds after which the key is refused.")
@json_option
@pass_cli
def rotate(cli: Cli, tenant_id: str, expires_at: int | None) -> None:
    """A new API key (the old one dies at once); shown once."""
    body = {"expires_at": expires_at} if expires_at is not None else None
    data = cli.api.call("POST", f"/tenant/{tenant_id}/api-key", body=body)
    cli.done(data, f"api_key  {data.get('api_key')}\n(shown once: store it now)")


@keys.command()
@click.argument("tenant_id")
@json_option
@pass_cli
def revoke(cli: Cli, tenant_id: str) -> None:
    """Remove the tenant's API key."""
    cli.done(cli.api.call("DELETE", f"/tenant/{tenant_id}/api-key"), f"{tenant_id}: API key revoked")


@keys.command("signing-secret")
@click.argument("tenant_id")
@json_option
@pass_cli
def signing_secret(cli: Cli, tenant_id: str) -> None:
    """A new secret for signing delivery reports; shown once."""
    data = cli.api.call("POST", f"/tenant/{tenant_id}/signing-secret")
    cli.done(data, f"signing_secret  {data.get('signing_secret')}\n(shown once: store it now)")


COMMANDS = (tenants, keys)


def _exists(cli: Cli, tenant_id: str) -> bool:
    try:
        cli.api.call("GET", f"/tenant/{tenant_id}")
    except ApiError as exc:
        if exc.exit_code == NOT_FOUND:
            return False
        raise
    return True
