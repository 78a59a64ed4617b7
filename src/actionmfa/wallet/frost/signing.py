"""Two-round FROST signing, RFC 9591 §4–5, ciphersuite FROST(Ed25519, SHA-512) (§6.1).

Round one (:func:`commit`, §5.1): each signer draws a hiding and a binding nonce with
``nonce_generate`` (§4.1: H3 of 32 fresh random bytes and the secret share, so a weak RNG alone does
not repeat a nonce) and publishes their commitments. Round two (:func:`sign`, §5.2): with the
commitment list and the message, each signer computes the binding factors ρ_i = H1(PK ‖ H4(msg) ‖
H5(commitments) ‖ i) (§4.4), the group commitment R = Σ D_i + ρ_i·E_i (§4.5), the challenge
c = H2(R ‖ PK ‖ msg) (§4.6) and its share z_i = d_i + e_i·ρ_i + λ_i·s_i·c. The coordinator checks
each share (:func:`verify_signature_share`, §5.3) and the aggregate (R, z) (:func:`aggregate`) is an
RFC 8032 Ed25519 signature under PK, verified before it is released.

Binding factors are what keep a signer's nonces from being steered by the others' choices of
commitments (the Drijvers et al. attack on two-round Schnorr multisignatures; FROST paper §5).
A :class:`SigningNonces` pair signs at most once: :meth:`SigningNonces.consume` hands the scalars
out a single time and forgets them (RFC 9591 §5.2: "MUST delete the nonce … MUST NOT use the nonce
as input more than once"), so a second ``sign`` with the same pair raises instead of leaking the
share through two equations in one nonce.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost.group import GroupError, RandomBytes

__all__ = [
    "NonceReuseError",
    "SigningCommitments",
    "SigningNonces",
    "aggregate",
    "binding_factors",
    "challenge",
    "commit",
    "encode_commitment_list",
    "group_commitment",
    "interpolating_value",
    "nonce_generate",
    "sign",
    "verify_signature_share",
]


class NonceReuseError(RuntimeError):
    """A nonce pair was presented to :func:`sign` a second time."""


@dataclass(frozen=True)
class SigningCommitments:
    """(i, D_i, E_i): a signer's public round-one output."""

    identifier: int
    hiding: bytes
    binding: bytes

    def validated(self) -> SigningCommitments:
        """The same commitments after DeserializeElement on both (RFC 9591 §5.2: a signer MUST
        validate every element of the commitment list and abort otherwise)."""
        if not 0 < self.identifier < g.ORDER:
            raise GroupError("bad identifier")
        return SigningCommitments(self.identifier, g.deserialize_element(self.hiding),
                                  g.deserialize_element(self.binding))


class SigningNonces:
    """(d_i, e_i) with their commitments; the scalars can be taken exactly once."""

    __slots__ = ("_pair", "commitments")

    def __init__(self, hiding: bytes, binding: bytes, commitments: SigningCommitments) -> None:
        self._pair: tuple[bytes, bytes] | None = (hiding, binding)
        self.commitments = commitments

    @property
    def spent(self) -> bool:
        return self._pair is None

    def consume(self) -> tuple[bytes, bytes]:
        pair, self._pair = self._pair, None
        if pair is None:
            raise NonceReuseError("signing nonces already used")
        return pair

    def peek(self) -> tuple[bytes, bytes]:
        """The scalars without spending them — only to seal them into a ceremony's round state."""
        if self._pair is None:
            raise NonceReuseError("signing nonces already used")
        return self._pair


def nonce_generate(secret: bytes, rng: RandomBytes = secrets.token_bytes) -> bytes:
    """RFC 9591 §4.1 nonce_generate: H3(random_bytes(32) ‖ SerializeScalar(secret))."""
    return g.h3(rng(32) + secret)


def commit(identifier: int, secret_share: bytes, rng: RandomBytes = secrets.token_bytes) -> SigningNonces:
    """RFC 9591 §5.1 commit: a fresh nonce pair and its commitments (D_i, E_i)."""
    hiding = nonce_generate(secret_share, rng)
    binding = nonce_generate(secret_share, rng)
    comms = SigningCommitments(identifier, g.base_mult(hiding), g.base_mult(binding))
    return SigningNonces(hiding, binding, comms)


def _sorted(commitment_list: Sequence[SigningCommitments]) -> list[SigningCommitments]:
    ids = [c.identifier for c in commitment_list]
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        raise GroupError("commitment list must be sorted by identifier, without repeats")
    return list(commitment_list)


def encode_commitment_list(commitment_list: Sequence[SigningCommitments]) -> bytes:
    """RFC 9591 §4.3 encode_group_commitment_list."""
    return b"".join(g.scalar(c.identifier) + c.hiding + c.binding for c in _sorted(commitment_list))


def binding_factors(group_public_key: bytes, commitment_list: Sequence[SigningCommitments],
                    msg: bytes) -> dict[int, bytes]:
    """RFC 9591 §4.4 compute_binding_factors: identifier → ρ_i."""
    prefix = group_public_key + g.h4(msg) + g.h5(encode_commitment_list(commitment_list))
    return {c.identifier: g.h1(prefix + g.scalar(c.identifier)) for c in commitment_list}


def binding_factor_input(group_public_key: bytes, commitment_list: Sequence[SigningCommitments],
                         msg: bytes, identifier: int) -> bytes:
    """The bytes hashed into ρ_i (the RFC's vectors list them as ``binding_factor_input``)."""
    prefix = group_public_key + g.h4(msg) + g.h5(encode_commitment_list(commitment_list))
    return prefix + g.scalar(identifier)


def group_commitment(commitment_list: Sequence[SigningCommitments], factors: dict[int, bytes]) -> bytes:
    """RFC 9591 §4.5 compute_group_commitment: R = Σ D_i + ρ_i·E_i."""
    total: bytes | None = None
    for c in _sorted(commitment_list):
        term = g.add(c.hiding, g.scalar_mult(c.binding, factors[c.identifier]))
        total = term if total is None else g.add(total, term)
    if total is None:
        raise GroupError("empty commitment list")
    return total


def challenge(group_commit: bytes, group_public_key: bytes, msg: bytes) -> bytes:
    """RFC 9591 §4.6 compute_challenge: c = H2(R ‖ PK ‖ msg) — RFC 8032's k."""
    return g.h2(group_commit + group_public_key + msg)


def interpolating_value(participants: Sequence[int], identifier: int) -> bytes:
    """RFC 9591 §4.2 derive_interpolating_value: λ_i = Π_{j≠i} x_j / (x_j − x_i), at zero."""
    if identifier not in participants or len(set(participants)) != len(participants):
        raise GroupError("invalid participants")
    num = g.scalar(1)
    den = g.scalar(1)
    xi = g.scalar(identifier)
    for j in participants:
        if j == identifier:
            continue
        xj = g.scalar(j)
        num = g.scalar_mul(num, xj)
        den = g.scalar_mul(den, g.scalar_sub(xj, xi))
    return g.scalar_mul(num, g.scalar_inv(den))


def _own_commitments_listed(nonces: SigningNonces, commitment_list: Sequence[SigningCommitments]) -> None:
    mine = nonces.commitments
    for c in commitment_list:
        if c.identifier == mine.identifier:
            if hmac.compare_digest(c.hiding + c.binding, mine.hiding + mine.binding):
                return
            break
    # RFC 9591 §5.2: a signer MUST find its own identifier and commitments in the list.
    raise GroupError("own commitments missing from the commitment list")


def sign(identifier: int, secret_share: bytes, group_public_key: bytes, nonces: SigningNonces, msg: bytes,
         commitment_list: Sequence[SigningCommitments]) -> bytes:
    """RFC 9591 §5.2 sign: z_i = d_i + e_i·ρ_i + λ_i·s_i·c. Spends ``nonces``."""
    validated = [c.validated() for c in _sorted(commitment_list)]
    _own_commitments_listed(nonces, validated)
    hiding, binding = nonces.consume()
    factors = binding_factors(group_public_key, validated, msg)
    big_r = group_commitment(validated, factors)
    lam = interpolating_value([c.identifier for c in validated], identifier)
    c = challenge(big_r, group_public_key, msg)
    z = g.scalar_add(hiding, g.scalar_mul(binding, factors[identifier]))
    return g.scalar_add(z, g.scalar_mul(lam, g.scalar_mul(secret_share, c)))


def verify_signature_share(identifier: int, public_share: bytes, sig_share: bytes,
                           commitment_list: Sequence[SigningCommitments], group_public_key: bytes,
                           msg: bytes) -> bool:
    """RFC 9591 §5.3 verify_signature_share: z_i·B == D_i + ρ_i·E_i + (c·λ_i)·PK_i."""
    try:
        z = g.deserialize_scalar(sig_share)
        validated = [c.validated() for c in _sorted(commitment_list)]
        mine = next(c for c in validated if c.identifier == identifier)
        factors = binding_factors(group_public_key, validated, msg)
        big_r = group_commitment(validated, factors)
        c = challenge(big_r, group_public_key, msg)
        lam = interpolating_value([x.identifier for x in validated], identifier)
        share_commit = g.add(mine.hiding, g.scalar_mult(mine.binding, factors[identifier]))
        rhs = g.add(share_commit, g.scalar_mult(public_share, g.scalar_mul(c, lam)))
        lhs = g.base_mult(z)
    except (GroupError, StopIteration):
        return False
    return hmac.compare_digest(lhs, rhs)


def aggregate(commitment_list: Sequence[SigningCommitments], msg: bytes, group_public_key: bytes,
              sig_shares: Sequence[bytes]) -> bytes:
    """RFC 9591 §5.3 aggregate → the 64-byte signature R ‖ z (Appendix A encoding)."""
    validated = [c.validated() for c in _sorted(commitment_list)]
    big_r = group_commitment(validated, binding_factors(group_public_key, validated, msg))
    z = g.scalar(0)
    for share in sig_shares:
        z = g.scalar_add(z, g.deserialize_scalar(share))
    return big_r + z
