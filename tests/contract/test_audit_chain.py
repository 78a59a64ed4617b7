"""The audit log's keyed hash chain on SQLite and PostgreSQL (issue 11 item 7): every row sealed in
its environment's chain — one chain per shard of users (issue 15.3) — in the event's own
transaction, concurrent writers never fork it, and ``verify`` names each kind of tampering done with
raw SQL by a database writer without the key, in every shard.

The tests run with ``SHARDS`` shards per environment on both databases (the defaults are 16 on
PostgreSQL, 1 on SQLite) and the tampering tests once with a user of shard 0 (the chain of before
the shards) and once with a user of a later shard."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert, select, text, update

from actionmfa.domain.audit_chain import EnvironmentReport, Tamper, genesis, shard_of
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from actionmfa.store.mfa_tables import audit_chain_heads, audit_log
from tests.concurrency import race

ENV = "env-chain"
SHARDS = 4


def user_in(shard: int, shards: int = SHARDS, skip: int = 0) -> str:
    """A user id whose rows go to ``shard`` (the ``skip``-th such id)."""
    ids = (f"user-{i}" for i in itertools.count() if shard_of(f"user-{i}", shards) == shard)
    return next(itertools.islice(ids, skip, None))


@pytest.fixture(autouse=True)
def sharded(runtime_any: Runtime) -> Iterator[None]:
    runtime_any.db.audit_shards = SHARDS
    yield


@pytest.fixture(params=[0, 3], ids=["shard0", "shard3"])
def user(request: pytest.FixtureRequest) -> str:
    """The tampering tests' user: in shard 0 (the environment's chain of before) or in shard 3."""
    return user_in(request.param)


def _write(runtime: Runtime, n: int = 1, env: str | None = ENV, db: Database | None = None,
           user: str | None = None) -> None:
    with (db or runtime.db).write() as uow:
        for i in range(n):
            audit.record(uow, AuditIds(env, user or user_in(3)), AuditEvent.GATE_ALLOWED, now=runtime.clock.now(),
                         action="wallet.waas.sign", outcome="allow", n=i)


def _verify(runtime: Runtime, env: str = ENV) -> EnvironmentReport:
    return runtime.services.operator.audit_chain.verify(env)


def _head_seqs(report: EnvironmentReport) -> dict[int, int]:
    return {shard: seq for shard, (seq, _) in report.heads.items()}


def _positions(runtime: Runtime, env: str = ENV) -> list[tuple[int, str | None, int, int]]:
    """(id, user, shard, seq) of the environment's rows in id order."""
    with runtime.db.read() as uow:
        rows = uow.conn.execute(select(audit_log.c.id, audit_log.c.user_id, audit_log.c.chain_shard,
                                       audit_log.c.chain_seq).where(audit_log.c.environment_id == env)
                                .order_by(audit_log.c.id))
        return [(r[0], r[1], r[2], r[3]) for r in rows]


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
    assert report.intact and report.rows == 5 and _head_seqs(report) == {3: 5}
    assert [(shard, seq) for _, _, shard, seq in _positions(runtime_any)] == [(3, 1), (3, 2), (3, 3), (3, 4), (3, 5)]
    assert {r.chain for r in chain.verify_all()} >= {ENV, ""}
    assert all(r.intact for r in chain.verify_all())


def test_many_rows_of_one_transaction_are_sealed_in_order(runtime_any: Runtime) -> None:
    # PostgreSQL seals up to 8 rows in one statement with the head update, more in two (store/repos/audit.py)
    for n in (8, 12, 1):
        _write(runtime_any, n)
    report = _verify(runtime_any)
    assert report.intact and report.rows == 21 and _head_seqs(report) == {3: 21}


def test_a_rolled_back_event_leaves_no_row_and_no_gap(runtime_any: Runtime) -> None:
    _write(runtime_any, 2, user=user_in(0))
    with pytest.raises(RuntimeError), runtime_any.db.write() as uow:
        audit.record(uow, AuditIds(ENV), AuditEvent.GATE_ALLOWED, now=runtime_any.clock.now())
        raise RuntimeError("the action failed")
    _write(runtime_any, 1, user=user_in(0))
    report = _verify(runtime_any)
    assert report.intact and report.rows == 3 and _head_seqs(report) == {0: 3}


def test_altered_row_is_named(runtime_any: Runtime, user: str) -> None:
    _write(runtime_any, 4, user=user)
    target = _ids(runtime_any)[1]
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == target).values(outcome="mfa_required"))
    findings = _verify(runtime_any).findings
    shard = shard_of(user, SHARDS)
    assert [(f.kind, f.row_id, f.seq, f.shard) for f in findings] == [(Tamper.ALTERED, target, 2, shard)]
    assert findings[0].detail.startswith(f"shard {shard}: " if shard else "row ")


def test_altered_details_or_time_are_found(runtime_any: Runtime, user: str) -> None:
    _write(runtime_any, 2, user=user)
    first, second = _ids(runtime_any)
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == first).values(details={"n": 7}))
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == second).values(
        created_at=runtime_any.clock.now().replace(year=2020)))
    assert _kinds(runtime_any) == Counter({Tamper.ALTERED: 2})


def test_deleted_row_is_named(runtime_any: Runtime, user: str) -> None:
    _write(runtime_any, 5, user=user)
    ids = _ids(runtime_any)
    _sql(runtime_any, delete(audit_log).where(audit_log.c.id == ids[2]))
    findings = runtime_any.services.operator.audit_chain.verify(ENV).findings
    assert [(f.kind, f.seq, f.row_id) for f in findings] == [(Tamper.DELETED, 3, ids[3])]


def test_deleted_last_rows_are_found_through_the_head(runtime_any: Runtime, user: str) -> None:
    _write(runtime_any, 5, user=user)
    ids = _ids(runtime_any)
    _sql(runtime_any, delete(audit_log).where(audit_log.c.id.in_(ids[3:])))
    findings = runtime_any.services.operator.audit_chain.verify(ENV).findings
    assert [(f.kind, f.seq) for f in findings] == [(Tamper.HEAD, 5)]


def test_reordered_rows_are_named(runtime_any: Runtime, user: str) -> None:
    _write(runtime_any, 4, user=user)
    a, b = _ids(runtime_any)[1:3]
    # Swap the two rows' positions in the log (ids are the order the log is read in).
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == a).values(id=-1))
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == b).values(id=a))
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == -1).values(id=b))
    findings = runtime_any.services.operator.audit_chain.verify(ENV).findings
    assert [(f.kind, f.row_id, f.seq) for f in findings] == [(Tamper.REORDERED, b, 2)]


def test_renumbering_after_a_delete_is_found(runtime_any: Runtime, user: str) -> None:
    """Closing the gap a deletion left (seq - 1 on every later row) breaks each moved row's seal."""
    _write(runtime_any, 4, user=user)
    ids = _ids(runtime_any)
    _sql(runtime_any, delete(audit_log).where(audit_log.c.id == ids[1]))
    for rid in ids[2:]:
        _sql(runtime_any, update(audit_log).where(audit_log.c.id == rid).values(chain_seq=audit_log.c.chain_seq - 1))
    heads = audit_chain_heads
    _sql(runtime_any, update(heads).where(heads.c.chain == ENV, heads.c.shard == shard_of(user, SHARDS)).values(seq=3))
    assert _kinds(runtime_any)[Tamper.ALTERED] == 2


def test_inserted_rows_are_found(runtime_any: Runtime, user: str) -> None:
    _write(runtime_any, 2, user=user)
    now = runtime_any.clock.now()
    row = {"environment_id": ENV, "event": "gate.allowed", "details": {}, "created_at": now}
    _sql(runtime_any, insert(audit_log).values(**row))  # unsealed
    # A forged seal: copied from a real row, so the position exists but the content differs.
    with runtime_any.db.read() as uow:
        last = uow.conn.execute(select(audit_log).where(audit_log.c.chain_seq == 2)).mappings().one()
    row["chain_shard"] = last["chain_shard"]
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == last["id"]).values(chain_seq=None))
    forged = {**row, "chain_seq": 2, "chain_prev": last["chain_prev"], "chain_hash": last["chain_hash"]}
    _sql(runtime_any, insert(audit_log).values(**forged))
    kinds = _kinds(runtime_any)
    assert kinds[Tamper.INSERTED] == 2 and kinds[Tamper.ALTERED] == 1


def test_a_chain_from_another_key_does_not_verify(runtime_any: Runtime, user: str) -> None:
    """Rows a writer sealed with a key of their own (or an empty key) fail under the server's key."""
    other = Database(runtime_any.db.url, audit_key=b"\x00" * 32, audit_shards=SHARDS)
    try:
        _write(runtime_any, 2, db=other, user=user)
    finally:
        other.dispose()
    assert _kinds(runtime_any) == Counter({Tamper.ALTERED: 2})


def _dense(runtime: Runtime, env: str = ENV) -> dict[int, list[int]]:
    """Each shard's seqs in id order (a shard that never forked and lost nothing: 1, 2, … n)."""
    seqs: dict[int, list[int]] = {}
    for _, _, shard, seq in _positions(runtime, env):
        seqs.setdefault(shard, []).append(seq)
    return seqs


@pytest.mark.parametrize("writers", ["threads", "two_databases"])
@pytest.mark.parametrize("users", [1, 16])
def test_concurrent_writers_never_fork_the_chain(runtime_any: Runtime, writers: str, users: int) -> None:
    """32 transactions released at once (2 rows each), of one user (all on one head) or of 16 users
    (spread over the shards: on PostgreSQL they commit side by side). ``two_databases``: two engines
    on one database, as two server processes would be (on SQLite each has its own in-process writer
    lock). Every shard verifies and its positions are dense: no fork, no gap, nothing lost."""
    runtime_any.db.audit_shards = 16
    dbs = [runtime_any.db]
    if writers == "two_databases":
        dbs.append(Database(runtime_any.db.url, audit_key=runtime_any.db.audit_key, audit_shards=16))
    counter = itertools.count()
    lock = threading.Lock()

    def one() -> None:
        with lock:
            n = next(counter)
        _write(runtime_any, 2, db=dbs[n % len(dbs)], user=f"user-{n % users}")

    try:
        outcome = race(32, one)
    finally:
        for db in dbs[1:]:
            db.dispose()
    assert outcome == Counter({"ok": 32})
    report = _verify(runtime_any)
    assert report.intact, report.findings
    assert report.rows == 64 and sum(_head_seqs(report).values()) == 64
    expected = Counter(shard_of(f"user-{n % users}", 16) for n in range(32))
    assert {shard: seqs for shard, seqs in _dense(runtime_any).items()} == {
        shard: list(range(1, 2 * k + 1)) for shard, k in expected.items()}
    assert _head_seqs(report) == {shard: 2 * k for shard, k in expected.items()}
    if users > 1:
        assert len(expected) > 4  # the users did spread


def _process_writer(url: str, key: bytes, offset: int, n: int) -> None:
    """One server-like process: its own engine and pool, ``n`` transactions of 2 rows, users spread."""
    db = Database(url, audit_key=key, audit_shards=16, pool_size=4)
    try:
        for i in range(n):
            with db.write() as uow:
                for j in range(2):
                    uow.audit.add({"environment_id": ENV, "user_id": f"user-{(offset + i) % 24}",
                                   "event": "gate.allowed", "details": {"i": i, "j": j},
                                   "created_at": datetime.now(UTC)})
    finally:
        db.dispose()


def test_writer_processes_never_fork_the_chains(runtime_any: Runtime) -> None:
    """Three processes writing 30 transactions each at once, on both databases: every shard verifies,
    its positions dense."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(runtime_any.db.url, runtime_any.db.audit_key, 7 * p, 30))
             for p in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    report = _verify(runtime_any)
    assert report.intact, report.findings
    assert report.rows == 180 and len(report.shards) > 4
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in _dense(runtime_any).values())


def test_opposite_orders_of_users_in_one_transaction_never_deadlock(runtime_any: Runtime) -> None:
    """Transactions that write rows of two users in opposite orders lock the two shards' heads in
    one global order (sorted), so on PostgreSQL none waits for another in a cycle."""
    a, b = user_in(1), user_in(2)

    def one(first: str, second: str) -> None:
        with runtime_any.db.write() as uow:
            for who in (first, second, first):
                audit.record(uow, AuditIds(ENV, who), AuditEvent.GATE_ALLOWED, now=runtime_any.clock.now())

    flip = itertools.cycle([(a, b), (b, a)])
    lock = threading.Lock()

    def next_pair() -> None:
        with lock:
            pair = next(flip)
        one(*pair)

    assert race(16, next_pair) == Counter({"ok": 16})
    report = _verify(runtime_any)
    assert report.intact and _head_seqs(report) == {1: 24, 2: 24}  # 8 × (a, b, a), 8 × (b, a, b)


def test_writers_of_other_shards_do_not_wait_for_a_locked_head(runtime_any: Runtime) -> None:
    """A transaction holding its shard's head (sealed, not yet committed) does not hold up a writer
    of another shard, which commits meanwhile; a writer of the same shard waits for it."""
    if runtime_any.db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    done: dict[str, threading.Event] = {"other": threading.Event(), "same": threading.Event()}

    def write(name: str, who: str) -> None:
        _write(runtime_any, 1, user=who)
        done[name].set()

    with runtime_any.db.write() as uow:
        audit.record(uow, AuditIds(ENV, user_in(1)), AuditEvent.GATE_ALLOWED, now=runtime_any.clock.now())
        uow.audit.flush()  # shard 1's head is now locked until this transaction ends
        threads = [threading.Thread(target=write, args=("other", user_in(2))),
                   threading.Thread(target=write, args=("same", user_in(1, skip=1)))]
        for t in threads:
            t.start()
        assert done["other"].wait(30), "a writer of shard 2 waited for shard 1's head"
        assert not done["same"].is_set()  # shard 1's second writer queues on the head (not a fork)
    for t in threads:
        t.join(30)
    assert done["same"].is_set()
    report = _verify(runtime_any)
    assert report.intact and _head_seqs(report) == {1: 2, 2: 1}


def test_each_user_stays_in_one_shard_and_each_shard_is_a_chain(runtime_any: Runtime) -> None:
    users = [user_in(s) for s in range(SHARDS)] + [user_in(2, skip=1)]
    for round_ in range(3):
        for who in users:
            _write(runtime_any, 1 + round_ % 2, user=who)
    with runtime_any.db.write() as uow:  # one transaction, three shards; one row without a user
        for who in (users[1], users[3], None):
            audit.record(uow, AuditIds(ENV, who), AuditEvent.GATE_ALLOWED, now=runtime_any.clock.now())
    positions = _positions(runtime_any)
    assert all(shard == shard_of(who, SHARDS) for _, who, shard, _ in positions)
    assert [shard for _, who, shard, _ in positions if who is None] == [0]
    report = _verify(runtime_any)
    assert report.intact, report.findings
    assert [r.shard for r in report.shards] == [0, 1, 2, 3] and report.rows == len(positions) == 23
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in _dense(runtime_any).values())
    assert _head_seqs(report) == {0: 5, 1: 5, 2: 8, 3: 5}


def test_shard_zero_is_the_chain_of_before_and_the_shard_count_may_change(runtime_any: Runtime) -> None:
    """One shard (SQLite's default; every chain written before the shards): each environment's one
    chain, sealed under the environment id itself. Raising or lowering the count later only moves
    where new rows go: every row keeps its stored shard and every chain keeps verifying."""
    who = user_in(3)
    runtime_any.db.audit_shards = 1
    _write(runtime_any, 2, user=who)
    with runtime_any.db.read() as uow:
        first = uow.conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings().first()
    assert first is not None and (first["chain_shard"], first["chain_seq"]) == (0, 1)
    assert first["chain_prev"] == genesis(runtime_any.db.audit_key or b"", ENV)  # the unsharded genesis
    for shards in (SHARDS, 2, 1):
        runtime_any.db.audit_shards = shards
        _write(runtime_any, 1, user=who)
    assert [(shard, seq) for _, _, shard, seq in _positions(runtime_any)] == [(0, 1), (0, 2), (3, 1), (1, 1), (0, 3)]
    report = _verify(runtime_any)
    assert report.intact and _head_seqs(report) == {0: 3, 1: 1, 3: 1}


def test_a_row_moved_to_another_shard_is_found(runtime_any: Runtime) -> None:
    """Shards are sealed under different chain labels: a row whose ``chain_shard`` is changed fails
    its seal where it lands and leaves a gap (or a head mismatch) where it was."""
    one, three = user_in(1), user_in(3)
    _write(runtime_any, 3, user=one)
    _write(runtime_any, 3, user=three)
    rows = {(shard, seq): rid for rid, _, shard, seq in _positions(runtime_any)}
    # Into an empty shard, from the middle of shard 3:
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == rows[3, 2]).values(chain_shard=2))
    kinds = {(f.shard, f.kind) for f in _verify(runtime_any).findings}
    assert kinds == {(2, Tamper.ALTERED), (2, Tamper.DELETED), (2, Tamper.HEAD), (3, Tamper.DELETED)}
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == rows[3, 2]).values(chain_shard=3))
    assert _verify(runtime_any).intact
    # Onto the end of shard 1, with its head moved along (what a careful forger would do):
    with runtime_any.db.read() as uow:
        moved = uow.conn.execute(select(audit_log).where(audit_log.c.id == rows[3, 3])).mappings().one()
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == rows[3, 3]).values(chain_shard=1, chain_seq=4))
    _sql(runtime_any, update(audit_chain_heads).where(audit_chain_heads.c.chain == ENV, audit_chain_heads.c.shard == 1)
         .values(seq=4, last_hash=moved["chain_hash"]))
    findings = _verify(runtime_any).findings
    assert {(f.shard, f.kind, f.row_id) for f in findings} == {(1, Tamper.ALTERED, rows[3, 3]), (3, Tamper.HEAD, None)}
    assert all(f.detail.startswith(f"shard {f.shard}: ") for f in findings)


def test_a_shard_rolled_back_with_its_head_is_caught_by_the_recorded_anchor(runtime_any: Runtime) -> None:
    """The documented limit, per shard: deleting a shard's newest rows and rolling its head back, or
    deleting a whole shard's rows with its head row, leaves chains that check. The anchor an
    operator recorded (every head's position, one digest over them) is what catches it."""
    chain = runtime_any.services.operator.audit_chain
    one, three = user_in(1), user_in(3)
    _write(runtime_any, 3, user=one)
    _write(runtime_any, 3, user=three)
    recorded = _verify(runtime_any).anchor
    _write(runtime_any, 2, user=one)  # the log grows after the anchor was recorded: still passes
    assert chain.verify(ENV, anchor=recorded).intact
    rows = {(shard, seq): rid for rid, _, shard, seq in _positions(runtime_any)}
    with runtime_any.db.read() as uow:
        prev = uow.conn.execute(select(audit_log.c.chain_hash).where(audit_log.c.id == rows[3, 2])).scalar_one()
    _sql(runtime_any, delete(audit_log).where(audit_log.c.id == rows[3, 3]))
    _sql(runtime_any, update(audit_chain_heads).where(audit_chain_heads.c.chain == ENV, audit_chain_heads.c.shard == 3)
         .values(seq=2, last_hash=prev))
    assert _verify(runtime_any).intact  # the limit every hash chain has
    findings = chain.verify(ENV, anchor=recorded).findings
    assert [(f.kind, f.shard, f.seq) for f in findings] == [(Tamper.ANCHOR, 3, 3)]
    # The whole shard with its head row:
    _sql(runtime_any, delete(audit_log).where(audit_log.c.chain_shard == 3))
    _sql(runtime_any, delete(audit_chain_heads).where(audit_chain_heads.c.shard == 3))
    assert _verify(runtime_any).intact
    assert [(f.kind, f.shard) for f in chain.verify(ENV, anchor=recorded).findings] == [(Tamper.ANCHOR, 3)]


def test_an_anchor_whose_rows_were_replaced_does_not_match(runtime_any: Runtime) -> None:
    """The digest binds the hashes at the recorded positions, not only the positions."""
    _write(runtime_any, 2, user=user_in(1))
    recorded = _verify(runtime_any).anchor
    _sql(runtime_any, update(audit_log).values(chain_hash="0" * 64))
    findings = runtime_any.services.operator.audit_chain.verify(ENV, anchor=recorded).findings
    assert Tamper.ANCHOR in {f.kind for f in findings}


def test_the_dashboard_line_speaks_for_the_whole_environment(runtime_any: Runtime) -> None:
    chain = runtime_any.services.operator.audit_chain
    _write(runtime_any, 3, user=user_in(1))
    _write(runtime_any, 3, user=user_in(3))
    state = chain.state(ENV)
    assert state.checked and state.intact and state.rows == 6 and state.shards == 2
    # The page's limit counts every shard's rows:
    assert chain.state(ENV, max_rows=5) == type(state)(checked=False, intact=None, rows=6, findings=[], shards=2)
    target = _positions(runtime_any)[-1][0]
    _sql(runtime_any, update(audit_log).where(audit_log.c.id == target).values(outcome="deny"))
    state = chain.state(ENV)
    assert state.checked and state.intact is False and state.findings == [
        f"shard 3: row {target} (seq 3) does not match its seal"]


def test_pre_chain_rows_are_counted_as_legacy(runtime_any: Runtime) -> None:
    """Rows older than migration 0008 stay unsealed (shard 0); they are the environment's
    prehistory, not tampering — but only before its first sealed row, in any shard."""
    now = runtime_any.clock.now()
    _sql(runtime_any, insert(audit_log).values(environment_id=ENV, event="auth.signed_in", details={}, created_at=now))
    _write(runtime_any, 2)
    report = _verify(runtime_any)
    assert report.intact and report.legacy_rows == 1 and report.rows == 2
    # Later, an unsealed row in a shard that has no sealed row yet is still inserted:
    _sql(runtime_any, insert(audit_log).values(environment_id=ENV, event="auth.signed_in", details={}, created_at=now))
    assert [(f.kind, f.shard) for f in _verify(runtime_any).findings] == [(Tamper.INSERTED, 0)]


def test_a_missing_head_is_found(runtime_any: Runtime) -> None:
    _write(runtime_any, 2, user=user_in(2))
    _sql(runtime_any, delete(audit_chain_heads))
    assert [(f.kind, f.shard) for f in _verify(runtime_any).findings] == [(Tamper.HEAD, 2)]


def test_head_row_is_the_only_lock(runtime_any: Runtime) -> None:
    """The chain costs one head row per (environment, shard), not a scan: the head holds the last hash."""
    _write(runtime_any, 3)
    with runtime_any.db.read() as uow:
        head = uow.conn.execute(text("SELECT shard, seq, last_hash FROM audit_chain_heads WHERE chain = :c"),
                                {"c": ENV}).one()
        last = uow.conn.execute(select(audit_log.c.chain_hash).where(audit_log.c.chain_seq == 3)).scalar_one()
    assert head[0] == 3 and head[1] == 3 and head[2] == last
