from __future__ import annotations

import pytest

from actionmfa.wallet.keypool import KeyPool
from actionmfa.wallet.paillier import PaillierSecretKey, RandomnessPool, generate_blum_prime


def test_blum_primes_are_3_mod_4() -> None:
    for _ in range(5):
        p = generate_blum_prime(256)
        assert p % 4 == 3
        assert p.bit_length() == 256


def test_safe_blum_prime_small() -> None:
    p = generate_blum_prime(64, safe=True)
    assert p % 4 == 3
    half = (p - 1) // 2
    assert all(half % d for d in range(2, 1000) if d < half)


def test_key_is_blum_and_exact_size(paillier_key: PaillierSecretKey) -> None:
    assert paillier_key.p % 4 == 3 and paillier_key.q % 4 == 3
    assert paillier_key.n.bit_length() == 2048


def test_encrypt_decrypt_and_homomorphism(paillier_key: PaillierSecretKey) -> None:
    pk = paillier_key.public
    m1, m2, k = 12345, 2**200 + 7, 2**255 - 19
    c1, c2 = pk.encrypt(m1), pk.encrypt(m2)
    assert c1 != pk.encrypt(m1)  # randomised
    assert paillier_key.decrypt(c1) == m1
    assert paillier_key.decrypt(pk.add(c1, c2)) == m1 + m2
    assert paillier_key.decrypt(pk.mul(c1, k)) == (m1 * k) % pk.n


def test_precomputed_randomness_decrypts(paillier_key: PaillierSecretKey) -> None:
    pool = RandomnessPool(paillier_key.public, target=3)
    pool.fill()
    assert len(pool) == 3
    c = paillier_key.public.encrypt(99, rn=pool.take())
    assert paillier_key.decrypt(c) == 99
    assert len(pool) == 2


def test_plaintext_out_of_range_refused(paillier_key: PaillierSecretKey) -> None:
    with pytest.raises(ValueError):
        paillier_key.public.encrypt(paillier_key.n)
    with pytest.raises(ValueError):
        paillier_key.decrypt(0)


def test_secret_key_json_round_trip(paillier_key: PaillierSecretKey) -> None:
    again = PaillierSecretKey.from_json(paillier_key.to_json())
    assert again.n == paillier_key.n


def test_keypool_background_fill_and_inline_fallback() -> None:
    counter = iter(range(1000))
    pool: KeyPool[int] = KeyPool(lambda: next(counter), size=3).start()
    try:
        first = pool.take(wait=5)
        assert isinstance(first, int)
        for _ in range(3):
            pool.take(wait=5)
    finally:
        pool.stop()
    assert len(pool) <= 3
    assert pool.generated >= 3


def test_keypool_without_thread_generates_inline() -> None:
    pool: KeyPool[str] = KeyPool(lambda: "fresh", size=2)
    pool.put("ready")
    assert pool.take() == "ready"
    assert pool.take() == "fresh"
    assert pool.inline_fallbacks == 1


@pytest.mark.slow
def test_process_key_generator_returns_a_proven_key() -> None:
    from actionmfa.wallet.keypool import ProcessKeyGenerator
    from actionmfa.wallet.keyproofs import verify_key_without_ring

    generator = ProcessKeyGenerator(2048, safe_primes=False)
    try:
        prepared = generator()
    finally:
        generator.close()
    assert prepared.key.n.bit_length() == 2048
    pk = prepared.key.public
    verify_key_without_ring(prepared.key_id, pk.n, prepared.ring.public, prepared.mod_proof, prepared.prm_proof,
                            pk.encrypt(1))
