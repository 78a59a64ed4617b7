"""Each process's cache of parsed environments (settings included), checked against the
environment's version on every use (issue 15).

Every authenticated request reads its session, user and the environment's ``version`` in one query;
the environment itself — its settings document validated by pydantic — comes from here while the
version is the one cached. A change of settings or signing keys bumps the version in the changing
transaction (:class:`actionmfa.store.repos.core.EnvironmentRepo`, ``SigningKeyRepo``), so every
worker's next request after the commit misses the cache and reads the environment again: no
cross-process message, no staleness window beyond the request that was already running.
"""

from __future__ import annotations

import threading

from actionmfa.domain.models import Environment
from actionmfa.services.core.ports import CoreUnit


class EnvironmentCache:
    def __init__(self) -> None:
        self._environments: dict[str, Environment] = {}
        self._lock = threading.Lock()

    def get(self, uow: CoreUnit, environment_id: str, version: int) -> Environment | None:
        """The environment at ``version`` (or newer), read from the database when not cached."""
        cached = self._environments.get(environment_id)
        if cached is not None and cached.version == version:
            return cached
        env = uow.environments.get(environment_id)
        if env is not None:
            with self._lock:
                current = self._environments.get(environment_id)
                if current is None or current.version <= env.version:
                    self._environments[environment_id] = env
        return env
