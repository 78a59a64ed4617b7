"""Per-environment signing keys (ES256): the session key and the elevated-token key.

Private keys are sealed with the Keyring; parsed keys are cached by ``kid`` (a kid's key never
changes). Rotation retires the active key and adds a new one; retired keys keep verifying tokens
until the longest lifetime a token could have has passed.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from actionmfa.crypto import Keyring
from actionmfa.services.core.ports import CoreUnit

# Sessions never live longer than this (settings cap jwtDuration at 90 days); a retired key stays
# in the published JWKS that long so that every token it signed can still be verified by others.
MAX_TOKEN_LIFETIME = timedelta(days=90)


class KeyPurpose(StrEnum):
    SESSION = "session"
    ELEVATED = "elevated"


def signing_key_aad(kid: str) -> str:
    return f"signing-key:{kid}"


class SigningKeys:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}
        self._public: dict[str, tuple[str, str, ec.EllipticCurvePublicKey]] = {}
        # (environment, purpose) → (environment version, active kid, key)
        self._active: dict[tuple[str, str], tuple[int, str, ec.EllipticCurvePrivateKey]] = {}
        self._lock = threading.Lock()

    def create(self, uow: CoreUnit, environment_id: str, purpose: KeyPurpose, now: datetime) -> str:
        key = ec.generate_private_key(ec.SECP256R1())
        kid = f"{purpose.value[:3]}-{uuid.uuid4().hex[:16]}"
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": kid, "alg": "ES256", "use": "sig"})
        uow.signing_keys.retire_active(environment_id, purpose.value, now)
        uow.signing_keys.add(
            kid=kid,
            environment_id=environment_id,
            purpose=purpose.value,
            private_key=self.keyring.encrypt(pem, aad=signing_key_aad(kid)),
            public_jwk=jwk,
            now=now,
        )
        return kid

    def signing_key(
        self, uow: CoreUnit, environment_id: str, purpose: KeyPurpose, now: datetime, *, version: int | None = None
    ) -> tuple[str, ec.EllipticCurvePrivateKey]:
        """The environment's active key for ``purpose``, created on first use.

        With the environment's ``version`` as this request read it, the active kid is taken from
        this process's cache while the version is unchanged — rotation bumps the version in its
        transaction, so every worker looks the active key up again after it (issue 15: no
        signing-key query per token minted)."""
        if version is not None:
            active = self._active.get((environment_id, purpose.value))
            if active is not None and active[0] == version:
                return active[1], active[2]
        row = uow.signing_keys.active(environment_id, purpose.value)
        created = row is None
        if row is None:
            kid = self.create(uow, environment_id, purpose, now)
            row = uow.signing_keys.active(environment_id, purpose.value)
            assert row is not None and row.kid == kid  # noqa: S101
        cached = self._private.get(row.kid)
        if cached is None:
            pem = self.keyring.decrypt(row.private_key, aad=signing_key_aad(row.kid))
            loaded = serialization.load_pem_private_key(pem, password=None)
            assert isinstance(loaded, ec.EllipticCurvePrivateKey)  # noqa: S101
            with self._lock:
                self._private[row.kid] = cached = loaded
        if version is not None and not created:  # a key created now bumped the version: not cached under it
            with self._lock:
                self._active[(environment_id, purpose.value)] = (version, row.kid, cached)
        return row.kid, cached

    def verification_key(
        self, uow: CoreUnit, kid: str, environment_id: str, purpose: KeyPurpose
    ) -> ec.EllipticCurvePublicKey | None:
        """The public key for ``kid`` if it belongs to this environment and purpose."""
        if kid not in self._public:
            row = uow.signing_keys.get(kid)
            if row is None:
                return None
            key = ECAlgorithm.from_jwk(json.dumps(row.public_jwk))
            assert isinstance(key, ec.EllipticCurvePublicKey)  # noqa: S101
            with self._lock:
                self._public[kid] = (row.environment_id, row.purpose, key)
        return self.cached_verification_key(kid, environment_id, purpose)

    def has_verification_key(self, kid: str) -> bool:
        """Whether :meth:`verification_key` can answer for ``kid`` without the database."""
        return kid in self._public

    def cached_verification_key(
        self, kid: str, environment_id: str, purpose: KeyPurpose
    ) -> ec.EllipticCurvePublicKey | None:
        """:meth:`verification_key` from this process's cache only (None if not cached)."""
        cached = self._public.get(kid)
        if cached is None or cached[0] != environment_id or cached[1] != purpose.value:
            return None
        return cached[2]

    def jwks(self, uow: CoreUnit, environment_id: str, now: datetime) -> dict[str, Any]:
        rows = uow.signing_keys.verifiable(environment_id, KeyPurpose.SESSION.value, now - MAX_TOKEN_LIFETIME)
        return {"keys": [r.public_jwk for r in rows]}

    def rotate(self, uow: CoreUnit, environment_id: str, purpose: KeyPurpose, now: datetime) -> str:
        return self.create(uow, environment_id, purpose, now)
