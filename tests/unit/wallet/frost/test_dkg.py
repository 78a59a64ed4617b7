"""FROST KeyGen (ePrint 2020/852 Figure 1) between the user and the server, and its refusals."""

from __future__ import annotations

import copy

import pytest
from nacl.signing import VerifyKey

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.frost import dkg
from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost.keys import KeyShare
from actionmfa.wallet.frost.transcript import Role, dkg_context
from tests.unit.wallet.frost.conftest import CONTEXT, run_keygen, seeded

# Known answer: the group key of a key generation with fixed randomness (a regression vector: any
# change to the transcript, the proof's hash or the encodings changes it).
KNOWN_GROUP_KEY = "25511d5e993fe44d977b3403c50627b570b348f3ed3d9f44bbc9eba5532220f0"


def _interpolated(user: KeyShare, server: KeyShare) -> bytes:
    return fc.group_secret(user, server.secret_share)


def test_both_parties_agree_and_neither_holds_the_key(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    user, server = frost_shares
    assert user.group_public_key == server.group_public_key
    assert user.public_share == server.peer_public_share
    assert server.public_share == user.peer_public_share
    secret = _interpolated(user, server)
    assert g.base_mult(secret) == user.group_public_key
    assert secret not in (user.secret_share, server.secret_share)
    assert (user.identifier, server.identifier) == (Role.USER, Role.SERVER)


def test_known_answer_with_fixed_randomness() -> None:
    a = run_keygen(server_rng=seeded(b"server"), user_rng=seeded(b"user"))
    b = run_keygen(server_rng=seeded(b"server"), user_rng=seeded(b"user"))
    assert a == b
    assert a[0].group_public_key.hex() == KNOWN_GROUP_KEY


def test_the_key_signs_as_plain_ed25519(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    user, server = frost_shares
    opening, state = fc.server_sign_begin(server)
    message, _ = fc.client_sign(user, b"hello solana", opening)
    sig = fc.server_sign_complete(server, state, b"hello solana", message)
    VerifyKey(user.group_public_key).verify(b"hello solana", sig)


def _keygen_until_user_message() -> tuple[dict, dict, fc.ClientKeygen, dict]:
    opening, state = fc.server_keygen_begin(CONTEXT)
    user_state, message = fc.client_keygen_begin(CONTEXT, opening)
    return opening, state, user_state, message


def test_tampered_user_commitment_is_refused() -> None:
    _, state, _, message = _keygen_until_user_message()
    forged = copy.deepcopy(message)
    # A rogue key: φ1 a point of unknown discrete log, φ0 = r·B − 2·φ1 so that the share r still
    # matches the commitment — only the proof of knowledge of a0 = log φ0 can catch it.
    phi1 = g.base_mult(g.random_scalar())  # stands for a point whose log nobody knows
    r = g.random_scalar()
    phi0 = g.add(g.base_mult(r), g.scalar_mult(phi1, g.scalar_neg(g.scalar(2))))
    forged["package"]["commitment"] = [phi0.hex(), phi1.hex()]
    forged["share"] = r.hex()
    with pytest.raises(WalletProofInvalidError, match="proof of knowledge"):
        fc.server_keygen_finish(state, CONTEXT, forged)


def test_user_share_not_matching_its_commitment_is_refused() -> None:
    _, state, _, message = _keygen_until_user_message()
    forged = dict(message, share=g.random_scalar().hex())
    with pytest.raises(WalletProofInvalidError):
        fc.server_keygen_finish(state, CONTEXT, forged)


def test_a_package_from_another_ceremony_is_refused() -> None:
    other = dkg_context(environment_id="env-1", user_id="user-1", wallet_id="wallet-1", ceremony_id="cer-2")
    opening, state = fc.server_keygen_begin(CONTEXT)
    _, message = fc.client_keygen_begin(other, opening)  # proof bound to cer-2
    with pytest.raises(WalletProofInvalidError):
        fc.server_keygen_finish(state, CONTEXT, message)


def test_a_package_claiming_the_server_role_is_refused() -> None:
    _, state, _, message = _keygen_until_user_message()
    forged = copy.deepcopy(message)
    forged["package"]["identifier"] = int(Role.SERVER)
    with pytest.raises(WalletProofInvalidError):
        fc.server_keygen_finish(state, CONTEXT, forged)
    # Re-proved honestly for the server's role, the proof is still for the wrong identifier.
    secret = dkg.dkg_round1(int(Role.SERVER), CONTEXT)
    assert not dkg.verify_proof(int(Role.USER), CONTEXT, secret.package.commitment[0], secret.package.proof)


def test_tampered_server_commitment_is_refused() -> None:
    _, state, user_state, message = _keygen_until_user_message()
    reply, _ = fc.server_keygen_finish(state, CONTEXT, message)
    swapped = copy.deepcopy(reply)
    swapped["package"]["commitment"][1] = g.base_mult(g.random_scalar()).hex()
    with pytest.raises(WalletProofInvalidError, match="commitment"):
        fc.client_keygen_finish(user_state, CONTEXT, swapped)


def test_a_server_that_reveals_another_package_is_refused() -> None:
    # The server committed to one package and reveals a different (valid) one: the hash does not open.
    _, _state, user_state, message = _keygen_until_user_message()
    _, other_state = fc.server_keygen_begin(CONTEXT)
    reply, _ = fc.server_keygen_finish(other_state, CONTEXT, message)
    with pytest.raises(WalletProofInvalidError, match="commitment"):
        fc.client_keygen_finish(user_state, CONTEXT, reply)


def test_a_server_share_not_matching_its_commitment_is_refused() -> None:
    _, state, user_state, message = _keygen_until_user_message()
    reply, _ = fc.server_keygen_finish(state, CONTEXT, message)
    with pytest.raises(WalletProofInvalidError):
        fc.client_keygen_finish(user_state, CONTEXT, dict(reply, share=g.random_scalar().hex()))


def test_a_server_reporting_another_key_is_refused() -> None:
    _, state, user_state, message = _keygen_until_user_message()
    reply, _ = fc.server_keygen_finish(state, CONTEXT, message)
    with pytest.raises(WalletProofInvalidError, match="different wallet key"):
        fc.client_keygen_finish(user_state, CONTEXT, reply, g.base_mult(g.random_scalar()))


@pytest.mark.parametrize("field", ["R", "mu"])
def test_malformed_proof_fields_are_typed_errors(field: str) -> None:
    _, state, _, message = _keygen_until_user_message()
    forged = copy.deepcopy(message)
    forged["package"]["proof"][field] = "zz" * 32
    with pytest.raises(WalletProofInvalidError):
        fc.server_keygen_finish(state, CONTEXT, forged)
