"""Red team: passkey MFA authentication's window between the unlocked verification and the write
transaction (issue 15.1). Whatever commits in between, or races it, must give the answer a serial
order gives — and never two successes on one counter value, nor a success on a row the signature
was not checked against. Both databases."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import asdict
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from actionmfa.clock import FrozenClock
from actionmfa.factors import passkey as pk
from actionmfa.factors.soft_authenticator import SoftAuthenticator, SoftCredential
from actionmfa.services.mfa.completion import MintRequest
from actionmfa.services.runtime import Runtime
from actionmfa.store.mfa_tables import audit_log
from actionmfa.store.repos.passkeys import PasskeyRepo
from tests.concurrency import race
from tests.contract.passkey_window import ORIGIN, interleaved, refusal, registered


def _stored(runtime: Runtime, user_id: str) -> list[Any]:
    with runtime.db.read() as uow:
        return PasskeyRepo(uow.conn).for_user(user_id)


def _completed(runtime: Runtime, user_id: str) -> int:
    """MFA authentications that succeeded for the user (audited in the completing transaction)."""
    q = select(func.count()).select_from(audit_log).where(
        audit_log.c.user_id == user_id, audit_log.c.event == "mfa.auth_succeeded"
    )
    with runtime.db.read() as uow:
        return int(uow.conn.execute(q).scalar_one())


def test_a_credential_re_registered_with_another_key_meanwhile_is_not_accepted(runtime_any: Runtime) -> None:
    """The signature was checked against key 1; meanwhile the credential id was deleted and stored
    again with key 2 (and a higher counter). Accepting would complete MFA with a key the row no
    longer holds."""
    runtime = runtime_any
    ctx, auth, user_id = registered(runtime)
    passkeys = runtime.services.passkeys
    assertion = auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN)
    before = _completed(runtime, user_id)

    def re_register() -> None:
        [old] = _stored(runtime, user_id)
        other = SoftCredential(credential_id=b"x", rp_id="x", user_handle=b"x", algorithm=-7,
                               private_key=ec.generate_private_key(ec.SECP256R1()))
        values = asdict(old)
        values.update(id=str(uuid.uuid4()), public_key=other.cose_public_key(), sign_count=0)
        values["transports"] = list(values["transports"])
        with runtime.db.write() as uow:
            repo = PasskeyRepo(uow.conn)
            assert repo.delete(user_id, old.id)
            assert repo.add(**values)

    late = interleaved(runtime, re_register)
    assert refusal(lambda: late.authenticate(ctx, assertion, MintRequest(create_mfa_token=True)))[0] == (
        "passkey_not_found"
    )
    assert _completed(runtime, user_id) == before
    [row] = _stored(runtime, user_id)
    assert row.sign_count == 0  # the new row's counter did not move for a signature of the old key


def test_a_challenge_that_expires_in_the_window_is_refused(runtime_any: Runtime, clock: FrozenClock) -> None:
    runtime = runtime_any
    ctx, auth, user_id = registered(runtime)
    passkeys = runtime.services.passkeys
    assertion = auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN)
    before = _completed(runtime, user_id)
    late = interleaved(runtime, lambda: clock.advance(pk.CHALLENGE_TTL.total_seconds() + 1))
    assert refusal(lambda: late.authenticate(ctx, assertion, MintRequest()))[0] == "passkey_challenge_invalid"
    assert _completed(runtime, user_id) == before
    [row] = _stored(runtime, user_id)
    assert row.sign_count == 0


def test_a_cloned_authenticator_racing_the_real_one_passes_at_most_once_and_is_flagged(runtime_any: Runtime) -> None:
    """Two copies of one private key, the same counter value, two challenges, released together:
    at most one passes; the other proves two copies exist and flags the credential."""
    runtime = runtime_any
    ctx, auth, user_id = registered(runtime)
    passkeys = runtime.services.passkeys
    clone = SoftAuthenticator.from_json(auth.to_json())
    assertions = [a.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN) for a in (auth, clone)]
    it = iter(assertions)
    outcome = race(2, lambda: passkeys.authentication.authenticate(ctx, next(it), MintRequest()))
    assert outcome == Counter({"ok": 1, "passkey_invalid": 1}), outcome
    [row] = _stored(runtime, user_id)
    assert row.sign_count == 1 and row.possibly_cloned_at is not None


def test_many_assertions_of_one_authenticator_racing_never_share_a_counter(runtime_any: Runtime) -> None:
    """Counters 1..8 verified against 0 and committed in any order: every success moved the stored
    counter up (never two on one value) and completed MFA once."""
    runtime = runtime_any
    ctx, auth, user_id = registered(runtime)
    passkeys = runtime.services.passkeys
    n = 8
    assertions = iter([auth.get(passkeys.ceremonies.authentication_options(ctx), origin=ORIGIN) for _ in range(n)])
    before = _completed(runtime, user_id)
    outcome = race(n, lambda: passkeys.authentication.authenticate(ctx, next(assertions), MintRequest()))
    assert set(outcome) <= {"ok", "passkey_invalid"}, outcome
    assert outcome["ok"] >= 1
    [row] = _stored(runtime, user_id)
    assert _completed(runtime, user_id) - before == outcome["ok"]
    # every success moved the stored counter strictly up from 0 (a refusal may or may not flag: on
    # PostgreSQL a row that moved twice in the window is refused without judging it a clone)
    assert outcome["ok"] <= row.sign_count <= n
