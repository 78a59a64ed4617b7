"""RFC 9591 Appendix E.1, FROST(Ed25519, SHA-512), replayed from the vector file as data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import VerifyKey

from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost import signing as fs
from actionmfa.wallet.frost.keys import verify_ed25519

VECTORS = Path(__file__).resolve().parents[3] / "vectors" / "frost_ed25519_sha512.json"


@pytest.fixture(scope="module")
def vec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS.read_text())
    return data


def _fixed(*chunks: bytes) -> Any:
    it: Iterator[bytes] = iter(chunks)

    def rng(n: int) -> bytes:
        chunk = next(it)
        assert len(chunk) == n
        return chunk

    return rng


def _h(x: str) -> bytes:
    return bytes.fromhex(x)


def _shares(vec: dict[str, Any]) -> dict[int, bytes]:
    return {p["identifier"]: _h(p["participant_share"]) for p in vec["inputs"]["participant_shares"]}


def _round_one(vec: dict[str, Any]) -> tuple[dict[int, fs.SigningNonces], list[fs.SigningCommitments]]:
    shares = _shares(vec)
    nonces: dict[int, fs.SigningNonces] = {}
    for out in vec["round_one_outputs"]["outputs"]:
        i = out["identifier"]
        rng = _fixed(_h(out["hiding_nonce_randomness"]), _h(out["binding_nonce_randomness"]))
        nonces[i] = fs.commit(i, shares[i], rng)
    commitment_list = [nonces[i].commitments for i in sorted(nonces)]
    return nonces, commitment_list


def test_the_file_is_the_ed25519_suite(vec: dict[str, Any]) -> None:
    assert vec["config"]["name"] == "FROST(Ed25519, SHA-512)"
    assert vec["inputs"]["participant_list"] == [1, 3]


def test_group_key_and_shares_from_the_dealer_polynomial(vec: dict[str, Any]) -> None:
    secret = _h(vec["inputs"]["group_secret_key"])
    assert g.base_mult(secret).hex() == vec["inputs"]["group_public_key"]
    a1 = _h(vec["inputs"]["share_polynomial_coefficients"][0])
    for i, share in _shares(vec).items():
        assert g.scalar_add(secret, g.scalar_mul(a1, g.scalar(i))) == share
    # Any two shares interpolate back to the group secret (λ at zero).
    s = _shares(vec)
    lam1, lam3 = fs.interpolating_value([1, 3], 1), fs.interpolating_value([1, 3], 3)
    assert g.scalar_add(g.scalar_mul(lam1, s[1]), g.scalar_mul(lam3, s[3])) == secret


def test_round_one_nonces_and_commitments(vec: dict[str, Any]) -> None:
    nonces, _ = _round_one(vec)
    for out in vec["round_one_outputs"]["outputs"]:
        n = nonces[out["identifier"]]
        hiding, binding = n.peek()
        assert hiding.hex() == out["hiding_nonce"]
        assert binding.hex() == out["binding_nonce"]
        assert n.commitments.hiding.hex() == out["hiding_nonce_commitment"]
        assert n.commitments.binding.hex() == out["binding_nonce_commitment"]


def test_binding_factors(vec: dict[str, Any]) -> None:
    _, commitment_list = _round_one(vec)
    pk, msg = _h(vec["inputs"]["group_public_key"]), _h(vec["inputs"]["message"])
    factors = fs.binding_factors(pk, commitment_list, msg)
    for out in vec["round_one_outputs"]["outputs"]:
        i = out["identifier"]
        assert fs.binding_factor_input(pk, commitment_list, msg, i).hex() == out["binding_factor_input"]
        assert factors[i].hex() == out["binding_factor"]


def test_round_two_shares_aggregate_and_verify(vec: dict[str, Any]) -> None:
    nonces, commitment_list = _round_one(vec)
    shares = _shares(vec)
    pk, msg = _h(vec["inputs"]["group_public_key"]), _h(vec["inputs"]["message"])
    sig_shares = []
    for out in vec["round_two_outputs"]["outputs"]:
        i = out["identifier"]
        z = fs.sign(i, shares[i], pk, nonces[i], msg, commitment_list)
        assert z.hex() == out["sig_share"]
        assert fs.verify_signature_share(i, g.base_mult(shares[i]), z, commitment_list, pk, msg)
        sig_shares.append(z)
    sig = fs.aggregate(commitment_list, msg, pk, sig_shares)
    assert sig.hex() == vec["final_output"]["sig"]
    # Independent verifiers: OpenSSL (cryptography) and libsodium (PyNaCl's crypto_sign_verify_detached).
    assert verify_ed25519(pk, msg, sig)
    VerifyKey(pk).verify(msg, sig)


def test_a_nonce_pair_signs_once(vec: dict[str, Any]) -> None:
    nonces, commitment_list = _round_one(vec)
    shares = _shares(vec)
    pk, msg = _h(vec["inputs"]["group_public_key"]), _h(vec["inputs"]["message"])
    fs.sign(1, shares[1], pk, nonces[1], msg, commitment_list)
    assert nonces[1].spent
    with pytest.raises(fs.NonceReuseError):
        fs.sign(1, shares[1], pk, nonces[1], b"another message", commitment_list)


def test_a_wrong_share_is_identified(vec: dict[str, Any]) -> None:
    nonces, commitment_list = _round_one(vec)
    shares = _shares(vec)
    pk, msg = _h(vec["inputs"]["group_public_key"]), _h(vec["inputs"]["message"])
    z = fs.sign(3, shares[3], pk, nonces[3], msg, commitment_list)
    bad = g.scalar_add(z, g.scalar(1))
    assert not fs.verify_signature_share(3, g.base_mult(shares[3]), bad, commitment_list, pk, msg)
    assert not fs.verify_signature_share(1, g.base_mult(shares[1]), z, commitment_list, pk, msg)
