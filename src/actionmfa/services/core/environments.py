"""Environments (tenants), their admin tokens and first-start bootstrap (DESIGN §9)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring, random_token
from actionmfa.domain.models import Environment
from actionmfa.domain.settings import EnvironmentSettings
from actionmfa.errors import ForbiddenError, InvalidRequestError, NotFoundError, UnauthorizedError
from actionmfa.services.core.keys import KeyPurpose, SigningKeys
from actionmfa.services.core.ports import CoreUnit

ADMIN_TOKEN_PREFIX = "amfa_admin_"  # noqa: S105 - a prefix, not a secret
_HASH_PURPOSE = "admin-token"


@dataclass(frozen=True)
class AdminPrincipal:
    token_id: str
    environment_id: str | None  # None: operator token, all environments

    def can_manage(self, environment_id: str) -> bool:
        return self.environment_id is None or self.environment_id == environment_id

    def require(self, environment_id: str) -> None:
        if not self.can_manage(environment_id):
            # Same answer as an unknown environment: an env-scoped token learns nothing of others.
            raise NotFoundError("Environment not found")


@dataclass(frozen=True)
class CreatedEnvironment:
    environment: Environment
    admin_token: str


class EnvironmentService:
    def __init__(self, keyring: Keyring, keys: SigningKeys, clock: Clock) -> None:
        self.keyring = keyring
        self.keys = keys
        self.clock = clock

    def _new_admin_token(self, uow: CoreUnit, environment_id: str | None) -> str:
        token = ADMIN_TOKEN_PREFIX + random_token(32)
        uow.admin_tokens.add(
            id=str(uuid.uuid4()),
            environment_id=environment_id,
            token_hash=self.keyring.keyed_hash(token, purpose=_HASH_PURPOSE),
            now=self.clock.now(),
        )
        return token

    def create(self, uow: CoreUnit, *, name: str, settings: dict[str, object] | None = None) -> CreatedEnvironment:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidRequestError("name must be 1-200 characters", field="name")
        parsed = EnvironmentSettings.parse(settings or {})
        now = self.clock.now()
        env = uow.environments.add(id=str(uuid.uuid4()), name=name, settings=parsed, now=now)
        self.keys.create(uow, env.id, KeyPurpose.SESSION, now)
        self.keys.create(uow, env.id, KeyPurpose.ELEVATED, now)
        return CreatedEnvironment(environment=env, admin_token=self._new_admin_token(uow, env.id))

    def bootstrap(self, uow: CoreUnit) -> tuple[CreatedEnvironment, str] | None:
        """On an empty store: one environment and one operator token. None if not empty."""
        if uow.environments.count() > 0:
            return None
        created = self.create(uow, name="default")
        return created, self._new_admin_token(uow, None)

    def get(self, uow: CoreUnit, environment_id: str) -> Environment:
        env = uow.environments.get(environment_id)
        if env is None:
            raise NotFoundError("Environment not found")
        return env

    def update(
        self, uow: CoreUnit, environment_id: str, *, name: str | None, settings_patch: object | None
    ) -> Environment:
        env = self.get(uow, environment_id)
        settings = env.settings.merged(settings_patch) if settings_patch is not None else None
        if name is not None and (not name.strip() or len(name) > 200):
            raise InvalidRequestError("name must be 1-200 characters", field="name")
        uow.environments.update(environment_id, name=name, settings=settings, now=self.clock.now())
        return self.get(uow, environment_id)

    def authenticate_admin(self, uow: CoreUnit, token: str) -> AdminPrincipal:
        row = uow.admin_tokens.find_active(self.keyring.keyed_hash(token, purpose=_HASH_PURPOSE))
        if row is None:
            raise UnauthorizedError("Invalid admin token")
        return AdminPrincipal(token_id=row.id, environment_id=row.environment_id)

    def rotate_admin_token(self, uow: CoreUnit, principal: AdminPrincipal, environment_id: str) -> str:
        """Revoke the environment's admin tokens and return a new one (operator tokens are kept)."""
        principal.require(environment_id)
        self.get(uow, environment_id)
        uow.admin_tokens.revoke_for_environment(environment_id, self.clock.now())
        return self._new_admin_token(uow, environment_id)

    def require_operator(self, principal: AdminPrincipal) -> None:
        if principal.environment_id is not None:
            raise ForbiddenError("An operator token is required")
