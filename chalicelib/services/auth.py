"""Authentication and tenant scoping (docs/api.md §2)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.tokens import key_hash, same
from chalicelib.errors import AuthenticationError, ForbiddenError
from chalicelib.services.ports import Ports

INVALID = "Invalid or missing API token"
ADMIN_REQUIRED = "Admin token required"
ADMIN_ONLY = "Admin token required, tenant tokens not allowed for this operation"
WRONG_TENANT = "Token not authorized for this tenant"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin, or the tenant whose key was presented."""

    tenant_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.tenant_id is None

    def scope(self, tenant_id: str) -> None:
        """Refuse acting for another tenant (before any existence check)."""
        if self.tenant_id is not None and self.tenant_id != tenant_id:
            raise ForbiddenError(WRONG_TENANT)

    def scoped_tenant(self) -> str | None:
        return self.tenant_id

    def require_admin(self) -> None:
        """Refuse a tenant key where only the admin may act (the route checks it first)."""
        if self.tenant_id is not None:
            raise ForbiddenError(ADMIN_ONLY)


def authenticate(ports: Ports, token: str | None, admin_only: bool) -> Principal:
    if not token:
        raise AuthenticationError(ADMIN_REQUIRED if admin_only else INVALID)
    admin = ports.settings.api_token
    if admin is not None and same(token, admin):
        return Principal(None)
    row = ports.keys.find(key_hash(token))
    if row is None or (row["expires_at"] is not None and row["expires_at"] <= ports.now()):
        raise ForbiddenError(INVALID)
    if admin_only:
        raise ForbiddenError(ADMIN_ONLY)
    return Principal(row["tenant_id"])
