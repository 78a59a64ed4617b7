"""Commitments and Schnorr proofs bound to session and role; Πmod (CGGMP21 Fig. 16) at 128 rounds."""

from __future__ import annotations

import dataclasses
import secrets

import gmpy2
import pytest

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.curve import base_mul, random_scalar
from actionmfa.wallet.keyproofs import PreparedPaillier
from actionmfa.wallet.paillier import PaillierSecretKey, generate_blum_prime
from actionmfa.wallet.proofs import MOD_PROOF_ROUNDS, ModProof, SchnorrProof, commit, verify_opening
from actionmfa.wallet.transcript import Role, Transcript, session_id

SERVER, CLIENT = Role.SERVER, Role.CLIENT


def _key_fs(prepared: PreparedPaillier) -> Transcript:
    return Transcript(b"pimod/v2", session_id("paillier-key", wallet_id="", ceremony_id=prepared.key_id,
                                              key_version=0), SERVER)


def test_commitment_opens_only_with_same_data_sid_and_role() -> None:
    c = commit(b"sid", b"data", role=SERVER)
    verify_opening(b"sid", c.digest, c.nonce, b"data", role=SERVER)
    for sid, data, role in ((b"sid", b"other", SERVER), (b"other", b"data", SERVER), (b"sid", b"data", CLIENT)):
        with pytest.raises(WalletProofInvalidError) as err:
            verify_opening(sid, c.digest, c.nonce, data, role=role)
        assert err.value.code == "wallet_proof_invalid"


def test_schnorr_accepts_and_binds_to_session() -> None:
    x = random_scalar()
    X = base_mul(x)
    proof = SchnorrProof.prove(b"session-a", x, X, role=CLIENT)
    proof.verify(b"session-a", X, role=CLIENT)
    SchnorrProof.from_json(proof.to_json()).verify(b"session-a", X, role=CLIENT)
    with pytest.raises(WalletProofInvalidError):
        proof.verify(b"session-b", X, role=CLIENT)
    with pytest.raises(WalletProofInvalidError):
        proof.verify(b"session-a", base_mul(random_scalar()), role=CLIENT)
    with pytest.raises(WalletProofInvalidError):
        dataclasses.replace(proof, response=(proof.response + 1)).verify(b"session-a", X, role=CLIENT)


def test_server_schnorr_proof_reflected_as_the_clients_is_refused() -> None:
    """Issue 9: no party role in the transcript let the server's own proof pass as the client's."""
    x = random_scalar()
    X = base_mul(x)
    server_proof = SchnorrProof.prove(b"sid", x, X, role=SERVER)
    server_proof.verify(b"sid", X, role=SERVER)
    with pytest.raises(WalletProofInvalidError):
        server_proof.verify(b"sid", X, role=CLIENT)


def test_pimod_has_128_rounds_and_accepts_blum_modulus(prepared_paillier: PreparedPaillier) -> None:
    proof = ModProof.from_json(prepared_paillier.mod_proof.to_json())
    assert MOD_PROOF_ROUNDS == 128 and len(proof.x) == len(proof.z) == 128
    proof.verify(prepared_paillier.key.n, _key_fs(prepared_paillier))


def test_pimod_rejects_fewer_rounds(prepared_paillier: PreparedPaillier) -> None:
    """An 80-round proof (the old soundness, 2^-80 against a grinding prover) is refused."""
    proof = ModProof.prove(prepared_paillier.key, _key_fs(prepared_paillier), rounds=80)
    with pytest.raises(WalletProofInvalidError):
        proof.verify(prepared_paillier.key.n, _key_fs(prepared_paillier))


def test_pimod_rejects_other_context_role_or_modulus(prepared_paillier: PreparedPaillier) -> None:
    proof, n = prepared_paillier.mod_proof, prepared_paillier.key.n
    fs = _key_fs(prepared_paillier)
    for other in (dataclasses.replace(fs, sid=b"\x00" * 32), dataclasses.replace(fs, role=CLIENT)):
        with pytest.raises(WalletProofInvalidError):
            proof.verify(n, other)
    with pytest.raises(WalletProofInvalidError):
        proof.verify(n + 2, fs)


def test_pimod_rejects_tampered_proof(prepared_paillier: PreparedPaillier) -> None:
    proof = prepared_paillier.mod_proof
    n, fs = prepared_paillier.key.n, _key_fs(prepared_paillier)
    bad_x = dataclasses.replace(proof, x=(proof.x[0] + 1, *proof.x[1:]))
    bad_z = dataclasses.replace(proof, z=(*proof.z[:-1], proof.z[-1] ^ 1))
    bad_a = dataclasses.replace(proof, a=(1 - proof.a[0], *proof.a[1:]))
    short = dataclasses.replace(proof, x=proof.x[:-1])
    for bad in (bad_x, bad_z, bad_a, short):
        with pytest.raises(WalletProofInvalidError):
            bad.verify(n, fs)


def test_pimod_cannot_be_made_for_a_non_blum_modulus(prepared_paillier: PreparedPaillier) -> None:
    # p ≡ 1 (mod 4): no valid proof exists; the best a cheater can do is reuse another N's proof.
    while True:
        p = int(gmpy2.next_prime(secrets.randbits(1024) | (1 << 1023)))
        if p % 4 == 1:
            break
    q = generate_blum_prime(1024)
    with pytest.raises(ValueError):
        ModProof.prove(PaillierSecretKey(int(p), int(q)), _key_fs(prepared_paillier))
    with pytest.raises(WalletProofInvalidError):
        prepared_paillier.mod_proof.verify(int(p) * int(q), _key_fs(prepared_paillier))


def test_pimod_rejects_prime_and_even_modulus(prepared_paillier: PreparedPaillier) -> None:
    proof = prepared_paillier.mod_proof
    for n in (int(generate_blum_prime(1024)), prepared_paillier.key.n * 2):
        with pytest.raises(WalletProofInvalidError):
            proof.verify(n, _key_fs(prepared_paillier))


def test_pimod_malformed_json() -> None:
    with pytest.raises(WalletProofInvalidError):
        ModProof.from_json({"w": "AA", "x": [], "a": "2", "b": "", "z": []})
