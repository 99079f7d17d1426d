"""A PostgreSQL cluster made with the installed initdb/pg_ctl, on 127.0.0.1.

PostgreSQL refuses to run as root; when we are root the cluster belongs to the
``postgres`` system user and its commands run through runuser.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg

from devstack.procs import announce, wait_until

DB_NAME = "mailproxy"
DB_USER = "mailproxy"


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise FileNotFoundError(f"{name} not found: install the PostgreSQL server binaries")


class PostgresCluster:
    def __init__(self, datadir: Path, port: int, settings: dict[str, str] | None = None) -> None:
        self.datadir = Path(datadir)
        self.port = port
        # Server settings beyond ours (the benches: pg_stat_statements, memory like a real server's).
        self.settings = settings or {}
        self.as_root = os.geteuid() == 0
        self.sockdir = self.datadir / "sock"
        self.fast = False

    @property
    def url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def _as_owner(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_root else list(argv)

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._as_owner(*argv), check=check, capture_output=True, text=True, timeout=120)

    def _prepare_dir(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            pg = pwd.getpwnam("postgres")
            # The postgres user must be able to reach the directory through its parents.
            for parent in list(self.datadir.parents)[:3]:
                if parent.exists() and str(parent).startswith(("/tmp/", "/var/tmp/")):
                    parent.chmod(parent.stat().st_mode | 0o711)
            os.chown(self.datadir, pg.pw_uid, pg.pw_gid)
        self.datadir.chmod(0o700)

    @property
    def pgdata(self) -> Path:
        return self.datadir / "data"

    def start(self, fast: bool | None = None) -> PostgresCluster:
        if fast is not None:
            self.fast = fast
        self._prepare_dir()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                _bin("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        self._run("mkdir", "-p", str(self.sockdir))
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockdir}"
        options += " -c max_connections=300"
        for name, value in self.settings.items():
            options += f" -c {name}={value}"
        if self.fast:
            # A throwaway cluster: durability buys nothing, speed does.
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.pgdata),
            "-l",
            str(self.datadir / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        announce(
            "\t".join(["run", *self._as_owner(_bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop")])
        )
        wait_until(self._ready, 30, "PostgreSQL")
        self._ensure_database()
        return self

    def _ready(self) -> bool:
        with psycopg.connect(self.admin_url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True

    @property
    def admin_url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/postgres"

    def _ensure_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def stop(self, mode: str = "fast") -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._run(_bin("pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{name}"
