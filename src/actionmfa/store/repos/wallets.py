"""Repository for wallets and wallet ceremonies (tables in :mod:`actionmfa.store.wallet_tables`)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, select, text, update

from actionmfa.domain.records import CeremonyRow, WalletRow
from actionmfa.domain.wallets import CeremonyKind, CeremonyOutcome, Chain, LockReason, Stage
from actionmfa.store.wallet_tables import waas_ceremonies as wc
from actionmfa.store.wallet_tables import waas_delegate_rings as wdr
from actionmfa.store.wallet_tables import waas_delegation_secrets as wds
from actionmfa.store.wallet_tables import waas_wallets as ww

__all__ = ["CeremonyRow", "WalletRepo", "WalletRow"]


def _wallet(row: Row[Any]) -> WalletRow:
    values = {c.name: getattr(row, c.name) for c in ww.columns}
    values["chain"] = Chain(values["chain"])
    values["lock_reason"] = LockReason(values["lock_reason"]) if values["lock_reason"] is not None else None
    return WalletRow(**values)


def _ceremony(row: Row[Any]) -> CeremonyRow:
    values = {c.name: getattr(row, c.name) for c in wc.columns}
    values["kind"] = CeremonyKind(values["kind"])
    values["stage"] = Stage(values["stage"])
    values["outcome"] = CeremonyOutcome(values["outcome"]) if values["outcome"] is not None else None
    return CeremonyRow(**values)


class WalletRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- wallets ----------------------------------------------------------------------------------
    def add_wallet(self, **values: Any) -> None:
        self.conn.execute(insert(ww).values(**values))

    def wallet(
        self, environment_id: str, user_id: str, wallet_id: str, *, for_update: bool = False
    ) -> WalletRow | None:
        """``for_update`` takes the row lock (PostgreSQL), serialising completions of one wallet so that
        a lock set by one ceremony is seen by every later one."""
        q = select(ww).where(ww.c.id == wallet_id, ww.c.environment_id == environment_id, ww.c.user_id == user_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).first()
        return _wallet(row) if row else None

    def delete_wallet(self, wallet_id: str) -> None:
        """Remove a wallet (its ceremonies cascade): only for a creation its device refused."""
        self.conn.execute(delete(wc).where(wc.c.wallet_id == wallet_id))
        self.conn.execute(delete(ww).where(ww.c.id == wallet_id))

    def wallet_used(self, wallet_id: str) -> bool:
        """Whether any ceremony other than its key generation names the wallet (signing, refresh …)."""
        row = self.conn.execute(select(func.count()).select_from(wc).where(
            wc.c.wallet_id == wallet_id, wc.c.kind != CeremonyKind.KEYGEN.value)).scalar_one()
        return bool(row)

    def wallet_by_id(self, environment_id: str, wallet_id: str) -> WalletRow | None:
        row = self.conn.execute(select(ww).where(ww.c.id == wallet_id, ww.c.environment_id == environment_id)).first()
        return _wallet(row) if row else None

    def wallets_of(self, environment_id: str, user_id: str) -> list[WalletRow]:
        rows = self.conn.execute(
            select(ww).where(ww.c.environment_id == environment_id, ww.c.user_id == user_id).order_by(ww.c.created_at)
        ).all()
        return [_wallet(r) for r in rows]

    def locked(self, environment_id: str | None = None) -> list[WalletRow]:
        q = select(ww).where(ww.c.locked_at.is_not(None))
        if environment_id is not None:
            q = q.where(ww.c.environment_id == environment_id)
        return [_wallet(r) for r in self.conn.execute(q.order_by(ww.c.locked_at)).all()]

    def lock(self, wallet_id: str, *, reason: LockReason, now: datetime) -> None:
        self.conn.execute(
            update(ww)
            .where(ww.c.id == wallet_id)
            .values(locked_at=now, lock_reason=LockReason(reason).value, lock_count=ww.c.lock_count + 1,
                    updated_at=now)
        )

    def unlock(self, wallet_id: str, *, now: datetime) -> bool:
        result = self.conn.execute(
            update(ww)
            .where(ww.c.id == wallet_id, ww.c.locked_at.is_not(None))
            .values(locked_at=None, lock_reason=None, updated_at=now)
        )
        return result.rowcount == 1

    def record_signature(self, wallet_id: str, *, now: datetime) -> None:
        """The wallet produced a valid signature (in the signing ceremony's own transaction)."""
        self.conn.execute(update(ww).where(ww.c.id == wallet_id).values(last_signed_at=now))

    def replace_share(self, wallet_id: str, *, server_share: str, key_version: int, now: datetime,
                      key_ceremony_id: str | None = None) -> None:
        self.conn.execute(
            update(ww).where(ww.c.id == wallet_id).values(server_share=server_share, key_version=key_version,
                                                          key_ceremony_id=key_ceremony_id, updated_at=now)
        )

    def reshare(self, wallet_id: str, *, server_share: str, key_version: int, scheme: str,
                delegate_public_share: str | None, delegate_share: str | None, delegate_api_key_hash: str | None,
                now: datetime, key_ceremony_id: str | None = None) -> None:
        """Switch to reshared shares (new key version, scheme, delegate pair share and API key)."""
        self.conn.execute(
            update(ww).where(ww.c.id == wallet_id).values(
                server_share=server_share, key_version=key_version, threshold_scheme=scheme,
                delegate_public_share=delegate_public_share, delegate_share=delegate_share,
                delegate_api_key_hash=delegate_api_key_hash, key_ceremony_id=key_ceremony_id, pending_action=None,
                delegated_at=now if delegate_public_share is not None else None, updated_at=now)
        )

    def delegated_ceremony(self, ceremony_id: str, *, wallet_id: str, kind: CeremonyKind) -> CeremonyRow | None:
        row = self.conn.execute(
            select(wc).where(wc.c.id == ceremony_id, wc.c.wallet_id == wallet_id, wc.c.kind == CeremonyKind(kind).value,
                             wc.c.session_id.is_(None))
        ).first()
        return _ceremony(row) if row else None

    # -- delegation secrets -------------------------------------------------------------------------
    def delegation_secret(self, environment_id: str) -> str | None:
        row = self.conn.execute(select(wds.c.secret).where(wds.c.environment_id == environment_id)).first()
        return str(row.secret) if row else None

    def set_delegation_secret(self, environment_id: str, blob: str, *, now: datetime,
                              previous_until: datetime | None = None) -> None:
        """Replace the secret; with ``previous_until`` the replaced one keeps signing beside it until then."""
        old = self.delegation_secret(environment_id)
        self.conn.execute(delete(wds).where(wds.c.environment_id == environment_id))
        keep = old is not None and previous_until is not None
        self.conn.execute(insert(wds).values(environment_id=environment_id, secret=blob, created_at=now,
                                             previous_secret=old if keep else None,
                                             previous_until=previous_until if keep else None))

    # -- the delegate's ring-Pedersen parameters ---------------------------------------------------
    def delegate_ring(self, environment_id: str) -> str | None:
        row = self.conn.execute(select(wdr.c.params).where(wdr.c.environment_id == environment_id)).first()
        return str(row.params) if row else None

    def set_delegate_ring(self, environment_id: str, params: str, digest: str, *, now: datetime) -> None:
        self.conn.execute(delete(wdr).where(wdr.c.environment_id == environment_id))
        self.conn.execute(insert(wdr).values(environment_id=environment_id, params=params, digest=digest,
                                             created_at=now))

    def sealed_delegation_secrets(self) -> list[tuple[str, str]]:
        return [(r.environment_id, r.secret) for r in self.conn.execute(select(wds.c.environment_id, wds.c.secret))]

    def set_sealed_delegation_secret(self, environment_id: str, blob: str) -> None:
        self.conn.execute(update(wds).where(wds.c.environment_id == environment_id).values(secret=blob))

    def sealed_delegate_shares(self) -> list[tuple[str, str]]:
        rows = self.conn.execute(select(ww.c.id, ww.c.delegate_share).where(ww.c.delegate_share.is_not(None))).all()
        return [(r.id, r.delegate_share) for r in rows]

    def set_sealed_delegate_share(self, wallet_id: str, blob: str) -> None:
        self.conn.execute(update(ww).where(ww.c.id == wallet_id).values(delegate_share=blob))

    def sealed_shares(self) -> list[tuple[str, str]]:
        return [(r.id, r.server_share) for r in self.conn.execute(select(ww.c.id, ww.c.server_share)).all()]

    def set_sealed_share(self, wallet_id: str, blob: str) -> None:
        self.conn.execute(update(ww).where(ww.c.id == wallet_id).values(server_share=blob))

    def sealed_states(self) -> list[tuple[str, str]]:
        rows = self.conn.execute(select(wc.c.id, wc.c.state).where(wc.c.outcome.is_(None))).all()
        return [(r.id, r.state) for r in rows]

    def set_sealed_state(self, ceremony_id: str, blob: str) -> None:
        self.conn.execute(update(wc).where(wc.c.id == ceremony_id).values(state=blob))

    # -- ceremonies ---------------------------------------------------------------------------------
    def add_ceremony(self, **values: Any) -> None:
        self.conn.execute(insert(wc).values(**values))

    def ceremony(self, ceremony_id: str, *, environment_id: str, session_id: str,
                 kind: CeremonyKind) -> CeremonyRow | None:
        row = self.conn.execute(
            select(wc).where(
                wc.c.id == ceremony_id,
                wc.c.environment_id == environment_id,
                wc.c.session_id == session_id,
                wc.c.kind == CeremonyKind(kind).value,
            )
        ).first()
        return _ceremony(row) if row else None

    def advance(self, ceremony_id: str, *, from_stage: Stage, to_stage: Stage, now: datetime, state: str | None = None,
                outcome: CeremonyOutcome | None = None, wallet_id: str | None = None) -> bool:
        """Move a live ceremony one stage on; exactly one concurrent caller wins (rowcount 1)."""
        values: dict[str, Any] = {"stage": int(to_stage)}
        if state is not None:
            values["state"] = state
        if outcome is not None:
            values["outcome"] = CeremonyOutcome(outcome).value
            values["completed_at"] = now
        if wallet_id is not None:
            values["wallet_id"] = wallet_id
        result = self.conn.execute(
            update(wc)
            .where(and_(wc.c.id == ceremony_id, wc.c.stage == int(from_stage), wc.c.expires_at > now,
                        wc.c.outcome.is_(None)))
            .values(**values)
        )
        return result.rowcount == 1

    def set_pending_action(self, environment_id: str, *, action: str | None, scheme: str,
                           user_id: str | None = None, wallet_id: str | None = None, now: datetime,
                           only_pending: str | None = None, chain: str | None = None) -> list[str]:
        """Mark the wallets of ``scheme`` (one wallet, one user's, or the environment's; of one chain
        when given) with a pending action (only those whose pending action is ``only_pending``, when
        given); returns their ids."""
        cond = [ww.c.environment_id == environment_id, ww.c.threshold_scheme == scheme]
        if chain is not None:
            cond.append(ww.c.chain == chain)
        if user_id is not None:
            cond.append(ww.c.user_id == user_id)
        if wallet_id is not None:
            cond.append(ww.c.id == wallet_id)
        if only_pending is not None:
            cond.append(ww.c.pending_action == only_pending)
        ids = [r.id for r in self.conn.execute(select(ww.c.id).where(*cond).order_by(ww.c.id))]
        if ids:
            self.conn.execute(update(ww).where(ww.c.id.in_(ids)).values(pending_action=action, updated_at=now))
        return ids

    def delegation_counts(self, environment_id: str) -> dict[tuple[str, str | None], int]:
        """How many wallets of the environment are in each (scheme, pending action)."""
        q = (select(ww.c.threshold_scheme, ww.c.pending_action, func.count())
             .where(ww.c.environment_id == environment_id)
             .group_by(ww.c.threshold_scheme, ww.c.pending_action))
        return {(str(r[0]), r[1]): int(r[2]) for r in self.conn.execute(q)}

    def finished_ceremony(self, ceremony_id: str, *, environment_id: str, user_id: str,
                          kind: CeremonyKind) -> CeremonyRow | None:
        """A ceremony of this user that ended well (any session): what a repeated final round replays."""
        row = self.conn.execute(
            select(wc).where(
                wc.c.id == ceremony_id,
                wc.c.environment_id == environment_id,
                wc.c.user_id == user_id,
                wc.c.kind == CeremonyKind(kind).value,
                wc.c.outcome == CeremonyOutcome.OK.value,
            )
        ).first()
        return _ceremony(row) if row else None

    def fail(self, ceremony_id: str, *, outcome: CeremonyOutcome, now: datetime) -> None:
        self.conn.execute(
            update(wc).where(wc.c.id == ceremony_id, wc.c.outcome.is_(None))
            .values(outcome=CeremonyOutcome(outcome).value, completed_at=now, state="")
        )

    def withdraw_reshares(self, environment_id: str, *, user_id: str | None = None,
                          now: datetime) -> list[tuple[str, str]]:
        """End the open reshare ceremonies of the environment's (or one user's) wallets, as a
        revocation does; returns (ceremony id, wallet id). The wallet rows are locked first (in the
        order a reshare's own rounds take them: wallet, then ceremony), so a confirmation in flight
        either committed before — its wallet is then seen as 2-of-3 and marked — or waits and finds
        its ceremony ended."""
        scope = [ww.c.environment_id == environment_id]
        if user_id is not None:
            scope.append(ww.c.user_id == user_id)
        wallet_ids = [r.id for r in self.conn.execute(select(ww.c.id).where(*scope).order_by(ww.c.id)
                                                      .with_for_update())]
        if not wallet_ids:
            return []
        rows = self.conn.execute(select(wc.c.id, wc.c.wallet_id).where(
            wc.c.environment_id == environment_id, wc.c.kind == CeremonyKind.RESHARE.value,
            wc.c.outcome.is_(None), wc.c.wallet_id.in_(wallet_ids)).order_by(wc.c.id)).all()
        ended = [(str(r.id), str(r.wallet_id)) for r in rows]
        if ended:
            self.conn.execute(update(wc).where(wc.c.id.in_([c for c, _ in ended]), wc.c.outcome.is_(None)).values(
                outcome=CeremonyOutcome.WITHDRAWN.value, completed_at=now, state=""))
        return ended

    def open_keygens(self, user_id: str, now: datetime) -> int:
        """Key generations of this user still open (not finished, not expired)."""
        q = select(func.count()).select_from(wc).where(
            wc.c.user_id == user_id, wc.c.kind == CeremonyKind.KEYGEN.value, wc.c.outcome.is_(None),
            wc.c.expires_at > now
        )
        return int(self.conn.execute(q).scalar_one())

    def unfinished_keygens_since(self, user_id: str, since: datetime) -> int:
        """Key generations of this user opened after ``since`` and never finished (open or abandoned)."""
        q = select(func.count()).select_from(wc).where(
            wc.c.user_id == user_id, wc.c.kind == CeremonyKind.KEYGEN.value, wc.c.outcome.is_(None),
            wc.c.created_at > since,
        )
        return int(self.conn.execute(q).scalar_one())

    def open_ceremonies(self, now: datetime, *, environment_id: str | None = None, user_id: str | None = None) -> int:
        """Ceremonies of the environment or the user still open (not finished, not expired)."""
        q = select(func.count()).select_from(wc).where(wc.c.outcome.is_(None), wc.c.expires_at > now)
        if environment_id is not None:
            q = q.where(wc.c.environment_id == environment_id)
        if user_id is not None:
            q = q.where(wc.c.user_id == user_id)
        return int(self.conn.execute(q).scalar_one())

    def serialize(self, key: str) -> None:
        """A transaction-scoped lock on ``key`` (PostgreSQL advisory lock; SQLite's writer lock is
        already held), so that a count-then-insert is exact across workers."""
        if self.conn.dialect.name == "postgresql":
            lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})

    def purge_expired(self, *, before: datetime) -> int:
        """Delete ceremonies that expired before ``before`` (abandoned or finished)."""
        return int(self.conn.execute(delete(wc).where(wc.c.expires_at < before)).rowcount or 0)

    def count_ceremonies(self, environment_id: str) -> int:
        return len(self.conn.execute(select(wc.c.id).where(wc.c.environment_id == environment_id)).all())
