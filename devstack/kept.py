"""make dev's generated admin token and encryption key, kept with the data they protect.

The local database outlives make dev; so must the key its secrets are sealed with. Without
this, each start generated a new token, the key derived from it changed, and every account
password stored before became unreadable. One file per database (the cluster directory or
the DATABASE_URL), readable by its owner only, under .local/secrets/.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from devstack.procs import ROOT

SECRETS_DIR = ROOT / ".local" / "secrets"


@dataclass(frozen=True)
class Kept:
    path: Path
    api_token: str
    encryption_key: str
    created: bool  # made now: the database it belongs to is new to make dev


def keep(database: str, directory: Path = SECRETS_DIR) -> Kept:
    """The token and key kept for ``database`` (made and written on first use)."""
    path = directory / f"{hashlib.sha256(database.encode()).hexdigest()[:16]}.json"
    if path.is_file():
        stored = json.loads(path.read_text())
        return Kept(path, stored["api_token"], stored["encryption_key"], False)
    directory.mkdir(parents=True, exist_ok=True)
    values = {
        "database": database if "@" not in database else "(a DATABASE_URL)",
        "api_token": secrets.token_urlsafe(24),
        "encryption_key": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(values, out, indent=1)
    return Kept(path, values["api_token"], values["encryption_key"], True)
