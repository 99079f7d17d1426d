"""SMTP delivery with aiosmtplib: one reusable connection, errors classified for retry."""

from __future__ import annotations

import asyncio
import re
import ssl

import aiosmtplib

from chalicelib.adapters import outbound
from chalicelib.domain.outbound import OutboundPolicy
from chalicelib.domain.outcome import FailureKind, error_text, is_temporary
from chalicelib.domain.targets import SmtpTarget
from chalicelib.errors import DeliveryError, DestinationRefused


def tls_mode(use_tls: bool | None, port: int) -> tuple[bool, bool]:
    """(implicit TLS, mandatory STARTTLS) per docs/api.md §4.5."""
    if use_tls is None:
        return port == 465, False
    if use_tls:
        return (True, False) if port == 465 else (False, True)
    return False, False


def _classify(exc: BaseException) -> DeliveryError:
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, DestinationRefused):
        return _error(FailureKind.POLICY, None, str(exc))
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0] if exc.recipients else None
        code = first.code if first else None
        text = first.message if first else str(exc)
        failure = _error(FailureKind.REPLY, code, text)
        failure.refused = {r.recipient: error_text(r.message, r.code) for r in exc.recipients}
        return failure
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return _error(FailureKind.AUTH, exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _error(FailureKind.REPLY, exc.code, exc.message)
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return _error(FailureKind.TIMEOUT, None, str(exc) or "timed out")
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, ssl.SSLError) or isinstance(cause, ssl.SSLError):
        return _error(FailureKind.TLS, None, f"TLS error: {cause or exc}")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return _error(FailureKind.CONNECT, None, str(exc))
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return _error(FailureKind.CONNECT, None, str(exc) or "server disconnected")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        # Only STARTTLS or AUTH can be "not supported" for us: a security requirement.
        return _error(FailureKind.TLS, None, str(exc))
    if isinstance(exc, OSError):
        return _error(FailureKind.CONNECT, None, str(exc) or type(exc).__name__)
    return _error(FailureKind.UNKNOWN, None, f"{type(exc).__name__}: {exc}")


# A bare ASCII mailbox that can go on a command line as it is: what the dispatcher's envelope
# holds for nearly every message. Anything else (quoted local parts, UTF-8) takes aiosmtplib's
# sendmail, which parses and checks each address again.
_PLAIN = re.compile(r"[!#-\'*+\-./-9=?A-Z^-~]+@[A-Za-z0-9.\-\[\]:]+")


async def _transaction(
    smtp: aiosmtplib.SMTP, sender: str, recipients: list[str], data: bytes, timeout: float
) -> dict[str, aiosmtplib.SMTPResponse]:
    """MAIL, RCPT, DATA as sendmail does them, without its four address re-parses per
    message (a sixth of the dispatcher's CPU when profiled)."""
    if not all(_PLAIN.fullmatch(a) for a in (sender, *recipients)):
        checked, _ = await smtp.sendmail(sender, recipients, data, timeout=timeout)
        return checked
    # One deadline for the whole transaction (API v1's 30 s transaction timeout) rather than
    # one per command: each per-command timeout is a task and a timer in asyncio.wait_for.
    async with asyncio.timeout(timeout):
        if smtp.is_ehlo_or_helo_needed:
            try:
                await smtp.ehlo(timeout=None)
            except aiosmtplib.SMTPHeloError:
                if not smtp.is_connected:
                    raise
                await smtp.helo(timeout=None)
        mail = [b"FROM:<" + sender.encode() + b">"]
        if smtp.supports_extension("size"):
            mail.append(b"SIZE=%d" % len(data))  # wire bytes are CRLF already (RFC 1870 count)
        reply = await smtp.execute_command(b"MAIL", *mail, timeout=None)
        if reply.code != 250:
            raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender)
        refused: dict[str, aiosmtplib.SMTPResponse] = {}
        errors = []
        for rcpt in recipients:
            reply = await smtp.execute_command(b"RCPT", b"TO:<" + rcpt.encode() + b">", timeout=None)
            if reply.code not in (250, 251):
                refused[rcpt] = reply
                errors.append(aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, rcpt))
        if len(errors) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(errors)
        await smtp.data(data, timeout=None)
    return refused


def _error(kind: FailureKind, code: int | None, text: str) -> DeliveryError:
    return DeliveryError(error_text(text, code), code=code, temporary=is_temporary(kind, code))


class SmtpSession:
    """One SMTP connection to one account, reused for many messages."""

    def __init__(
        self, target: SmtpTarget, connect_timeout: float, timeout: float, policy: OutboundPolicy | None = None
    ) -> None:
        self._target = target
        self._policy = policy or OutboundPolicy()
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        implicit, starttls = tls_mode(self._target.use_tls, self._target.port)
        # Resolved and checked against the outbound policy here; aiosmtplib talks over the
        # socket to the checked address and verifies TLS against the host name.
        sock = await outbound.connect_async(self._policy, self._target.host, self._target.port, self._connect_timeout)
        smtp = aiosmtplib.SMTP(
            hostname=self._target.host,
            sock=sock,
            username=self._target.user or None,
            password=self._target.password if self._target.user else None,
            use_tls=implicit,
            start_tls=starttls,
            timeout=self._timeout,
        )
        try:
            await smtp.connect(timeout=self._connect_timeout)
        except aiosmtplib.SMTPException as exc:
            sock.close()
            # aiosmtplib raises the bare base class when a required STARTTLS is not offered:
            # a security requirement not met, so permanent like any other TLS failure.
            if starttls and type(exc) is aiosmtplib.SMTPException:
                raise _error(FailureKind.TLS, None, str(exc)) from exc
            raise
        except BaseException:
            sock.close()
            raise
        return smtp

    async def send(self, sender: str, recipients: list[str], data: bytes) -> dict[str, str]:
        """Send one message; returns refused recipients. Raises DeliveryError."""
        try:
            if self._smtp is None or not self._smtp.is_connected:
                self._smtp = await self._connect()
            refused = await _transaction(self._smtp, sender, recipients, data, self._timeout)
            return {rcpt: error_text(resp.message, resp.code) for rcpt, resp in refused.items()}
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            failure = _classify(exc)
            if not isinstance(exc, (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused)):
                # The connection state is unknown after a non-reply failure: start afresh.
                await self.close()
            else:
                await self._reset()
            raise failure from exc

    async def _reset(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.rset()
            except Exception:  # noqa: BLE001
                await self.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await asyncio.wait_for(smtp.quit(), timeout=5)
        except Exception:  # noqa: BLE001 - closing is best effort
            smtp.close()


class SmtpConnector:
    """The SMTP port: a new (lazily connecting) session per target, with the configured
    timeouts and outbound policy."""

    def __init__(self, connect_timeout: float, timeout: float, policy: OutboundPolicy) -> None:
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._policy = policy

    def __call__(self, target: SmtpTarget) -> SmtpSession:
        return SmtpSession(target, self._connect_timeout, self._timeout, self._policy)
