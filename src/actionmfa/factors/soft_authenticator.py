"""A software WebAuthn authenticator (for tests and headless agents).

It implements the authenticator side of WebAuthn L3 for the ``public-key`` type, producing the
exact bytes a browser hands to a relying party:

* ``create(options)`` → ``RegistrationResponseJSON``: a P-256 (ES256, COSE -7) or Ed25519 (EdDSA,
  COSE -8) key pair, ``authenticatorData`` (§6.1: rpIdHash, flags UP/UV/AT/BE/BS, signCount,
  attested credential data with the COSE public key) inside a CBOR ``attestationObject`` of
  format ``none`` (§8.7), and the ``clientDataJSON`` a client would build (§5.8.1);
* ``get(options)`` → ``AuthenticationResponseJSON``: the signature over
  ``authenticatorData || SHA-256(clientDataJSON)`` (§6.3.3) with an incremented counter.

Keys can be persisted to a file sealed with a passphrase (scrypt, N=2^15 r=8 p=1 → AES-256-GCM).

**Weaker than a device-bound passkey.** The private keys live in a file, so anyone with the file
and the passphrase holds the factor; there is no secure element, user verification is asserted
by this code (the UV flag means "the process holding the passphrase"), and the origin in
``clientDataJSON`` is whatever the caller says — a browser enforces that, this class cannot.
Use it for tests and for agents whose whole security already rests on their host.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from actionmfa.crypto import b64u, b64u_decode

__all__ = ["EDDSA", "ES256", "SOFT_AAGUID", "SoftAuthenticator", "SoftAuthenticatorError", "SoftCredential"]

ES256 = -7
EDDSA = -8
SUPPORTED = (ES256, EDDSA)

# The AAGUID this authenticator reports (random, fixed: identifies "ActionMFA software authenticator").
SOFT_AAGUID = bytes.fromhex("6f1e0c2a9d2b4c7e8a31b5d40e7c9a11")

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40

_FILE_FORMAT = "actionmfa-soft-authenticator/1"
_AAD = _FILE_FORMAT.encode()
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class SoftAuthenticatorError(Exception):
    """The authenticator refused (like a browser's ``InvalidStateError``/``NotAllowedError``)."""


PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass
class SoftCredential:
    credential_id: bytes
    rp_id: str
    user_handle: bytes
    algorithm: int
    private_key: PrivateKey
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        """COSE_Key (RFC 9053 §7.1 EC2 / §7.2 OKP) of the public key."""
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            nums = self.private_key.public_key().public_numbers()
            return cbor2.dumps(
                {1: 2, 3: ES256, -1: 1, -2: nums.x.to_bytes(32, "big"), -3: nums.y.to_bytes(32, "big")}
            )
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cbor2.dumps({1: 1, 3: EDDSA, -1: 6, -2: raw})

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self.private_key.sign(data)

    def pkcs8(self) -> bytes:
        """DER PKCS#8 private key (what Chromium's ``WebAuthn.addCredential`` takes)."""
        return self.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": b64u(self.credential_id),
            "rpId": self.rp_id,
            "userHandle": b64u(self.user_handle),
            "alg": self.algorithm,
            "privateKey": b64u(self.pkcs8()),
            "signCount": self.sign_count,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SoftCredential:
        key = serialization.load_der_private_key(b64u_decode(data["privateKey"]), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise SoftAuthenticatorError("unsupported key type in authenticator file")
        return cls(
            credential_id=b64u_decode(data["id"]),
            rp_id=str(data["rpId"]),
            user_handle=b64u_decode(data["userHandle"]),
            algorithm=int(data["alg"]),
            private_key=key,
            sign_count=int(data["signCount"]),
        )


class SoftAuthenticator:
    """A software authenticator holding credentials in memory (optionally in a sealed file).

    ``use_counter=False`` behaves like synced passkeys that always report a zero counter.
    ``backup_eligible`` / ``backed_up`` set the BE/BS flags.
    """

    def __init__(
        self,
        *,
        use_counter: bool = True,
        backup_eligible: bool = False,
        backed_up: bool = False,
        aaguid: bytes = SOFT_AAGUID,
    ) -> None:
        if backed_up and not backup_eligible:
            raise ValueError("BS without BE is invalid (WebAuthn L3 §6.1.3)")
        self.use_counter = use_counter
        self.backup_eligible = backup_eligible
        self.backed_up = backed_up
        self.aaguid = aaguid
        self.credentials: dict[bytes, SoftCredential] = {}

    # -- ceremonies -----------------------------------------------------------------------------

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        algorithm: int | None = None,
        user_verified: bool = True,
        rp_id: str | None = None,
        client_data_key: str = "clientDataJSON",
    ) -> dict[str, Any]:
        """Answer ``navigator.credentials.create`` options with a ``RegistrationResponseJSON``.

        ``rp_id`` overrides the relying party id put in ``rpIdHash`` (to test a wrong rp id).
        """
        rp = options.get("rp") or {}
        effective_rp = rp_id or rp.get("id")
        if not effective_rp:
            raise SoftAuthenticatorError("options carry no rp.id")
        offered = [
            int(p["alg"]) for p in options.get("pubKeyCredParams", []) if p.get("type") == "public-key"
        ]
        alg = algorithm if algorithm is not None else next((a for a in offered if a in SUPPORTED), None)
        if alg is None or alg not in SUPPORTED or (offered and alg not in offered):
            raise SoftAuthenticatorError("no supported algorithm offered")
        for excluded in options.get("excludeCredentials") or []:
            if b64u_decode(excluded["id"]) in self.credentials:
                raise SoftAuthenticatorError(
                    "InvalidStateError: a credential of this authenticator is excluded"
                )
        key: PrivateKey = (
            ec.generate_private_key(ec.SECP256R1()) if alg == ES256 else ed25519.Ed25519PrivateKey.generate()
        )
        cred = SoftCredential(
            credential_id=secrets.token_bytes(32),
            rp_id=str(rp.get("id")),
            user_handle=b64u_decode(options["user"]["id"]),
            algorithm=alg,
            private_key=key,
        )
        attested = self.aaguid + struct.pack(">H", len(cred.credential_id)) + cred.credential_id
        auth_data = self._auth_data(effective_rp, FLAG_AT, cred.sign_count, user_verified) + attested
        auth_data += cred.cose_public_key()
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation_object = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials[cred.credential_id] = cred
        return {
            "id": b64u(cred.credential_id),
            "rawId": b64u(cred.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {"credProps": {"rk": True}},
            "response": {
                client_data_key: b64u(client_data),
                "attestationObject": b64u(attestation_object),
                "authenticatorData": b64u(auth_data),
                "transports": ["internal"],
                "publicKeyAlgorithm": alg,
            },
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        credential_id: bytes | None = None,
        user_verified: bool = True,
        rp_id: str | None = None,
    ) -> dict[str, Any]:
        """Answer ``navigator.credentials.get`` options with an ``AuthenticationResponseJSON``.

        Picks ``credential_id`` if given (even one the options do not allow: to test refusals),
        else the first allowed credential this authenticator holds for the rp id.
        """
        effective_rp = rp_id or options.get("rpId")
        if credential_id is not None:
            cred = self.credentials.get(credential_id)
        else:
            allowed = [b64u_decode(c["id"]) for c in options.get("allowCredentials") or []]
            candidates = [
                c
                for c in self.credentials.values()
                if (c.credential_id in allowed if allowed else c.rp_id == options.get("rpId"))
            ]
            cred = candidates[0] if candidates else None
        if cred is None or not effective_rp:
            raise SoftAuthenticatorError("NotAllowedError: no matching credential")
        if self.use_counter:
            cred.sign_count += 1
        auth_data = self._auth_data(effective_rp, 0, cred.sign_count, user_verified)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = cred.sign(auth_data + hashlib.sha256(client_data).digest())
        return {
            "id": b64u(cred.credential_id),
            "rawId": b64u(cred.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64u(client_data),
                "authenticatorData": b64u(auth_data),
                "signature": b64u(signature),
                "userHandle": b64u(cred.user_handle),
            },
        }

    def _auth_data(self, rp_id: str, extra_flags: int, sign_count: int, user_verified: bool) -> bytes:
        flags = FLAG_UP | extra_flags
        if user_verified:
            flags |= FLAG_UV
        if self.backup_eligible:
            flags |= FLAG_BE
        if self.backed_up:
            flags |= FLAG_BS
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        # Key order as browsers emit it (§5.8.1.1's limited verification algorithm relies on it).
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()

    # -- persistence ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "aaguid": self.aaguid.hex(),
            "useCounter": self.use_counter,
            "backupEligible": self.backup_eligible,
            "backedUp": self.backed_up,
            "credentials": [c.to_json() for c in self.credentials.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SoftAuthenticator:
        auth = cls(
            use_counter=bool(data.get("useCounter", True)),
            backup_eligible=bool(data.get("backupEligible", False)),
            backed_up=bool(data.get("backedUp", False)),
            aaguid=bytes.fromhex(data.get("aaguid", SOFT_AAGUID.hex())),
        )
        for item in data.get("credentials", []):
            cred = SoftCredential.from_json(item)
            auth.credentials[cred.credential_id] = cred
        return auth

    def save(self, path: str | os.PathLike[str], passphrase: str) -> None:
        """Seal the keys with ``passphrase`` (scrypt → AES-256-GCM) and write atomically, mode 0600."""
        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        key = _derive(passphrase, salt, **_SCRYPT)
        sealed = AESGCM(key).encrypt(nonce, json.dumps(self.to_json()).encode(), _AAD)
        doc = {
            "format": _FILE_FORMAT,
            "kdf": {"name": "scrypt", "salt": b64u(salt), **_SCRYPT},
            "nonce": b64u(nonce),
            "ciphertext": b64u(sealed),
        }
        target = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=".soft-authenticator.", dir=target.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(doc, fh)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str], passphrase: str) -> SoftAuthenticator:
        try:
            doc = json.loads(Path(path).read_text())
            kdf = doc["kdf"]
            if doc.get("format") != _FILE_FORMAT or kdf.get("name") != "scrypt":
                raise SoftAuthenticatorError("not an ActionMFA software authenticator file")
            key = _derive(
                passphrase, b64u_decode(kdf["salt"]), n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"])
            )
            plain = AESGCM(key).decrypt(b64u_decode(doc["nonce"]), b64u_decode(doc["ciphertext"]), _AAD)
        except SoftAuthenticatorError:
            raise
        except Exception as exc:  # wrong passphrase (InvalidTag), truncated or foreign file
            raise SoftAuthenticatorError("cannot open authenticator file (wrong passphrase?)") from exc
        return cls.from_json(json.loads(plain))


def _derive(passphrase: str, salt: bytes, *, n: int, r: int, p: int) -> bytes:
    if n < 2**14 or n > 2**20:
        raise SoftAuthenticatorError("scrypt cost outside the accepted range")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
