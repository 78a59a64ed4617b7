"""The server's Paillier key, proven well formed, and its encrypted key share, proven correct.

What the server (P1) sends with every new Paillier key — at key generation, refresh, reshare and
a delegate pair set-up — and what the client (P2) checks **before anything leaves it**:

* N's size (2048 … 4096 bits, a floor the SDK cannot lower), N not prime, no factor below 2^16
  (trial division, defence in depth), and for a refresh or a reshare N′ ≠ N;
* Πmod (CGGMP21 Fig. 16): N is Paillier–Blum;
* the server's ring-Pedersen parameters ``(N, s, t)`` and Πprm (Fig. 17) — the client's signing
  proof (Πaff-g) is made against them;
* Πfac (Fig. 28) against the **client's** ring-Pedersen parameters: N has no factor below 2^256;
* ``ckey = Enc_N(x1)`` and Πlog* (Fig. 25) against the client's parameters: ckey encrypts the
  discrete logarithm of ``Q1`` (or ``Q1′``) and ``|x1| ≤ 2^768``.

Πmod and Πprm are statements about the key alone: they are made once, in the key pool, on a
transcript bound to the server's role and the key's own id (kind ``paillier-key``, key version 0).
Πfac and Πlog* are made in the ceremony, on its transcript (role, wallet id, ceremony id, key
version), and hash N, s and t — so the ceremony binds the key proofs it relies on.

The client's ring-Pedersen parameters come with their own Πprm (:class:`ClientRing`), bound to the
client's role and to the parameters' digest; a server may cache the parameters it has checked.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import gmpy2
from gmpy2 import mpz

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.curve import Point, base_mul
from actionmfa.wallet.paillier import (
    DEFAULT_MODULUS_BITS,
    PaillierPublicKey,
    PaillierSecretKey,
    generate_paillier_key,
    release_gil,
)
from actionmfa.wallet.transcript import Role, Transcript, frame, session_id
from actionmfa.wallet.zk.pifac import FacProof
from actionmfa.wallet.zk.pilog import LogProof
from actionmfa.wallet.zk.pimod import ModProof
from actionmfa.wallet.zk.ring import PrmProof, RingParams, RingSecret, generate_client_ring, ring_from_paillier
from actionmfa.wallet.zk.sizes import MIN_MODULUS_BITS, check_modulus

__all__ = [
    "CarriesProvenKey",
    "ClientRing",
    "EncryptedShare",
    "KeyProof",
    "PreparedPaillier",
    "ProvenKey",
    "VerifiedRings",
    "encrypt_share",
    "prove_key",
    "verify_key",
    "verify_key_without_ring",
]

_MOD_TAG = b"pimod/v2"
_PRM_TAG = b"piprm/v2"
_FAC_TAG = b"pifac/v2"
_LOG_TAG = b"pilog/v2"


def _key_transcript(tag: bytes, key_id: str) -> Transcript:
    return Transcript(tag, session_id("paillier-key", wallet_id="", ceremony_id=key_id, key_version=0), Role.SERVER)


def _ring_transcript(params: RingParams) -> Transcript:
    digest = hashlib.sha256(frame(*params.statement())).hexdigest()
    return Transcript(_PRM_TAG, session_id("ring-pedersen", wallet_id="", ceremony_id=digest, key_version=0),
                      Role.CLIENT)


# --- the server's pooled key ---------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedPaillier:
    """A Paillier key with its ring-Pedersen parameters, Πmod and Πprm (made in the key pool)."""

    key: PaillierSecretKey
    ring: RingSecret
    key_id: str
    mod_proof: ModProof
    prm_proof: PrmProof

    @classmethod
    def from_key(cls, key: PaillierSecretKey, *, key_id: str | None = None,
                 ring: RingSecret | None = None) -> PreparedPaillier:
        key_id = key_id or secrets.token_hex(16)
        ring = ring or ring_from_paillier(key)
        return cls(key, ring, key_id, ModProof.prove(key, _key_transcript(_MOD_TAG, key_id)),
                   PrmProof.prove(ring, _key_transcript(_PRM_TAG, key_id)))

    @classmethod
    def generate(cls, bits: int = DEFAULT_MODULUS_BITS, *, safe_primes: bool = True) -> PreparedPaillier:
        return cls.from_key(generate_paillier_key(bits, safe_primes=safe_primes))

    def to_json(self) -> dict[str, Any]:
        return {"paillier": self.key.to_json(), "ring": self.ring.to_json(), "keyId": self.key_id,
                "modProof": self.mod_proof.to_json(), "prmProof": self.prm_proof.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreparedPaillier:
        return cls(PaillierSecretKey.from_json(data["paillier"]), RingSecret.from_json(data["ring"]),
                   str(data["keyId"]), ModProof.from_json(data["modProof"]), PrmProof.from_json(data["prmProof"]))


# --- the client's ring-Pedersen parameters ---------------------------------------------------------


@dataclass(frozen=True)
class ClientRing:
    """The client's ring-Pedersen parameters with their Πprm (sent in round 2 of every ceremony)."""

    params: RingParams
    proof: PrmProof

    @classmethod
    def create(cls, secret: RingSecret | None = None) -> tuple[ClientRing, RingSecret]:
        secret = secret or generate_client_ring()
        return cls(secret.public, PrmProof.prove(secret, _ring_transcript(secret.public))), secret

    def digest(self) -> bytes:
        return hashlib.sha256(frame(*self.params.statement())).digest()

    def verify(self) -> None:
        self.proof.verify(self.params, _ring_transcript(self.params))

    def to_json(self) -> dict[str, Any]:
        return {"params": self.params.to_json(), "prmProof": self.proof.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> ClientRing:
        if not isinstance(data, dict):
            raise WalletProofInvalidError("Malformed ring-Pedersen parameters")
        return cls(RingParams.from_json(data.get("params")), PrmProof.from_json(data.get("prmProof")))


class VerifiedRings:
    """The digests of client parameters whose Πprm this server already checked (bounded LRU): one
    SDK process reuses its parameters, so their 128-round proof is verified once."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, ring: ClientRing) -> None:
        digest = ring.digest()
        with self._lock:
            if digest in self._seen:
                self._seen.move_to_end(digest)
                return
        ring.verify()
        with self._lock:
            self._seen[digest] = None
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)


# --- what the server sends with a new key -------------------------------------------------------


@dataclass(frozen=True)
class KeyProof:
    """N, the server's ring parameters, Πmod, Πprm (key-bound) and Πfac (ceremony-bound)."""

    n: int
    ring: RingParams
    key_id: str
    mod_proof: ModProof
    prm_proof: PrmProof
    fac_proof: FacProof

    def to_json(self) -> dict[str, Any]:
        return {"N": int_to_b64(self.n), "s": int_to_b64(self.ring.s), "t": int_to_b64(self.ring.t),
                "keyId": self.key_id, "modProof": self.mod_proof.to_json(), "prmProof": self.prm_proof.to_json(),
                "facProof": self.fac_proof.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> KeyProof:
        try:
            n = b64_to_int(data["N"])
            ring = RingParams(n, b64_to_int(data["s"]), b64_to_int(data["t"]))
            key_id = data["keyId"]
            if not isinstance(key_id, str) or not 0 < len(key_id) <= 64:
                raise TypeError("bad key id")
            return cls(n, ring, key_id, ModProof.from_json(data["modProof"]), PrmProof.from_json(data["prmProof"]),
                       FacProof.from_json(data["facProof"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed Paillier key proof") from exc


@dataclass(frozen=True)
class EncryptedShare:
    """``ckey = Enc_N(x1)`` and its Πlog* (ceremony-bound)."""

    ckey: int
    proof: LogProof

    def to_json(self) -> dict[str, Any]:
        return {"ckey": int_to_b64(self.ckey), "proof": self.proof.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> EncryptedShare:
        try:
            return cls(b64_to_int(data["ckey"]), LogProof.from_json(data["proof"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletProofInvalidError("Malformed encrypted key share") from exc


class CarriesProvenKey:
    """Mixin of the messages that carry a proven Paillier key and the share encrypted under it
    (keygen, refresh, reshare, the delegate pair set-up): their N and ckey."""

    key_proof: KeyProof
    encrypted_share: EncryptedShare

    @property
    def paillier_n(self) -> int:
        return self.key_proof.n

    @property
    def ckey(self) -> int:
        return self.encrypted_share.ckey


@dataclass(frozen=True)
class ProvenKey:
    """What the client keeps after :func:`verify_key`."""

    paillier: PaillierPublicKey
    ring: RingParams
    ckey: int


def _fac_transcript(sid: bytes) -> Transcript:
    return Transcript(_FAC_TAG, sid, Role.SERVER)


def _log_transcript(sid: bytes) -> Transcript:
    return Transcript(_LOG_TAG, sid, Role.SERVER)


def encrypt_share(prepared: PreparedPaillier, client_ring: RingParams, sid: bytes, x1: int,
                  q1: Point | None = None) -> EncryptedShare:
    """``ckey = Enc_N(x1; ρ)`` with Πlog* that it encrypts log_G(Q1), in range."""
    pk = prepared.key.public
    rho = int(pk.random_unit())
    ckey = int((1 + mpz(x1) * pk.n) * gmpy2.powmod(mpz(rho), pk.n, mpz(pk.n_squared)) % pk.n_squared)
    q1 = q1 if q1 is not None else base_mul(x1)
    proof = LogProof.prove(pk, client_ring, _log_transcript(sid), c=ckey, x_point=q1, g=base_mul(1), x=x1, rho=rho)
    return EncryptedShare(ckey, proof)


def prove_key(prepared: PreparedPaillier, client_ring: RingParams, sid: bytes) -> KeyProof:
    """The key proof for one ceremony (Πfac is the only part computed here)."""
    fac = FacProof.prove(prepared.key, client_ring, _fac_transcript(sid))
    return KeyProof(prepared.key.n, prepared.ring.public, prepared.key_id, prepared.mod_proof,
                    prepared.prm_proof, fac)


class _KeyOnlyProofs:
    """Memo of the key-bound checks (Πmod, Πprm) that passed, by the digest of N, s, t, the key id
    and both proofs: a pure function's memo (failures are never stored). A process that meets the
    same pooled key twice — tests, a benchmark — verifies its 128-round proofs once."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._passed: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key_id: str, n: int, ring: RingParams, mod_proof: ModProof, prm_proof: PrmProof) -> None:
        if ring.n != n:  # before the memo: a hit must not vouch for another N (Πmod is about n)
            raise WalletProofInvalidError("Ring-Pedersen parameters must use the Paillier modulus")
        digest = hashlib.sha256(json.dumps([key_id, str(n), ring.to_json(), mod_proof.to_json(),
                                            prm_proof.to_json()], sort_keys=True).encode()).digest()
        with self._lock:
            if digest in self._passed:
                return

        def mod() -> None:
            release_gil()  # the two 128-round checks run on two cores
            mod_proof.verify(n, _key_transcript(_MOD_TAG, key_id))

        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(mod)
            release_gil()
            prm_proof.verify(ring, _key_transcript(_PRM_TAG, key_id))
            pending.result()
        with self._lock:
            self._passed[digest] = None
            while len(self._passed) > self.size:
                self._passed.popitem(last=False)


_KEY_ONLY = _KeyOnlyProofs()


def verify_key(proof: KeyProof, share: EncryptedShare, client_ring: RingParams, sid: bytes, q1: Point, *,
               min_modulus_bits: int = MIN_MODULUS_BITS, previous_n: int | None = None) -> ProvenKey:
    """Every check of the module docstring, cheapest first; raises :class:`WalletProofInvalidError`."""
    check_modulus(proof.n, min_bits=min_modulus_bits)
    if previous_n is not None and proof.n == previous_n:
        raise WalletProofInvalidError("A new Paillier key is required (N' = N)")
    if proof.ring.n != proof.n:
        raise WalletProofInvalidError("Ring-Pedersen parameters must use the Paillier modulus")
    pk = PaillierPublicKey(proof.n)
    if not pk.is_ciphertext(share.ckey):
        raise WalletProofInvalidError("Encrypted key share is not a valid ciphertext")
    share.proof.verify(pk, client_ring, _log_transcript(sid), c=share.ckey, x_point=q1, g=base_mul(1))
    proof.fac_proof.verify(proof.n, client_ring, _fac_transcript(sid))
    _KEY_ONLY.check(proof.key_id, proof.n, proof.ring, proof.mod_proof, proof.prm_proof)
    return ProvenKey(pk, proof.ring, share.ckey)


def verify_key_without_ring(key_id: str, n: int, ring: RingParams, mod_proof: ModProof, prm_proof: PrmProof,
                            ckey: int, *, min_modulus_bits: int = MIN_MODULUS_BITS) -> None:
    """The key-only checks (size, trial division, Πmod, Πprm, ckey a unit) for a verifier that has
    no ring-Pedersen parameters of its own (the delegate of a pair set-up): no Πfac, no Πlog*."""
    check_modulus(n, min_bits=min_modulus_bits)
    if not PaillierPublicKey(n).is_ciphertext(ckey):
        raise WalletProofInvalidError("Encrypted key share is not a valid ciphertext")
    _KEY_ONLY.check(key_id, n, ring, mod_proof, prm_proof)
