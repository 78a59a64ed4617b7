"""The audit log's keyed hash chain on SQLite and PostgreSQL (issue 11 item 7): every row sealed in
its environment's chain in the event's own transaction, concurrent writers never fork it, and
``verify`` names each kind of tampering done with raw SQL by a database writer without the key."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import delete, insert, select, text, update

from actionmfa.domain.audit_chain import Tamper
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from actionmfa.store.mfa_tables import audit_chain_heads, audit_log
from tests.concurrency import race

ENV = "env-chain"


def _write(runtime: Runtime, n: int = 1, env: str | None = ENV, db: Database | None = None) -> None:
    with (db or runtime.db).write() as uow:
        for i in range(n):
            audit.record(uow, AuditIds(env, "user-1"), AuditEvent.GATE_ALLOWED, now=runtime.clock.now(),
                         action="wallet.waas.sign", outcome="allow", n=i)


def _ids(runtime: Runtime, env: str = ENV) -> list[int]:
    with runtime.db.read() as uow:
        rows = uow.conn.execute(select(audit_log.c.id).where(audit_log.c.environment_id == env).order_by("id"))
        return [r[0] for r in rows]


def _kinds(runtime: Runtime, env: str = ENV) -> Counter[Tamper]:
    return Counter(f.kind for f in runtime.services.operator.audit_chain.verify(env).findings)


def _sql(runtime: Runtime, stmt: object) -> None:
    with runtime.db.engine.begin() as conn:  # a database writer that has no key: raw SQL only
        conn.execute(stmt)  # type: ignore[call-overload]


def test_rows_are_sealed_in_order_and_the_head_follows(runtime_any: Runtime) -> None:
    _write(runtime_any, 3)
    _write(runtime_any, 2)
    _write(runtime_any, 1, env=None)
    chain = runtime_any.services.operator.audit_chain
    report = chain.verify(ENV)
    assert report.intact and report.rows == 5 and report.head_seq == 5
    with runtime_any.db.read() as uow:
        seqs = [r[0] for r in uow.conn.execute(
            select(audit_log.c.chain_seq).where(audit_log.c.environment_id == ENV).order_by(audit_log.c.id))]
    assert seqs == [1, 2, 3, 4, 5]
    assert {r.chain for r in chain.verify_all()} >= {ENV, ""}
    assert all(r.intact for r in chain.verify_all())


def test_many_rows_of_one_transaction_are_sealed_in_order(runtime_any: Runtime) -> None:
    # PostgreSQL seals up to 8 rows in one statement with the head update, more in two (store/repos/audit.py)
    for n in (8, 12, 1):
        _write(runtime_any, n)
    report = runtime_any.services.operator.audit_chain.verify(ENV)
    assert report.intact and report.rows == 21 and report.head_seq == 21


def test_a_rolled_back_event_leaves_no_row_and_no_gap(runtime_any: Runtime) -> None:
    _write(runtime_any, 2)
    with pytest.raises(RuntimeError), runtime_any.db.write() as uow:
        audit.record(uow, AuditIds(ENV), AuditEvent.GATE_ALLOWED, now=runtime_any.clock.now())
        raise RuntimeError("the action failed")
    _write(runtime_any, 1)
    report = runtime_any.services.operator.audit_chain.verify(ENV)
    assert report.intact and report.rows == 3 and report.head_seq == 3


def test_altered_row_is_named(runtime_any: Runtime) -> None:
    _write(runtime_any, 4)
    target = _ids(runtime_any)[1]
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == target).values(outcome="mfa_required"))
    findings = runtime_any.services.operator.audit_chain.verify(ENV).findings
    assert [(f.kind, f.row_id, f.seq) for f in findings] == [(Tamper.ALTERED, target, 2)]


def test_altered_details_or_time_are_found(runtime_any: Runtime) -> None:
    _write(runtime_any, 2)
    first, second = _ids(runtime_any)
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == first).values(details={"n": 7}))
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == second).values(
        created_at=runtime_any.clock.now().replace(year=2020)))
    assert _kinds(runtime_any) == Counter({Tamper.ALTERED: 2})


def test_deleted_row_is_named(runtime_any: Runtime) -> None:
    _write(runtime_any, 5)
    ids = _ids(runtime_any)
    _sql(runtime_any, delete(audit_log).where(audit_log.c.id == ids[2]))
    findings = runtime_any.services.operator.audit_chain.verify(ENV).findings
    assert [(f.kind, f.seq, f.row_id) for f in findings] == [(Tamper.DELETED, 3, ids[3])]


def test_deleted_last_rows_are_found_through_the_head(runtime_any: Runtime) -> None:
    _write(runtime_any, 5)
    ids = _ids(runtime_any)
    _sql(runtime_any, delete(audit_log).where(audit_log.c.id.in_(ids[3:])))
    findings = runtime_any.services.operator.audit_chain.verify(ENV).findings
    assert [(f.kind, f.seq) for f in findings] == [(Tamper.HEAD, 5)]


def test_reordered_rows_are_named(runtime_any: Runtime) -> None:
    _write(runtime_any, 4)
    a, b = _ids(runtime_any)[1:3]
    # Swap the two rows' positions in the log (ids are the order the log is read in).
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == a).values(id=-1))
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == b).values(id=a))
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == -1).values(id=b))
    findings = runtime_any.services.operator.audit_chain.verify(ENV).findings
    assert [(f.kind, f.row_id, f.seq) for f in findings] == [(Tamper.REORDERED, b, 2)]


def test_renumbering_after_a_delete_is_found(runtime_any: Runtime) -> None:
    """Closing the gap a deletion left (seq - 1 on every later row) breaks each moved row's seal."""
    _write(runtime_any, 4)
    ids = _ids(runtime_any)
    _sql(runtime_any, delete(audit_log).where(audit_log.c.id == ids[1]))
    for rid in ids[2:]:
        _sql(runtime_any, update(audit_log).where(audit_log.c.id == rid).values(chain_seq=audit_log.c.chain_seq - 1))
    _sql(runtime_any, update(audit_chain_heads).where(audit_chain_heads.c.chain == ENV).values(seq=3))
    assert _kinds(runtime_any)[Tamper.ALTERED] == 2


def test_inserted_rows_are_found(runtime_any: Runtime) -> None:
    _write(runtime_any, 2)
    now = runtime_any.clock.now()
    row = {"environment_id": ENV, "event": "gate.allowed", "details": {}, "created_at": now}
    _sql(runtime_any, insert(audit_log).values(**row))  # unsealed
    # A forged seal: copied from a real row, so the position exists but the content differs.
    with runtime_any.db.read() as uow:
        last = uow.conn.execute(select(audit_log).where(audit_log.c.chain_seq == 2)).mappings().one()
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == last["id"]).values(chain_seq=None))
    forged = {**row, "chain_seq": 2, "chain_prev": last["chain_prev"], "chain_hash": last["chain_hash"]}
    _sql(runtime_any, insert(audit_log).values(**forged))
    kinds = _kinds(runtime_any)
    assert kinds[Tamper.INSERTED] == 2 and kinds[Tamper.ALTERED] == 1


def test_a_chain_from_another_key_does_not_verify(runtime_any: Runtime) -> None:
    """Rows a writer sealed with a key of their own (or an empty key) fail under the server's key."""
    other = Database(runtime_any.db.url, audit_key=b"\x00" * 32)
    try:
        _write(runtime_any, 2, db=other)
    finally:
        other.dispose()
    assert _kinds(runtime_any) == Counter({Tamper.ALTERED: 2})


@pytest.mark.parametrize("writers", ["threads", "two_databases"])
def test_concurrent_writers_never_fork_the_chain(runtime_any: Runtime, writers: str) -> None:
    """16 transactions released at once (2 rows each). ``two_databases``: two engines on one database,
    as two server processes would be (on SQLite each has its own in-process writer lock)."""
    dbs = [runtime_any.db]
    if writers == "two_databases":
        dbs.append(Database(runtime_any.db.url, audit_key=runtime_any.db.audit_key))
    counter = iter(range(1000))
    try:
        outcome = race(16, lambda: _write(runtime_any, 2, db=dbs[next(counter) % len(dbs)]))
    finally:
        for db in dbs[1:]:
            db.dispose()
    assert outcome == Counter({"ok": 16})
    report = runtime_any.services.operator.audit_chain.verify(ENV)
    assert report.intact, report.findings
    assert report.rows == 32 and report.head_seq == 32


def test_pre_chain_rows_are_counted_as_legacy(runtime_any: Runtime) -> None:
    """Rows older than migration 0007 stay unsealed; they are the chain's prehistory, not tampering."""
    now = runtime_any.clock.now()
    _sql(runtime_any, insert(audit_log).values(environment_id=ENV, event="auth.signed_in", details={}, created_at=now))
    _write(runtime_any, 2)
    report = runtime_any.services.operator.audit_chain.verify(ENV)
    assert report.intact and report.legacy_rows == 1 and report.rows == 2


def test_head_row_is_the_only_lock(runtime_any: Runtime) -> None:
    """The chain costs one head row per environment, not a scan: the head holds the last hash."""
    _write(runtime_any, 3)
    with runtime_any.db.read() as uow:
        head = uow.conn.execute(text("SELECT seq, last_hash FROM audit_chain_heads WHERE chain = :c"), {"c": ENV}).one()
        last = uow.conn.execute(select(audit_log.c.chain_hash).where(audit_log.c.chain_seq == 3)).scalar_one()
    assert head[0] == 3 and head[1] == last
