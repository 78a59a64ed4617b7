"""Distributed key generation without a trusted dealer: the FROST paper's KeyGen (Komlo and
Goldberg, "FROST: Flexible Round-Optimized Schnorr Threshold Signatures", ePrint 2020/852, §5.1,
Figure 1), for two parties and threshold two, over FROST(Ed25519, SHA-512) (RFC 9591 §6.1).

Round 1 (Figure 1, steps 1–5): party i draws f_i(x) = a_i0 + a_i1·x, publishes the commitment
C_i = (φ_i0, φ_i1) = (a_i0·B, a_i1·B) and a Schnorr proof of knowledge σ_i = (R_i, μ_i) of a_i0 with
c_i = H_dkg(i ‖ Φ ‖ φ_i0 ‖ R_i), μ_i = k + a_i0·c_i. The context Φ (:mod:`.transcript`) names the
environment, user, wallet and ceremony; the identifier i names the role — so a package made for one
ceremony or role does not verify in another. Verifying σ_l (R_l == μ_l·B − c_l·φ_l0) stops a rogue-key
attack: without it a party could publish φ_l0 = X − φ_i0 and own the whole key.

Round 2 (steps 1–4): party i sends f_i(l) to the other party, who checks f_i(l)·B == φ_i0 + l·φ_i1;
each keeps s_i = f_1(i) + f_2(i). The group key is PK = φ_10 + φ_20 and each party's public share
Y_j = Σ_l φ_l0 + j·φ_l1.

Over HTTP the server speaks first with only a hash of its round-1 package and reveals it after the
user's package arrived, so that neither party chooses its polynomial after seeing the other's (the
key-biasing issue of Pedersen's DKG, Gennaro et al. 1999). H_dkg(m) = SHA-512(contextString ‖ "dkg"
‖ m) mod L, as the ZF FROST implementation names it.

Refresh (proactive secret sharing, Herzberg et al. 1995, as FROST paper §5.1 notes): the same two
rounds with polynomials whose constant term is zero, g_i(x) = b_i·x, committed as ψ_i = b_i·B with a
proof of knowledge of b_i; the new share is s_i + g_1(i) + g_2(i), PK is unchanged, and a share from
before the refresh combined with one from after it gives a different secret (the old shares are
useless once both sides moved).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost.group import GroupError, RandomBytes
from actionmfa.wallet.frost.keys import KeyShare

__all__ = [
    "DkgPackage",
    "DkgSecret",
    "RefreshPackage",
    "RefreshSecret",
    "SchnorrPoK",
    "dkg_finish",
    "dkg_round1",
    "dkg_share_for",
    "package_commitment",
    "refresh_finish",
    "refresh_round1",
    "refresh_share_for",
]


@dataclass(frozen=True)
class SchnorrPoK:
    """σ = (R, μ): knowledge of the discrete log of a commitment, bound to a context and a role."""

    big_r: bytes
    mu: bytes


def _challenge(identifier: int, context: bytes, commitment: bytes, big_r: bytes) -> bytes:
    m = g.scalar(identifier) + len(context).to_bytes(4, "big") + context + commitment + big_r
    return g.hash_to_scalar(g.CONTEXT_STRING + b"dkg" + m)


def prove(identifier: int, context: bytes, secret: bytes, commitment: bytes, rng: RandomBytes) -> SchnorrPoK:
    k = g.random_scalar(rng)
    big_r = g.base_mult(k)
    c = _challenge(identifier, context, commitment, big_r)
    return SchnorrPoK(big_r, g.scalar_add(k, g.scalar_mul(secret, c)))


def verify_proof(identifier: int, context: bytes, commitment: bytes, proof: SchnorrPoK) -> bool:
    """R == μ·B − c·φ (FROST paper Figure 1, round 1 step 5)."""
    try:
        big_r = g.deserialize_element(proof.big_r)
        mu = g.deserialize_scalar(proof.mu)
        c = _challenge(identifier, context, commitment, big_r)
        expected = g.add(g.base_mult(mu), g.scalar_mult(commitment, g.scalar_neg(c)))
    except GroupError:
        return False
    return hmac.compare_digest(expected, big_r)


# -- key generation --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DkgPackage:
    """Round-one broadcast: identifier, C = (φ0, φ1), σ."""

    identifier: int
    commitment: tuple[bytes, bytes]
    proof: SchnorrPoK

    def encode(self) -> bytes:
        return g.scalar(self.identifier) + b"".join(self.commitment) + self.proof.big_r + self.proof.mu


@dataclass(frozen=True)
class DkgSecret:
    identifier: int
    coefficients: tuple[bytes, bytes]
    package: DkgPackage


def package_commitment(context: bytes, package_bytes: bytes) -> bytes:
    """The hash the server publishes before it reveals its round-one package."""
    return hashlib.sha256(b"actionmfa/frost-dkg-commit/v1" + len(context).to_bytes(4, "big") + context
                          + package_bytes).digest()


def dkg_round1(identifier: int, context: bytes, rng: RandomBytes = secrets.token_bytes) -> DkgSecret:
    a0, a1 = g.random_scalar(rng), g.random_scalar(rng)
    phi = (g.base_mult(a0), g.base_mult(a1))
    package = DkgPackage(identifier, phi, prove(identifier, context, a0, phi[0], rng))
    return DkgSecret(identifier, (a0, a1), package)


def _evaluate(coefficients: tuple[bytes, bytes], x: int) -> bytes:
    return g.scalar_add(coefficients[0], g.scalar_mul(coefficients[1], g.scalar(x)))


def _commitment_at(commitment: tuple[bytes, bytes], x: int) -> bytes:
    """φ0 + x·φ1: the public image of f(x)."""
    return g.add(commitment[0], g.scalar_mult(commitment[1], g.scalar(x)))


def dkg_share_for(secret: DkgSecret, recipient: int) -> bytes:
    """Round 2 step 1: f_i(l), sent to party l only."""
    if recipient == secret.identifier:
        raise GroupError("a share for oneself is never sent")
    return _evaluate(secret.coefficients, recipient)


def _validated_package(package: DkgPackage, context: bytes, expected_identifier: int) -> DkgPackage:
    if package.identifier != expected_identifier:
        raise GroupError("package from the wrong participant")
    phi = (g.deserialize_element(package.commitment[0]), g.deserialize_element(package.commitment[1]))
    if not verify_proof(package.identifier, context, phi[0], package.proof):
        raise GroupError("proof of knowledge does not verify")
    return DkgPackage(package.identifier, phi, package.proof)


def dkg_finish(secret: DkgSecret, context: bytes, peer: DkgPackage, share_from_peer: bytes) -> KeyShare:
    """Round 1 step 5 and round 2 steps 2–4: check the peer's proof and its share for us, then
    combine. Raises :class:`GroupError` on any mismatch (the ceremony aborts; nothing is kept)."""
    me = secret.identifier
    peer = _validated_package(peer, context, peer.identifier)
    if peer.identifier == me:
        raise GroupError("peer claims our identifier")
    f_peer = g.deserialize_scalar(share_from_peer)
    if g.is_zero(f_peer) or not hmac.compare_digest(g.base_mult(f_peer), _commitment_at(peer.commitment, me)):
        raise GroupError("peer's share does not match its commitment")
    mine = secret.package.commitment
    s = g.scalar_add(_evaluate(secret.coefficients, me), f_peer)
    group_key = g.add(mine[0], peer.commitment[0])
    peer_public = g.add(_commitment_at(mine, peer.identifier), _commitment_at(peer.commitment, peer.identifier))
    public = g.base_mult(s)
    if not hmac.compare_digest(public, g.add(_commitment_at(mine, me), _commitment_at(peer.commitment, me))):
        raise GroupError("combined share inconsistent")  # unreachable unless the arithmetic is broken
    return KeyShare(me, s, public, peer.identifier, peer_public, group_key)


def check_peer_package(package: DkgPackage, context: bytes, expected_identifier: int) -> DkgPackage:
    """Round 1 step 5 alone (the server checks the user's package before it answers)."""
    return _validated_package(package, context, expected_identifier)


# -- refresh ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefreshPackage:
    """ψ = b·B and a proof of knowledge of b: the commitment to g(x) = b·x."""

    identifier: int
    commitment: bytes
    proof: SchnorrPoK

    def encode(self) -> bytes:
        return g.scalar(self.identifier) + self.commitment + self.proof.big_r + self.proof.mu


@dataclass(frozen=True)
class RefreshSecret:
    identifier: int
    coefficient: bytes
    package: RefreshPackage


def refresh_round1(identifier: int, context: bytes, rng: RandomBytes = secrets.token_bytes) -> RefreshSecret:
    b = g.random_scalar(rng)
    psi = g.base_mult(b)
    return RefreshSecret(identifier, b, RefreshPackage(identifier, psi, prove(identifier, context, b, psi, rng)))


def refresh_share_for(secret: RefreshSecret, recipient: int) -> bytes:
    if recipient == secret.identifier:
        raise GroupError("a share for oneself is never sent")
    return g.scalar_mul(secret.coefficient, g.scalar(recipient))


def refresh_finish(share: KeyShare, secret: RefreshSecret, context: bytes, peer: RefreshPackage,
                   share_from_peer: bytes) -> KeyShare:
    """The new share s_i + g_i(i) + g_l(i) and the new public shares; PK unchanged."""
    me, other = share.identifier, share.peer_identifier
    if peer.identifier != other or secret.identifier != me:
        raise GroupError("refresh package from the wrong participant")
    psi = g.deserialize_element(peer.commitment)
    if not verify_proof(other, context, psi, peer.proof):
        raise GroupError("proof of knowledge does not verify")
    delta_peer = g.deserialize_scalar(share_from_peer)
    if g.is_zero(delta_peer) or not hmac.compare_digest(g.base_mult(delta_peer), g.scalar_mult(psi, g.scalar(me))):
        raise GroupError("peer's refresh share does not match its commitment")
    delta_me = g.scalar_mul(secret.coefficient, g.scalar(me))
    s = g.scalar_add(share.secret_share, g.scalar_add(delta_me, delta_peer))
    # Y_l' = Y_l + l·ψ_i + l·ψ_l
    mine = secret.package.commitment
    peer_public = g.add(share.peer_public_share,
                        g.add(g.scalar_mult(mine, g.scalar(other)), g.scalar_mult(psi, g.scalar(other))))
    return KeyShare(me, s, g.base_mult(s), other, peer_public, share.group_public_key)
