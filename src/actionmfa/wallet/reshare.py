"""Reshare: Feldman-verified redistribution of a wallet key between 2-of-2 and 2-of-3.

The key is ``x = x1 + x2`` (server, user: additive, as after key generation or refresh). A reshare
moves it to a new access structure without ``x`` ever existing in one place
(wallet-crypto.md §5.C/D):

* each current holder deals its **own** additive share with a fresh degree-1 polynomial
  ``f_i(z) = x_i + a_i·z`` over the secp256k1 order, and publishes Feldman commitments
  ``C_i = (x_i·G, a_i·G)``;
* new holder ``j`` receives ``f_i(j)`` from every dealer, checks each against ``C_i``
  (``f_i(j)·G = C_i0 + j·C_i1``) and keeps ``s_j = Σ_i f_i(j)``; everyone checks that the constant
  terms add up to the wallet key (``Σ_i C_i0 = Q``) and that each ``C_i0`` is the dealer's known
  public share, so the joint public key — the address — cannot change;
* any two holders ``{j, k}`` turn their Shamir shares into additive shares with Lagrange
  coefficients (``λ_j·s_j + λ_k·s_k = x``) and run the existing two-party ECDSA with a **new**
  Paillier key for that pair (never the old one: wallet-crypto.md §5.B).

Indices: user 1, server 2, delegate 3. ``TWO_OF_THREE`` = {1, 2, 3} (delegated access: the
developer's server signs together with ours); ``TWO_OF_TWO`` = {1, 2} (revocation: the delegate's
share is on the old polynomial and no longer combines with any current share).

Ceremony (user ↔ server; the delegate only receives)::

    P1 → P2  ReshareOffer     C_1 (server's commitments), f_1(1)           P2 checks f_1(1), C_10 = Q1
    P2 → P1  ReshareDealing   C_2, f_2(2), f_2(3) sealed to the delegate,  P1 checks f_2(2), C_20 = Q − Q1
                              the client's ring-Pedersen parameters with Πprm
    P1 → P2  ReshareOpen      key proof for N' (Πmod, Πprm, Πfac),         x1' = λ_2·s_2, x2' = λ_1·s_1
                              ckey' = Enc_N'(x1') with Πlog* against Q1' = λ_2·(s_2·G), N' ≠ N
    P2 → P1  ReshareConfirm   Schnorr PoK of x2' for Q − x1'·G             P1 switches to (x1', N')

Not proven: correct dealing beyond Feldman (a dealer's polynomial is only checked against its own
commitments) and erasure of old shares (an old delegate share plus a *stale copy* of a current
holder's old share still combine — revocation assumes old shares are gone).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.codec import b64_to_int, int_to_b64
from actionmfa.wallet.curve import ORDER, Point, add_points, base_mul, point_from_hex, point_mul, point_to_hex
from actionmfa.wallet.ecdsa2p import ClientKeyShare, ServerKeyShare
from actionmfa.wallet.keyproofs import (
    CarriesProvenKey,
    ClientRing,
    EncryptedShare,
    KeyProof,
    PreparedPaillier,
    encrypt_share,
    prove_key,
    verify_key,
)
from actionmfa.wallet.messages import (
    ShareProofMessage,
    encrypted_share_field,
    key_proof_field,
    ring_field,
    scalar_field,
)
from actionmfa.wallet.messages import field_error as _bad
from actionmfa.wallet.messages import hex32_field as _hex32
from actionmfa.wallet.messages import str_field as _str
from actionmfa.wallet.proofs import SchnorrProof
from actionmfa.wallet.transcript import Role, session_id
from actionmfa.wallet.zk.ring import RingParams
from actionmfa.wallet.zk.sizes import MIN_MODULUS_BITS

__all__ = [
    "DELEGATE_INDEX",
    "DELEGATE_PAIR",
    "SERVER_INDEX",
    "USER_INDEX",
    "USER_PAIR",
    "ClientReshareState",
    "Dealing",
    "DelegateShare",
    "PairSetup",
    "ReshareConfirm",
    "ReshareDealing",
    "ReshareOffer",
    "ReshareOpen",
    "ServerReshareState",
    "ThresholdScheme",
    "additive_share",
    "client_pair_share",
    "client_reshare_finish",
    "client_reshare_respond",
    "deal",
    "delegate_receive",
    "holders_of",
    "lagrange_at_zero",
    "pair_session_id",
    "public_share_of",
    "reshare_session_id",
    "server_pair_share",
    "server_reshare_begin",
    "server_reshare_confirm",
    "server_reshare_open",
    "shamir_from_additive",
    "verify_sub_share",
]

USER_INDEX = 1
SERVER_INDEX = 2
DELEGATE_INDEX = 3
USER_PAIR = (USER_INDEX, SERVER_INDEX)
DELEGATE_PAIR = (SERVER_INDEX, DELEGATE_INDEX)


class ThresholdScheme(StrEnum):
    """Dynamic's ``ThresholdSignatureScheme`` names for the two structures supported here."""

    TWO_OF_TWO = "TWO_OF_TWO"
    TWO_OF_THREE = "TWO_OF_THREE"


def holders_of(scheme: ThresholdScheme) -> tuple[int, ...]:
    return (USER_INDEX, SERVER_INDEX, DELEGATE_INDEX) if scheme is ThresholdScheme.TWO_OF_THREE else USER_PAIR


def reshare_session_id(wallet_id: str, ceremony_id: str, key_version: int, scheme: ThresholdScheme) -> bytes:
    return session_id("reshare", wallet_id=wallet_id, ceremony_id=ceremony_id, key_version=key_version,
                      extra=(scheme.value.encode(),))


# --- Shamir / Feldman over the secp256k1 order ----------------------------------------------------


def lagrange_at_zero(index: int, signers: Iterable[int]) -> int:
    """λ_index for interpolating at 0 from the shares of ``signers`` (distinct, non-zero)."""
    others = [j for j in signers if j != index]
    num, den = 1, 1
    for j in others:
        num = num * j % ORDER
        den = den * (j - index) % ORDER
    return num * pow(den, -1, ORDER) % ORDER


def additive_share(index: int, share: int, signers: Sequence[int]) -> int:
    """The Shamir share of ``index`` as an additive share among ``signers`` (λ·s)."""
    if index not in signers or len(set(signers)) != 2:
        raise ValueError("two distinct signers, including index, are required")
    return lagrange_at_zero(index, signers) * share % ORDER


def shamir_from_additive(index: int, additive: int, signers: Sequence[int]) -> int:
    """Inverse of :func:`additive_share` (the server keeps its user-pair additive share)."""
    return additive * pow(lagrange_at_zero(index, signers), -1, ORDER) % ORDER


def _eval(coefficients: Sequence[int], z: int) -> int:
    acc = 0
    for c in reversed(coefficients):
        acc = (acc * z + c) % ORDER
    return acc


def _commitment_at(commitments: Sequence[Point], z: int) -> Point:
    """Σ_k z^k·C_k: the public image of f(z)."""
    terms = [commitments[0]] + [point_mul(c, pow(z, k, ORDER)) for k, c in enumerate(commitments[1:], start=1)]
    return add_points(*terms)


@dataclass(frozen=True)
class Dealing:
    """One dealer's degree-1 sharing: Feldman commitments and the sub-share for each new holder."""

    commitments: tuple[Point, ...]
    sub_shares: dict[int, int]


def deal(secret: int, holders: Iterable[int]) -> Dealing:
    """Share ``secret`` (non-zero) with a fresh random degree-1 polynomial among ``holders``."""
    coefficients = [secret % ORDER, secrets.randbelow(ORDER - 1) + 1]
    if coefficients[0] == 0:
        raise ValueError("secret must be non-zero")
    commitments = tuple(base_mul(c) for c in coefficients)
    return Dealing(commitments, {j: _eval(coefficients, j) for j in holders})


def verify_sub_share(index: int, value: int, commitments: Sequence[Point]) -> None:
    """Feldman check ``value·G = Σ_k index^k·C_k``; raises :class:`WalletProofInvalidError`."""
    if not 0 < value < ORDER or base_mul(value).format() != _commitment_at(commitments, index).format():
        raise WalletProofInvalidError("Sub-share does not match the dealer's commitments")


def public_share_of(index: int, dealers: Sequence[Sequence[Point]]) -> Point:
    """``s_index·G`` from the commitments of every dealer (nobody needs the share itself)."""
    return add_points(*(_commitment_at(c, index) for c in dealers))


def _check_constant_terms(dealers: Sequence[Sequence[Point]], public_key: Point) -> None:
    if add_points(*(c[0] for c in dealers)).format() != public_key.format():
        raise WalletProofInvalidError("Reshare would change the wallet key")


def _combine(index: int, received: Sequence[tuple[int, Sequence[Point]]], public_key: Point) -> int:
    for value, commitments in received:
        verify_sub_share(index, value, commitments)
    dealers = [c for _, c in received]
    _check_constant_terms(dealers, public_key)
    share = sum(v for v, _ in received) % ORDER
    if share == 0 or base_mul(share).format() != public_share_of(index, dealers).format():
        raise WalletProofInvalidError("Combined share does not match the summed commitments")
    return share


@dataclass(frozen=True)
class DelegateShare:
    """What the delegate keeps: its Shamir share (index 3) of the unchanged wallet key."""

    index: int
    share: int
    public_key: Point


def delegate_receive(sub_shares: Sequence[tuple[int, Sequence[Point]]], public_key: Point, *,
                     index: int = DELEGATE_INDEX) -> DelegateShare:
    """The delegate's side: check every sub-share (Feldman) and that the key is unchanged, then sum."""
    if len(sub_shares) != 2:
        raise WalletProofInvalidError("A delegated share needs the sub-shares of both current holders")
    return DelegateShare(index, _combine(index, sub_shares, public_key), public_key)


# --- wire messages ------------------------------------------------------------------------------


def _scalar(data: dict[str, Any], key: str) -> int:
    return scalar_field(data, key, allow_zero=False)  # a Shamir sub-share or a share is never 0


def _commitments(data: dict[str, Any], key: str) -> tuple[Point, ...]:
    raw = data.get(key)
    if not isinstance(raw, list) or len(raw) != 2 or not all(isinstance(p, str) for p in raw):
        raise _bad(key)
    try:
        return tuple(point_from_hex(p) for p in raw)
    except ValueError as exc:
        raise _bad(key) from exc


def _commitments_json(commitments: Sequence[Point]) -> list[str]:
    return [point_to_hex(c) for c in commitments]


def _scheme(data: dict[str, Any], key: str) -> ThresholdScheme:
    try:
        return ThresholdScheme(_str(data, key))
    except ValueError as exc:
        raise _bad(key) from exc


@dataclass(frozen=True)
class ReshareOffer:
    scheme: ThresholdScheme
    commitments: tuple[Point, ...]  # the server's (C_10 = Q1)
    sub_share: int  # f_1(USER_INDEX)

    def to_json(self) -> dict[str, Any]:
        return {"scheme": self.scheme.value, "commitments": _commitments_json(self.commitments),
                "subShare": format(self.sub_share, "064x")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReshareOffer:
        return cls(_scheme(data, "scheme"), _commitments(data, "commitments"), _scalar(data, "subShare"))


@dataclass(frozen=True)
class ReshareDealing:
    commitments: tuple[Point, ...]  # the user's (C_20 = Q2)
    sub_share: int  # f_2(SERVER_INDEX)
    sealed_delegate_share: dict[str, str] | None  # f_2(DELEGATE_INDEX), sealed to the delegate's key
    ring: ClientRing

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"commitments": _commitments_json(self.commitments),
                               "subShare": format(self.sub_share, "064x"), "ring": self.ring.to_json()}
        if self.sealed_delegate_share is not None:
            out["sealedDelegateShare"] = self.sealed_delegate_share
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReshareDealing:
        sealed = data.get("sealedDelegateShare")
        if sealed is not None and (not isinstance(sealed, dict)
                                   or not all(isinstance(k, str) and isinstance(v, str) for k, v in sealed.items())):
            raise _bad("sealedDelegateShare")
        return cls(_commitments(data, "commitments"), _scalar(data, "subShare"), sealed, ring_field(data))


@dataclass(frozen=True)
class ReshareOpen(CarriesProvenKey):
    key_proof: KeyProof
    encrypted_share: EncryptedShare

    def to_json(self) -> dict[str, Any]:
        return {"keyProof": self.key_proof.to_json(), "encryptedShare": self.encrypted_share.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReshareOpen:
        return cls(key_proof_field(data), encrypted_share_field(data))


ReshareConfirm = ShareProofMessage


# --- ceremony states and steps ----------------------------------------------------------------


@dataclass(frozen=True)
class ServerReshareState:
    sid: bytes
    scheme: ThresholdScheme
    commitments: tuple[Point, ...]
    sub_shares: dict[int, int]  # the server's dealing (its own f_1(2), the user's, the delegate's)
    prepared: PreparedPaillier
    new_x1: int | None = None  # known after the open round
    user_commitments: tuple[Point, ...] | None = None
    ckey: int | None = None  # ckey' sent in the open round

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sid": self.sid.hex(),
            "scheme": self.scheme.value,
            "commitments": _commitments_json(self.commitments),
            "subShares": {str(j): format(v, "064x") for j, v in self.sub_shares.items()},
            "prepared": self.prepared.to_json(),
        }
        if self.new_x1 is not None:
            out["x1"] = format(self.new_x1, "064x")
        if self.user_commitments is not None:
            out["userCommitments"] = _commitments_json(self.user_commitments)
        if self.ckey is not None:
            out["ckey"] = int_to_b64(self.ckey)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerReshareState:
        prepared = PreparedPaillier.from_json(data["prepared"])
        subs = {int(j): int(v, 16) for j, v in dict(data["subShares"]).items()}
        return cls(_hex32(data, "sid"), _scheme(data, "scheme"), _commitments(data, "commitments"), subs, prepared,
                   _scalar(data, "x1") if "x1" in data else None,
                   _commitments(data, "userCommitments") if "userCommitments" in data else None,
                   b64_to_int(data["ckey"]) if "ckey" in data else None)


@dataclass(frozen=True)
class ClientReshareState:
    sid: bytes
    scheme: ThresholdScheme
    server_commitments: tuple[Point, ...]
    commitments: tuple[Point, ...]
    new_share: int  # s_1 = f_1(1) + f_2(1), checked
    ring: RingParams  # the client's own ring-Pedersen parameters


def server_reshare_begin(sid: bytes, share: ServerKeyShare, scheme: ThresholdScheme,
                         prepared: PreparedPaillier) -> tuple[ReshareOffer, ServerReshareState]:
    """P1, round 1: deal x1 to the new holders; send the user its sub-share and the commitments."""
    dealing = deal(share.x1, holders_of(scheme))
    offer = ReshareOffer(scheme, dealing.commitments, dealing.sub_shares[USER_INDEX])
    return offer, ServerReshareState(sid, scheme, dealing.commitments, dealing.sub_shares, prepared)


def client_reshare_respond(
    sid: bytes, share: ClientKeyShare, offer: ReshareOffer, ring: ClientRing, *,
    seal_for_delegate: Callable[[int], dict[str, str]] | None = None,
) -> tuple[ReshareDealing, ClientReshareState]:
    """P2, round 2: check the server's dealing, deal x2. The delegate's sub-share leaves this device
    only through ``seal_for_delegate`` (the server must never see it: with its own sub-shares it
    would then know the delegate's share, and with its own share the key)."""
    if offer.commitments[0].format() != share.server_public_share.format():
        raise WalletProofInvalidError("Server dealt another share than its own")
    verify_sub_share(USER_INDEX, offer.sub_share, offer.commitments)
    holders = holders_of(offer.scheme)
    dealing = deal(share.x2, holders)
    sealed = None
    if DELEGATE_INDEX in holders:
        if seal_for_delegate is None:
            raise ValueError("a delegated reshare needs seal_for_delegate")
        sealed = seal_for_delegate(dealing.sub_shares[DELEGATE_INDEX])
    new_share = _combine(USER_INDEX, [(offer.sub_share, offer.commitments),
                                      (dealing.sub_shares[USER_INDEX], dealing.commitments)], share.public_key)
    message = ReshareDealing(dealing.commitments, dealing.sub_shares[SERVER_INDEX], sealed, ring)
    return message, ClientReshareState(sid, offer.scheme, offer.commitments, dealing.commitments, new_share,
                                       ring.params)


def server_reshare_open(share: ServerKeyShare, state: ServerReshareState,
                        message: ReshareDealing) -> tuple[ReshareOpen, ServerReshareState]:
    """P1, round 3: check the user's dealing, form s_2 and x1' = λ_2·s_2, encrypt it under N'."""
    user_public = add_points(share.public_key, point_mul(base_mul(share.x1), ORDER - 1))  # Q − Q1 = Q2
    if message.commitments[0].format() != user_public.format():
        raise WalletProofInvalidError("User dealt another share than its own")
    if (DELEGATE_INDEX in holders_of(state.scheme)) != (message.sealed_delegate_share is not None):
        raise WalletProofInvalidError("Delegate sub-share missing or unexpected")
    s2 = _combine(SERVER_INDEX, [(state.sub_shares[SERVER_INDEX], state.commitments),
                                 (message.sub_share, message.commitments)], share.public_key)
    new_x1 = additive_share(SERVER_INDEX, s2, USER_PAIR)
    prepared = state.prepared
    if prepared.key.n == share.paillier.n:  # wallet-crypto.md §5.B: never keep the old Paillier key
        raise WalletProofInvalidError("A reshare needs a new Paillier key")
    client_ring = message.ring.params
    encrypted = encrypt_share(prepared, client_ring, state.sid, new_x1)
    opening = ReshareOpen(prove_key(prepared, client_ring, state.sid), encrypted)
    new_state = ServerReshareState(state.sid, state.scheme, state.commitments, state.sub_shares, state.prepared,
                                   new_x1, message.commitments, encrypted.ckey)
    return opening, new_state


def client_reshare_finish(
    share: ClientKeyShare, state: ClientReshareState, message: ReshareOpen, *,
    min_modulus_bits: int = MIN_MODULUS_BITS,
) -> tuple[ClientKeyShare, ReshareConfirm]:
    """P2, round 4: the new additive pair share x2' = λ_1·s_1, checks (the new key and ckey'
    against Q1'), and a key confirmation."""
    dealers = [state.server_commitments, state.commitments]
    new_x2 = additive_share(USER_INDEX, state.new_share, USER_PAIR)
    new_q1 = point_mul(public_share_of(SERVER_INDEX, dealers), lagrange_at_zero(SERVER_INDEX, USER_PAIR))
    new_q2 = base_mul(new_x2)
    if add_points(new_q1, new_q2).format() != share.public_key.format():
        raise WalletProofInvalidError("Reshared shares do not add up to the wallet key")
    proven = verify_key(message.key_proof, message.encrypted_share, state.ring, state.sid, new_q1,
                        min_modulus_bits=min_modulus_bits, previous_n=share.paillier.n)
    new_share = ClientKeyShare(new_x2, share.public_key, new_q1, proven.paillier, proven.ckey, proven.ring)
    return new_share, ReshareConfirm(SchnorrProof.prove(state.sid, new_x2, new_q2, role=Role.CLIENT))


def server_reshare_confirm(share: ServerKeyShare, state: ServerReshareState,
                           message: ReshareConfirm) -> ServerKeyShare:
    """P1: switch to (x1', N') once the user proved it holds x2' with x1'·G + x2'·G = Q."""
    if state.new_x1 is None:
        raise WalletProofInvalidError("Reshare round out of order")
    try:
        new_q2 = add_points(share.public_key, point_mul(base_mul(state.new_x1), ORDER - 1))
    except ValueError as exc:
        raise WalletProofInvalidError("Degenerate reshare") from exc
    message.proof.verify(state.sid, new_q2, role=Role.CLIENT)
    return ServerKeyShare(state.new_x1, state.prepared.key, share.public_key, state.prepared.ring, state.ckey)


# --- a signing pair other than (user, server) -------------------------------------------------


@dataclass(frozen=True)
class PairSetup(CarriesProvenKey):
    """What P1 of a new signing pair sends P2 (the delegate, by webhook): its public additive share
    ``Q1_pair``, the key proof for the pair's fresh Paillier key (N, s, t with Πmod and Πprm from the
    pool, and Πfac(N)) and ``ckey = Enc_N(x1_pair)`` with Πlog* — Πfac and Πlog* made against the
    **delegate's** ring-Pedersen parameters, which the developer registered (with their Πprm) in the
    environment's delegation settings, since the delegate has no round to send them in (CGGMP21
    §C.2, §C.3, §C.5; the same proofs as :mod:`actionmfa.wallet.keyproofs` gives the user)."""

    public_share: Point
    key_proof: KeyProof
    encrypted_share: EncryptedShare

    def to_json(self) -> dict[str, Any]:
        return {"Q1": point_to_hex(self.public_share), "keyProof": self.key_proof.to_json(),
                "encryptedShare": self.encrypted_share.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PairSetup:
        try:
            q1 = point_from_hex(_str(data, "Q1"))
        except ValueError as exc:
            raise _bad("Q1") from exc
        return cls(q1, key_proof_field(data), encrypted_share_field(data))


def pair_session_id(wallet_id: str, ceremony_id: str, key_version: int) -> bytes:
    """The context of a delegate pair set-up: the ceremony that created it (a reshare or a refresh
    of a 2-of-3 wallet) and the share version it starts."""
    return session_id("delegate-pair", wallet_id=wallet_id, ceremony_id=ceremony_id, key_version=key_version)


def server_pair_share(server_shamir: int, public_key: Point, signers: Sequence[int], prepared: PreparedPaillier,
                      delegate_ring: RingParams, sid: bytes) -> tuple[PairSetup, ServerKeyShare]:
    """P1 (the server, index 2) of the pair ``signers``: additive share, a fresh Paillier key and
    the proofs for it and for ckey against the delegate's registered parameters."""
    x1 = additive_share(SERVER_INDEX, server_shamir, signers)
    encrypted = encrypt_share(prepared, delegate_ring, sid, x1)
    setup = PairSetup(base_mul(x1), prove_key(prepared, delegate_ring, sid), encrypted)
    return setup, ServerKeyShare(x1, prepared.key, public_key, prepared.ring, encrypted.ckey)


def client_pair_share(shamir: DelegateShare, signers: Sequence[int], setup: PairSetup, *, ring: RingParams,
                      sid: bytes, min_modulus_bits: int = MIN_MODULUS_BITS) -> ClientKeyShare:
    """P2 of the pair (the delegate): its additive share, the check that the shares add up to Q,
    then every key check of :func:`~actionmfa.wallet.keyproofs.verify_key` against ``ring`` — the
    delegate's **own** registered parameters, never ones taken from the message: size, trial
    division, Πmod, Πprm, Πfac and Πlog* (``ckey`` encrypts ``log Q1_pair`` in range). Raises
    :class:`WalletProofInvalidError` before the share is usable, hence before any c3 leaves."""
    x2 = additive_share(shamir.index, shamir.share, signers)
    if add_points(setup.public_share, base_mul(x2)).format() != shamir.public_key.format():
        raise WalletProofInvalidError("Pair shares do not add up to the wallet key")
    proven = verify_key(setup.key_proof, setup.encrypted_share, ring, sid, setup.public_share,
                        min_modulus_bits=min_modulus_bits)
    return ClientKeyShare(x2, shamir.public_key, setup.public_share, proven.paillier, proven.ckey, proven.ring)
