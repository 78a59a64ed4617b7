"""Environments as the SDK and the hosted pages see them, without a session: does it exist, its
public settings, its session-key JWKS. Each call opens one read transaction."""

from __future__ import annotations

from typing import Any

from actionmfa.clock import Clock
from actionmfa.domain.models import Environment
from actionmfa.domain.project_settings import project_settings
from actionmfa.domain.wallets import Chain
from actionmfa.services.core.environments import EnvironmentService
from actionmfa.services.core.keys import SigningKeys
from actionmfa.services.core.ports import CoreUnit, Transactions


class Directory:
    def __init__(
        self, db: Transactions[CoreUnit], environments: EnvironmentService, keys: SigningKeys, clock: Clock
    ) -> None:
        self.db = db
        self.environments = environments
        self.keys = keys
        self.clock = clock

    def environment(self, environment_id: str) -> Environment:
        """The environment (404 ``not_found`` for an unknown id)."""
        with self.db.read() as uow:
            return self.environments.get(uow, environment_id)

    def public_settings(self, environment_id: str) -> dict[str, Any]:
        """``GET …/sdk/{environmentId}/settings``: Dynamic's ``ProjectSettings`` (the settings minus
        secrets, and the sections Dynamic's clients require, see :mod:`actionmfa.domain.project_settings`)."""
        env = self.environment(environment_id)
        return project_settings(env.name, env.settings, chains=[c.value for c in Chain])

    def jwks(self, environment_id: str) -> dict[str, Any]:
        """``GET …/.well-known/jwks.json``: the session keys that may still verify a live JWT."""
        with self.db.read() as uow:
            self.environments.get(uow, environment_id)
            return self.keys.jwks(uow, environment_id, self.clock.now())
