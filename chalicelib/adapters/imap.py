"""The bounce mailbox over IMAP (imaplib): UIDs after a mark, whole mails, deletion."""

from __future__ import annotations

import imaplib
import re
import ssl
from types import TracebackType

from chalicelib.domain.targets import MailboxTarget
from chalicelib.errors import MailboxError

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class Mailbox:
    def __init__(self, target: MailboxTarget) -> None:
        self.target = target
        self._imap: imaplib.IMAP4 | None = None
        self.uidvalidity: int | None = None

    def __enter__(self) -> Mailbox:
        t = self.target
        try:
            if t.use_ssl:
                self._imap = imaplib.IMAP4_SSL(
                    t.host, t.port, ssl_context=ssl.create_default_context(), timeout=t.timeout
                )
            else:
                self._imap = imaplib.IMAP4(t.host, t.port, timeout=t.timeout)
            self._imap.login(t.user, t.password)
            status, _ = self._imap.select(_quote(t.folder))
            if status != "OK":
                raise MailboxError(f"cannot select folder {t.folder!r}")
            _code, data = self._imap.response("UIDVALIDITY")
            if data and data[0]:
                self.uidvalidity = int(data[0])
        except (imaplib.IMAP4.error, OSError) as exc:
            self.close()
            raise MailboxError(str(exc)) from exc
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _client(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise MailboxError("mailbox not open")
        return self._imap

    def uids_after(self, last_uid: int) -> list[int]:
        try:
            status, data = self._client().uid("SEARCH", f"UID {last_uid + 1}:*")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(str(exc)) from exc
        if status != "OK" or not data or not data[0]:
            return []
        # "n:*" always matches the newest mail, even below n: keep only what is new.
        return sorted(u for u in (int(x) for x in data[0].split()) if u > last_uid)

    def fetch(self, uid: int) -> bytes:
        try:
            _status, data = self._client().uid("FETCH", str(uid), "(BODY.PEEK[])")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(str(exc)) from exc
        for item in data or []:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        raise MailboxError(f"no content for UID {uid}")

    def delete(self, uids: list[int]) -> None:
        if not uids:
            return
        try:
            client = self._client()
            client.uid("STORE", ",".join(str(u) for u in uids), "+FLAGS.SILENT", r"(\Deleted)")
            client.expunge()
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(str(exc)) from exc

    def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapMailboxes:
    """The mailbox port: opens one IMAP session on a target (used as a context manager)."""

    def __call__(self, target: MailboxTarget) -> Mailbox:
        return Mailbox(target)
