"""The two parties' steps of FROST key generation, signing and refresh, as JSON-ready messages.

Key generation (:mod:`.dkg`), two requests:

1. server → user: ``{"commitment"}`` — SHA-256 of the server's round-one package (bound to the context);
2. user → server: ``{"package", "share"}`` — the user's round-one package and f_1(2);
   server → user: ``{"package", "share"}`` — its package (checked against the hash) and f_2(1).

Signing (:mod:`.signing`, RFC 9591 §5 with the server as coordinator), two requests:

1. server → user: ``{"commitments"}`` — (D_2, E_2), drawn after the gate allowed the ceremony;
2. user → server: ``{"commitments", "share"}`` — (D_1, E_1), fresh for this ceremony, and z_1;
   the server checks z_1 (§5.3 verify_signature_share), adds z_2, verifies the Ed25519 signature with
   an independent verifier and only then answers ``{"signature"}``.

The user draws its nonces inside :func:`client_sign` and never stores them: a lost answer is retried
with a new ceremony, new server nonces and new user nonces. The server's nonces live only in the
ceremony's sealed round state, which the completing round erases when it claims the ceremony.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from actionmfa.errors import WalletProofInvalidError, WalletSignatureInvalidError
from actionmfa.wallet.frost import dkg
from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost import messages as wire
from actionmfa.wallet.frost import signing as fs
from actionmfa.wallet.frost.group import GroupError, RandomBytes
from actionmfa.wallet.frost.keys import KeyShare, verify_ed25519
from actionmfa.wallet.frost.transcript import Role

__all__ = [
    "ClientKeygen",
    "ClientRefresh",
    "client_keygen_begin",
    "client_keygen_finish",
    "client_refresh_begin",
    "client_refresh_finish",
    "client_sign",
    "server_keygen_begin",
    "server_keygen_finish",
    "server_refresh_begin",
    "server_refresh_finish",
    "server_sign_begin",
    "server_sign_complete",
]

USER, SERVER = int(Role.USER), int(Role.SERVER)


def _share_field(data: Any, key: str = "share") -> bytes:
    return wire.scalar_field(data, key)


def _dict(data: Any, key: str) -> Any:
    if not isinstance(data, dict):
        raise WalletProofInvalidError("Malformed message")
    return data.get(key)


# -- key generation --------------------------------------------------------------------------------
def server_keygen_begin(context: bytes,
                        rng: RandomBytes = secrets.token_bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    secret = dkg.dkg_round1(SERVER, context, rng)
    commitment = dkg.package_commitment(context, secret.package.encode())
    state = {"a": [c.hex() for c in secret.coefficients], "package": wire.dkg_package_to_json(secret.package)}
    return {"commitment": commitment.hex()}, state


def _server_secret(state: dict[str, Any]) -> dkg.DkgSecret:
    a0, a1 = (bytes.fromhex(x) for x in state["a"])
    return dkg.DkgSecret(SERVER, (a0, a1), wire.dkg_package_from_json(state["package"], expected=SERVER))


def server_keygen_finish(state: dict[str, Any], context: bytes,
                         message: dict[str, Any]) -> tuple[dict[str, Any], KeyShare]:
    """Check the user's package and share; answer with the server's package and the user's share."""
    secret = _server_secret(state)
    package = wire.dkg_package_from_json(_dict(message, "package"), expected=USER)
    share = _share_field(message)
    try:
        key = dkg.dkg_finish(secret, context, package, share)
    except GroupError as exc:
        raise WalletProofInvalidError(f"Key generation refused: {exc}") from exc
    reply = {"package": wire.dkg_package_to_json(secret.package), "share": dkg.dkg_share_for(secret, USER).hex()}
    return reply, key


@dataclass(frozen=True)
class ClientKeygen:
    secret: dkg.DkgSecret
    server_commitment: bytes


def client_keygen_begin(context: bytes, server_message: dict[str, Any],
                        rng: RandomBytes = secrets.token_bytes) -> tuple[ClientKeygen, dict[str, Any]]:
    commitment = _hash_field(server_message)
    secret = dkg.dkg_round1(USER, context, rng)
    message = {"package": wire.dkg_package_to_json(secret.package), "share": dkg.dkg_share_for(secret, SERVER).hex()}
    return ClientKeygen(secret, commitment), message


def _hash_field(data: Any) -> bytes:
    value = _dict(data, "commitment")
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise WalletProofInvalidError("Malformed commitment")
    return raw


def client_keygen_finish(state: ClientKeygen, context: bytes, reply: dict[str, Any],
                         expected_public_key: bytes | None = None) -> KeyShare:
    """Open the server's commitment, check its proof and share; the group key must be the wallet's."""
    package = wire.dkg_package_from_json(_dict(reply, "package"), expected=SERVER)
    if not hmac.compare_digest(dkg.package_commitment(context, package.encode()), state.server_commitment):
        raise WalletProofInvalidError("Server package does not open its commitment")
    try:
        key = dkg.dkg_finish(state.secret, context, package, _share_field(reply))
    except GroupError as exc:
        raise WalletProofInvalidError(f"Key generation refused: {exc}") from exc
    if expected_public_key is not None and not hmac.compare_digest(key.group_public_key, expected_public_key):
        raise WalletProofInvalidError("Server reported a different wallet key")
    return key


# -- signing ---------------------------------------------------------------------------------------
def server_sign_begin(share: KeyShare,
                      rng: RandomBytes = secrets.token_bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    nonces = fs.commit(share.identifier, share.secret_share, rng)
    d, e = nonces.peek()
    state = {"d": d.hex(), "e": e.hex(), "commitments": wire.commitments_to_json(nonces.commitments)}
    return {"commitments": wire.commitments_to_json(nonces.commitments)}, state


def _commitment_list(a: fs.SigningCommitments, b: fs.SigningCommitments) -> list[fs.SigningCommitments]:
    return sorted((a, b), key=lambda c: c.identifier)


def client_sign(share: KeyShare, msg: bytes, server_message: dict[str, Any],
                rng: RandomBytes = secrets.token_bytes) -> tuple[dict[str, Any], list[fs.SigningCommitments]]:
    """Round one and two of the user: fresh nonces, z_1; the nonces are spent before this returns."""
    server = wire.commitments_from_json(_dict(server_message, "commitments"), expected=SERVER)
    nonces = fs.commit(share.identifier, share.secret_share, rng)
    commitment_list = _commitment_list(nonces.commitments, server)
    try:
        z = fs.sign(share.identifier, share.secret_share, share.group_public_key, nonces, msg, commitment_list)
    except GroupError as exc:
        raise WalletProofInvalidError(f"Signing refused: {exc}") from exc
    return {"commitments": wire.commitments_to_json(nonces.commitments), "share": z.hex()}, commitment_list


def server_sign_complete(share: KeyShare, state: dict[str, Any], msg: bytes, message: dict[str, Any]) -> bytes:
    """z_2, after checking z_1; the aggregate is verified before it is returned (RFC 9591 §5.3)."""
    mine = wire.commitments_from_json(state["commitments"], expected=SERVER)
    nonces = fs.SigningNonces(bytes.fromhex(state["d"]), bytes.fromhex(state["e"]), mine)
    user = wire.commitments_from_json(_dict(message, "commitments"), expected=USER)
    z_user = _share_field(message)
    commitment_list = _commitment_list(user, mine)
    # Identifiable abort (RFC 9591 §5.4): a bad user share is refused before the server adds its own.
    if not fs.verify_signature_share(USER, share.peer_public_share, z_user, commitment_list,
                                     share.group_public_key, msg):
        raise WalletSignatureInvalidError("The user's signature share does not verify")
    try:
        z_server = fs.sign(share.identifier, share.secret_share, share.group_public_key, nonces, msg,
                           commitment_list)
        signature = fs.aggregate(commitment_list, msg, share.group_public_key, [z_user, z_server])
    except GroupError as exc:
        raise WalletProofInvalidError(f"Signing refused: {exc}") from exc
    if not verify_ed25519(share.group_public_key, msg, signature):
        raise WalletSignatureInvalidError("The aggregate signature does not verify")
    return signature


# -- refresh ---------------------------------------------------------------------------------------
def server_refresh_begin(context: bytes,
                         rng: RandomBytes = secrets.token_bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    secret = dkg.refresh_round1(SERVER, context, rng)
    commitment = dkg.package_commitment(context, secret.package.encode())
    state = {"b": secret.coefficient.hex(), "package": wire.refresh_package_to_json(secret.package)}
    return {"commitment": commitment.hex()}, state


def server_refresh_finish(share: KeyShare, state: dict[str, Any], context: bytes,
                          message: dict[str, Any]) -> tuple[dict[str, Any], KeyShare]:
    secret = dkg.RefreshSecret(SERVER, bytes.fromhex(state["b"]),
                               wire.refresh_package_from_json(state["package"], expected=SERVER))
    package = wire.refresh_package_from_json(_dict(message, "package"), expected=USER)
    try:
        new = dkg.refresh_finish(share, secret, context, package, _share_field(message))
    except GroupError as exc:
        raise WalletProofInvalidError(f"Refresh refused: {exc}") from exc
    reply = {"package": wire.refresh_package_to_json(secret.package),
             "share": dkg.refresh_share_for(secret, USER).hex()}
    return reply, new


@dataclass(frozen=True)
class ClientRefresh:
    secret: dkg.RefreshSecret
    server_commitment: bytes


def client_refresh_begin(context: bytes, server_message: dict[str, Any],
                         rng: RandomBytes = secrets.token_bytes) -> tuple[ClientRefresh, dict[str, Any]]:
    commitment = _hash_field(server_message)
    secret = dkg.refresh_round1(USER, context, rng)
    message = {"package": wire.refresh_package_to_json(secret.package),
               "share": dkg.refresh_share_for(secret, SERVER).hex()}
    return ClientRefresh(secret, commitment), message


def client_refresh_finish(share: KeyShare, state: ClientRefresh, context: bytes, reply: dict[str, Any]) -> KeyShare:
    package = wire.refresh_package_from_json(_dict(reply, "package"), expected=SERVER)
    if not hmac.compare_digest(dkg.package_commitment(context, package.encode()), state.server_commitment):
        raise WalletProofInvalidError("Server package does not open its commitment")
    try:
        return dkg.refresh_finish(share, state.secret, context, package, _share_field(reply))
    except GroupError as exc:
        raise WalletProofInvalidError(f"Refresh refused: {exc}") from exc


def group_secret(a: KeyShare, b_secret: bytes) -> bytes:
    """λ_1·s_1 + λ_2·s_2 — only for export, where the user combines its share with the server's."""
    lam_a = fs.interpolating_value([a.identifier, a.peer_identifier], a.identifier)
    lam_b = fs.interpolating_value([a.identifier, a.peer_identifier], a.peer_identifier)
    return g.scalar_add(g.scalar_mul(lam_a, a.secret_share), g.scalar_mul(lam_b, b_secret))


def refresh_confirmation(new_share: KeyShare, context: bytes,
                         rng: RandomBytes = secrets.token_bytes) -> dict[str, Any]:
    """The user's proof that it holds its new share s_1′ (a Schnorr proof of knowledge of the log of
    Y_1′, bound to the refresh context): the server switches only after seeing it."""
    proof = dkg.prove(new_share.identifier, context + b"/confirm", new_share.secret_share, new_share.public_share, rng)
    return {"proof": {"R": proof.big_r.hex(), "mu": proof.mu.hex()}}


def check_refresh_confirmation(server_new_share: KeyShare, context: bytes, message: dict[str, Any]) -> None:
    raw = _dict(message, "proof")
    proof = dkg.SchnorrPoK(wire.element_field(raw, "R"), wire.scalar_field(raw, "mu"))
    if not dkg.verify_proof(server_new_share.peer_identifier, context + b"/confirm",
                            server_new_share.peer_public_share, proof):
        raise WalletProofInvalidError("Refresh confirmation does not verify")
