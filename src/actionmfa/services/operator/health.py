"""Liveness (``/health``: can this process reach its database) and readiness (``/health/ready``:
should a load balancer send it traffic — database reachable, schema at the code's migration head,
the wallet key pool holding at least ``min_keys`` Paillier keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from actionmfa.clock import Clock
from actionmfa.services.core.ports import Transactions
from actionmfa.services.operator.ports import OpsUnit
from actionmfa.services.wallets.keysource import PaillierKeys


class Pingable(Protocol):
    def ping(self) -> bool: ...


class Migratable(Pingable, Protocol):
    def schema_revision(self) -> tuple[str | None, str]: ...


@dataclass(frozen=True, slots=True)
class Readiness:
    database: bool
    revision: str | None
    head: str | None
    pool_depth: int
    pool_size: int
    pool_min: int

    @property
    def at_head(self) -> bool:
        return self.revision is not None and self.revision == self.head

    @property
    def pool_ready(self) -> bool:
        return self.pool_depth >= self.pool_min

    @property
    def ready(self) -> bool:
        return self.database and self.at_head and self.pool_ready


class Store(Migratable, Transactions[OpsUnit], Protocol):
    """The database as the health checks and the scrape-time gauges see it."""


class Health:
    def __init__(self, db: Store, clock: Clock, keys: PaillierKeys | None = None, *, min_keys: int = 0) -> None:
        self.db = db
        self.clock = clock
        self.keys = keys
        self.min_keys = min_keys

    def ceremonies_open(self) -> int:
        with self.db.read() as uow:
            return uow.ops.open_ceremonies(self.clock.now())

    def webhook_backlog(self) -> int:
        with self.db.read() as uow:
            return uow.ops.webhook_backlog()

    def database_reachable(self) -> bool:
        return self.db.ping()

    def pool_depth(self) -> int:
        pool = self.keys.pool if self.keys is not None else None
        return len(pool) if pool is not None else 0

    def readiness(self) -> Readiness:
        reachable = self.db.ping()
        revision: str | None = None
        head: str | None = None
        if reachable:
            try:
                revision, head = self.db.schema_revision()
            except Exception:  # a readiness probe reports, never raises
                reachable = False
        return Readiness(
            database=reachable,
            revision=revision,
            head=head,
            pool_depth=self.pool_depth(),
            pool_size=self.keys.size if self.keys is not None else 0,
            pool_min=self.min_keys,
        )
