"""The admin API's use cases on environments: create (operator tokens only), read, update settings,
rotate the environment's admin token, list its users. Each checks the principal, then runs in one
transaction; the dashboard and the CLI use the same building blocks
(:class:`actionmfa.services.core.environments.EnvironmentService`)."""

from __future__ import annotations

from collections.abc import Callable

from actionmfa.domain.models import Environment, User
from actionmfa.domain.settings import EnvironmentSettings
from actionmfa.errors import NotFoundError
from actionmfa.services.core.environments import AdminPrincipal, CreatedEnvironment, EnvironmentService
from actionmfa.services.core.ports import CoreUnit, Transactions


class EnvironmentAdmin:
    def __init__(self, db: Transactions[CoreUnit], environments: EnvironmentService) -> None:
        self.db = db
        self.environments = environments

    def create(self, principal: AdminPrincipal, *, name: str, settings: dict[str, object] | None) -> CreatedEnvironment:
        """``POST /api/v0/environments``: a new environment and its first admin token."""
        self.environments.require_operator(principal)
        with self.db.write() as uow:
            return self.environments.create(uow, name=name, settings=settings)

    def get(self, principal: AdminPrincipal, environment_id: str) -> Environment:
        principal.require(environment_id)
        with self.db.read() as uow:
            return self.environments.get(uow, environment_id)

    def update(
        self, principal: AdminPrincipal, environment_id: str, *, name: str | None, settings_patch: object | None
    ) -> Environment:
        """``PUT /api/v0/environments/{id}``: merges the fields it is given."""
        principal.require(environment_id)
        with self.db.write() as uow:
            return self.environments.update(uow, environment_id, name=name, settings_patch=settings_patch)

    def update_with(
        self,
        principal: AdminPrincipal,
        environment_id: str,
        *,
        name: str | None,
        settings_for: Callable[[EnvironmentSettings], object],
    ) -> Environment:
        """:meth:`update` with the patch computed from the current settings in the same transaction
        (the dashboard's form is a whole document built over them)."""
        principal.require(environment_id)
        with self.db.write() as uow:
            env = self.environments.get(uow, environment_id)
            patch = settings_for(env.settings)
            return self.environments.update(uow, environment_id, name=name, settings_patch=patch)

    def managed(self, principal: AdminPrincipal) -> list[Environment]:
        """The environments the principal manages (all of them for an operator token)."""
        with self.db.read() as uow:
            return [e for e in uow.environments.list() if principal.can_manage(e.id)]

    def rotate_admin_token(self, principal: AdminPrincipal, environment_id: str) -> str:
        with self.db.write() as uow:
            return self.environments.rotate_admin_token(uow, principal, environment_id)

    def user(self, principal: AdminPrincipal, environment_id: str, user_id: str) -> User:
        """One user of the environment (404 for a user of another one)."""
        principal.require(environment_id)
        with self.db.read() as uow:
            self.environments.get(uow, environment_id)
            user = uow.users.get(environment_id, user_id)
        if user is None:
            raise NotFoundError("User not found")
        return user

    def users(self, principal: AdminPrincipal, environment_id: str, *, limit: int, cursor: str | None) -> list[User]:
        """One page of the environment's users, by id (``cursor``: the last id of the previous page)."""
        principal.require(environment_id)
        with self.db.read() as uow:
            self.environments.get(uow, environment_id)
            return uow.users.list(environment_id, limit=limit, after_id=cursor)
