"""Request bodies from the command line: named options plus ``--set key=value`` pairs (the
value read as JSON when it is JSON, else as text) or a whole JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def set_option(command: Any) -> Any:
    return click.option(
        "--set",
        "pairs",
        multiple=True,
        metavar="KEY=VALUE",
        help="Any other field; VALUE is read as JSON when it parses (true, 10, {...}).",
    )(command)


def file_option(command: Any) -> Any:
    return click.option(
        "--file",
        "from_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Start from this JSON object; options and --set override it.",
    )(command)


def build(from_file: Path | None, pairs: tuple[str, ...], **named: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if from_file is not None:
        loaded = json.loads(from_file.read_text())
        if not isinstance(loaded, dict):
            raise click.BadParameter("the file must hold a JSON object", param_hint="--file")
        body.update(loaded)
    body.update({k: v for k, v in named.items() if v is not None})
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        try:
            body[key] = json.loads(text)
        except ValueError:
            body[key] = text
    return body
