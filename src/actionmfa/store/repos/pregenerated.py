"""Repository for pregenerated wallets (:mod:`actionmfa.store.pregenerated_tables`) and the custody
mark they leave on ``waas_wallets``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.exc import IntegrityError

from actionmfa.domain.records import PregeneratedRow
from actionmfa.store.pregenerated_tables import waas_pregenerated as wp
from actionmfa.store.wallet_tables import waas_wallets as ww

__all__ = ["PregeneratedRepo"]

_IN_CHUNK = 500  # identifiers per IN (…) list


def _row(row: Row[Any]) -> PregeneratedRow:
    return PregeneratedRow(**{c.name: getattr(row, c.name) for c in wp.columns})


class PregeneratedRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_unique(self, **values: Any) -> bool:
        """Insert inside a savepoint; False (the transaction still usable) if this identity already
        has a wallet of this chain (another request committed it first)."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(wp.insert().values(**values))
            return True
        except IntegrityError:
            return False

    def get(self, wallet_id: str, *, for_update: bool = False) -> PregeneratedRow | None:
        q = select(wp).where(wp.c.id == wallet_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).first()
        return _row(row) if row else None

    def by_identities(self, environment_id: str, identity_type: str, identifiers: Sequence[str],
                      chain: str) -> dict[str, PregeneratedRow]:
        """The wallets of these identities (identifier → row)."""
        out: dict[str, PregeneratedRow] = {}
        for start in range(0, len(identifiers), _IN_CHUNK):
            chunk = list(identifiers[start:start + _IN_CHUNK])
            rows = self.conn.execute(select(wp).where(
                wp.c.environment_id == environment_id, wp.c.identity_type == identity_type,
                wp.c.chain == chain, wp.c.identifier.in_(chunk))).all()
            out.update({r.identifier: _row(r) for r in rows})
        return out

    def waiting_for(self, environment_id: str, identity_type: str, identifier: str) -> list[PregeneratedRow]:
        """This identity's wallets not attached to a user yet (row-locked on PostgreSQL)."""
        rows = self.conn.execute(select(wp).where(
            wp.c.environment_id == environment_id, wp.c.identity_type == identity_type,
            wp.c.identifier == identifier, wp.c.user_id.is_(None)).order_by(wp.c.created_at).with_for_update()).all()
        return [_row(r) for r in rows]

    def attach(self, wallet_id: str, *, user_id: str, now: datetime) -> bool:
        """Give the wallet to its user (once: a second sign-in racing loses the conditional UPDATE)."""
        result = self.conn.execute(update(wp).where(wp.c.id == wallet_id, wp.c.user_id.is_(None)).values(
            user_id=user_id, attached_at=now, server_share=None))
        return result.rowcount == 1

    def mark_delivered(self, wallet_id: str, *, now: datetime) -> None:
        self.conn.execute(update(wp).where(wp.c.id == wallet_id, wp.c.delivered_at.is_(None)).values(
            delivered_at=now))

    def erase_standin(self, wallet_id: str, *, now: datetime) -> bool:
        """Erase the stand-in share and lift the custody mark (the claim's refresh committed)."""
        result = self.conn.execute(update(wp).where(wp.c.id == wallet_id, wp.c.standin_share.is_not(None)).values(
            standin_share=None, erased_at=now))
        self.conn.execute(update(ww).where(ww.c.id == wallet_id).values(custody=None))
        return result.rowcount == 1

    # -- key rotation -----------------------------------------------------------------------------
    def sealed_standins(self) -> list[tuple[str, str]]:
        rows = self.conn.execute(select(wp.c.id, wp.c.standin_share).where(wp.c.standin_share.is_not(None)))
        return [(r.id, r.standin_share) for r in rows]

    def set_sealed_standin(self, wallet_id: str, blob: str) -> None:
        self.conn.execute(update(wp).where(wp.c.id == wallet_id).values(standin_share=blob))

    def sealed_waiting_shares(self) -> list[tuple[str, str]]:
        rows = self.conn.execute(select(wp.c.id, wp.c.server_share).where(wp.c.server_share.is_not(None)))
        return [(r.id, r.server_share) for r in rows]

    def set_sealed_waiting_share(self, wallet_id: str, blob: str) -> None:
        self.conn.execute(update(wp).where(wp.c.id == wallet_id).values(server_share=blob))
