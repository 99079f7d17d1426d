"""jsonschema turned into API v1's 422 list of {"loc", "msg", "type"} (the shapes are
in schemas.py). Imported on first use: a function that validates nothing never loads it."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError as SchemaError

from chalicelib.domain.addresses import mailbox_list_problem, mailbox_problem, single_address_problem
from chalicelib.domain.schemas import ID_PATTERN

# JSON Schema counts 1.0 as an integer; a column of integers would then receive a float.
_STRICT = validators.extend(Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)))
_validators: dict[int, Any] = {}

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


_format("mailbox", mailbox_problem)
_format("mailbox-list", mailbox_list_problem)
_format("address", single_address_problem)
_REQUIRED = re.compile(r"^'(.*)' is a required property$")


def _validator(schema: dict[str, Any]) -> Any:
    key = id(schema)
    if key not in _validators:
        _validators[key] = _STRICT(schema, format_checker=_FORMATS)
    return _validators[key]


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
_MESSAGES = {
    "type": lambda v: f"Input should be of type {_names(v)}",
    "anyOf": lambda v: "Input does not match any allowed form",
    "enum": lambda v: f"Input should be one of {', '.join(repr(x) for x in v)}",
    "const": lambda v: f"Input should be {v!r}",
    "minLength": lambda v: f"String should have at least {v} characters",
    "maxLength": lambda v: f"String should have at most {v} characters",
    "minimum": lambda v: f"Input should be greater than or equal to {v}",
    "maximum": lambda v: f"Input should be less than or equal to {v}",
    "exclusiveMinimum": lambda v: f"Input should be greater than {v}",
    "pattern": lambda v: ("String should contain no control characters" if v == ID_PATTERN
                          else f"String should match pattern '{v}'"),
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
        return {"loc": loc, "msg": f"Input should be a valid email address: {error.cause}",
                "type": "value_error.email"}
    describe = _MESSAGES.get(kind)
    msg = describe(error.validator_value) if describe else f"Input is not valid ({kind})"
    return {"loc": loc, "msg": msg, "type": "type_error" if kind in {"type", "anyOf"} else f"value_error.{kind}"}


def schema_errors(
    schema: dict[str, Any], data: Any, prefix: tuple[str | int, ...] = ("body",)
) -> list[dict[str, Any]]:
    """All schema errors of ``data``, in API v1's 422 shape, ordered by location."""
    found: list[dict[str, Any]] = []
    for error in _validator(schema).iter_errors(data):
        for leaf in _leaf_errors(error):
            found.append(_describe(leaf, prefix))
    found.sort(key=lambda e: [str(p) for p in e["loc"]])
    return found
