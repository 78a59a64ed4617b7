"""Pregenerated wallets (issue 13.1): key generation with a server-side stand-in for the user's
side, and the stand-in share's delivery to the claiming user.

**Key generation.** The ordinary two-party key generation of :mod:`actionmfa.wallet.ecdsa2p`
(Lindell'17, ePrint 2017/552, §3 with the additive-share variant), all three messages, with the
server playing P1 and a *stand-in* playing P2 in the same process: P2's Schnorr proof of knowledge
of x2 is checked by P1, and P1's opening, Schnorr proof, Paillier key proof (Πmod, Πprm, Πfac) and the
Πlog* of ``ckey`` are checked by the stand-in against its own ring-Pedersen parameters
(:func:`actionmfa.wallet.keyproofs.verify_key`) — so a stored pregenerated wallet is exactly what an
honest two-party key generation produces, and the stand-in's share is a ``ClientKeyShare`` a real
SDK can take over. Until then **the operator holds both shares: the wallet is custodial**.

**Delivery.** The stand-in share is HPKE-sealed (RFC 9180, mode base, DHKEM(P-256, HKDF-SHA256),
HKDF-SHA256, ChaCha20-Poly1305 — the export's suite, :mod:`actionmfa.wallet.export`) to an ephemeral
P-256 key the claiming SDK made for this one delivery; ``info`` binds it to the wallet, the user and
the key version, so a ciphertext replayed into another context does not open. The SDK must then
refresh (:mod:`actionmfa.wallet.refresh`), after which the stand-in share does not combine with the
server's current share into the wallet key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from actionmfa.errors import WalletExportInvalidError, WalletProofInvalidError
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.curve import add_points, address_of, base_mul
from actionmfa.wallet.export import ExportEnvelope
from actionmfa.wallet.keyproofs import ClientRing, PreparedPaillier

__all__ = ["StandinKeygen", "claim_info", "open_standin", "pregenerated_session_id", "seal_standin",
           "standin_keygen"]

_SUITE = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
_ENC_LEN = 65  # uncompressed P-256 point


def pregenerated_session_id(ceremony_id: str, environment_id: str, identity: str, *, wallet_id: str) -> bytes:
    """The key generation's context: the identity (``type:identifier``) stands where the user id is."""
    return p2.keygen_session_id(ceremony_id, environment_id, f"pregenerated:{identity}", wallet_id=wallet_id)


@dataclass(frozen=True)
class StandinKeygen:
    server: p2.ServerKeyShare
    standin: p2.ClientKeyShare

    @property
    def address(self) -> str:
        return address_of(self.server.public_key)


def standin_keygen(sid: bytes, prepared: PreparedPaillier, ring: ClientRing) -> StandinKeygen:
    """Run the three key-generation messages between P1 and the stand-in, every proof checked (the
    messages go through their JSON form, as on the wire). ``ring``'s Πprm must have been verified."""
    commit_msg, server_state = p2.server_keygen_begin(sid, prepared)
    share_msg, standin_state = p2.client_keygen_respond(sid, p2.KeygenCommit.from_json(commit_msg.to_json()), ring)
    opening, server_share = p2.server_keygen_finish(server_state, p2.KeygenShare.from_json(share_msg.to_json()))
    standin = p2.client_keygen_finish(standin_state, p2.KeygenOpen.from_json(opening.to_json()))
    if standin.public_key.format() != server_share.public_key.format():
        raise WalletProofInvalidError("The stand-in and the server disagree on the wallet key")
    return StandinKeygen(server_share, standin)


def claim_info(wallet_id: str, user_id: str, key_version: int) -> bytes:
    """HPKE ``info`` of a delivery: no other wallet, user or key version reproduces it."""
    return b"actionmfa/claim/v1\x00" + "\x00".join((wallet_id, user_id, str(key_version))).encode()


def seal_standin(share: p2.ClientKeyShare, recipient: ec.EllipticCurvePublicKey, info: bytes) -> ExportEnvelope:
    blob = _SUITE.encrypt(json.dumps(share.to_json()).encode(), recipient, info=info)
    return ExportEnvelope(blob[:_ENC_LEN], blob[_ENC_LEN:])


def open_standin(envelope: ExportEnvelope, recipient: ec.EllipticCurvePrivateKey, info: bytes, *,
                 expected_address: str) -> p2.ClientKeyShare:
    """Open a delivery and check the share: x2·G + Q1 = Q, and Q is the wallet's address."""
    try:
        plaintext = _SUITE.decrypt(envelope.encapsulated_key + envelope.ciphertext, recipient, info=info)
        share = p2.ClientKeyShare.from_json(json.loads(plaintext))
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise WalletExportInvalidError("The stand-in share does not open in this context") from exc
    if add_points(base_mul(share.x2), share.server_public_share).format() != share.public_key.format():
        raise WalletProofInvalidError("The delivered share does not add up to the wallet key")
    if address_of(share.public_key).lower() != expected_address.lower():
        raise WalletProofInvalidError("The delivered share is for another address")
    return share
