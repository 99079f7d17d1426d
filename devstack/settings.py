"""``make dev``'s own ``MAILPROXY_*`` variables, routed the way AWS receives each setting.

A tunable setting becomes the template parameter AWS would be given (so the built template
carries it into every function's environment, as in AWS); a secret becomes the secret's value;
a local-only one goes to the local hosts. A name that is none of the functions' settings, nor
one of make dev's, the CLI's or the tests' own variables, stops start-up with its name: a
misspelt setting is never silently ignored.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib.config import read
from chalicelib.errors import ConfigurationError
from chalicelib.settings_catalog import (
    BY_ENV,
    CLI_VARIABLES,
    DEVSTACK_VARIABLES,
    TEST_VARIABLES,
    render,
)

OWN = DEVSTACK_VARIABLES | CLI_VARIABLES | TEST_VARIABLES


class SettingsError(Exception):
    """An environment make dev refuses to start with; the message names the variable."""


@dataclass
class Routed:
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter -> value
    secrets: dict[str, str] = field(default_factory=dict)  # variable -> value
    local: dict[str, str] = field(default_factory=dict)  # variable -> value
    applied: list[str] = field(default_factory=list)  # "NAME=value (default d)", non-defaults


def check_names(env: Mapping[str, str]) -> None:
    """Refuse a MAILPROXY_* variable that nothing reads, or one only the template may write."""
    for name in sorted(env):
        if not name.startswith("MAILPROXY_") or name in OWN:
            continue
        setting = BY_ENV.get(name)
        if setting is None:
            close = difflib.get_close_matches(name, [*BY_ENV, *OWN], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f'{name} is not a Mail Proxy setting{hint}; see docs/operations.md, "Configuration"')
        if setting.where == "wiring":
            raise SettingsError(f"{name} is written by the template from what it creates; unset it")


def route(settings: Mapping[str, str]) -> Routed:
    """Each given setting to where AWS would take it from; values checked as config.py checks
    them at cold start, so a bad one stops make dev before anything starts."""
    check_names(settings)
    routed = Routed()
    for name, raw in sorted(settings.items()):
        setting = BY_ENV.get(name)
        if setting is None:  # make dev's, the CLI's or the tests' own
            continue
        try:
            value = read({name: raw})[setting.attribute]
        except ConfigurationError as exc:
            raise SettingsError(str(exc)) from None
        if setting.where == "parameter" and setting.parameter:
            routed.parameters[setting.parameter] = raw.strip()
        elif setting.where == "secret":
            routed.secrets[name] = raw
        else:
            routed.local[name] = raw.strip()
        if value != setting.default and not setting.secret:
            default = render(setting, setting.default) or "unset"
            routed.applied.append(f"{name}={render(setting, value)} (default {default})")
        elif setting.secret:
            routed.applied.append(f"{name} set")
    return routed
