"""Client input read so that whatever passes can be stored and sent (pure, no I/O).

PostgreSQL cannot store NUL in text or JSON, UTF-8 cannot carry a lone surrogate, and JSON
has no Infinity or NaN: all of them are refused here with API v1's 422, naming where
they are, so that they never reach a database call (which would fail with a 500, possibly
after the change was committed). So is JSON nested deeper than any request needs.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import RequestValidationError

MAX_DEPTH = 32
UNSAFE_TEXT = "String should contain no NUL characters and no unpaired surrogates"
# Identifiers (tenant, account, message ids) travel into headers, logs and cursors: no
# control character (C0, DEL, C1) and no line separator; what a mis-decoded byte sequence
# (an overlong UTF-8 form read as Latin-1) produces is refused by name (schemas.py's ids).
ID_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"


def safe_text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800" decodes to one)
        return False
    return True


def _invalid(loc: list[Any], msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def parse_body(raw: bytes) -> Any:
    """The request body as JSON, refused with 422 when it cannot be stored as it is."""
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise _invalid(["body"], "JSON nested too deeply", "json_invalid") from None
    except (ValueError, UnicodeDecodeError) as exc:
        # json's messages name a position, never the content.
        raise _invalid(["body"], f"JSON decode error: {exc}", "json_invalid") from None
    # Strings need no look when the body is ASCII without escapes: a NUL or a lone surrogate
    # reaches a parsed string only through a \u escape or bytes outside ASCII.
    if not _clean(value, 1, strings=not (raw.isascii() and b"\\u" not in raw)):
        check_tree(value, ["body"])  # finds and names what is wrong
    return value


def _clean(value: Any, depth: int, strings: bool) -> bool:
    """check_tree's verdict without building a location per item (the common, clean case):
    False whenever check_tree might refuse (a container at the depth bound, an unsafe
    string); check_tree then names where."""
    if not isinstance(value, dict | list):
        return not (strings and isinstance(value, str) and not safe_text(value))
    stack: list[tuple[Any, int]] = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            if strings and not all(safe_text(key) for key in item):
                return False
            children = item.values()
        else:
            children = item
        for child in children:
            if isinstance(child, dict | list):
                if level + 1 >= MAX_DEPTH:
                    return False
                stack.append((child, level + 1))
            elif strings and isinstance(child, str) and not safe_text(child):
                return False
    return True


def check_tree(value: Any, loc: list[Any]) -> None:
    """Every key and string of a parsed JSON value is storable; nesting is bounded."""
    stack: list[tuple[Any, list[Any]]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if len(where) > MAX_DEPTH:
            raise _invalid(where[:MAX_DEPTH], "JSON nested too deeply", "json_invalid")
        if isinstance(item, str):
            if not safe_text(item):
                raise _invalid(where, UNSAFE_TEXT, "string_type")
        elif isinstance(item, dict):
            for key, child in item.items():
                if not safe_text(key):
                    raise _invalid(where, "Keys " + UNSAFE_TEXT[7:], "string_type")
                stack.append((child, [*where, key]))
        elif isinstance(item, list):
            stack.extend((child, [*where, i]) for i, child in enumerate(item))


def check_params(kind: str, params: dict[str, str]) -> None:
    """Query (``kind`` "query") or path ("path") parameters are storable strings."""
    for name, value in params.items():
        if not safe_text(name) or not safe_text(value):
            raise _invalid([kind, name if safe_text(name) else "?"], UNSAFE_TEXT, "string_type")
