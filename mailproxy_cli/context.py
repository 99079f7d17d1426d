"""What every command receives: the API client (built on first use, so --help needs no URL),
the output mode, and the helpers that shape an answer for people or scripts."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from mailproxy_cli import show
from mailproxy_cli.client import Client
from mailproxy_cli.settings import resolve

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Cli:
    url: str | None
    token: str | None
    profile: str
    json: bool
    _client: Client | None = field(default=None, init=False)

    @property
    def api(self) -> Client:
        if self._client is None:
            self._client = Client(resolve(self.url, self.token, self.profile))
        return self._client

    def out(self, data: Any, people: Callable[[], None]) -> None:
        """The API's answer as JSON with --json; else what ``people`` prints."""
        if self.json:
            show.as_json(data)
        else:
            people()

    def listing(self, data: Any, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
        self.out(data, lambda: show.table(rows, columns))

    def done(self, data: Any, message: str) -> None:
        self.out(data, lambda: click.echo(message))


pass_cli = click.make_pass_decorator(Cli)


class When(click.ParamType):
    """A point in time: Unix seconds, an ISO date or date-time (UTC unless it says), or an age
    such as 30m, 2h, 7d (that long ago)."""

    name = "time"
    _AGE = re.compile(r"(\d+)([smhd])")
    _UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        age = self._AGE.fullmatch(text)
        if age:
            return int(time.time()) - int(age.group(1)) * self._UNIT[age.group(2)]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is not Unix seconds, an ISO date or an age like 2h", param, ctx)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())


def json_option(command: F) -> F:
    """--json on a subcommand too (``mailproxy tenants list --json``), same as the global flag."""

    def flag(ctx: click.Context, _: click.Parameter, value: bool) -> None:
        if value:
            cli = ctx.find_object(Cli)
            if cli is not None:
                cli.json = True

    return click.option(
        "--json", "as_json", is_flag=True, expose_value=False, callback=flag, help="Print the API's JSON answer."
    )(command)


class FullHelpGroup(click.Group):
    """Lists each command with its whole first line: Click cuts them at 45 characters with
    "...", which hid what half the commands do."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
