"""External JWT sign-in: the developer's own auth, verified against a PEM key or a JWKS URL.

The JWKS comes from a real HTTP server on a loopback port (a thread), so fetching, caching and
re-fetching on an unknown ``kid`` are exercised for real.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from actionmfa.clock import FrozenClock, to_epoch
from actionmfa.domain.actions import MFADeviceType
from actionmfa.services.runtime import Runtime
from actionmfa.services.signin import external as external_auth
from actionmfa.store.repos.mfa import MfaRepo
from tests.conftest import EnvFixture, make_environment
from tests.mailsink import free_port

ISS = "https://auth.acme.test"
AUD = "actionmfa-acme"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def pem_of(key: PrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def jwk_of(key: PrivateKey, kid: str, alg: str) -> dict[str, Any]:
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        doc = json.loads(RSAAlgorithm.to_jwk(public))
    elif isinstance(public, ec.EllipticCurvePublicKey):
        doc = json.loads(ECAlgorithm.to_jwk(public))
    else:
        doc = json.loads(OKPAlgorithm.to_jwk(public))
    doc.update({"kid": kid, "alg": alg, "use": "sig"})
    return dict(doc)


class JwksServer:
    """Serves ``self.keys`` as a JWKS at ``self.url``; counts the fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                raw = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture
def es_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def external_settings(**fields: Any) -> dict[str, Any]:
    return {"security": {"externalAuth": {"enabled": True, "iss": ISS, "aud": AUD, **fields}}}


@pytest.fixture
def pem_env(runtime: Runtime, es_key: ec.EllipticCurvePrivateKey) -> EnvFixture:
    return make_environment(runtime, "PemEnv", external_settings(publicKeyPem=pem_of(es_key)))


def token(key: PrivateKey, clock: FrozenClock, *, alg: str = "ES256", kid: str | None = None,
          **claims: Any) -> str:
    now = to_epoch(clock.now())
    body: dict[str, Any] = {"iss": ISS, "aud": AUD, "sub": "dev-user-42", "iat": now, "exp": now + 300}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"kid": kid} if kid else None
    return jwt.encode(body, key, algorithm=alg, headers=headers)


def sign_in(client: TestClient, env: EnvFixture, value: str) -> tuple[int, dict[str, Any]]:
    r = client.post(env.sdk("/externalAuth/signin"), json={"jwt": value})
    return r.status_code, r.json()


def assert_401(client: TestClient, env: EnvFixture, value: str) -> None:
    status, body = sign_in(client, env, value)
    assert (status, body["code"]) == (401, "unauthorized"), body


def test_pem_es256_signs_in_and_maps_sub_to_one_user(
    app_client: TestClient, pem_env: EnvFixture, es_key: ec.EllipticCurvePrivateKey, clock: FrozenClock
) -> None:
    status, body = sign_in(app_client, pem_env, token(es_key, clock))
    assert status == 200, body
    assert body["user"]["externalUserId"] == "dev-user-42" and body["user"]["email"] is None
    assert body["user"]["scope"] == "user:basic"
    status, again = sign_in(app_client, pem_env, token(es_key, clock))
    assert status == 200 and again["user"]["id"] == body["user"]["id"]
    status, other = sign_in(app_client, pem_env, token(es_key, clock, sub="someone-else"))
    assert status == 200 and other["user"]["id"] != body["user"]["id"]
    r = app_client.get(pem_env.sdk("/users"), headers={"Authorization": f"Bearer {body['jwt']}"})
    assert r.status_code == 200 and r.json()["externalUserId"] == "dev-user-42"


def test_alg_none_and_hs256_are_refused(
    app_client: TestClient, pem_env: EnvFixture, es_key: ec.EllipticCurvePrivateKey, clock: FrozenClock
) -> None:
    now = to_epoch(clock.now())
    claims = {"iss": ISS, "aud": AUD, "sub": "dev-user-42", "exp": now + 300}
    assert_401(app_client, pem_env, jwt.encode(claims, None, algorithm="none"))
    # Key confusion: the public PEM used as an HMAC secret (PyJWT refuses to encode that, so by hand).
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    mac = hmac.new(pem_of(es_key).encode(), signing_input.encode(), hashlib.sha256).digest()
    assert_401(app_client, pem_env, signing_input + "." + b64(mac))
    assert_401(app_client, pem_env, jwt.encode(claims, "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256"))


def test_wrong_key_and_other_environments_key_are_refused(
    app_client: TestClient, runtime: Runtime, pem_env: EnvFixture, clock: FrozenClock
) -> None:
    assert_401(app_client, pem_env, token(ec.generate_private_key(ec.SECP256R1()), clock))
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = make_environment(runtime, "Other", external_settings(publicKeyPem=pem_of(other_key)))
    assert sign_in(app_client, other, token(other_key, clock))[0] == 200
    assert_401(app_client, pem_env, token(other_key, clock))


def test_expired_and_not_yet_valid_are_refused(
    app_client: TestClient, pem_env: EnvFixture, es_key: ec.EllipticCurvePrivateKey, clock: FrozenClock
) -> None:
    now = to_epoch(clock.now())
    leeway = external_auth.LEEWAY
    assert_401(app_client, pem_env, token(es_key, clock, exp=now - leeway))
    assert sign_in(app_client, pem_env, token(es_key, clock, exp=now - leeway + 1))[0] == 200
    assert_401(app_client, pem_env, token(es_key, clock, nbf=now + leeway + 1))
    assert_401(app_client, pem_env, token(es_key, clock, iat=now + leeway + 1))
    assert_401(app_client, pem_env, token(es_key, clock, exp=None))  # exp is required
    # The same token stops working once the (frozen) clock passes exp.
    good = token(es_key, clock)
    assert sign_in(app_client, pem_env, good)[0] == 200
    clock.advance(300 + leeway)
    assert_401(app_client, pem_env, good)


def test_issuer_audience_and_sub_are_checked(
    app_client: TestClient, pem_env: EnvFixture, es_key: ec.EllipticCurvePrivateKey, clock: FrozenClock
) -> None:
    assert_401(app_client, pem_env, token(es_key, clock, iss="https://evil.test"))
    assert_401(app_client, pem_env, token(es_key, clock, aud="another-client"))
    assert_401(app_client, pem_env, token(es_key, clock, sub=None))
    assert_401(app_client, pem_env, token(es_key, clock, sub=""))
    assert_401(app_client, pem_env, "not.a.jwt")


def test_disabled_external_auth_is_refused(
    app_client: TestClient, runtime: Runtime, es_key: ec.EllipticCurvePrivateKey, clock: FrozenClock
) -> None:
    env = make_environment(runtime, "Off")
    assert_401(app_client, env, token(es_key, clock))
    settings = external_settings(publicKeyPem=pem_of(es_key))
    settings["security"]["externalAuth"]["enabled"] = False
    env2 = make_environment(runtime, "Configured but off", settings)
    assert_401(app_client, env2, token(es_key, clock))


def test_jwks_url_rs256_and_eddsa_with_cache_and_rotation(
    app_client: TestClient, runtime: Runtime, jwks_server: JwksServer, clock: FrozenClock
) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    jwks_server.keys = [jwk_of(rsa_key, "rsa-1", "RS256"), jwk_of(ed_key, "ed-1", "EdDSA")]
    env = make_environment(runtime, "JwksEnv", external_settings(jwksUrl=jwks_server.url))

    assert sign_in(app_client, env, token(rsa_key, clock, alg="RS256", kid="rsa-1"))[0] == 200
    assert sign_in(app_client, env, token(ed_key, clock, alg="EdDSA", kid="ed-1"))[0] == 200
    assert jwks_server.fetches == 1  # cached

    # A key published under one alg cannot be used with another; a kid that does not match is refused.
    assert_401(app_client, env, token(rsa_key, clock, alg="RS256", kid="ed-1"))
    assert_401(app_client, env, token(ec.generate_private_key(ec.SECP256R1()), clock, kid="rsa-1"))

    # Rotation at the developer's side: an unknown kid triggers one early re-fetch.
    clock.advance(external_auth.JWKS_MIN_REFRESH.total_seconds())
    new_key = ec.generate_private_key(ec.SECP256R1())
    jwks_server.keys = [jwk_of(new_key, "ec-2", "ES256")]
    fetches = jwks_server.fetches
    assert sign_in(app_client, env, token(new_key, clock, kid="ec-2"))[0] == 200
    assert jwks_server.fetches == fetches + 1
    # Junk kids do not make the server fetch again and again.
    for i in range(3):
        assert_401(app_client, env, token(new_key, clock, kid=f"junk-{i}"))
    assert jwks_server.fetches == fetches + 1
    # Keys dropped from the JWKS stop working once the TTL has passed.
    clock.advance(external_auth.JWKS_TTL.total_seconds())
    assert_401(app_client, env, token(rsa_key, clock, alg="RS256", kid="rsa-1"))
    assert jwks_server.fetches >= fetches + 2


def test_unreachable_jwks_is_503(app_client: TestClient, runtime: Runtime, clock: FrozenClock) -> None:
    url = f"http://127.0.0.1:{free_port()}/jwks.json"
    env = make_environment(runtime, "Dead", external_settings(jwksUrl=url))
    status, body = sign_in(app_client, env, token(ec.generate_private_key(ec.SECP256R1()), clock, kid="k"))
    assert (status, body["code"]) == (503, "external_auth_unavailable")


def test_session_mfa_applies_to_external_sign_in(
    app_client: TestClient, runtime: Runtime, es_key: ec.EllipticCurvePrivateKey, clock: FrozenClock
) -> None:
    settings = external_settings(publicKeyPem=pem_of(es_key))
    settings["security"]["mfa"] = {"enabled": True}
    env = make_environment(runtime, "SessionMfa", settings)
    status, body = sign_in(app_client, env, token(es_key, clock))
    assert status == 200 and body["user"]["scope"] == "user:basic"  # no method yet
    with runtime.db.write() as uow:
        repo = MfaRepo(uow.conn)
        repo.add_device(id="d1", user_id=body["user"]["id"], type=MFADeviceType.TOTP, secret_enc=None, now=clock.now())
        repo.mark_verified("d1", step=1, make_default=True, now=clock.now())
    status, body = sign_in(app_client, env, token(es_key, clock))
    assert status == 200 and body["user"]["scope"] == "requiresAdditionalAuth"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"enabled": True, "aud": None, "jwksUrl": "https://x.test/jwks"}, "aud"),
        ({"enabled": True, "iss": ISS, "aud": AUD}, "key"),
        ({"jwksUrl": "ftp://x.test/jwks"}, "jwksUrl"),
        ({"publicKeyPem": "not a pem"}, "publicKeyPem"),
    ],
)
def test_incomplete_external_auth_settings_are_422(
    app_client: TestClient, pem_env: EnvFixture, patch: dict[str, Any], field: str
) -> None:
    env = pem_env
    r = app_client.put(
        f"/api/v0/environments/{env.id}",
        json={"settings": {"security": {"externalAuth": {**{"publicKeyPem": None}, **patch}}}},
        headers={"Authorization": f"Bearer {env.admin_token}"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    assert r.json()["field"] == "settings.security.externalAuth"
    assert field.lower() in r.json()["error"].lower()


# -- jwksUrl: no internal targets, no redirects, bounded body (security review) --------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/x", "link-local"),
        ("http://10.0.0.1/jwks", "private"),
        ("https://10.0.0.1/jwks", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fd00::1]/jwks", "private"),
        ("https://[::ffff:192.168.1.1]/jwks", "private"),
        ("https://167772161/jwks", "private"),  # 10.0.0.1 spelled as one number
        ("http://auth.acme.test/jwks", "https"),
    ],
)
def test_jwks_url_must_not_reach_internal_addresses(
    app_client: TestClient, pem_env: EnvFixture, url: str, why: str
) -> None:
    r = app_client.put(
        f"/api/v0/environments/{pem_env.id}",
        json={"settings": {"security": {"externalAuth": {"publicKeyPem": None, "jwksUrl": url}}}},
        headers={"Authorization": f"Bearer {pem_env.admin_token}"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_request", r.text
    assert r.json()["field"] == "settings.security.externalAuth"
    assert "jwksurl" in r.json()["error"].lower() and why in r.json()["error"].lower()


class _OddServer:
    """A loopback HTTP server answering every GET with ``respond(handler)``; records the paths."""

    def __init__(self, respond: Any) -> None:
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.paths.append(self.path)
                respond(self, owner)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _OddServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _huge(declare_length: bool) -> Any:
    def respond(handler: BaseHTTPRequestHandler, owner: _OddServer) -> None:
        raw = b'{"keys": [], "pad": "' + b"a" * (1024 * 1024) + b'"}'
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        if declare_length:
            handler.send_header("content-length", str(len(raw)))
        handler.end_headers()
        with contextlib.suppress(OSError):  # the client hangs up once it has read enough
            handler.wfile.write(raw)

    return respond


@pytest.mark.parametrize("declare_length", [True, False])
def test_jwks_body_over_the_cap_is_503(
    app_client: TestClient, runtime: Runtime, clock: FrozenClock, declare_length: bool
) -> None:
    with _OddServer(_huge(declare_length)) as server:
        env = make_environment(runtime, "Huge", external_settings(jwksUrl=f"{server.base}/jwks.json"))
        status, body = sign_in(app_client, env, token(ec.generate_private_key(ec.SECP256R1()), clock, kid="k"))
    assert (status, body["code"]) == (503, "external_auth_unavailable")
    assert server.paths == ["/jwks.json"]


def test_jwks_redirects_are_not_followed(app_client: TestClient, runtime: Runtime, clock: FrozenClock) -> None:
    def respond(handler: BaseHTTPRequestHandler, owner: _OddServer) -> None:
        if handler.path == "/jwks.json":
            handler.send_response(302)
            handler.send_header("location", f"{owner.base}/elsewhere")
            handler.send_header("content-length", "0")
            handler.end_headers()
        else:
            raw = json.dumps({"keys": []}).encode()
            handler.send_response(200)
            handler.send_header("content-length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)

    with _OddServer(respond) as server:
        env = make_environment(runtime, "Redirect", external_settings(jwksUrl=f"{server.base}/jwks.json"))
        status, body = sign_in(app_client, env, token(ec.generate_private_key(ec.SECP256R1()), clock, kid="k"))
    assert (status, body["code"]) == (503, "external_auth_unavailable")
    assert server.paths == ["/jwks.json"]


def test_stored_internal_jwks_url_is_not_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """A document stored before the rule existed is refused at fetch time, without any traffic."""
    import httpx

    def no_traffic(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no request may be sent")

    # Below every httpx entry point: whatever the implementation, nothing leaves the process.
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", no_traffic)
    for url in ("http://169.254.169.254/x", "https://10.0.0.1/jwks"):
        with pytest.raises(external_auth.ExternalAuthUnavailableError) as exc:
            external_auth.http_fetch_jwks(url)
        assert exc.value.code == "external_auth_unavailable"


def test_stored_legacy_jwks_url_still_loads_but_is_not_fetched(
    app_client: TestClient, runtime: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment saved before the rule keeps working; its internal JWKS URL is simply refused."""
    import httpx
    from sqlalchemy import update

    from actionmfa.store import tables

    env = make_environment(runtime, "Legacy", external_settings(jwksUrl="https://auth.acme.test/jwks"))
    doc = env.environment.settings.model_dump(mode="json")
    doc["security"]["externalAuth"]["jwksUrl"] = "http://169.254.169.254/latest"
    with runtime.db.write() as uow:
        uow.conn.execute(update(tables.environments).where(tables.environments.c.id == env.id).values(settings=doc))

    def no_traffic(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no request may be sent")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", no_traffic)
    assert app_client.get(env.sdk("/settings")).status_code == 200
    status, body = sign_in(app_client, env, token(ec.generate_private_key(ec.SECP256R1()), clock, kid="k"))
    assert (status, body["code"]) == (503, "external_auth_unavailable")
    r = app_client.put(
        f"/api/v0/environments/{env.id}",
        json={"settings": {"security": {"mfa": {"enabled": True}}}},
        headers={"Authorization": f"Bearer {env.admin_token}"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_request" and "jwksUrl" in r.json()["error"]
