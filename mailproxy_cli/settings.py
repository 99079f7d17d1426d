"""Where the CLI finds its API: flags, then the environment, then a config file.

The file is TOML (``MAILPROXY_CONFIG``, else ``~/.config/mailproxy/config.toml``), one table
per profile::

    [default]
    url = "http://127.0.0.1:8000"
    token = "..."

``make dev`` writes one for its stack and prints its path.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path


class SettingsError(Exception):
    """The CLI cannot tell which API to talk to, or the config file is unreadable."""


@dataclass(frozen=True)
class CliSettings:
    url: str
    token: str | None
    timeout: float = 30.0


def config_path() -> Path:
    named = os.environ.get("MAILPROXY_CONFIG")
    return Path(named) if named else Path.home() / ".config" / "mailproxy" / "config.toml"


def _from_file(path: Path, profile: str) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc
    section = data.get(profile, {})
    if not isinstance(section, dict):
        raise SettingsError(f"{path}: [{profile}] is not a table")
    return {k: str(v) for k, v in section.items()}


def resolve(url: str | None, token: str | None, profile: str) -> CliSettings:
    """Flags win over the environment (MAILPROXY_URL, MAILPROXY_TOKEN), which wins over the file."""
    stored = _from_file(config_path(), profile)
    url = url or os.environ.get("MAILPROXY_URL") or stored.get("url")
    token = token or os.environ.get("MAILPROXY_TOKEN") or stored.get("token")
    if not url:
        raise SettingsError(f"no API URL: pass --url, set MAILPROXY_URL, or write url in {config_path()} [{profile}]")
    return CliSettings(url.rstrip("/"), token or None, float(stored.get("timeout", 30)))


def write(path: Path, url: str, token: str, profile: str = "default") -> None:
    """A config file for one profile, readable by its owner only (it holds a token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[{profile}]\nurl = "{url}"\ntoken = "{token}"\n')
    path.chmod(0o600)
