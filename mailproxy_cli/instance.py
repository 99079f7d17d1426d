"""``mailproxy instance …``: the instance's settings and the bounce mailbox (admin token)."""

from __future__ import annotations

import sys

import click

from mailproxy_cli import show
from mailproxy_cli.context import Cli, FullHelpGroup, json_option, pass_cli
from mailproxy_cli.payloads import build, set_option


@click.group(cls=FullHelpGroup)
def instance() -> None:
    """Instance settings: the bounce mailbox the proxy polls."""


@instance.command("show")
@json_option
@pass_cli
def show_instance(cli: Cli) -> None:
    """The instance settings (the bounce mailbox password never shown)."""
    data = cli.api.call("GET", "/instance")
    cli.out(data, lambda: show.fields(data, ("name", "bounce_enabled", "bounce_imap_host", "bounce_imap_port")))


@instance.command("set")
@set_option
@click.option("--bounce-password-stdin", is_flag=True, help="Read bounce_imap_password from standard input.")
@json_option
@pass_cli
def set_(cli: Cli, pairs: tuple[str, ...], bounce_password_stdin: bool) -> None:
    """Change settings: --set bounce_enabled=true --set bounce_imap_host=imap.example.com …"""
    password = sys.stdin.readline().rstrip("\n") if bounce_password_stdin else None
    body = build(None, pairs, bounce_imap_password=password)
    if not body:
        raise click.UsageError("nothing to change: give --set KEY=VALUE")
    cli.done(cli.api.call("PUT", "/instance", body=body), "instance updated")


@instance.command("reload-bounce")
@json_option
@pass_cli
def reload_bounce(cli: Cli) -> None:
    """Apply the bounce settings now (a poll starts within a second when enabled)."""
    cli.done(cli.api.call("POST", "/instance/reload-bounce"), "bounce polling reloaded")


COMMANDS = (instance,)
