"""The one exception tree of Mail Proxy.

    MailProxyError
    ├── ConfigurationError          invalid settings; stops start-up
    │   ├── SecretUnreadable        a stored secret this deployment's key cannot decrypt
    │   └── KeyMismatch             the key cannot read this database at all (said to callers)
    ├── ApiError                    client-visible; carries the HTTP status (mapped in http_api.py)
    │   ├── AuthenticationError     401 token missing
    │   ├── ForbiddenError          403 token unknown/revoked, wrong class or tenant
    │   ├── NotFoundError           404 unknown tenant or route
    │   ├── PayloadTooLargeError    413
    │   ├── UnsupportedMediaError   415
    │   ├── RequestValidationError  422 schema errors, with their loc/msg/type list
    │   └── BusinessRuleError       400 business rejection (string or object detail)
    ├── InfrastructureError         a dependency failed; the request may be retried
    │   ├── DatabaseError
    │   ├── QueueError
    │   │   └── QueueMissing        a tenant's queue is gone (deleted, or a fresh endpoint)
    │   └── SecretsError            Secrets Manager unreachable at cold start
    ├── TargetError                 a place a tenant or the operator points us at failed
    │   ├── FetchError              an attachment download or a client endpoint
    │   ├── StorageError            a tenant's S3-compatible storage
    │   ├── MailboxError            the bounce mailbox
    │   └── DestinationRefused      the outbound policy refuses where a tenant's data points
    ├── MessageFailure              this message cannot be delivered as it is: permanent
    │   ├── AttachmentError         bad attachment content or path (domain/attachments)
    │   ├── AttachmentFailure       an attachment could not be had (services/attachments)
    │   └── LargeFileRejected       over the tenant's limit, action "reject" (services/large_files)
    ├── KeyRefused                  a tenant's DKIM key cannot sign (a 422 naming dkim.private_key)
    ├── UnreadableRecord            a work record's body this code cannot read (domain/work_records)
    └── DeliveryError               one SMTP attempt failed; carries code and temporariness

Only InfrastructureError means "ours, retry later"; a TargetError is the tenant's (or the
operator's) to fix and is handled where it arises, with API v1's wording.
"""

from __future__ import annotations

from typing import Any


class MailProxyError(Exception):
    """Root of every error Mail Proxy raises on purpose."""


class ConfigurationError(MailProxyError):
    pass


class SecretUnreadable(ConfigurationError):
    """A secret stored under another MAILPROXY_ENCRYPTION_KEY: the operator's to fix (set the
    key back, or rotate with 'new,old'), or the tenant's (save the secret again)."""


class KeyMismatch(ConfigurationError):
    """The deployment's MAILPROXY_ENCRYPTION_KEY opens none of its database's secrets. Its
    message names the variable and nothing else, so callers are told it (500)."""


class ApiError(MailProxyError):
    status_code = 400

    def __init__(self, detail: Any) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail


class AuthenticationError(ApiError):
    status_code = 401


class ForbiddenError(ApiError):
    status_code = 403


class NotFoundError(ApiError):
    status_code = 404


def tenant_not_found(tenant_id: str) -> NotFoundError:
    return NotFoundError(f"Tenant '{tenant_id}' not found")


class PayloadTooLargeError(ApiError):
    status_code = 413


class UnsupportedMediaError(ApiError):
    status_code = 415


class RequestValidationError(ApiError):
    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)


class BusinessRuleError(ApiError):
    status_code = 400


class InfrastructureError(MailProxyError):
    pass


class DatabaseError(InfrastructureError):
    pass


class SecretsError(InfrastructureError):
    pass


class QueueError(InfrastructureError):
    pass


class QueueMissing(QueueError):
    pass


class UnreadableRecord(MailProxyError):
    """A work record's body this code cannot read: not JSON, or naming neither a tenant nor a
    known kind of system work (its SQS message fails, and after its retries goes to the
    dead-letter queue)."""


class TargetError(MailProxyError):
    """A place a tenant or the operator points us at failed; its message is the cause text."""


class MessageFailure(MailProxyError):
    """This message cannot be delivered as it is (permanent)."""


class FetchError(TargetError):
    """An attachment download or a call to a tenant's application got no usable answer."""


class StorageError(TargetError):
    """A tenant's S3-compatible storage refused or failed an upload or a presign."""


class MailboxError(TargetError):
    """The bounce mailbox could not be reached, logged into or read."""


class DestinationRefused(TargetError):
    """A connection a tenant's data directs would reach a non-public address that the
    operator has not allowed (domain/outbound.py); the text names nothing of what is there."""


class KeyRefused(MailProxyError, ValueError):
    """The key does not parse, does not match the algorithm, or is too weak."""


class DeliveryError(MailProxyError):
    """One failed SMTP attempt; ``temporary`` decides between retry and error."""

    def __init__(
        self, message: str, *, code: int | None, temporary: bool, refused: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.temporary = temporary
        self.refused = refused  # every recipient refused: each one's reply
