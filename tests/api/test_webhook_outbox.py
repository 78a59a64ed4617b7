"""Webhook delivery that does not lose events (issue 13.4), on SQLite and PostgreSQL.

Events are written the way the services write them (an audit row in the action's transaction, or
the reshare's own outbox row); a real HTTP receiver on a loopback port answers 503 until told
otherwise; the frozen clock is moved past each backoff. Every delivery the receiver accepts is
checked with the SDK's ``verify_webhook``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from actionmfa.clock import FrozenClock
from actionmfa.crypto import Keyring
from actionmfa.sdk.webhooks import WebhookVerificationError, verify_webhook
from actionmfa.services.core import audit
from actionmfa.services.core.audit import AuditEvent, AuditIds
from actionmfa.services.core.webhooks import WebhookWorker
from actionmfa.services.operator.key_rotation import KeyRotation
from actionmfa.services.runtime import Runtime
from actionmfa.services.wallets.delivery import create_delegation_secret
from tests.conftest import EnvFixture, make_environment


@dataclass
class Receiver:
    url: str = ""
    failures_left: int = 0
    delay: float = 0.0
    accepted: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            time.sleep(hook.delay)
            with hook.lock:
                down = hook.failures_left > 0
                if down:
                    hook.failures_left -= 1
                    hook.refused += 1
                else:
                    hook.accepted.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(503 if down else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    yield hook
    server.shutdown()
    server.server_close()


@dataclass
class Hooked:
    env: EnvFixture
    secret: str
    worker: WebhookWorker
    clock: FrozenClock


@pytest.fixture
def hooked(runtime_any: Runtime, receiver: Receiver) -> Hooked:
    env = make_environment(runtime_any, settings={"webhooks": {"url": receiver.url}})
    with runtime_any.db.write() as uow:
        secret = create_delegation_secret(uow, runtime_any.services.wallets.vault, env.id,
                                          now=runtime_any.clock.now())
    clock = runtime_any.clock
    assert isinstance(clock, FrozenClock)
    return Hooked(env, secret, runtime_any.services.core.webhooks, clock)


def _event(runtime: Runtime, env_id: str, event: AuditEvent, **details: object) -> None:
    """What a service does: one audit row in its own transaction."""
    with runtime.db.write() as uow:
        audit.record(uow, AuditIds(env_id, "user-1"), event, now=runtime.clock.now(), outcome="ok", **details)


def _drain(h: Hooked, rounds: int = 30) -> None:
    for _ in range(rounds):
        h.worker.run_once()
        if not any(e["status"] == "pending" for e in h.worker.list_events(h.env.id)):
            return
        h.clock.advance(7 * 3600)  # past the longest backoff
    raise AssertionError("events still pending")


def _verified(h: Hooked, receiver: Receiver) -> list[dict[str, object]]:
    return [verify_webhook(body, headers, h.secret, now=h.clock.now().timestamp(), tolerance_seconds=10 ** 9)
            for headers, body in receiver.accepted]


def test_receiver_down_then_up_delivers_each_event_once_in_order(runtime_any: Runtime, hooked: Hooked,
                                                                 receiver: Receiver) -> None:
    receiver.failures_left = 4
    for n in range(3):
        _event(runtime_any, hooked.env.id, AuditEvent.WALLET_EXPORTED, walletId="w-1", requestId=f"r{n}")
    _event(runtime_any, hooked.env.id, AuditEvent.MFA_RESET, walletId="w-2")
    _event(runtime_any, hooked.env.id, AuditEvent.RECOVERY_CODES_CREATED)
    _drain(hooked)
    events = _verified(hooked, receiver)
    ids = [e["eventId"] for e in events]
    assert len(ids) == len(set(ids)) == 5  # exactly one accepted delivery per event
    assert receiver.refused == 4
    w1 = [e["data"]["requestId"] for e in events if e["data"].get("walletId") == "w-1"]  # type: ignore[index, union-attr]
    assert w1 == ["r0", "r1", "r2"]  # in order per wallet, although the first one failed first
    names = sorted(str(e["eventName"]) for e in events)
    assert names == ["user.mfa.recovery_codes_regenerated", "user.mfa.reset_by_admin", *["wallet.exported"] * 3]
    listed = hooked.worker.list_events(hooked.env.id)
    assert {e["status"] for e in listed} == {"delivered"}
    assert sum(len(e["history"]) for e in listed) == 5 + 4  # every attempt recorded
    hooked.worker.run_once()  # nothing is sent twice
    assert len(receiver.accepted) == 5


def test_the_backlog_gauge_counts_deliveries_still_to_be_made(runtime_any: Runtime, hooked: Hooked,
                                                              receiver: Receiver) -> None:
    health = runtime_any.services.operator.health
    assert health.webhook_backlog() == 0
    receiver.failures_left = 10 ** 6
    _event(runtime_any, hooked.env.id, AuditEvent.WALLET_EXPORTED, walletId="w-1", requestId="r0")
    _event(runtime_any, hooked.env.id, AuditEvent.MFA_RESET, walletId="w-2")
    hooked.worker.run_once()
    assert health.webhook_backlog() == 2  # queued, tried, refused: still to be made
    receiver.failures_left = 0
    _drain(hooked)
    assert health.webhook_backlog() == 0


def test_events_are_relayed_once_even_by_two_relays(runtime_any: Runtime, hooked: Hooked) -> None:
    _event(runtime_any, hooked.env.id, AuditEvent.MFA_DEVICE_DELETED)
    assert hooked.worker.relay() == 1
    assert hooked.worker.relay() == 0
    assert len(hooked.worker.list_events(hooked.env.id)) == 1


def test_an_environment_without_a_webhook_url_queues_nothing(runtime_any: Runtime, hooked: Hooked) -> None:
    other = make_environment(runtime_any, name="Other")
    _event(runtime_any, other.id, AuditEvent.MFA_RESET)
    hooked.worker.relay()
    assert hooked.worker.list_events(other.id) == []


def test_gives_up_after_a_day_then_redelivers_on_request(runtime_any: Runtime, hooked: Hooked,
                                                         receiver: Receiver) -> None:
    receiver.failures_left = 10 ** 6
    _event(runtime_any, hooked.env.id, AuditEvent.MFA_RESET)
    for _ in range(40):
        hooked.worker.run_once()
        hooked.clock.advance(3 * 3600)
    [event] = hooked.worker.list_events(hooked.env.id)
    assert event["status"] == "failed" and event["attempts"] >= 2
    receiver.failures_left = 0
    assert hooked.worker.redeliver(str(event["eventId"]))
    hooked.worker.run_once()
    [(headers, _)] = receiver.accepted
    assert headers["webhook-id"] == event["eventId"]  # the same id: the receiver deduplicates


def test_a_rotated_secret_keeps_signing_during_the_overlap(runtime_any: Runtime, hooked: Hooked,
                                                          receiver: Receiver) -> None:
    with runtime_any.db.write() as uow:
        new_secret = create_delegation_secret(uow, runtime_any.services.wallets.vault, hooked.env.id,
                                              now=hooked.clock.now())
    _event(runtime_any, hooked.env.id, AuditEvent.MFA_RESET)
    hooked.worker.run_once()
    [(headers, body)] = receiver.accepted
    assert len(headers["webhook-signature"].split()) == 2
    now = hooked.clock.now().timestamp()
    verify_webhook(body, headers, hooked.secret, now=now)  # receivers not yet switched
    verify_webhook(body, headers, new_secret, now=now)
    hooked.clock.advance(25 * 3600)  # the overlap is over: only the new secret signs
    _event(runtime_any, hooked.env.id, AuditEvent.MFA_RESET)
    hooked.worker.run_once()
    headers, body = receiver.accepted[-1]
    assert len(headers["webhook-signature"].split()) == 1
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, hooked.secret, now=hooked.clock.now().timestamp())
    verify_webhook(body, headers, new_secret, now=hooked.clock.now().timestamp())


def test_two_workers_never_deliver_the_same_event_twice(runtime_any: Runtime, hooked: Hooked,
                                                        receiver: Receiver) -> None:
    with runtime_any.db.read() as uow:
        if uow.dialect != "postgresql":
            pytest.skip("row locks with SKIP LOCKED: PostgreSQL")
    receiver.delay = 0.02
    for n in range(24):
        _event(runtime_any, hooked.env.id, AuditEvent.WALLET_EXPORTED, walletId=f"w-{n % 6}", requestId=f"r{n}")
    hooked.worker.relay()
    workers = [WebhookWorker(runtime_any.db, runtime_any.keyring, hooked.clock, name=f"w{i}") for i in range(2)]
    barrier = threading.Barrier(2)

    def work(worker: WebhookWorker) -> None:
        barrier.wait()
        for _ in range(30):
            worker.run_once(limit=4)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [e["eventId"] for e in _verified(hooked, receiver)]
    assert len(ids) == len(set(ids)) == 24
    history = [a for e in hooked.worker.list_events(hooked.env.id) for a in e["history"]]
    assert len(history) == 24 and {a["worker"] for a in history} <= {"w0", "w1"}


# -- verify_webhook ------------------------------------------------------------------------------------


def _signed(secret: str, event_id: str = "evt-1", stamp: int = 1_700_000_000) -> tuple[bytes, dict[str, str]]:
    from actionmfa.services.core.webhooks import sign_headers

    body = f'{{"eventId":"{event_id}","eventName":"x"}}'.encode()
    return body, sign_headers(event_id, stamp, body, [secret.encode()])


def test_verify_webhook_accepts_a_fresh_genuine_delivery() -> None:
    body, headers = _signed("s3cret")
    assert verify_webhook(body, headers, "s3cret", now=1_700_000_100)["eventId"] == "evt-1"


@pytest.mark.parametrize("case", ["replayed-late", "from-the-future", "tampered-body", "wrong-secret",
                                  "other-event-id", "no-signature"])
def test_verify_webhook_refuses(case: str) -> None:
    body, headers = _signed("s3cret")
    now, secret = 1_700_000_100, "s3cret"
    if case == "replayed-late":
        now = 1_700_000_000 + 301  # a captured delivery sent again after the replay window
    elif case == "from-the-future":
        now = 1_700_000_000 - 301
    elif case == "tampered-body":
        body = body.replace(b'"x"', b'"y"')
    elif case == "wrong-secret":
        secret = "other"
    elif case == "other-event-id":
        headers = {**headers, "webhook-id": "evt-2"}
    else:
        headers = {k: v for k, v in headers.items() if k != "webhook-signature"}
    with pytest.raises(WebhookVerificationError) as err:
        verify_webhook(body, headers, secret, now=now)
    assert err.value.code == "webhook_verification_failed"


def test_queued_deliveries_survive_key_rotation_and_retirement_of_the_old_key(
    runtime_any: Runtime, hooked: Hooked, receiver: Receiver
) -> None:
    """``actionmfa keys rotate`` re-encrypts queued bodies and the rotated-out secret of the overlap,
    so that once the old key is retired the queue still goes out, signed with both secrets."""
    with runtime_any.db.write() as uow:  # a rotated secret: the old one still signs for 24 h
        new_secret = create_delegation_secret(uow, runtime_any.services.wallets.vault, hooked.env.id,
                                              now=hooked.clock.now())
    receiver.failures_left = 1
    _event(runtime_any, hooked.env.id, AuditEvent.MFA_RESET, walletId="w-9")
    _event(runtime_any, hooked.env.id, AuditEvent.RECOVERY_CODES_CREATED, walletId="w-9")
    hooked.worker.run_once()  # the first attempt fails: both events stay queued
    assert receiver.accepted == [] and receiver.refused == 1

    old = runtime_any.keyring
    rotated = Keyring(keys={**old.keys, "k-new": secrets.token_bytes(32)}, active_key_id="k-new",
                      hash_key=old.hash_key)
    assert KeyRotation(runtime_any.db, rotated, hooked.clock).rotate() >= 4  # 2 bodies + 2 secrets
    retired = Keyring(keys={"k-new": rotated.keys["k-new"]}, active_key_id="k-new", hash_key=old.hash_key)
    worker = WebhookWorker(runtime_any.db, retired, hooked.clock)
    hooked.clock.advance(60)
    for _ in range(3):
        worker.run_once()
    assert len(receiver.accepted) == 2
    now = hooked.clock.now().timestamp()
    for headers, body in receiver.accepted:
        assert len(headers["webhook-signature"].split()) == 2  # the previous secret was re-encrypted too
        verify_webhook(body, headers, hooked.secret, now=now)
        verify_webhook(body, headers, new_secret, now=now)
    assert {e["status"] for e in worker.list_events(hooked.env.id)} == {"delivered"}


@pytest.mark.sqlite_suffices
def test_event_ids_of_two_installations_never_collide(sqlite_provider: object, tmp_path: object,
                                                      keyring: Keyring) -> None:
    """Red-team finding: a relayed event's id was uuid5("actionmfa:audit:<audit id>") — the audit
    row's number alone. Two installations (or one whose database was reset) sending to one receiver
    gave *different* events the same ``webhook-id``, and a receiver deduplicating on it, as the docs
    say it must, silently dropped the second one (a ``wallet.locked``, an admin MFA reset)."""
    from pathlib import Path

    from actionmfa.config import ServerConfig
    from tests.conftest import build_runtime
    from tests.databases import SqliteProvider

    assert isinstance(sqlite_provider, SqliteProvider) and isinstance(tmp_path, Path)
    ids = []
    for n in range(2):
        clock = FrozenClock()
        rt = build_runtime(sqlite_provider.fresh_url(), ServerConfig(data_dir=tmp_path / f"d{n}", mail_log=True),
                           clock, keyring)
        try:
            env = make_environment(rt, settings={"webhooks": {"url": "http://127.0.0.1:9/events"}})
            with rt.db.write() as uow:
                create_delegation_secret(uow, rt.services.wallets.vault, env.id, now=clock.now())
            _event(rt, env.id, AuditEvent.MFA_RESET if n else AuditEvent.WALLET_SIGNATURE_INVALID, walletId="w")
            assert rt.services.core.webhooks.relay() == 1
            ids += [e["eventId"] for e in rt.services.core.webhooks.list_events(env.id)]
        finally:
            rt.db.dispose()
    assert len(ids) == 2 and ids[0] != ids[1]
