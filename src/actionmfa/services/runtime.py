"""The object graph of one server process, built once from the configuration and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actionmfa.clock import Clock, SystemClock
from actionmfa.config import ServerConfig, load_keyring
from actionmfa.crypto import Keyring
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
    keys: SigningKeys
    sessions: SessionService
    environments: EnvironmentService
    mailer: Mailer  # sign-in mail (SMTP, or the --mail-log sink); tests inject their own
    # Area services that need process-wide state (caches, pools) register here by name.
    extras: dict[str, Any] = field(default_factory=dict)

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
        keys = SigningKeys(keyring)
        return cls(
            config=config,
            db=db,
            keyring=keyring,
            clock=clock,
            keys=keys,
            sessions=SessionService(keys, clock),
            environments=EnvironmentService(keyring, keys, clock),
            mailer=mailer or mailer_for(config),
        )
