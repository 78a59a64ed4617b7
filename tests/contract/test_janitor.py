"""The janitor (issue 11.4): expired ceremonies, tokens, verifications and sign-in events are purged
on a schedule, one sweep at a time across workers — on SQLite and PostgreSQL, on the frozen clock."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from actionmfa.clock import FrozenClock
from actionmfa.domain.models import RequestMeta
from actionmfa.domain.wallets import CeremonyKind
from actionmfa.services.operator.janitor import Janitor, JanitorThread
from actionmfa.services.runtime import Runtime
from actionmfa.store import mfa_tables as m
from actionmfa.store import tables as t
from actionmfa.store import wallet_tables as w
from tests.conftest import make_environment, sign_in
from tests.contract.test_signin_concurrency import Outbox


def _count(runtime: Runtime, table: object) -> int:
    with runtime.db.read() as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_sweep_purges_what_expired_and_keeps_what_is_live(runtime_any: Runtime, clock: FrozenClock) -> None:
    rt = runtime_any
    rt.mailer = Outbox()
    env = make_environment(rt)
    who = sign_in(rt, env)
    ended = sign_in(rt, env)
    vault = rt.services.wallets.vault

    def ceremony(n: int) -> None:
        with rt.db.write() as uow:
            vault.open_ceremony(uow, ceremony_id=f"00000000-0000-0000-0000-{n:012d}", environment_id=env.id,
                                user_id=who.user.id, session_id=who.session_id, wallet_id=None,
                                kind=CeremonyKind.KEYGEN, state={"n": n}, now=clock.now())

    ceremony(1)
    rt.services.signin.email.create(env.id, "old@example.com", RequestMeta(client_address="192.0.2.1"))
    with rt.db.write() as uow:
        ctx = rt.sessions.authenticate(uow, env.id, ended.jwt)
        rt.services.core.tokens.mint_mfa_token(uow, ctx, single_use=False, via="test")
        uow.sessions.revoke(ended.session_id, clock.now())
    clock.advance(2 * 3600)  # everything above is past its expiry and grace
    ceremony(2)
    rt.services.signin.email.create(env.id, "new@example.com", RequestMeta(client_address="192.0.2.1"))

    sweep = Janitor(rt.db, clock).sweep()

    assert sweep.ran
    assert (sweep.ceremonies, sweep.verifications, sweep.signin_events) == (1, 1, 1)
    assert sweep.tokens >= 1 and _count(rt, m.mfa_tokens) == 0
    assert _count(rt, w.waas_ceremonies) == 1 and _count(rt, t.email_verifications) == 1
    assert _count(rt, t.signin_attempts) == 1
    assert Janitor(rt.db, clock).sweep() == type(sweep)(ran=True)  # nothing left to do


def test_one_sweep_at_a_time(runtime_any: Runtime, clock: FrozenClock) -> None:
    """While one worker's sweep holds the janitor lock, another worker's sweep is skipped (PostgreSQL)
    or waits for the single writer (SQLite) — never two at once."""
    rt = runtime_any
    janitor = Janitor(rt.db, clock)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with rt.db.write() as uow:
            assert uow.try_lock("actionmfa:janitor")
            holding.set()
            release.wait(30)

    if rt.db.dialect != "postgresql":
        assert janitor.sweep().ran
        return
    other = threading.Thread(target=hold)
    other.start()
    assert holding.wait(30)
    try:
        assert janitor.sweep().ran is False
    finally:
        release.set()
        other.join(30)
    assert janitor.sweep().ran


def test_every_worker_runs_sweeps_on_a_schedule(runtime: Runtime, clock: FrozenClock) -> None:
    thread = JanitorThread(Janitor(runtime.db, clock), interval=0.05)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while thread.sweeps < 2:
            assert time.monotonic() < deadline, "no sweep ran"
            time.sleep(0.05)
    finally:
        thread.stop()
