"""A real IMAP server for bounce tests: Dovecot (Debian's dovecot-imapd) on 127.0.0.1.

Plain IMAP with one static user; mail in Maildir under a directory of its own. Dovecot's
master runs as root and serves mail as the ``mail`` system user.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
from pathlib import Path

from devstack.procs import Process, StartFailed, port_open, wait_until

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def available() -> bool:
    return os.path.exists(DOVECOT) and os.geteuid() == 0


class Dovecot:
    def __init__(self, workdir: Path, port: int, user: str = "bounces", password: str = "bounce-pass") -> None:
        self.workdir = Path(workdir)
        self.port = port
        self.user = user
        self.password = password
        self.config = self.workdir / "dovecot.conf"
        self.proc: Process

    def _write_config(self) -> None:
        mail = pwd.getpwnam("mail")
        for sub in ("run", "state", "mail", "home"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):
            os.chown(self.workdir / sub, mail.pw_uid, mail.pw_gid)
        login_user = "dovenull" if _exists_user("dovenull") else "nobody"
        internal_user = "dovecot" if _exists_user("dovecot") else "nobody"
        self.workdir.chmod(0o755)
        self.config.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.workdir}/run
state_dir = {self.workdir}/state
log_path = {self.workdir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {_group_of(internal_user)}
mail_location = maildir:{self.workdir}/mail/%u
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={self.workdir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")

    def start(self) -> Dovecot:
        self._write_config()
        # In the foreground (-F), so that it is our child and stops with us.
        self.proc = Process("dovecot", [DOVECOT, "-F", "-c", str(self.config)], log_dir=self.workdir).start()
        wait_until(self._up, 30, "Dovecot")
        return self

    def _up(self) -> bool:
        if not self.proc.alive():
            raise StartFailed("Dovecot exited:\n" + self.proc.tail() + self.log())
        return port_open(self.port)

    def log(self) -> str:
        path = self.workdir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.proc.stop()


def _exists_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _group_of(user: str) -> str:
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
