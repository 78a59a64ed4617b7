"""External JWT sign-in: the developer's own auth vouches for the user (DESIGN §3 "User").

``POST …/externalAuth/signin {jwt}``: the token must be signed with an asymmetric algorithm
(:data:`ALLOWED_ALGORITHMS`: RS256, ES256, EdDSA — never ``none`` and never an HMAC, so a public
key can never be abused as a shared secret), by a key from the environment's
``security.externalAuth`` settings (``publicKeyPem``, or the JWKS at ``jwksUrl``), and carry the
configured ``iss`` and ``aud``, a ``sub`` and an ``exp``. ``exp``/``nbf``/``iat`` are checked
against the injected clock with :data:`LEEWAY` of skew. ``sub`` is the user's ``external_id``;
the user is created on first sign-in. Every refusal is 401 ``unauthorized`` (the reason goes to the
log, not the wire); a JWKS URL that cannot be fetched is 503 ``external_auth_unavailable``.

JWKS documents are cached per URL for :data:`JWKS_TTL`; a token naming an unknown ``kid`` triggers
one early re-fetch (key rotation at the developer's side), at most once per
:data:`JWKS_MIN_REFRESH` so that junk tokens cannot turn the server into a request amplifier.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from actionmfa.clock import Clock, to_epoch
from actionmfa.domain.models import RequestMeta
from actionmfa.domain.settings import ExternalAuthSettings, jwks_url_problem
from actionmfa.errors import ExternalAuthUnavailableError, UnauthorizedError
from actionmfa.services.core.environments import EnvironmentService
from actionmfa.services.core.ports import Transactions
from actionmfa.services.core.sessions import IssuedSession
from actionmfa.services.signin import throttle
from actionmfa.services.signin.accounts import Accounts, SignInMethod
from actionmfa.services.signin.ports import SignInUnit

log = logging.getLogger("actionmfa.external_auth")

ALLOWED_ALGORITHMS = ("RS256", "ES256", "EdDSA")
JWKS_TTL = timedelta(minutes=5)
JWKS_MIN_REFRESH = timedelta(seconds=30)
LEEWAY = 30  # seconds of clock skew tolerated on exp / nbf / iat
MAX_JWT_BYTES = 16 * 1024
MAX_JWKS_BYTES = 256 * 1024  # a JWKS of a few dozen keys is a few KiB

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


def _refuse(reason: str) -> UnauthorizedError:
    log.info("external JWT refused: %s", reason)
    return UnauthorizedError("Invalid external auth token")


def _alg_fits(alg: str, key: PublicKey) -> bool:
    if alg == "RS256":
        return isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048
    if alg == "ES256":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    return alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey)


def _key_from_jwk(jwk: dict[str, Any]) -> PublicKey | None:
    loaders: dict[str, Callable[[str], Any]] = {
        "RSA": RSAAlgorithm.from_jwk,
        "EC": ECAlgorithm.from_jwk,
        "OKP": OKPAlgorithm.from_jwk,
    }
    loader = loaders.get(str(jwk.get("kty")))
    if loader is None or "d" in jwk:  # never accept a private key published by mistake
        return None
    try:
        key = loader(json.dumps(jwk))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) else None


def _key_from_pem(pem: str) -> PublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) else None


@dataclass
class _CachedJwks:
    keys: list[dict[str, Any]]
    fetched_at: datetime


class JwksCache:
    """Per-URL JWKS documents with a TTL measured on the injected clock (thread-safe)."""

    def __init__(self, clock: Clock, fetch: Callable[[str], dict[str, Any]]) -> None:
        self.clock = clock
        self._fetch = fetch
        self._docs: dict[str, _CachedJwks] = {}
        self._lock = threading.Lock()

    def keys(self, url: str, *, force: bool = False) -> list[dict[str, Any]]:
        now = self.clock.now()
        with self._lock:
            cached = self._docs.get(url)
        if cached is not None:
            age = now - cached.fetched_at
            if age < JWKS_TTL and not (force and age >= JWKS_MIN_REFRESH):
                return cached.keys
        doc = self._fetch(url)
        keys = doc.get("keys") if isinstance(doc, dict) else None
        if not isinstance(keys, list):
            raise ExternalAuthUnavailableError("External auth JWKS is malformed")
        entry = _CachedJwks([k for k in keys if isinstance(k, dict)], now)
        with self._lock:
            self._docs[url] = entry
        return entry.keys


class _TooLarge(Exception):
    pass


def http_fetch_jwks(url: str, *, timeout: float = 5.0, max_bytes: int = MAX_JWKS_BYTES) -> dict[str, Any]:
    """GET a JWKS document: no redirects (a 3xx is a failure), at most ``max_bytes`` of (decoded)
    body read while streaming. Any failure is 503 ``external_auth_unavailable``. The URL rule of the
    settings is checked again here, for documents stored before it existed."""
    problem = jwks_url_problem(url)
    if problem is not None:
        log.error("refusing to fetch JWKS %s: %s", url, problem)
        raise ExternalAuthUnavailableError()
    try:
        with httpx.stream(
            "GET", url, timeout=timeout, follow_redirects=False, headers={"accept": "application/json"}
        ) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _TooLarge
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise _TooLarge
        doc: dict[str, Any] = json.loads(bytes(body))
        return doc
    except _TooLarge:
        log.error("fetching JWKS %s failed: body larger than %d bytes", url, max_bytes)
        raise ExternalAuthUnavailableError() from None
    except (httpx.HTTPError, ValueError) as exc:
        log.error("fetching JWKS %s failed: %s", url, type(exc).__name__)
        raise ExternalAuthUnavailableError() from None


class ExternalAuthVerifier:
    def __init__(self, clock: Clock, jwks: JwksCache) -> None:
        self.clock = clock
        self.jwks = jwks

    def _candidate_keys(self, cfg: ExternalAuthSettings, alg: str, kid: str | None) -> list[PublicKey]:
        if cfg.publicKeyPem:
            key = _key_from_pem(cfg.publicKeyPem)
            if key is None:
                log.error("externalAuth.publicKeyPem does not parse as a public key")
                return []
            return [key]
        assert cfg.jwksUrl is not None  # noqa: S101 - settings validation requires one source

        def matching(docs: list[dict[str, Any]]) -> list[PublicKey]:
            found: list[PublicKey] = []
            for jwk in docs:
                if kid is not None and jwk.get("kid") != kid:
                    continue
                if jwk.get("alg") not in (None, alg) or jwk.get("use") not in (None, "sig"):
                    continue
                key = _key_from_jwk(jwk)
                if key is not None:
                    found.append(key)
            return found

        keys = matching(self.jwks.keys(cfg.jwksUrl))
        if not keys and kid is not None:
            keys = matching(self.jwks.keys(cfg.jwksUrl, force=True))
        return keys

    def verify(self, cfg: ExternalAuthSettings, token: str) -> dict[str, Any]:
        """The verified claims of ``token``, or :class:`UnauthorizedError`."""
        if not cfg.enabled:
            raise _refuse("externalAuth is disabled for this environment")
        if not cfg.iss or not cfg.aud or not (cfg.publicKeyPem or cfg.jwksUrl):
            raise _refuse("externalAuth is not fully configured (iss, aud and a key are required)")
        if len(token) > MAX_JWT_BYTES:
            raise _refuse("token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refuse("malformed token") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise _refuse(f"algorithm {alg!r} not allowed")
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        claims: dict[str, Any] | None = None
        for key in self._candidate_keys(cfg, alg, kid):
            if not _alg_fits(alg, key):
                continue
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[alg],
                    audience=cfg.aud,
                    issuer=cfg.iss,
                    # Time claims are checked below against the injected clock, not PyJWT's.
                    options={
                        "require": ["exp", "sub", "iss", "aud"],
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                    },
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise _refuse(f"claims rejected: {type(exc).__name__}") from None
        if claims is None:
            raise _refuse("no configured key verifies the signature")
        self._check_times(claims)
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise _refuse("sub must be a non-empty string of at most 255 characters")
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = to_epoch(self.clock.now())
        try:
            exp = int(claims["exp"])
            nbf = int(claims["nbf"]) if "nbf" in claims else None
            iat = int(claims["iat"]) if "iat" in claims else None
        except (TypeError, ValueError):
            raise _refuse("time claims are not numbers") from None
        if now >= exp + LEEWAY:
            raise _refuse("expired")
        if nbf is not None and now + LEEWAY < nbf:
            raise _refuse("not yet valid (nbf)")
        if iat is not None and now + LEEWAY < iat:
            raise _refuse("issued in the future (iat)")


class ExternalSignIn:
    """``POST …/externalAuth/signin {jwt}``: the developer's JWT names the user (its ``sub``)."""

    def __init__(
        self,
        db: Transactions[SignInUnit],
        clock: Clock,
        environments: EnvironmentService,
        accounts: Accounts,
        verifier: ExternalAuthVerifier,
    ) -> None:
        self.db = db
        self.clock = clock
        self.environments = environments
        self.accounts = accounts
        self.verifier = verifier  # one per process: it holds the JWKS cache

    def sign_in(self, environment_id: str, token: str, meta: RequestMeta | None = None) -> IssuedSession:
        """Verify the developer's JWT and open a session for the user its ``sub`` names.

        A refused token counts against the client (``signin_attempts``, never a user's MFA
        counter); a client with too many recent failures gets 429 ``signin_rate_limited``."""
        client = throttle.client_of(meta)
        with self.db.read() as uow:
            env = self.environments.get(uow, environment_id)
            throttle.check_client(uow, env.id, client, self.clock.now())
        # Verification (maybe a JWKS fetch) happens outside any transaction: no lock is held on I/O.
        try:
            claims = self.verifier.verify(env.settings.security.externalAuth, token)
        except UnauthorizedError:
            with self.db.write() as uow:
                throttle.failed(uow, env.id, throttle.AttemptKind.EXTERNAL_FAILED, client, self.clock.now())
            raise
        with self.db.write() as uow:
            env = self.environments.get(uow, environment_id)
            user, created = self.accounts.find_or_create_user(uow, env, external_id=str(claims["sub"]))
            return self.accounts.open_session(
                uow, env, user, method=SignInMethod.EXTERNAL, created=created,
                client_address=meta.client_address if meta else None,
            )
