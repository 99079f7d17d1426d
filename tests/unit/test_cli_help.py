"""The CLI's help: every command says what it does, whole; the main ones show examples."""

from __future__ import annotations

import click
from click.testing import CliRunner

from mailproxy_cli.main import cli


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        assert command is not None
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, prefix + name + " "))
    return found


def test_every_command_has_a_description_listed_whole() -> None:
    runner = CliRunner()
    for name, command in _commands(cli):
        assert (command.help or "").strip(), f"{name} has no description"
        if isinstance(command, click.Group):
            listing = runner.invoke(cli, [*name.split(), "--help"]).output.split("Commands:", 1)[1]
            assert "..." not in listing, f"{name} --help cuts a description"
    assert "..." not in runner.invoke(cli, ["--help"]).output.split("Commands:", 1)[1]


def test_the_main_commands_show_examples() -> None:
    runner = CliRunner()
    for words in (
        ["send-test"],
        ["messages", "search"],
        ["messages", "show"],
        ["accounts", "add"],
        ["tenants", "create"],
        ["suspend"],
        ["status"],
    ):
        shown = runner.invoke(cli, [*words, "--help"]).output
        assert "Example" in shown and "mailproxy " in shown.split("Example", 1)[1], words
