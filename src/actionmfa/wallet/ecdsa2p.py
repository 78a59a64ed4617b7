"""Two-party ECDSA on secp256k1 after Lindell'17 (ePrint 2017/552), additive-share variant.

The **server** is party P1: it holds the share ``x1`` and the Paillier secret key, completes every
signature and verifies it. The **client** (SDK) is party P2: it holds ``x2`` and ``ckey = Enc(x1)``.
The key is ``x = x1 + x2 (mod q)``; it never exists anywhere during key generation or signing.

The library stores nothing (``begin() -> (message, state)``, ``finish(state, message)``): the caller
persists each state between HTTP rounds. Every message and state has ``to_json``/``from_json``
(hex for scalars and points, base64url for Paillier-sized integers).

Key generation (3 messages)::

    P1 → P2  KeygenCommit   com(Q1 ‖ π1)                       π = Schnorr PoK bound to sid and role
    P2 → P1  KeygenShare    Q2, π2, the client's ring-Pedersen parameters with Πprm
    P1 → P2  KeygenOpen     Q1, π1, opening, key proof (N, s, t, Πmod, Πprm, Πfac),
                            ckey = Enc(x1) with Πlog*        (:mod:`actionmfa.wallet.keyproofs`)

Signing (4 messages; the fourth carries Πaff-g, checked before anything is decrypted)::

    P1 → P2  SignCommit     com(R1 ‖ πk1)
    P2 → P1  SignNonce      R2, πk2
    P1 → P2  SignReveal     R1, πk1, opening                  both: R = k1·k2·G, r = R.x mod q
    P2 → P1  SignPartial    c = Enc(ρq + k2⁻¹(m + r·x2)) ⊕ (k2⁻¹·r) ⊙ ckey, Πaff-g(c)
    P1       check Πaff-g; s = k1⁻¹·Dec(c) mod q, low-s, verify — or raise WalletSignatureInvalidError

Security: docs/wallet-security.md says exactly what is proven, by which proof, against whom.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import gmpy2
from coincurve import PublicKey

from actionmfa.errors import WalletProofInvalidError, WalletSignatureInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.curve import (
    HALF_ORDER,
    ORDER,
    Point,
    add_points,
    base_mul,
    point_mul,
    point_to_hex,
    point_x,
    point_y,
    random_scalar,
)
from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier, encrypt_share, prove_key, verify_key
from actionmfa.wallet.messages import (
    KeygenCommit,
    KeygenOpen,
    KeygenShare,
    ShareProofMessage,
    Signature,
    SignCommit,
    SignNonce,
    SignPartial,
    SignReveal,
)
from actionmfa.wallet.messages import bigint_field as _bigint
from actionmfa.wallet.messages import hex32_field as _hex32
from actionmfa.wallet.messages import point_field as _point
from actionmfa.wallet.messages import proof_field as _proof
from actionmfa.wallet.messages import str_field as _str
from actionmfa.wallet.paillier import PaillierPublicKey, PaillierSecretKey
from actionmfa.wallet.proofs import SchnorrProof, commit, verify_opening
from actionmfa.wallet.transcript import Role, Transcript, session_id
from actionmfa.wallet.zk.piaffg import AffgMask, AffgProof
from actionmfa.wallet.zk.ring import RingParams, RingSecret
from actionmfa.wallet.zk.sizes import MIN_MODULUS_BITS, RHO_BITS

__all__ = [
    "ClientKeyShare",
    "ClientKeygenState",
    "ClientSignState",
    "KeygenCommit",
    "KeygenOpen",
    "KeygenShare",
    "PreparedPaillier",
    "ServerKeyShare",
    "ServerKeygenState",
    "ServerSignState",
    "SignCommit",
    "SignNonce",
    "SignPartial",
    "SignPrecompute",
    "SignReveal",
    "Signature",
    "client_keygen_abandon",
    "client_keygen_finish",
    "client_keygen_respond",
    "client_sign_finish",
    "client_sign_respond",
    "keygen_abandon_session_id",
    "keygen_session_id",
    "server_keygen_abandon",
    "server_keygen_begin",
    "server_keygen_finish",
    "server_sign_begin",
    "server_sign_complete",
    "server_sign_reveal",
    "sign_precompute",
    "sign_session_id",
    "verify_signature",
]

def keygen_session_id(ceremony_id: str, environment_id: str, user_id: str, *, wallet_id: str) -> bytes:
    """The context of a key-generation ceremony (the wallet id is assigned when it opens)."""
    return session_id("keygen", wallet_id=wallet_id, ceremony_id=ceremony_id, key_version=1,
                      extra=(environment_id.encode(), user_id.encode()))


def sign_session_id(wallet_id: str, ceremony_id: str, digest: bytes, *, key_version: int) -> bytes:
    """The context of a signing ceremony; binds every proof to the digest and the key version."""
    return session_id("sign", wallet_id=wallet_id, ceremony_id=ceremony_id, key_version=key_version,
                      extra=(digest,))


# --- key shares --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerKeyShare:
    """P1's long-term state: ``x1`` and the Paillier secret key (encrypt at rest), public parts."""

    x1: int
    paillier: PaillierSecretKey
    public_key: Point  # Q = x·G
    ring: RingSecret | None = None  # ring-Pedersen parameters on N (None: a share from before issue 9)
    ckey: int | None = None  # the ckey the client holds (the statement of its signing proof)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "x1": format(self.x1, "064x"),
            "paillier": self.paillier.to_json(),
            "Q": point_to_hex(self.public_key),
        }
        if self.ring is not None:
            out["ring"] = self.ring.to_json()
        if self.ckey is not None:
            out["ckey"] = int_to_b64(self.ckey)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerKeyShare:
        ring = RingSecret.from_json(data["ring"]) if "ring" in data else None
        ckey = b64_to_int(data["ckey"]) if "ckey" in data else None
        return cls(int(_str(data, "x1"), 16), PaillierSecretKey.from_json(data["paillier"]), _point(data, "Q"), ring,
                   ckey)


@dataclass(frozen=True)
class ClientKeyShare:
    """P2's long-term state: ``x2`` (secret), ``ckey = Enc(x1)`` under the server's ``N``, and Q."""

    x2: int
    public_key: Point
    server_public_share: Point
    paillier: PaillierPublicKey
    ckey: int
    ring: RingParams | None = None  # the server's proven (N, s, t); None: a share from before issue 9

    def to_json(self) -> dict[str, Any]:
        out = {
            "x2": format(self.x2, "064x"),
            "Q": point_to_hex(self.public_key),
            "Q1": point_to_hex(self.server_public_share),
            "N": int_to_b64(self.paillier.n),
            "ckey": int_to_b64(self.ckey),
        }
        if self.ring is not None:
            out["ringS"], out["ringT"] = int_to_b64(self.ring.s), int_to_b64(self.ring.t)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientKeyShare:
        n = _bigint(data, "N")
        ring = RingParams(n, b64_to_int(data["ringS"]), b64_to_int(data["ringT"])) if "ringS" in data else None
        return cls(
            int(_str(data, "x2"), 16),
            _point(data, "Q"),
            _point(data, "Q1"),
            PaillierPublicKey(n),
            _bigint(data, "ckey"),
            ring,
        )


# --- key generation states and steps ------------------------------------------------------------------


@dataclass(frozen=True)
class ServerKeygenState:
    sid: bytes
    x1: int
    proof: SchnorrProof
    nonce: bytes
    prepared: PreparedPaillier

    def to_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid.hex(),
            "x1": format(self.x1, "064x"),
            "proof": self.proof.to_json(),
            "nonce": self.nonce.hex(),
            "prepared": self.prepared.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerKeygenState:
        prepared = PreparedPaillier.from_json(data["prepared"])
        return cls(_hex32(data, "sid"), int(_str(data, "x1"), 16), _proof(data, "proof"),
                   _hex32(data, "nonce"), prepared)


@dataclass(frozen=True)
class ClientKeygenState:
    sid: bytes
    x2: int
    commitment: bytes
    ring: RingParams  # the client's own ring-Pedersen parameters, sent in round 2

    def to_json(self) -> dict[str, Any]:
        return {"sid": self.sid.hex(), "x2": format(self.x2, "064x"), "commitment": self.commitment.hex(),
                "ring": self.ring.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientKeygenState:
        return cls(_hex32(data, "sid"), int(_str(data, "x2"), 16), _hex32(data, "commitment"),
                   RingParams.from_json(data.get("ring")))


def server_keygen_begin(sid: bytes, prepared: PreparedPaillier) -> tuple[KeygenCommit, ServerKeygenState]:
    """P1, round 1: choose ``x1`` and commit to ``Q1`` and its proof of knowledge."""
    x1 = random_scalar()
    q1 = base_mul(x1)
    proof = SchnorrProof.prove(sid, x1, q1, role=Role.SERVER)
    com = commit(sid, q1.format() + proof.to_bytes(), role=Role.SERVER)
    return KeygenCommit(com.digest), ServerKeygenState(sid, x1, proof, com.nonce, prepared)


def keygen_abandon_session_id(wallet_id: str, ceremony_id: str) -> bytes:
    """The context of a refused creation's withdrawal (:func:`client_keygen_abandon`)."""
    return session_id("keygen-abandon", wallet_id=wallet_id, ceremony_id=ceremony_id, key_version=1)


def client_keygen_abandon(state: ClientKeygenState, wallet_id: str, ceremony_id: str) -> ShareProofMessage:
    """P2 refused the server's opening: a Schnorr PoK of its ``x2`` (Q2 = x2·G) on the withdrawal's
    own transcript, so that only the device that ran this creation can make the server drop the
    wallet it stored (and no keygen transcript is reused)."""
    return ShareProofMessage(SchnorrProof.prove(keygen_abandon_session_id(wallet_id, ceremony_id), state.x2,
                                                base_mul(state.x2), role=Role.CLIENT))


def server_keygen_abandon(share: ServerKeyShare, wallet_id: str, ceremony_id: str,
                          message: ShareProofMessage) -> None:
    """P1: check the withdrawal proof against ``Q − x1·G``; raises :class:`WalletProofInvalidError`."""
    q2 = add_points(share.public_key, point_mul(base_mul(share.x1), ORDER - 1))
    message.proof.verify(keygen_abandon_session_id(wallet_id, ceremony_id), q2, role=Role.CLIENT)


def client_keygen_respond(sid: bytes, message: KeygenCommit,
                          ring: ClientRing) -> tuple[KeygenShare, ClientKeygenState]:
    """P2, round 2: choose ``x2``, send ``Q2`` with its proof of knowledge and the client's
    ring-Pedersen parameters (with Πprm), against which the server will prove its key and ckey."""
    x2 = random_scalar()
    q2 = base_mul(x2)
    message_out = KeygenShare(q2, SchnorrProof.prove(sid, x2, q2, role=Role.CLIENT), ring)
    return message_out, ClientKeygenState(sid, x2, message.commitment, ring.params)


def server_keygen_finish(state: ServerKeygenState, message: KeygenShare) -> tuple[KeygenOpen, ServerKeyShare]:
    """P1, round 3: check π2 and the client's Πprm (the caller may have checked it already: pass a
    message whose ring was verified, see :class:`~actionmfa.wallet.keyproofs.VerifiedRings`), open
    the commitment, send the key proof and ``ckey = Enc(x1)`` with Πlog*."""
    message.proof.verify(state.sid, message.public_share, role=Role.CLIENT)
    q1 = base_mul(state.x1)
    public_key = add_points(q1, message.public_share)
    prepared = state.prepared
    key_proof = prove_key(prepared, message.ring.params, state.sid)
    encrypted = encrypt_share(prepared, message.ring.params, state.sid, state.x1, q1)
    opening = KeygenOpen(q1, state.proof, state.nonce, key_proof, encrypted)
    return opening, ServerKeyShare(state.x1, prepared.key, public_key, prepared.ring, encrypted.ckey)


def client_keygen_finish(
    state: ClientKeygenState, message: KeygenOpen, *, min_modulus_bits: int = MIN_MODULUS_BITS
) -> ClientKeyShare:
    """P2, round 3: check the opening, π1 and the key proof and Πlog* of ckey
    (:func:`~actionmfa.wallet.keyproofs.verify_key`); derive Q = Q1 + Q2."""
    verify_opening(state.sid, state.commitment, message.nonce, message.public_share.format() + message.proof.to_bytes(),
                   role=Role.SERVER)
    message.proof.verify(state.sid, message.public_share, role=Role.SERVER)
    proven = verify_key(message.key_proof, message.encrypted_share, state.ring, state.sid, message.public_share,
                        min_modulus_bits=min_modulus_bits)
    public_key = add_points(message.public_share, base_mul(state.x2))
    return ClientKeyShare(state.x2, public_key, message.public_share, proven.paillier, proven.ckey, proven.ring)


# --- signing states and steps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSignState:
    sid: bytes
    digest: bytes
    k1: int
    proof: SchnorrProof
    nonce: bytes
    client_nonce_point: Point | None = None  # R2, known after the reveal round

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sid": self.sid.hex(),
            "digest": self.digest.hex(),
            "k1": format(self.k1, "064x"),
            "proof": self.proof.to_json(),
            "nonce": self.nonce.hex(),
        }
        if self.client_nonce_point is not None:
            out["R2"] = point_to_hex(self.client_nonce_point)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerSignState:
        r2 = _point(data, "R2") if "R2" in data else None
        return cls(_hex32(data, "sid"), _hex32(data, "digest"), int(_str(data, "k1"), 16),
                   _proof(data, "proof"), _hex32(data, "nonce"), r2)


@dataclass(frozen=True)
class ClientSignState:
    sid: bytes
    digest: bytes
    k2: int
    commitment: bytes


def server_sign_begin(sid: bytes, digest: bytes) -> tuple[SignCommit, ServerSignState]:
    """P1, round 1: choose ``k1`` and commit to ``R1 = k1·G`` and its proof."""
    if len(digest) != 32:
        raise ValueError("digest must be 32 bytes")
    k1 = random_scalar()
    r1 = base_mul(k1)
    proof = SchnorrProof.prove(sid, k1, r1, role=Role.SERVER)
    com = commit(sid, r1.format() + proof.to_bytes(), role=Role.SERVER)
    return SignCommit(com.digest), ServerSignState(sid, digest, k1, proof, com.nonce)


def client_sign_respond(sid: bytes, digest: bytes, message: SignCommit) -> tuple[SignNonce, ClientSignState]:
    """P2, round 2: choose ``k2``, send ``R2`` with its proof (bound to sid, hence to the digest)."""
    k2 = random_scalar()
    r2 = base_mul(k2)
    proof = SchnorrProof.prove(sid, k2, r2, role=Role.CLIENT)
    return SignNonce(r2, proof), ClientSignState(sid, digest, k2, message.commitment)


def server_sign_reveal(state: ServerSignState, message: SignNonce) -> tuple[SignReveal, ServerSignState]:
    """P1, round 3: check πk2 and open ``R1``."""
    message.proof.verify(state.sid, message.nonce_point, role=Role.CLIENT)
    reveal = SignReveal(base_mul(state.k1), state.proof, state.nonce)
    return reveal, ServerSignState(state.sid, state.digest, state.k1, state.proof, state.nonce, message.nonce_point)


_AFFG_TAG = b"piaffg/v2"


@dataclass(frozen=True)
class SignPrecompute:
    """What a signature's client side can compute before the ceremony: the encryption randomness
    ``(ρ, ρ^N)`` and the witness-free part of Πaff-g, for one share (its N, ring and ckey)."""

    enc: tuple[int, int]
    mask: AffgMask


def sign_precompute(share: ClientKeyShare) -> SignPrecompute:
    """One :class:`SignPrecompute` for ``share`` (about three Paillier-size exponentiations and four
    ring-Pedersen ones: the SDK keeps a few ready in a background thread)."""
    if share.ring is None:
        raise WalletProofInvalidError("This share predates the signing proof; refresh the wallet first")
    pk = share.paillier
    return SignPrecompute(pk.randomness_pair(), AffgMask.make(pk, share.ring, share.ckey,
                                                              pair=pk.randomness_pair()))


def _sign_statement(share_q: Point, q1: Point, nonce_point: Point, r: int, m: int) -> tuple[Point, Point]:
    """The points Πaff-g binds c3's two witnesses to: ``X = r·G`` and ``Y = m·G + r·Q2``."""
    q2 = add_points(share_q, point_mul(q1, ORDER - 1))
    return base_mul(r), add_points(base_mul(m), point_mul(q2, r)) if m % ORDER else point_mul(q2, r)


def client_sign_finish(
    share: ClientKeyShare,
    state: ClientSignState,
    message: SignReveal,
    *,
    precomputed: SignPrecompute | None = None,
) -> SignPartial:
    """P2, round 4: check the opening and πk1, then send the encrypted partial signature
    ``c3 = ckey^b · Enc(ρ·q + a)`` with its Πaff-g proof (:mod:`actionmfa.wallet.zk.piaffg`).

    ``precomputed``: from :func:`sign_precompute` (made now if omitted).
    """
    verify_opening(state.sid, state.commitment, message.nonce, message.nonce_point.format() + message.proof.to_bytes(),
                   role=Role.SERVER)
    message.proof.verify(state.sid, message.nonce_point, role=Role.SERVER)
    if share.ring is None:
        raise WalletProofInvalidError("This share predates the signing proof; refresh the wallet first")
    r = point_x(point_mul(message.nonce_point, state.k2)) % ORDER
    if r == 0:
        raise WalletProofInvalidError("Degenerate nonce")
    m = int.from_bytes(state.digest, "big") % ORDER
    k2_inv = int(gmpy2.invert(state.k2, ORDER))
    a = k2_inv * (m + r * share.x2) % ORDER
    b = k2_inv * r % ORDER
    y = secrets.randbits(RHO_BITS) * ORDER + a  # ρ·q masks x̃1·b + a (x̃1 is only proven below 2^768)
    pk = share.paillier
    pre = precomputed if precomputed is not None else sign_precompute(share)
    rho, rho_n = pre.enc
    n2 = pk.n_squared
    c3 = int(gmpy2.powmod(share.ckey, b, n2) * (1 + y * pk.n) * rho_n % n2)
    r2 = base_mul(state.k2)
    x_pt, y_pt = _sign_statement(share.public_key, share.server_public_share, r2, r, m)
    proof = AffgProof.prove(pk, share.ring, Transcript(_AFFG_TAG, state.sid, Role.CLIENT), c=share.ckey, d=c3,
                            base=r2, x_pt=x_pt, y_pt=y_pt, x=b, y=y, rho=rho, mask=pre.mask)
    return SignPartial(c3, proof)


def server_sign_complete(share: ServerKeyShare, state: ServerSignState, message: SignPartial) -> Signature:
    """P1, round 5: check c3's Πaff-g **before decrypting**, decrypt (centred: the proven plaintext
    is below N/2 in absolute value), finish ``s``, normalise to low-s and **verify**.

    A c3 that fails its proof raises :class:`WalletProofInvalidError` and is never decrypted. With a
    valid proof the signature is valid whatever the client chose; should it still fail (a bug, or a
    broken assumption), :class:`WalletSignatureInvalidError` is raised and the caller must stop
    signing with this key (Lindell'17 abort attack, CVE-2023-33242: the lock as defence in depth).
    """
    if state.client_nonce_point is None:
        raise WalletProofInvalidError("Signing round out of order")
    if share.ring is None:
        raise WalletProofInvalidError("This wallet's key predates the signing proof; refresh it first")
    pk = share.paillier.public
    if not pk.is_ciphertext(message.ciphertext):
        raise WalletProofInvalidError("Partial signature is not a valid ciphertext")
    if message.proof is None:
        raise WalletProofInvalidError("The partial signature carries no proof")
    big_r = point_mul(state.client_nonce_point, state.k1)
    rx, ry = point_x(big_r), point_y(big_r)
    r = rx % ORDER
    m = int.from_bytes(state.digest, "big") % ORDER
    q1 = base_mul(share.x1)
    x_pt, y_pt = _sign_statement(share.public_key, q1, state.client_nonce_point, r, m)
    ckey = _server_ckey(share)
    message.proof.verify(pk, share.ring.public, Transcript(_AFFG_TAG, state.sid, Role.CLIENT), c=ckey,
                         d=message.ciphertext, base=state.client_nonce_point, x_pt=x_pt, y_pt=y_pt,
                         factors=(share.paillier.p, share.paillier.q))
    v = (ry & 1) | (2 if rx >= ORDER else 0)
    k1_inv = int(gmpy2.invert(state.k1, ORDER))
    plain = share.paillier.decrypt(message.ciphertext)
    if plain > pk.n // 2:  # the centred lift: a proven plaintext may be negative
        plain -= pk.n
    s = k1_inv * plain % ORDER
    if s > HALF_ORDER:  # EIP-2 low-s; negating s flips the parity of R.y
        s = ORDER - s
        v ^= 1
    sig = Signature(r, s, v)
    if v > 1 or not verify_signature(share.public_key, state.digest, sig):
        raise WalletSignatureInvalidError()
    return sig


def _server_ckey(share: ServerKeyShare) -> int:
    if share.ckey is None:
        raise WalletProofInvalidError("This wallet's key predates the signing proof; refresh it first")
    return share.ckey


def verify_signature(public_key: Point, digest: bytes, sig: Signature) -> bool:
    """True iff (r, s, v) is a low-s signature of ``digest`` that recovers to ``public_key``."""
    if not (0 < sig.r < ORDER and 0 < sig.s <= HALF_ORDER and sig.v in (0, 1)):
        return False
    try:
        recovered = PublicKey.from_signature_and_message(sig.to_bytes(), digest, hasher=None)
    except ValueError:
        return False
    return recovered.format() == public_key.format()
