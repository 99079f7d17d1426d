"""The SMTP, HTTP and IMAP libraries load with the first send, fetch or poll, not at cold start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
from chalicelib.config import load_settings
from chalicelib.wiring import build_ports
from chalicelib.domain.targets import SmtpTarget
ports = build_ports(load_settings({"MAILPROXY_API_TOKEN": "t", "DATABASE_URL": "postgresql://x@127.0.0.1:1/x"}))
loaded = lambda: sorted(m for m in ("aiosmtplib", "requests", "imaplib") if m in sys.modules)
before = loaded()
ports.smtp(SmtpTarget(host="127.0.0.1", port=25, user=None, password=None, use_tls=False))
print(json.dumps({"built": before, "after_send": loaded()}))
"""


def test_building_the_ports_imports_no_smtp_http_or_imap_library_until_used() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["built"] == []
    assert "aiosmtplib" in seen["after_send"]
