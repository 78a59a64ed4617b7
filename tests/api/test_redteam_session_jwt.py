"""Red team review of issue 15's session-JWT changes: the hand-written ES256 verifier
(services/core/jws.py), the JWT checked on the event loop from this process's key cache
(``PresentedDep``) and the session row read in the use case's own transaction.

Every forgery below is presented *after* the server has verified a genuine JWT of the same kid, so
the cached-key path (no database) is the one attacked; each must be a 401 ``unauthorized`` on the
hot routes and on a plain session route alike, and must leave nothing written."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi.testclient import TestClient

from actionmfa.clock import FrozenClock
from actionmfa.services.runtime import Runtime
from actionmfa.store import mfa_tables as m
from tests.conftest import EnvFixture, SignedIn, make_environment, sign_in
from tests.mfa_support import enrol_totp, mfa_auth

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ROUTES = (("GET", "/users", None), ("PUT", "/users", {"alias": "pwned"}),
          ("POST", "/users/mfa/auth/totp", {"code": "000000"}),
          ("POST", "/users/mfa/auth/recovery", {"code": "AAAA-BBBB"}), ("GET", "/users/mfa/methods", None))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _parts(token: str) -> tuple[dict[str, object], dict[str, object], bytes]:
    head, payload, sig = token.split(".")
    return json.loads(_unb64(head)), json.loads(_unb64(payload)), _unb64(sig)


def _rows(runtime: Runtime) -> dict[str, int]:
    with runtime.db.read() as uow:
        tables = (m.audit_log, m.mfa_failures, m.mfa_tokens)
        return {t.name: len(uow.conn.execute(t.select()).all()) for t in tables}


def _refused_everywhere(client: TestClient, env: EnvFixture, token: str) -> None:
    for method, path, body in ROUTES:
        r = client.request(method, env.sdk(path), headers={"Authorization": f"Bearer {token}"}, json=body)
        assert (r.status_code, r.json().get("code")) == (401, "unauthorized"), (method, path, r.text)


def _forgeries(genuine: str, elevated: str) -> dict[str, str]:
    header, claims, sig = _parts(genuine)
    kid = str(header["kid"])
    attacker = ec.generate_private_key(ec.SECP256R1())
    out: dict[str, str] = {}
    # alg none / HS256 keyed with the server's public key (the classic confusion) / another ECDSA
    none_head = _b64(json.dumps({"alg": "none", "kid": kid, "typ": "JWT"}).encode())
    out["alg none"] = f"{none_head}.{_b64(json.dumps({**claims, 'sub': 'x'}).encode())}."
    out["attacker's P-256 key under the server's kid"] = jwt.encode(
        {**claims, "sub": "someone-else"}, attacker, algorithm="ES256", headers={"kid": kid})
    out["ES384 header"] = jwt.encode(claims, ec.generate_private_key(ec.SECP384R1()), algorithm="ES384",
                                     headers={"kid": kid})
    # the genuine signature in DER instead of raw r||s, and with a byte flipped
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    head_seg, payload_seg, _ = genuine.split(".")
    out["DER signature"] = f"{head_seg}.{payload_seg}.{_b64(encode_dss_signature(r, s))}"
    out["r = 0"] = f"{head_seg}.{payload_seg}.{_b64(bytes(32) + sig[32:])}"
    out["r, s = n"] = f"{head_seg}.{payload_seg}.{_b64(P256_N.to_bytes(32, 'big') * 2)}"
    out["padded signature"] = f"{head_seg}.{payload_seg}.{_b64(sig)}=="
    out["signature + a byte"] = f"{head_seg}.{payload_seg}.{_b64(sig + b'x')}"
    out["claims changed, signature kept"] = (
        f"{head_seg}.{_b64(json.dumps({**claims, 'sid': 'other'}).encode())}.{_b64(sig)}")
    # duplicate keys: the payload as signed names sub once; a duplicate appended breaks the signature
    dup = _b64(_unb64(payload_seg)[:-1] + b',"sub":"victim"}')
    out["duplicate sub appended"] = f"{head_seg}.{dup}.{_b64(sig)}"
    # the elevated token: ES256, signed by this environment's *elevated* key, same sub and sid
    out["elevated token as a session JWT"] = elevated
    e_head, _e_claims, _e_sig = _parts(elevated)
    _e_head_seg, e_payload_seg, e_sig_seg = elevated.split(".")
    # the session kid in the header of an elevated-key signature (the header is signed: refused)
    swapped = _b64(json.dumps({**e_head, "kid": kid}).encode())
    out["elevated signature under the session kid"] = f"{swapped}.{e_payload_seg}.{e_sig_seg}"
    out["no kid"] = jwt.encode(claims, attacker, algorithm="ES256")
    int_kid = _b64(json.dumps({"alg": "ES256", "kid": 7}).encode())
    out["kid not a string"] = f"{int_kid}.{payload_seg}.{_b64(sig)}"
    return out


def test_forged_session_jwts_refused_on_the_cached_key_path(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn,
    clock: FrozenClock,
) -> None:
    client, env, user = app_client, environment, signed_in_user
    enrolled = enrol_totp(client, env, user, clock)
    body = mfa_auth(client, env, user, enrolled, clock, requestedScopes=["credential:link"])
    elevated = body["elevatedAccessToken"]
    assert elevated and client.get(env.sdk("/users"), headers=user.headers).status_code == 200  # kid cached
    before = _rows(runtime)
    for name, token in _forgeries(user.jwt, elevated).items():
        try:
            _refused_everywhere(client, env, token)
        except AssertionError as err:
            raise AssertionError(f"{name}: {err}") from None
    assert _rows(runtime) == before
    assert client.get(env.sdk("/users"), headers=user.headers).status_code == 200


def test_high_s_twin_is_the_same_session(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn,
) -> None:
    """ECDSA's (r, n − s) verifies too (PyJWT accepted it as well): harmless as long as nothing keys
    on the JWT's spelling — the twin is the same session and dies with it."""
    client, env, user = app_client, environment, signed_in_user
    head, payload, sig = user.jwt.split(".")
    raw = _unb64(sig)
    s = int.from_bytes(raw[32:], "big")
    twin = f"{head}.{payload}.{_b64(raw[:32] + (P256_N - s).to_bytes(32, 'big'))}"
    assert client.get(env.sdk("/users"), headers={"Authorization": f"Bearer {twin}"}).status_code == 200
    with runtime.db.write() as uow:
        uow.sessions.revoke(user.session_id, runtime.clock.now())
    for token in (user.jwt, twin):
        _refused_everywhere(client, env, token)


def test_cached_jwt_of_an_ended_session_is_refused(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn,
    clock: FrozenClock,
) -> None:
    """A JWT verified (and its key or the token itself cached) on earlier requests: expiry is
    checked on every use; so is the session row, which logout revokes."""
    client, env, user = app_client, environment, signed_in_user
    for _ in range(3):
        assert client.get(env.sdk("/users"), headers=user.headers).status_code == 200
    _, claims, _ = _parts(user.jwt)
    clock.set(datetime.fromtimestamp(int(str(claims["exp"])), UTC))
    _refused_everywhere(client, env, user.jwt)
    other = sign_in(runtime, env)
    assert client.get(env.sdk("/users"), headers=other.headers).status_code == 200
    assert client.post(env.sdk("/logout"), headers=other.headers).status_code == 204
    _refused_everywhere(client, env, other.jwt)


def test_jwt_of_another_environment_refused_with_both_keys_cached(
    app_client: TestClient, runtime: Runtime, environment: EnvFixture, signed_in_user: SignedIn,
) -> None:
    client = app_client
    env_b = make_environment(runtime, "Other")
    user_b = sign_in(runtime, env_b)
    assert client.get(env_b.sdk("/users"), headers=user_b.headers).status_code == 200
    assert client.get(environment.sdk("/users"), headers=signed_in_user.headers).status_code == 200
    _refused_everywhere(client, environment, user_b.jwt)
    _refused_everywhere(client, env_b, signed_in_user.jwt)


@pytest.mark.parametrize("size", [8193, 65536])
def test_oversized_bearer_is_a_401(app_client: TestClient, environment: EnvFixture, size: int) -> None:
    token = "a" * (size - 4) + ".b.c"
    _refused_everywhere(app_client, environment, token)
