"""Storage for the audit log (table ``audit_log`` in :mod:`actionmfa.store.mfa_tables`): append, page,
and the keyed hash chain (:mod:`actionmfa.domain.audit_chain`).

Appends are buffered in the unit of work and sealed by :meth:`AuditRepo.flush`, which
:class:`actionmfa.store.db.Database` calls just before the transaction commits (a rollback drops
them with the rest). Each row goes to its environment's shard :func:`~actionmfa.domain.audit_chain.shard_of`
its user (``K`` shards: ``shards``, default :func:`default_shards`). Per (environment, shard), the
flush costs three statements however many rows the transaction wrote: one upsert that locks and
advances that shard's head row (``INSERT … ON CONFLICT DO UPDATE … RETURNING``: the row lock
serialises writers of one shard on PostgreSQL — writers of users in other shards do not wait;
SQLite's ``BEGIN IMMEDIATE`` already serialises every writer), one multi-row insert, one update of
the head's hash — on PostgreSQL those two are one statement (a data-modifying ``WITH``, up to 8
rows). A head row is locked only from the flush to the commit, not for the whole transaction, and a
transaction that writes to several shards locks their heads in one global order (sorted by
environment, then shard): no two flushes wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from actionmfa.domain import audit_chain
from actionmfa.domain.audit_chain import ChainedRow, check_shards
from actionmfa.domain.records import AuditRow
from actionmfa.store.compiled import Statement
from actionmfa.store.mfa_tables import audit_chain_heads, audit_log

_CHAIN_PAGE = 1000
# Shards per environment unless configured (ACTIONMFA_AUDIT_CHAIN_SHARDS): SQLite has one writer at
# a time anyway (one chain per environment, as before the shards); on PostgreSQL 16 heads per
# environment let writers of different users commit side by side (issue 15.3).
DEFAULT_SHARDS = {"sqlite": 1, "postgresql": 16}


def default_shards(dialect: str) -> int:
    return DEFAULT_SHARDS.get(dialect, 1)


def _head_upsert(dialect: str) -> Any:
    h = audit_chain_heads
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(h).values(
        chain=bindparam("p_chain"), shard=bindparam("p_shard"), seq=bindparam("p_n"), last_hash=bindparam("p_genesis")
    )
    return ins.on_conflict_do_update(
        index_elements=[h.c.chain, h.c.shard], set_={"seq": h.c.seq + bindparam("p_n", type_=Integer)}
    ).returning(h.c.seq, h.c.last_hash)


# Compiled once per dialect (issue 15: building these per flush was a third of a TOTP
# authentication's time; store/compiled.py). Every row :func:`actionmfa.services.core.audit.row_values`
# makes has these columns, and the flush adds the chain's four.
_ROW_COLUMNS = (
    "environment_id", "user_id", "session_id", "event", "action", "outcome", "details", "client_address",
    "created_at", "chain_shard", "chain_seq", "chain_prev", "chain_hash",
)
_THIS_HEAD = (audit_chain_heads.c.chain == bindparam("p_chain")) & (audit_chain_heads.c.shard == bindparam("p_shard"))
_HEAD_UPSERT = {name: Statement(_head_upsert(name)) for name in ("sqlite", "postgresql")}
_INSERT_ROWS = Statement(insert(audit_log), keys=_ROW_COLUMNS)
_HEAD_UPDATE = Statement(
    update(audit_chain_heads)
    .where(_THIS_HEAD)
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
            .where(_THIS_HEAD)
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
    def __init__(self, conn: Connection, chain_key: bytes | None = None, shards: int | None = None) -> None:
        self.conn = conn
        self.chain_key = chain_key
        self.shards = check_shards(shards) if shards is not None else default_shards(conn.dialect.name)
        self._pending: list[dict[str, Any]] = []

    def add(self, values: Mapping[str, Any]) -> None:
        """Append one row (``values`` names the columns; the id is assigned by the database)."""
        self._pending.append(dict(values))

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._pending.extend(dict(r) for r in rows)

    def flush(self) -> list[dict[str, Any]]:
        """Seal and insert the buffered rows, shard by shard (called just before commit); return them."""
        if not self._pending:
            return []
        if self.chain_key is None:
            raise AuditKeyMissing("audit rows need the chain key: build the Database through Runtime.build")
        pending, self._pending = self._pending, []
        by_head: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in pending:
            chain = audit_chain.chain_of(row.get("environment_id"))
            by_head.setdefault((chain, audit_chain.shard_of(row.get("user_id"), self.shards)), []).append(row)
        for chain, shard in sorted(by_head):  # one lock order for every transaction: no deadlocks
            self._append(self.chain_key, chain, shard, by_head[chain, shard])
        return pending

    def _append(self, key: bytes, chain: str, shard: int, rows: list[dict[str, Any]]) -> None:
        n = len(rows)
        label = audit_chain.chain_label(chain, shard)
        head = _HEAD_UPSERT[self.conn.dialect.name].first(
            self.conn, {"p_chain": chain, "p_shard": shard, "p_n": n, "p_genesis": audit_chain.genesis(key, label)}
        )
        assert head is not None  # noqa: S101 - an upsert returns its row
        seq, prev = head
        seq = seq - n + 1
        for row in rows:
            row["chain_shard"] = shard
            row["chain_seq"] = seq
            row["chain_prev"] = prev
            row["chain_hash"] = prev = audit_chain.link(key, label, seq, prev, audit_chain.canonical_content(row))
            seq += 1
        if self.conn.dialect.name == "postgresql" and n <= _SEALED_MAX:
            # One round trip fewer while the head row is locked (issue 15.3): on PostgreSQL that lock
            # is what every writer of the shard queues on, until the commit.
            params: dict[str, Any] = {"p_chain": chain, "p_shard": shard, "p_last": prev}
            for i, row in enumerate(rows):
                params.update({f"{name}_{i}": value for name, value in _columns(row).items()})
            _sealed_insert(n).run(self.conn, params)
            return
        _INSERT_ROWS.many(self.conn, [_columns(row) for row in rows])
        _HEAD_UPDATE.run(self.conn, {"p_chain": chain, "p_shard": shard, "p_last": prev})

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

    def heads(self, chain: str) -> dict[int, tuple[int, str]]:
        """The environment's heads by shard: (seq, hash of the last row)."""
        h = audit_chain_heads
        rows = self.conn.execute(select(h.c.shard, h.c.seq, h.c.last_hash).where(h.c.chain == chain)).all()
        return {int(r[0]): (int(r[1]), str(r[2])) for r in rows}

    def chained_rows(self, chain: str) -> Iterator[ChainedRow]:
        """The environment's rows, every shard's, in ``id`` order, read a page at a time (each row
        names its shard: one pass checks them all)."""
        env = None if chain == audit_chain.NO_ENVIRONMENT else chain
        cond = audit_log.c.environment_id.is_(None) if env is None else audit_log.c.environment_id == env
        after: int | None = None  # no lower bound on the first page: a row with an id below 1 is read too
        while True:
            q = select(audit_log).where(cond)
            if after is not None:
                q = q.where(audit_log.c.id > after)
            q = q.order_by(audit_log.c.id).limit(_CHAIN_PAGE)
            batch = self.conn.execute(q).mappings().all()
            for r in batch:
                yield ChainedRow(
                    id=r["id"],
                    seq=r["chain_seq"],
                    prev=r["chain_prev"],
                    hash=r["chain_hash"],
                    content=audit_chain.canonical_content(dict(r)),
                    shard=r["chain_shard"],
                )
            if len(batch) < _CHAIN_PAGE:
                return
            after = batch[-1]["id"]
