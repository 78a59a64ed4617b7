"""Self-service profile updates (the ``user.update`` action)."""

from __future__ import annotations

import json
from typing import Any

from actionmfa.domain.models import AuthContext, User
from actionmfa.errors import InvalidRequestError
from actionmfa.services.runtime import Runtime
from actionmfa.store.uow import UnitOfWork

MAX_METADATA_BYTES = 4096
_COLUMNS = {"alias": "alias", "firstName": "first_name", "lastName": "last_name", "metadata": "metadata"}


def validate_metadata(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise InvalidRequestError("metadata must be a JSON object", field="metadata")
    if len(json.dumps(value, separators=(",", ":")).encode()) > MAX_METADATA_BYTES:
        raise InvalidRequestError(f"metadata is larger than {MAX_METADATA_BYTES} bytes", field="metadata")


def profile_changes(fields: dict[str, Any]) -> dict[str, Any]:
    """The profile columns a ``PUT /users`` body changes (acknowledgement excluded)."""
    validate_metadata(fields.get("metadata"))
    return {_COLUMNS[k]: v for k, v in fields.items() if k in _COLUMNS}


def update_self(uow: UnitOfWork, runtime: Runtime, ctx: AuthContext, fields: dict[str, Any]) -> User:
    """Apply profile changes. (The MFA gate for ``user.update`` is enforced by the MFA core.)"""
    changes = profile_changes(fields)
    if changes:
        uow.users.update(ctx.user.id, runtime.clock.now(), **changes)
    user = uow.users.get(ctx.environment.id, ctx.user.id)
    assert user is not None  # noqa: S101
    return user
