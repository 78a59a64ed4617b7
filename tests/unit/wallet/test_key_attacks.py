"""Issue 9, the attacks on the server's Paillier key and encrypted share, each refused by the client
before it sends anything computed from ckey (no c3 can leave it: it has no share yet).

Each test builds what a malicious server would send; on the code before issue 9 (ckey checked only
to be a unit mod N², Πmod at 80 rounds, no Πfac, no trial division) every one of them was accepted.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import gmpy2
import pytest

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet import ecdsa2p as e
from actionmfa.wallet.curve import base_mul
from actionmfa.wallet.keyproofs import ClientRing, EncryptedShare, PreparedPaillier, prove_key, verify_key
from actionmfa.wallet.paillier import PaillierSecretKey, generate_blum_prime
from actionmfa.wallet.transcript import Role, Transcript
from actionmfa.wallet.zk.pilog import LogProof
from actionmfa.wallet.zk.sizes import check_modulus
from tests import wallet_keys

SID = e.keygen_session_id("ceremony-a", "env", "user", wallet_id="wallet-a")


def _keygen_until_open(prepared: PreparedPaillier, ring: ClientRing) -> tuple[e.ServerKeygenState,
                                                                           e.ClientKeygenState, e.KeygenOpen]:
    m1, sstate = e.server_keygen_begin(SID, prepared)
    m2, cstate = e.client_keygen_respond(SID, m1, ring)
    m3, _ = e.server_keygen_finish(sstate, m2)
    return sstate, cstate, m3


def _shifted_share(prepared: PreparedPaillier, ring: ClientRing, x1: int, shift: int) -> EncryptedShare:
    """ckey = Enc(x1 + shift) with the best proof a cheater can make (the true witness x1 + shift)."""
    pk = prepared.key.public
    rho = int(pk.random_unit())
    value = x1 + shift
    ckey = int((1 + value * pk.n) * gmpy2.powmod(rho, pk.n, pk.n_squared) % pk.n_squared)
    fs = Transcript(b"pilog/v2", SID, Role.SERVER)
    proof = LogProof.prove(pk, ring.params, fs, c=ckey, x_point=base_mul(x1), g=base_mul(1), x=value, rho=rho)
    return EncryptedShare(ckey, proof)


def test_honest_keygen_open_is_accepted(prepared_paillier: PreparedPaillier, client_ring: ClientRing) -> None:
    _, cstate, m3 = _keygen_until_open(prepared_paillier, client_ring)
    share = e.client_keygen_finish(cstate, e.KeygenOpen.from_json(m3.to_json()))
    assert share.ring is not None and share.ring.n == share.paillier.n


@pytest.mark.parametrize("shift", [2**900, 2**769, -(2**800)])
def test_ckey_encrypting_x1_plus_a_large_offset_is_refused(prepared_paillier: PreparedPaillier,
                                                           client_ring: ClientRing, shift: int) -> None:
    """The server sends ckey = Enc(x1 + 2^900) (x1 + shift ≡ log Q1 mod q only up to the shift, and
    out of Πlog*'s range): with it, c3 would reveal k2⁻¹·r, hence k2 and x2, after one signature."""
    sstate, cstate, m3 = _keygen_until_open(prepared_paillier, client_ring)
    cheat = dataclasses.replace(m3, encrypted_share=_shifted_share(prepared_paillier, client_ring, sstate.x1, shift))
    assert e.KeygenOpen.from_json(cheat.to_json()).ckey != m3.ckey  # it parses; only the proof catches it
    with pytest.raises(WalletProofInvalidError):
        e.client_keygen_finish(cstate, e.KeygenOpen.from_json(cheat.to_json()))


def test_ckey_swapped_under_an_honest_proof_is_refused(prepared_paillier: PreparedPaillier,
                                                       client_ring: ClientRing) -> None:
    sstate, cstate, m3 = _keygen_until_open(prepared_paillier, client_ring)
    other = prepared_paillier.key.public.encrypt(sstate.x1 + 2**900)
    cheat = dataclasses.replace(m3, encrypted_share=dataclasses.replace(m3.encrypted_share, ckey=other))
    with pytest.raises(WalletProofInvalidError):
        e.client_keygen_finish(cstate, cheat)


def test_proof_from_another_ceremony_or_role_is_refused(prepared_paillier: PreparedPaillier,
                                                         client_ring: ClientRing) -> None:
    _, _, m3 = _keygen_until_open(prepared_paillier, client_ring)
    other_sid = e.keygen_session_id("ceremony-b", "env", "user", wallet_id="wallet-a")
    q1 = m3.public_share
    with pytest.raises(WalletProofInvalidError):
        verify_key(m3.key_proof, m3.encrypted_share, client_ring.params, other_sid, q1)
    fs = Transcript(b"pilog/v2", SID, Role.CLIENT)  # the same proof presented as the client's
    with pytest.raises(WalletProofInvalidError):
        m3.encrypted_share.proof.verify(prepared_paillier.key.public, client_ring.params, fs, c=m3.ckey,
                                        x_point=q1, g=base_mul(1))


def test_proof_against_another_clients_ring_is_refused(prepared_paillier: PreparedPaillier,
                                                        client_ring: ClientRing) -> None:
    _, _, m3 = _keygen_until_open(prepared_paillier, client_ring)
    with pytest.raises(WalletProofInvalidError):
        verify_key(m3.key_proof, m3.encrypted_share, wallet_keys.client_ring(1).params, SID, m3.public_share)


@cache
def _key_with_small_factor() -> PaillierSecretKey:
    """N = 1000003 · q with q a 2028-bit Blum prime: a Paillier–Blum modulus (Πmod holds)."""
    while True:
        q = generate_blum_prime(2048 - 20)
        if (1000003 * q).bit_length() == 2048:
            return PaillierSecretKey(1000003, int(q))


def test_modulus_with_a_small_factor_is_refused(client_ring: ClientRing) -> None:
    """N = 1000003·q passed before (Πmod says nothing about factor sizes)."""
    key = _key_with_small_factor()
    prepared = PreparedPaillier.from_key(key)  # Πmod and Πprm can be made honestly for this N
    with pytest.raises(WalletProofInvalidError, match="small factor"):
        check_modulus(key.n)  # trial division (defence in depth)
    # Πfac alone also refuses it: the large factor is beyond √N·2^(ℓ+ε).
    proof = prove_key(prepared, client_ring.params, SID)
    with pytest.raises(WalletProofInvalidError, match="No-small-factor"):
        proof.fac_proof.verify(key.n, client_ring.params, Transcript(b"pifac/v2", SID, Role.SERVER))


def test_min_modulus_bits_can_raise_the_floor_but_not_lower_it() -> None:
    n = wallet_keys.server_keys()[0].key.n
    check_modulus(n, min_bits=1024)  # asking for less still means 2048
    with pytest.raises(WalletProofInvalidError):
        check_modulus(n, min_bits=3072)
    with pytest.raises(WalletProofInvalidError):
        check_modulus(int(generate_blum_prime(512)) * int(generate_blum_prime(512)), min_bits=512)
