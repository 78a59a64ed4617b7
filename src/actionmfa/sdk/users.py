"""``client.users``: the signed-in user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actionmfa.sdk.client import Client


class UsersResource:
    def __init__(self, client: Client) -> None:
        self._c = client

    def me(self) -> dict[str, Any]:
        user: dict[str, Any] = self._c.request("GET", "/users")
        self._c.session.user = user
        return user

    def update(self, **fields: Any) -> dict[str, Any]:
        """``PUT /users`` — the ``user.update`` action; stored MFA tokens are applied."""
        user: dict[str, Any] = self._c.request(
            "PUT", "/users", json=fields, scope="user:update", include_mfa_token=True
        )
        self._c.session.user = user
        return user
