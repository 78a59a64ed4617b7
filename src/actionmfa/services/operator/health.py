"""Liveness: can this process reach its database."""

from __future__ import annotations

from typing import Protocol


class Pingable(Protocol):
    def ping(self) -> bool: ...


class Health:
    def __init__(self, db: Pingable) -> None:
        self.db = db

    def database_reachable(self) -> bool:
        return self.db.ping()
