"""``make dev``: the whole local stack in the foreground; Ctrl-C stops all of it, and so does
killing it outright (devstack/watchdog.py).

Environment: DATABASE_URL (else a project-local cluster in .local/pg, kept between runs),
AWS_ENDPOINT_URL (if set: use it, start nothing), MAILPROXY_AWS=moto (moto server instead
of LocalStack), MAILPROXY_PORT (8000), MAILPROXY_AWS_PORT, MAILPROXY_PG_PORT, MAILPROXY_PG_DIR,
MAILDEV_SMTP_PORT, MAILDEV_WEB_PORT; and every Mail Proxy setting (docs/operations.md, "Configuration"),
which reaches the functions as it would in AWS (devstack/settings.py). An unknown MAILPROXY_*
name stops start-up.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

from chalicelib.settings_catalog import BY_ENV
from devstack import procs
from devstack.kept import Kept, keep
from devstack.outcomes import OutcomeFeed
from devstack.procs import ROOT, StartFailed
from devstack.settings import SettingsError, check_names
from devstack.stack import Stack, StackOptions
from devstack.watchdog import Watchdog
from mailproxy_cli.settings import write as write_cli_config

PR_SET_PDEATHSIG = 1


def options_from_env() -> tuple[StackOptions, Kept]:
    settings = {k: v for k, v in os.environ.items() if k in BY_ENV}
    check_names(os.environ)
    pg_dir = Path(os.environ.get("MAILPROXY_PG_DIR", str(ROOT / ".local" / "pg")))
    # The generated token and key stay with the database they protect (devstack/kept.py).
    kept = keep(os.environ.get("DATABASE_URL") or str(pg_dir.resolve()))
    settings.setdefault("MAILPROXY_ENCRYPTION_KEY", kept.encryption_key)
    aws = (
        "external"
        if os.environ.get("AWS_ENDPOINT_URL")
        else ("moto" if os.environ.get("MAILPROXY_AWS", "").lower() == "moto" else "localstack")
    )
    return StackOptions(
        api_port=int(os.environ.get("MAILPROXY_PORT", "8000")),
        aws=aws,
        aws_port=int(os.environ.get("MAILPROXY_AWS_PORT", "4566" if aws == "localstack" else "5000")),
        database_url=os.environ.get("DATABASE_URL") or None,
        pg_port=int(os.environ.get("MAILPROXY_PG_PORT", "54329")),
        pg_dir=pg_dir,
        api_token=os.environ.get("MAILPROXY_API_TOKEN") or kept.api_token,
        smtp_port=int(os.environ.get("MAILDEV_SMTP_PORT", "1025")),
        web_port=int(os.environ.get("MAILDEV_WEB_PORT", "1080")),
        outbound_allow=os.environ.get("MAILPROXY_OUTBOUND_ALLOW", "127.0.0.0/8,::1/128"),
        settings=settings,
        say=lambda step: print(f"  starting {step}…", flush=True),
    ), kept


def _die_with_parent() -> None:
    """SIGTERM when make (our parent) dies, even by SIGKILL: then we stop the stack cleanly."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: Ctrl-C and the watchdog still apply
        pass


def main() -> int:
    started = time.monotonic()
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    _die_with_parent()
    watchdog = Watchdog()
    procs.announcers.append(watchdog.announce)
    try:
        options, kept = options_from_env()
        stack = Stack(options)
    except SettingsError as exc:
        print(f"make dev: {exc}", file=sys.stderr, flush=True)
        return 2
    # The kept key is make dev's own, not the operator's setting: not listed.
    applied = [
        line
        for line in stack.routed.applied
        if not line.startswith("MAILPROXY_ENCRYPTION_KEY") or "MAILPROXY_ENCRYPTION_KEY" in os.environ
    ]
    if applied:
        print("  settings applied to every function:", flush=True)
        for line in applied:
            print(f"    {line}", flush=True)
    print(f"Mail Proxy local stack: logs in {stack.o.log_dir}", flush=True)
    try:
        stack.start()
    except StartFailed as exc:
        print(f"make dev: {exc}", file=sys.stderr, flush=True)
        watchdog.release()
        return 1
    cli_config = stack.o.log_dir / "mailproxy.toml"
    write_cli_config(cli_config, stack.api_url, stack.token)
    generated = not os.environ.get("MAILPROXY_API_TOKEN")
    quiet = os.environ.get("MAKE_DEV_QUIET", "").lower() in ("1", "true", "yes")
    where = f"   (generated {'now' if kept.created else 'earlier'}, kept in {kept.path})" if generated else ""
    print(
        f"""
Mail Proxy local stack is up ({time.monotonic() - started:.1f}s)
  API           {stack.api_url}
  admin token   {stack.token}{where}
  AWS endpoint  {stack.aws_url}
  database      {stack.database_url}
  MailDev       SMTP 127.0.0.1:{stack.o.smtp_port}, web {stack.maildev_url}
  API docs      {stack.api_url}/docs
  status        curl -H 'X-API-Token: <admin token>' {stack.api_url}/status
  CLI           export MAILPROXY_CONFIG={cli_config}; .venv/bin/mailproxy tenants list
  logs          {stack.o.log_dir}
Ctrl-C stops everything.{"" if quiet else chr(10) + "Messages as they are sent or fail (MAKE_DEV_QUIET=1 hides them):"}
""",
        flush=True,
    )
    feed = None if quiet else OutcomeFeed(stack.database_url, lambda text: print(text, flush=True)).start()
    try:
        while not stop["now"]:
            for proc in stack.processes():
                if not proc.alive():
                    print(f"{proc.name} exited; last lines:\n{proc.tail()}", file=sys.stderr)
                    stop["now"] = True
            time.sleep(0.5)
    finally:
        if feed is not None:
            feed.stop()
        print("stopping…", flush=True)
        stack.stop()
        watchdog.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
