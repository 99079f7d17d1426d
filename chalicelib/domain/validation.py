"""jsonschema turned into API v1's 422 list of {"loc", "msg", "type"} (the shapes are
in schemas.py). Imported on first use: a function that validates nothing never loads it.

A body is first checked by the same schema compiled to Python code (fastjsonschema, which
Powertools' validation utility uses too): jsonschema walks a schema for every value, about
90 ms for a 1,000-message add-messages, the compiled check about 40 ms, most of it the
address checks both share. Only a body the compiled check refuses goes through jsonschema,
which then decides and says why. The compiled check may refuse more than jsonschema (its
``$`` matches only at the very end), never less: ``_fast_schema`` closes the two places where
draft 7 would accept what API v1 refuses (an integral float as an integer, 1 as ``true``), and
a unit test compares the two over generated bodies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError as SchemaError

from chalicelib.domain.addresses import mailbox_list_problem, mailbox_problem, single_address_problem
from chalicelib.domain.json_input import ID_PATTERN

# JSON Schema counts 1.0 as an integer; a column of integers would then receive a float.
_STRICT = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)
_validators: dict[int, Any] = {}
_compiled: dict[int, Any] = {}

# Address fields (schemas.MAILBOX, schemas.MAILBOX_LIST): one check for every field that
# holds an address; the reason it fails is the 422's message (docs/api.md §1).
_FORMATS = FormatChecker(formats=())


def _format(name: str, problem: Any) -> None:
    def check(value: object) -> bool:
        if isinstance(value, str):
            reason = problem(value)
            if reason:
                raise ValueError(reason)
        return True

    _FORMATS.checks(name, raises=ValueError)(check)


_PROBLEMS = {"mailbox": mailbox_problem, "mailbox-list": mailbox_list_problem, "address": single_address_problem}
for _name, _problem in _PROBLEMS.items():
    _format(_name, _problem)
# The compiled check's formats: True when the value has no problem.
_FAST_FORMATS = {name: (lambda value, problem=problem: not problem(value)) for name, problem in _PROBLEMS.items()}
_REQUIRED = re.compile(r"^'(.*)' is a required property$")


def _validator(schema: dict[str, Any]) -> Any:
    key = id(schema)
    if key not in _validators:
        _validators[key] = _STRICT(schema, format_checker=_FORMATS)
    return _validators[key]


def _fast_schema(node: Any) -> Any:
    """The schema as the compiled check reads it: a boolean ``const`` also requires a boolean
    (Python's ``1 == True`` would let 1 through)."""
    if isinstance(node, list):
        return [_fast_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _fast_schema(value) for key, value in node.items()}
    if isinstance(node.get("const"), bool):
        out = {"allOf": [{"type": "boolean"}, out]}
    return out


def _has_float(data: Any) -> bool:
    """Draft 7 counts 1.0 as an integer, API v1 does not: a body with any float takes jsonschema."""
    if isinstance(data, float):
        return True
    if isinstance(data, dict):
        return any(_has_float(value) for value in data.values())
    if isinstance(data, list):
        return any(_has_float(item) for item in data)
    return False


def fast_valid(schema: dict[str, Any], data: Any) -> bool:
    """True when ``data`` certainly fits ``schema``; False means "ask jsonschema"."""
    key = id(schema)
    check = _compiled.get(key)
    if check is None:
        check = _compiled[key] = fastjsonschema.compile(_fast_schema(schema), formats=_FAST_FORMATS)
    if _has_float(data):
        return False
    try:
        check(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _leaf_errors(error: SchemaError) -> list[SchemaError]:
    # anyOf/allOf report the whole branch set; the deepest error names the field best.
    if error.context:
        # Of equally deep ones, a failed format (a bad address) says more than the other
        # branch's type mismatch ("not an array").
        deepest = max(error.context, key=lambda e: (len(e.absolute_path), e.validator == "format"))
        if len(deepest.absolute_path) > len(error.absolute_path) or deepest.validator == "format":
            return _leaf_errors(deepest)
    return [error]


def _names(value: Any) -> str:
    return " or ".join(str(v) for v in value) if isinstance(value, list) else str(value)


# What each failed keyword says: built from the schema only, never from the submitted value
# (which may be a secret: a client_auth token, an attachment password).
_MESSAGES: dict[str, Callable[[Any], str]] = {
    "type": lambda v: f"Input should be of type {_names(v)}",
    "anyOf": lambda v: "Input does not match any allowed form",
    "enum": lambda v: f"Input should be one of {', '.join(repr(x) for x in v)}",
    "const": lambda v: f"Input should be {v!r}",
    "minLength": lambda v: f"String should have at least {v} characters",
    "maxLength": lambda v: f"String should have at most {v} characters",
    "minimum": lambda v: f"Input should be greater than or equal to {v}",
    "maximum": lambda v: f"Input should be less than or equal to {v}",
    "exclusiveMinimum": lambda v: f"Input should be greater than {v}",
    "pattern": lambda v: (
        "String should contain no control characters" if v == ID_PATTERN else f"String should match pattern '{v}'"
    ),
}


def _describe(error: SchemaError, prefix: tuple[str | int, ...]) -> dict[str, Any]:
    loc: list[str | int] = [*prefix, *error.absolute_path]
    kind = str(error.validator)
    if kind == "required":
        # jsonschema reports one error per missing property; its message names it.
        match = _REQUIRED.match(error.message)
        if match:
            loc.append(match.group(1))
        return {"loc": loc, "msg": "Field required", "type": "missing"}
    if kind == "additionalProperties":
        # Its message names the unexpected keys, not their values.
        return {"loc": loc, "msg": error.message, "type": "extra_forbidden"}
    if kind == "format" and isinstance(error.cause, ValueError):
        # The reason names the fault (a character, a missing @), not a secret: addresses
        # are no secrets, and the message never repeats the whole value.
        return {"loc": loc, "msg": f"Input should be a valid email address: {error.cause}", "type": "value_error.email"}
    describe = _MESSAGES.get(kind)
    msg = describe(error.validator_value) if describe else f"Input is not valid ({kind})"
    return {"loc": loc, "msg": msg, "type": "type_error" if kind in {"type", "anyOf"} else f"value_error.{kind}"}


def schema_errors(schema: dict[str, Any], data: Any, prefix: tuple[str | int, ...] = ("body",)) -> list[dict[str, Any]]:
    """All schema errors of ``data``, in API v1's 422 shape, ordered by location."""
    if fast_valid(schema, data):
        return []
    found: list[dict[str, Any]] = []
    for error in _validator(schema).iter_errors(data):
        for leaf in _leaf_errors(error):
            found.append(_describe(leaf, prefix))
    found.sort(key=lambda e: [str(p) for p in e["loc"]])
    return found
