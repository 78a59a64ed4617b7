from __future__ import annotations

import dataclasses
import secrets

import gmpy2
import pytest

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.curve import base_mul, random_scalar
from actionmfa.wallet.ecdsa2p import MOD_PROOF_CONTEXT, PreparedPaillier
from actionmfa.wallet.paillier import PaillierSecretKey, generate_blum_prime
from actionmfa.wallet.proofs import ModProof, SchnorrProof, commit, verify_opening


def test_commitment_opens_only_with_same_data_and_sid() -> None:
    c = commit(b"sid", b"data")
    verify_opening(b"sid", c.digest, c.nonce, b"data")
    for sid, data in ((b"sid", b"other"), (b"other", b"data")):
        with pytest.raises(WalletProofInvalidError) as err:
            verify_opening(sid, c.digest, c.nonce, data)
        assert err.value.code == "wallet_proof_invalid"


def test_schnorr_accepts_and_binds_to_session() -> None:
    x = random_scalar()
    X = base_mul(x)
    proof = SchnorrProof.prove(b"session-a", x, X)
    proof.verify(b"session-a", X)
    SchnorrProof.from_json(proof.to_json()).verify(b"session-a", X)
    with pytest.raises(WalletProofInvalidError):
        proof.verify(b"session-b", X)
    with pytest.raises(WalletProofInvalidError):
        proof.verify(b"session-a", base_mul(random_scalar()))
    with pytest.raises(WalletProofInvalidError):
        dataclasses.replace(proof, response=(proof.response + 1)).verify(b"session-a", X)


def test_pimod_accepts_blum_modulus(prepared_paillier: PreparedPaillier) -> None:
    proof = ModProof.from_json(prepared_paillier.mod_proof.to_json())
    proof.verify(prepared_paillier.key.n, MOD_PROOF_CONTEXT)


def test_pimod_rejects_other_context_or_modulus(
    prepared_paillier: PreparedPaillier, paillier_key: PaillierSecretKey
) -> None:
    proof = prepared_paillier.mod_proof
    with pytest.raises(WalletProofInvalidError):
        proof.verify(paillier_key.n, b"another context")
    with pytest.raises(WalletProofInvalidError):
        proof.verify(paillier_key.n + 2, MOD_PROOF_CONTEXT)


def test_pimod_rejects_tampered_proof(prepared_paillier: PreparedPaillier) -> None:
    proof = prepared_paillier.mod_proof
    n = prepared_paillier.key.n
    bad_x = dataclasses.replace(proof, x=(proof.x[0] + 1, *proof.x[1:]))
    bad_z = dataclasses.replace(proof, z=(*proof.z[:-1], proof.z[-1] ^ 1))
    bad_a = dataclasses.replace(proof, a=(1 - proof.a[0], *proof.a[1:]))
    short = dataclasses.replace(proof, x=proof.x[:-1])
    for bad in (bad_x, bad_z, bad_a, short):
        with pytest.raises(WalletProofInvalidError):
            bad.verify(n, MOD_PROOF_CONTEXT)


def test_pimod_cannot_be_made_for_a_non_blum_modulus(prepared_paillier: PreparedPaillier) -> None:
    # p ≡ 1 (mod 4): no valid proof exists; the best a cheater can do is reuse another N's proof.
    while True:
        p = int(gmpy2.next_prime(secrets.randbits(512) | (1 << 511)))
        if p % 4 == 1:
            break
    q = generate_blum_prime(512)
    with pytest.raises(ValueError):
        ModProof.prove(PaillierSecretKey(int(p), int(q)), MOD_PROOF_CONTEXT)
    with pytest.raises(WalletProofInvalidError):
        prepared_paillier.mod_proof.verify(int(p) * int(q), MOD_PROOF_CONTEXT)


def test_pimod_rejects_prime_and_even_modulus(prepared_paillier: PreparedPaillier) -> None:
    proof = prepared_paillier.mod_proof
    for n in (int(generate_blum_prime(1024)), prepared_paillier.key.n * 2):
        with pytest.raises(WalletProofInvalidError):
            proof.verify(n, MOD_PROOF_CONTEXT)


def test_pimod_malformed_json() -> None:
    with pytest.raises(WalletProofInvalidError):
        ModProof.from_json({"w": "AA", "x": [], "a": "2", "b": "", "z": []})
