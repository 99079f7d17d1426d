"""The one exception tree of Mail Proxy.

    MailProxyError
    ├── ConfigurationError          invalid settings; stops start-up
    ├── ApiError                    client-visible; carries the HTTP status (mapped in app.py)
    │   ├── AuthenticationError     401 token missing
    │   ├── ForbiddenError          403 token unknown/revoked, wrong class or tenant
    │   ├── NotFoundError           404 unknown tenant or route
    │   ├── MethodNotAllowedError   405
    │   ├── PayloadTooLargeError    413
    │   ├── UnsupportedMediaError   415
    │   ├── RequestValidationError  422 schema errors, with their loc/msg/type list
    │   └── BusinessRuleError       400 business rejection (string or object detail)
    ├── InfrastructureError         a dependency failed; the request may be retried
    │   ├── DatabaseError
    │   ├── QueueError
    │   │   └── QueueMissing        a tenant's queue is gone (deleted, or a fresh endpoint)
    │   └── SecretsError            Secrets Manager unreachable at cold start
    ├── DestinationRefused          the outbound policy refuses where a tenant's data points
    └── DeliveryError               one SMTP attempt failed; carries code and temporariness
"""

from __future__ import annotations

from typing import Any


class MailProxyError(Exception):
    """Root of every error Mail Proxy raises on purpose."""


class ConfigurationError(MailProxyError):
    pass


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


class MethodNotAllowedError(ApiError):
    status_code = 405


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


class DestinationRefused(MailProxyError):
    """A connection a tenant's data directs would reach a non-public address that the
    operator has not allowed (domain/outbound.py); the text names nothing of what is there."""


class DeliveryError(MailProxyError):
    """One failed SMTP attempt; ``temporary`` decides between retry and error."""

    def __init__(self, message: str, *, code: int | None, temporary: bool) -> None:
        super().__init__(message)
        self.code = code
        self.temporary = temporary
