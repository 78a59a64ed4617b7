"""Red team: the sharded audit chain (issue 15.3) against a database writer without the key.

Shard k > 0 of environment E is sealed under the label ``"E#k"``, which is also what shard 0 of an
environment whose id is ``"E#k"`` is sealed under (and ``"#k"`` for the no-environment chain ``""``):
the labels — so the genesis values — collide. What must keep such a collision harmless is that a
row's content binds its environment: rows and head copied into the colliding chain must not verify.
Also: a sealed row copied into another environment's chain, at the end, with that head moved along."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from actionmfa.domain.audit_chain import Tamper, chain_label, shard_of
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_chain_heads, audit_log

SHARDS = 4
ENV = "env-red"


@pytest.fixture(autouse=True)
def sharded(runtime_any: Runtime) -> Iterator[None]:
    runtime_any.db.audit_shards = SHARDS
    yield


def _user_in(shard: int) -> str:
    return next(f"u-{i}" for i in itertools.count() if shard_of(f"u-{i}", SHARDS) == shard)


def _write(runtime: Runtime, env: str | None, user: str | None, n: int = 3) -> None:
    with runtime.db.write() as uow:
        for i in range(n):
            audit.record(uow, AuditIds(env, user), AuditEvent.GATE_ALLOWED, now=runtime.clock.now(),
                         action="wallet.waas.sign", outcome="allow", n=i)


def _rows(runtime: Runtime, env: str | None, shard: int) -> list[dict[str, Any]]:
    where = audit_log.c.environment_id.is_(None) if env is None else audit_log.c.environment_id == env
    with runtime.db.read() as uow:
        q = select(audit_log).where(where, audit_log.c.chain_shard == shard).order_by(audit_log.c.id)
        return [dict(r) for r in uow.conn.execute(q).mappings()]


def _head(runtime: Runtime, chain: str, shard: int) -> tuple[int, str]:
    with runtime.db.read() as uow:
        row = uow.conn.execute(select(audit_chain_heads.c.seq, audit_chain_heads.c.last_hash).where(
            audit_chain_heads.c.chain == chain, audit_chain_heads.c.shard == shard)).one()
        return int(row[0]), str(row[1])


def _copy(runtime: Runtime, rows: list[dict[str, Any]], env: str, shard: int, *, first_seq: int | None = None) -> None:
    with runtime.db.engine.begin() as conn:  # raw SQL: a writer without the key
        for i, row in enumerate(rows):
            values = {k: v for k, v in row.items() if k != "id"}
            values.update(environment_id=env, chain_shard=shard)
            if first_seq is not None:
                values["chain_seq"] = first_seq + i
            conn.execute(insert(audit_log).values(**values))


def _set_head(runtime: Runtime, chain: str, shard: int, seq: int, last: str) -> None:
    with runtime.db.engine.begin() as conn:
        done = conn.execute(update(audit_chain_heads).where(audit_chain_heads.c.chain == chain,
                                                             audit_chain_heads.c.shard == shard)
                            .values(seq=seq, last_hash=last)).rowcount
        if not done:
            conn.execute(insert(audit_chain_heads).values(chain=chain, shard=shard, seq=seq, last_hash=last))


@pytest.mark.parametrize("source_env", [ENV, None], ids=["environment", "no-environment"])
def test_a_shard_copied_into_the_environment_whose_label_collides_does_not_verify(
    runtime_any: Runtime, source_env: str | None
) -> None:
    runtime = runtime_any
    shard = 3
    source_chain = source_env or ""
    colliding = f"{source_chain}#{shard}"  # an environment id a writer could insert
    assert chain_label(source_chain, shard) == chain_label(colliding, 0)  # the labels (so the genesis) collide
    _write(runtime, source_env, _user_in(shard))
    rows = _rows(runtime, source_env, shard)
    assert len(rows) == 3
    _copy(runtime, rows, colliding, 0)
    _set_head(runtime, colliding, 0, *_head(runtime, source_chain, shard))
    report = runtime.services.operator.audit_chain.verify(colliding)
    assert not report.intact
    assert {f.kind for f in report.findings} >= {Tamper.ALTERED}
    assert sum(f.kind is Tamper.ALTERED for f in report.findings) == 3  # every copied row fails its seal
    assert runtime.services.operator.audit_chain.verify(source_chain).intact  # the source is untouched


def test_a_sealed_row_copied_onto_another_environments_chain_does_not_verify(runtime_any: Runtime) -> None:
    runtime = runtime_any
    other = "env-other"
    user = _user_in(2)
    _write(runtime, ENV, user, n=2)
    _write(runtime, other, user, n=2)
    [_, last] = _rows(runtime, ENV, 2)
    _copy(runtime, [last], other, 2, first_seq=3)
    _set_head(runtime, other, 2, 3, last["chain_hash"])
    report = runtime.services.operator.audit_chain.verify(other)
    assert [f.kind for f in report.findings] == [Tamper.ALTERED]


def test_many_writers_of_transactions_spanning_shards_keep_every_shard_dense(runtime_any: Runtime) -> None:
    """16 writers at once, each transaction with rows of three users in a random order (so in
    several shards, locked in whatever order the users come) and one row without a user: no
    deadlock, no error, and every shard's positions are 1..n with no gap or repeat."""
    import random
    import threading

    runtime = runtime_any
    runtime.db.audit_shards = 16
    users = [f"w-{i}" for i in range(40)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def writer(seed: int) -> None:
        rnd = random.Random(seed)
        barrier.wait()
        try:
            for _ in range(15):
                with runtime.db.write() as uow:
                    for user in [*rnd.sample(users, 3), None]:
                        audit.record(uow, AuditIds(ENV, user), AuditEvent.GATE_ALLOWED, now=runtime.clock.now(),
                                     action="wallet.waas.sign", outcome="allow")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    with runtime.db.read() as uow:
        rows = uow.conn.execute(select(audit_log.c.chain_shard, audit_log.c.chain_seq).where(
            audit_log.c.environment_id == ENV)).all()
    by_shard: dict[int, list[int]] = {}
    for shard, seq in rows:
        by_shard.setdefault(int(shard), []).append(int(seq))
    assert sum(len(v) for v in by_shard.values()) == 16 * 15 * 4
    for seqs in by_shard.values():
        assert sorted(seqs) == list(range(1, len(seqs) + 1))
    assert runtime.services.operator.audit_chain.verify(ENV).intact


@pytest.mark.parametrize("forged_id", [-1, 0])
def test_an_unsealed_row_written_below_every_real_id_is_found(runtime_any: Runtime, forged_id: int) -> None:
    """A writer without the key inserts an unsealed row with an id below 1 (which the database never
    assigns). It shows in the operator's audit page (oldest first); verify read from id 0 up and
    never saw it — intact, no legacy row — so a forged "older" event passed unnoticed."""
    from datetime import UTC, datetime

    runtime = runtime_any
    _write(runtime, ENV, _user_in(1), n=2)
    with runtime.db.engine.begin() as conn:
        conn.execute(insert(audit_log).values(
            id=forged_id, environment_id=ENV, user_id=_user_in(1), event="mfa.reset", outcome="ok",
            details={"by": "operator"}, created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    with runtime.db.read() as uow:
        assert forged_id in [r.id for r in uow.audit.page(ENV, before_id=None, limit=10)]  # the operator sees it
    report = runtime.services.operator.audit_chain.verify(ENV)
    assert [(f.kind, f.row_id) for f in report.findings] == [(Tamper.INSERTED, forged_id)]
    assert report.legacy_rows == 0
