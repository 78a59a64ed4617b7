"""The object graph of one server process, built once from the configuration and passed in.

``Runtime`` holds the infrastructure (configuration, database, keyring, clock) and the typed
service container (:class:`actionmfa.services.container.Services`) built on it. ``keys``,
``sessions``, ``environments`` and ``mailer`` are shorthands into the container.
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmfa.clock import Clock, SystemClock
from actionmfa.config import ServerConfig, load_keyring
from actionmfa.crypto import Keyring
from actionmfa.domain.audit_chain import KEY_PURPOSE
from actionmfa.services.container import Services, build_services
from actionmfa.services.core.environments import EnvironmentService
from actionmfa.services.core.keys import SigningKeys
from actionmfa.services.core.sessions import SessionService
from actionmfa.services.signin.mailer import Mailer, mailer_for
from actionmfa.store.db import Database


@dataclass
class Runtime:
    config: ServerConfig
    db: Database
    keyring: Keyring
    clock: Clock
    services: Services

    @classmethod
    def build(
        cls,
        config: ServerConfig,
        *,
        clock: Clock | None = None,
        keyring: Keyring | None = None,
        db: Database | None = None,
        mailer: Mailer | None = None,
    ) -> Runtime:
        clock = clock or SystemClock()
        keyring = keyring or load_keyring(config)
        if db is None:
            config.data_dir.mkdir(parents=True, exist_ok=True)
            db = Database(config.effective_database_url)
        if db.audit_key is None:
            db.audit_key = keyring.subkey(KEY_PURPOSE)
        if config.audit_chain_shards is not None:
            db.audit_shards = config.audit_chain_shards
        services = build_services(db=db, keyring=keyring, clock=clock, mailer=mailer or mailer_for(config))
        services.operator.health.min_keys = config.effective_ready_min_keys
        return cls(config=config, db=db, keyring=keyring, clock=clock, services=services)

    @property
    def keys(self) -> SigningKeys:
        return self.services.core.keys

    @property
    def sessions(self) -> SessionService:
        return self.services.core.sessions

    @property
    def environments(self) -> EnvironmentService:
        return self.services.core.environments

    @property
    def mailer(self) -> Mailer:
        """Sign-in mail (SMTP, or the --mail-log sink); tests swap in their own."""
        return self.services.signin.email.mailer

    @mailer.setter
    def mailer(self, mailer: Mailer) -> None:
        self.services.signin.email.mailer = mailer

    def close(self) -> None:
        """At shutdown: stop what the services run beside the requests (the wallet key pool)."""
        self.services.close()
