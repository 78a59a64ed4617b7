"""``kill -9`` under load (issue 11): the database's invariants hold after workers and the whole server die
at random moments while single-use things are being spent and wallet ceremonies are running.

A real ``actionmfa serve --workers 2`` on SQLite (tests/ops/chaos_server.py: the real command, with the
wallet's Paillier keys from tests/vectors instead of a prime search). Load: racing TOTP codes (three
requests per code), single-use MFA tokens (two spends per token), recovery codes (two uses per code) and
wallets being created, signed with and refreshed by the SDK. At seeded random moments one worker gets
SIGKILL (uvicorn's supervisor replaces it), then the master does (its workers die with it); the server
is started again and the load goes on. Then, from the database and the answers the clients received:

* every TOTP step, single-use token and recovery code was accepted at most once, and every acceptance
  the server answered is recorded (``last_step``, ``used_at``, its audit row);
* every wallet's key version is 1 + its committed refreshes (versions only move up), and the device's
  share matches the server's: each wallet signs afterwards, recovering to its address;
* no ceremony is in a stage its kind cannot have, and ``DONE`` ⇔ an outcome ⇔ a completion time;
* the audit rows pair up: each ``*_opened`` has its outcome row, or its ceremony never finished (cut by
  a kill or abandoned — the explainable abort); each outcome row has its opening; each completed
  ceremony has its outcome row;
* ``actionmfa audit verify`` finds every chain intact.

Bounded: every wait has a bound; each phase lasts until the wallets made progress, plus a random
moment of at most 2 s (the seed is in every failure message; ``ACTIONMFA_CHAOS_SEED`` replays it).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from actionmfa.api.app import create_app
from actionmfa.config import ServerConfig
from actionmfa.domain.wallets import CeremonyKind, Stage
from actionmfa.errors import ActionMFAError
from actionmfa.factors import totp
from actionmfa.sdk.client import Client
from actionmfa.server import prepare
from tests import wallet_keys
from tests.conftest import EnvFixture, make_environment, sign_in
from tests.mfa_support import enrol_totp
from tests.ops.served import Served, start_server, wait_until_up

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BOUND = 120.0  # for one event (a server up, processes gone) on a loaded machine
PHASE = (0.2, 2.0)  # seconds of load before each kill, once the wallets are at work (seeded)
TOTP_USERS, TOKEN_USERS, TOKENS_EACH, RECOVERY_USERS, CODES_EACH, WALLET_USERS = 6, 3, 5, 4, 3, 2
OK = (200, 201)
# Each refresh takes one of the ten fixed keys, which must differ from the wallet's current one
# (tests/ops/chaos_server.py hands them out in turn): few enough that a key never comes round again.
MAX_REFRESHES = 2
VALID_STAGES = {
    CeremonyKind.KEYGEN: {Stage.OPENED, Stage.DONE},
    CeremonyKind.SIGN: {Stage.OPENED, Stage.REPLIED, Stage.CLAIMED, Stage.DONE},
    CeremonyKind.REFRESH: {Stage.OPENED, Stage.REPLIED, Stage.DONE},
}


@dataclass
class Racer:
    jwt: str
    user_id: str
    device_id: str = ""
    secret: str = ""
    tokens: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)


@dataclass
class World:
    env: EnvFixture
    totp: list[Racer]
    spenders: list[Racer]
    recovering: list[Racer]
    wallets: list[Racer]


def populate(data_dir: Path) -> World:
    """Users, enrolled TOTP devices, recovery codes and minted single-use tokens, made before the server
    starts (through the services and the app in this process, on the server's own data dir)."""
    runtime, _ = prepare(ServerConfig(data_dir=data_dir, mail_log=True))
    env = make_environment(runtime, "Chaos")
    try:
        with TestClient(create_app(runtime, migrate=False)) as client:

            def enrolled(kind: str, n: int) -> Racer:
                who = sign_in(runtime, env, f"{kind}-{n}@example.com")
                done = enrol_totp(client, env, who, runtime.clock)  # type: ignore[arg-type]
                return Racer(who.jwt, who.user.id, done.device_id, done.secret, codes=done.recovery_codes)

            racers = [enrolled("totp", n) for n in range(TOTP_USERS)]
            spenders = [enrolled("spend", n) for n in range(TOKEN_USERS)]
            recovering = [enrolled("recover", n) for n in range(RECOVERY_USERS)]
        for spender in spenders:
            with runtime.db.read() as uow:
                ctx = runtime.sessions.authenticate(uow, env.id, spender.jwt)
            for _ in range(TOKENS_EACH):
                with runtime.db.write() as uow:
                    spender.tokens.append(runtime.services.core.tokens.mint_mfa_token(uow, ctx, single_use=True,
                                                                                    via="test"))
        for who in recovering:
            who.codes = who.codes[:CODES_EACH]
        wallets = [Racer(w.jwt, w.user.id) for w in (sign_in(runtime, env, f"wallet-{n}@example.com")
                                                     for n in range(WALLET_USERS))]
    finally:
        runtime.db.dispose()
    return World(env, racers, spenders, recovering, wallets)


class Ledger:
    """What the clients were answered: (kind, item) → statuses (None: no answer, the server died)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: dict[tuple[str, str], list[int | None]] = defaultdict(list)
        self.errors: list[str] = []

    def add(self, kind: str, item: str, status: int | None) -> None:
        with self.lock:
            self.answers[(kind, item)].append(status)

    def done(self, kind: str) -> int:
        """How many requests (or wallet operations) of ``kind`` were answered with success so far."""
        return sum(self.accepted(kind).values())

    def accepted(self, kind: str) -> dict[str, int]:
        with self.lock:
            return {item: sum(s in OK for s in statuses) for (k, item), statuses in self.answers.items() if k == kind}


class Load:
    """Races one item at a time (a few requests released together), paced, until stopped."""

    def __init__(self, world: World, ledger: Ledger, rng: random.Random) -> None:
        self.world, self.ledger, self.rng = world, ledger, rng
        self.url = ""
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(8)
        self.last_step: dict[str, int] = {}

    def _post(self, path: str, jwt: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> int | None:
        try:
            r = httpx.post(f"{self.url}/api/v0/sdk/{self.world.env.id}{path}", json=body, timeout=15,
                           headers={"Authorization": f"Bearer {jwt}", **(headers or {})})
        except httpx.TransportError:
            return None
        return r.status_code

    def _race(self, n: int, kind: str, item: str, send: Callable[[], int | None]) -> None:
        barrier = threading.Barrier(n)

        def one() -> None:
            barrier.wait(timeout=BOUND)
            self.ledger.add(kind, item, send())

        for future in [self.pool.submit(one) for _ in range(n)]:
            future.result(timeout=BOUND)

    def _totp(self) -> bool:
        who = self.rng.choice(self.world.totp)
        step = totp.time_step(datetime.now(UTC)) + 1  # inside the ±1 window, after enrolment's
        if self.last_step.get(who.device_id, -1) >= step:
            return False
        self.last_step[who.device_id] = step
        code = totp.code_at_step(who.secret, step)
        self._race(3, "totp", f"{who.device_id}:{step}",
                   lambda: self._post("/users/mfa/auth/totp", who.jwt, {"code": code}))
        return True

    def _token(self) -> bool:
        spenders = [s for s in self.world.spenders if s.tokens]
        if not spenders:
            return False
        who = self.rng.choice(spenders)
        token = who.tokens.pop()
        self._race(2, "token", token, lambda: self._post("/users/mfa/recovery", who.jwt, {},
                                                         {"x-mfa-auth-token": token}))
        return True

    def _recovery(self) -> bool:
        users = [r for r in self.world.recovering if r.codes]
        if not users:
            return False
        who = self.rng.choice(users)
        code = who.codes.pop()
        self._race(2, "recovery", f"{who.user_id}:{code}",
                   lambda: self._post("/users/mfa/auth/recovery", who.jwt, {"code": code}))
        return True

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.rng.choice([self._totp, self._token, self._recovery])()
                self.stop.wait(self.rng.uniform(0.05, 0.25))
        except Exception as exc:  # a bug in the load itself must fail the test, not hang it
            self.ledger.errors.append(repr(exc))


def sdk_for(world: World, who: Racer, share_dir: Path, url: str) -> Client:
    sdk = Client(world.env.id, base_url=url)
    sdk.session.jwt = who.jwt
    sdk.session.user = {"id": who.user_id}
    sdk.wallets.configure(share_dir=share_dir / who.user_id, ring=wallet_keys.client_ring(), precompute=0)
    return sdk


def explainable(exc: Exception) -> bool:
    """The server died under the request, or refused it by a rule the kills make it meet: a creation cut
    by a kill stays open until it expires, so the same user's next one waits (409/429); nothing else."""
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, ActionMFAError) and exc.status_code in (409, 429, 503)


def wallet_life(world: World, who: Racer, share_dir: Path, load: Load, ledger: Ledger) -> None:
    """Create a wallet, then sign and refresh until stopped; a lost server means a new client (a new
    process, as far as the SDK knows) over the same share directory."""
    rng = random.Random(who.user_id)
    refreshes = 0
    while not load.stop.is_set():
        sdk = sdk_for(world, who, share_dir, load.url)
        try:
            wallets = sdk.wallets.list()
            wallet = wallets[0] if wallets else sdk.wallets.create()
            ledger.add("wallet", who.user_id, 200)
            while not load.stop.is_set():
                if refreshes >= MAX_REFRESHES or rng.random() < 0.6:
                    wallet.sign_message(f"chaos {rng.random()}")  # type: ignore[union-attr]
                else:
                    refreshes += 1  # tried: a refresh cut by a kill may have been committed
                    wallet.refresh()  # type: ignore[union-attr]
                ledger.add("wallet", who.user_id, 200)
        except Exception as exc:
            ledger.add("wallet", who.user_id, None)
            if not explainable(exc):
                ledger.errors.append(f"wallet {who.user_id}: {exc!r}")
            load.stop.wait(0.3)
        finally:
            sdk.wallets.close()


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _gone(pids: list[int]) -> bool:
    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    return not any(alive(pid) for pid in pids)


def _wait(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def progress(ledger: Ledger, operations: int, seed: int) -> None:
    """Wait (bounded) until the wallets completed ``operations`` more operations."""
    target = ledger.done("wallet") + operations
    _wait(lambda: ledger.done("wallet") >= target, f"seed {seed}: the wallets made no progress")


def start(tmp_path: Path, workers: int, n: int) -> Served:
    extra = {"ACTIONMFA_MAIL_LOG": "true", "ACTIONMFA_WALLET_POOL_WARM": "true"}
    return start_server(tmp_path / "data", tmp_path / f"server-{n}.log", extra, args=("--workers", str(workers)),
                        module="tests.ops.chaos_server")


def test_kill_9_under_load_keeps_every_invariant(tmp_path: Path) -> None:
    seed = int(os.environ.get("ACTIONMFA_CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    world = populate(tmp_path / "data")
    ledger = Ledger()
    load = Load(world, ledger, rng)
    served = start(tmp_path, 2, 1)
    load.url = served.url
    threads = [threading.Thread(target=load.run, daemon=True)]
    threads += [threading.Thread(target=wallet_life, args=(world, who, tmp_path / "shares", load, ledger),
                                 daemon=True) for who in world.wallets]
    for thread in threads:
        thread.start()
    try:
        # Each kill falls at a random moment once the wallets are at work (their ceremonies in flight).
        progress(ledger, WALLET_USERS, seed)
        time.sleep(rng.uniform(*PHASE))
        workers = [p for p in _children(served.proc.pid) if "spawn_main" in _cmdline(p)]
        assert len(workers) == 2, f"seed {seed}: workers {workers}"
        os.kill(rng.choice(workers), signal.SIGKILL)
        progress(ledger, 1, seed)
        time.sleep(rng.uniform(*PHASE))
        tree = _children(served.proc.pid)
        tree += [g for p in tree for g in _children(p)]
        os.kill(served.proc.pid, signal.SIGKILL)
        served.proc.wait(timeout=BOUND)
        served = start(tmp_path, 1, 2)  # its start-up overlaps the killed workers' exit (checked below)
        load.url = served.url
        _wait(lambda: _gone(tree), f"seed {seed}: the killed server's processes all exited")
        progress(ledger, 1, seed)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=BOUND)
        load.pool.shutdown(wait=True)
    try:
        wait_until_up(served.url, served.proc)
        check_invariants(world, ledger, tmp_path, served.url, seed)
    finally:
        served.proc.terminate()
        served.proc.wait(timeout=BOUND)


def check_invariants(world: World, ledger: Ledger, tmp_path: Path, url: str, seed: int) -> None:
    where = f"(seed {seed})"
    assert ledger.errors == [], where
    engine = create_engine(ServerConfig(data_dir=tmp_path / "data").effective_database_url)
    try:
        with engine.connect() as conn:
            def rows(sql: str) -> list[Any]:
                return list(conn.execute(text(sql)))

            audit = rows("SELECT id, event, user_id, details FROM audit_log ORDER BY id")
            details = [(event, user, d if isinstance(d, dict) else json.loads(d)) for _, event, user, d in audit]
            by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for event, _, d in details:
                by_event[event].append(d)

            # TOTP: one acceptance per step at most, and the device's last step covers every acceptance.
            last_step = {d: s for d, s in rows("SELECT id, last_step FROM mfa_devices")}
            auth_ok = Counter(d.get("deviceId") for d in by_event["mfa.auth_succeeded"])
            accepted_totp = ledger.accepted("totp")
            assert max(accepted_totp.values(), default=0) <= 1, where
            for item, n in accepted_totp.items():
                device, step = item.split(":")
                if n:
                    assert last_step[device] >= int(step), where
            for device in {i.split(":")[0] for i in accepted_totp}:
                assert auth_ok[device] >= sum(n for i, n in accepted_totp.items() if i.startswith(device)), where

            # Single-use tokens: spent at most once; each accepted spend recorded (used_at, one audit row).
            used = {h for (h,) in rows("SELECT token_hash FROM mfa_tokens WHERE used_at IS NOT NULL")}
            spent_audits = Counter(d.get("tokenId") for d in by_event["mfa_token.spent"])
            token_ids = {h: i for i, h in rows("SELECT id, token_hash FROM mfa_tokens")}
            accepted_tokens = ledger.accepted("token")
            assert max(accepted_tokens.values(), default=0) <= 1, where
            assert max(spent_audits.values(), default=0) <= 1, where
            assert sum(accepted_tokens.values()) <= len(used) == len(spent_audits), where
            assert set(spent_audits) <= set(token_ids.values()), where

            # Recovery codes: used at most once; each accepted use recorded.
            accepted_codes = ledger.accepted("recovery")
            assert max(accepted_codes.values(), default=0) <= 1, where
            used_codes = Counter(u for (u,) in rows("SELECT user_id FROM recovery_codes WHERE used_at IS NOT NULL"))
            for who in world.recovering:
                mine = sum(n for item, n in accepted_codes.items() if item.startswith(who.user_id))
                assert mine <= used_codes[who.user_id], where

            # Ceremonies: only stages their kind can have; DONE ⇔ outcome ⇔ completion time.
            ceremonies = {c: (kind, stage, outcome, done) for c, kind, stage, outcome, done in rows(
                "SELECT id, kind, stage, outcome, completed_at FROM waas_ceremonies")}
            for cid, (kind, stage, outcome, done) in ceremonies.items():
                assert Stage(stage) in VALID_STAGES[CeremonyKind(kind)], (cid, kind, stage, where)
                assert (stage == Stage.DONE) == (outcome is not None) == (done is not None), (cid, where)

            # Audit pairing: each opening has its outcome or its ceremony never finished; each outcome
            # has its opening; each finished ceremony has its outcome row.
            for opened, finished, kind in (("wallet.sign_opened", "wallet.signed", CeremonyKind.SIGN),
                                           ("wallet.refresh_opened", "wallet.refreshed", CeremonyKind.REFRESH)):
                opens = {d["ceremonyId"] for d in by_event[opened]}
                ends = Counter(d["ceremonyId"] for d in by_event[finished])
                assert max(ends.values(), default=0) <= 1 and set(ends) <= opens, where
                for cid in opens - set(ends):
                    assert ceremonies[cid][2] is None, (cid, "finished without its outcome row", where)
                for cid, (k, _, outcome, _) in ceremonies.items():
                    if k == kind and outcome == "ok":
                        assert cid in ends, (cid, "ok without its outcome row", where)

            # Key versions: 1 + the committed refreshes, each refresh one version up.
            created = {d["walletId"] for d in by_event["wallet.created"]}
            versions = {w: v for w, v in rows("SELECT id, key_version FROM waas_wallets")}
            assert created == set(versions), where
            refreshed: dict[str, list[int]] = defaultdict(list)
            for d in by_event["wallet.refreshed"]:
                refreshed[d["walletId"]].append(int(d["shareVersion"]))
            for wallet_id, version in versions.items():
                assert refreshed[wallet_id] == list(range(2, version + 1)), (wallet_id, where)
    finally:
        engine.dispose()

    # Each device's share matches the server's: every wallet signs and recovers to its address.
    for who in world.wallets:
        sdk = sdk_for(world, who, tmp_path / "shares", url)
        try:
            for wallet in sdk.wallets.list():
                signed = wallet.sign_message("after the chaos")  # type: ignore[union-attr]
                assert Account.recover_message(encode_defunct(text="after the chaos"),
                                               signature=signed.signature) == wallet.address, where
        finally:
            sdk.wallets.close()
    assert sum(ledger.accepted("wallet").values()) > 0, where  # the wallets did work between the kills

    env = {k: v for k, v in os.environ.items() if k != "ACTIONMFA_DATABASE_URL"}
    verify = subprocess.run([sys.executable, "-m", "actionmfa.cli", "audit", "verify", "--data-dir",
                             str(tmp_path / "data")], capture_output=True, text=True, env=env, timeout=BOUND,
                            check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr + where

