"""Storage for the audit log (table ``audit_log`` in :mod:`actionmfa.store.mfa_tables`): append, page,
and the keyed hash chain (:mod:`actionmfa.domain.audit_chain`).

Appends are buffered in the unit of work and sealed by :meth:`AuditRepo.flush`, which
:class:`actionmfa.store.db.Database` calls just before the transaction commits (a rollback drops
them with the rest). Per chain, the flush costs three statements however many rows the transaction
wrote: one upsert that locks and advances the chain's head row (``INSERT … ON CONFLICT DO UPDATE …
RETURNING``: the row lock serialises writers of one environment on PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` already serialises every writer), one multi-row insert, one update of the head's hash
— on PostgreSQL those two are one statement (a data-modifying ``WITH``, up to 8 rows).
The head row is locked only from the flush to the commit, not for the whole transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from actionmfa.domain import audit_chain
from actionmfa.domain.audit_chain import ChainedRow
from actionmfa.domain.records import AuditRow
from actionmfa.store.compiled import Statement
from actionmfa.store.mfa_tables import audit_chain_heads, audit_log

_CHAIN_PAGE = 1000


def _head_upsert(dialect: str) -> Any:
    h = audit_chain_heads
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(h).values(
        chain=bindparam("p_chain"), seq=bindparam("p_n"), last_hash=bindparam("p_genesis")
    )
    return ins.on_conflict_do_update(
        index_elements=[h.c.chain], set_={"seq": h.c.seq + bindparam("p_n", type_=Integer)}
    ).returning(h.c.seq, h.c.last_hash)


# Compiled once per dialect (issue 15: building these per flush was a third of a TOTP
# authentication's time; store/compiled.py). Every row :func:`actionmfa.services.core.audit.row_values`
# makes has these columns, and the flush adds the chain's three.
_ROW_COLUMNS = (
    "environment_id", "user_id", "session_id", "event", "action", "outcome", "details", "client_address",
    "created_at", "chain_seq", "chain_prev", "chain_hash",
)
_HEAD_UPSERT = {name: Statement(_head_upsert(name)) for name in ("sqlite", "postgresql")}
_INSERT_ROWS = Statement(insert(audit_log), keys=_ROW_COLUMNS)
_HEAD_UPDATE = Statement(
    update(audit_chain_heads)
    .where(audit_chain_heads.c.chain == bindparam("p_chain"))
    .values(last_hash=bindparam("p_last"))
)


_SEALED_MAX = 8  # rows one transaction seals into a chain in one statement (more: two statements)
_SEALED: dict[int, Statement] = {}


def _sealed_insert(n: int) -> Statement:
    """PostgreSQL: the ``n`` rows and the head's new hash in one statement (a data-modifying
    ``WITH``: ``WITH rows AS (INSERT INTO audit_log … VALUES (…), (…)) UPDATE audit_chain_heads …``),
    built once per ``n``."""
    stmt = _SEALED.get(n)
    if stmt is None:
        values = [
            {name: bindparam(f"{name}_{i}", type_=audit_log.c[name].type) for name in _ROW_COLUMNS} for i in range(n)
        ]
        rows = insert(audit_log).values(values).cte("sealed_rows")
        stmt = _SEALED[n] = Statement(
            update(audit_chain_heads)
            .where(audit_chain_heads.c.chain == bindparam("p_chain"))
            .values(last_hash=bindparam("p_last"))
            .add_cte(rows)
        )
    return stmt


def _columns(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The row as the INSERT's parameters: every column named (an absent one is NULL, as
    ``Connection.execute`` would leave it), and nothing that is not a column."""
    if len(row) == len(_ROW_COLUMNS) and all(name in row for name in _ROW_COLUMNS):
        return row
    unknown = set(row) - set(_ROW_COLUMNS)
    if unknown:
        raise ValueError(f"audit row with unknown columns: {sorted(unknown)}")
    return {name: row.get(name) for name in _ROW_COLUMNS}


class AuditKeyMissing(RuntimeError):
    """Audit rows were written through a Database that was given no chain key (a wiring error)."""


class AuditRepo:
    def __init__(self, conn: Connection, chain_key: bytes | None = None) -> None:
        self.conn = conn
        self.chain_key = chain_key
        self._pending: list[dict[str, Any]] = []

    def add(self, values: Mapping[str, Any]) -> None:
        """Append one row (``values`` names the columns; the id is assigned by the database)."""
        self._pending.append(dict(values))

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._pending.extend(dict(r) for r in rows)

    def flush(self) -> list[dict[str, Any]]:
        """Seal and insert the buffered rows, chain by chain (called just before commit); return them."""
        if not self._pending:
            return []
        if self.chain_key is None:
            raise AuditKeyMissing("audit rows need the chain key: build the Database through Runtime.build")
        pending, self._pending = self._pending, []
        by_chain: dict[str, list[dict[str, Any]]] = {}
        for row in pending:
            by_chain.setdefault(audit_chain.chain_of(row.get("environment_id")), []).append(row)
        for chain in sorted(by_chain):  # one lock order for every transaction: no deadlocks
            self._append(self.chain_key, chain, by_chain[chain])
        return pending

    def _append(self, key: bytes, chain: str, rows: list[dict[str, Any]]) -> None:
        n = len(rows)
        head = _HEAD_UPSERT[self.conn.dialect.name].first(
            self.conn, {"p_chain": chain, "p_n": n, "p_genesis": audit_chain.genesis(key, chain)}
        )
        assert head is not None  # noqa: S101 - an upsert returns its row
        seq, prev = head
        seq = seq - n + 1
        for row in rows:
            row["chain_seq"] = seq
            row["chain_prev"] = prev
            row["chain_hash"] = prev = audit_chain.link(key, chain, seq, prev, audit_chain.canonical_content(row))
            seq += 1
        if self.conn.dialect.name == "postgresql" and n <= _SEALED_MAX:
            # One round trip fewer while the head row is locked (issue 15.3): on PostgreSQL that lock
            # is what every writer of the environment queues on, until the commit.
            params: dict[str, Any] = {"p_chain": chain, "p_last": prev}
            for i, row in enumerate(rows):
                params.update({f"{name}_{i}": value for name, value in _columns(row).items()})
            _sealed_insert(n).run(self.conn, params)
            return
        _INSERT_ROWS.many(self.conn, [_columns(row) for row in rows])
        _HEAD_UPDATE.run(self.conn, {"p_chain": chain, "p_last": prev})

    def page(self, environment_id: str, *, before_id: int | None, limit: int) -> list[AuditRow]:
        """Up to ``limit`` rows of the environment, newest first, with ids below ``before_id``."""
        q = select(audit_log).where(audit_log.c.environment_id == environment_id)
        if before_id is not None:
            q = q.where(audit_log.c.id < before_id)
        rows = self.conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit)).all()
        return [
            AuditRow(
                id=r.id,
                environment_id=r.environment_id,
                user_id=r.user_id,
                session_id=r.session_id,
                event=r.event,
                action=r.action,
                outcome=r.outcome,
                details=r.details,
                client_address=r.client_address,
                created_at=r.created_at,
            )
            for r in rows
        ]

    # -- the chain, as `audit verify` reads it ----------------------------------------------------

    def chains(self) -> list[str]:
        """Every chain that has a head or a row (``""``: rows without an environment)."""
        names = {r[0] for r in self.conn.execute(select(audit_chain_heads.c.chain)).all()}
        envs = self.conn.execute(select(audit_log.c.environment_id).distinct()).all()
        names |= {audit_chain.chain_of(r[0]) for r in envs}
        return sorted(names)

    def head(self, chain: str) -> tuple[int, str] | None:
        row = self.conn.execute(
            select(audit_chain_heads.c.seq, audit_chain_heads.c.last_hash).where(audit_chain_heads.c.chain == chain)
        ).first()
        return (int(row[0]), str(row[1])) if row is not None else None

    def chained_rows(self, chain: str) -> Iterator[ChainedRow]:
        """The chain's rows in ``id`` order, read a page at a time."""
        env = None if chain == audit_chain.NO_ENVIRONMENT else chain
        cond = audit_log.c.environment_id.is_(None) if env is None else audit_log.c.environment_id == env
        after = -1
        while True:
            q = select(audit_log).where(cond, audit_log.c.id > after).order_by(audit_log.c.id).limit(_CHAIN_PAGE)
            batch = self.conn.execute(q).mappings().all()
            for r in batch:
                yield ChainedRow(
                    id=r["id"],
                    seq=r["chain_seq"],
                    prev=r["chain_prev"],
                    hash=r["chain_hash"],
                    content=audit_chain.canonical_content(dict(r)),
                )
            if len(batch) < _CHAIN_PAGE:
                return
            after = batch[-1]["id"]
