"""Range parameters of the proofs (CGGMP21 §6 "Parameters"), the modulus floor, trial division.

CGGMP21 takes ℓ = |q| = 256, ε = 2ℓ = 512 and Paillier moduli of at least 8ℓ = 2048 bits. A value
proven "in ±2^(ℓ+ε)" is known to be below 2^768 in absolute value, not below q: that is the
*slack* of these range proofs, and every bound below accounts for it.
"""

from __future__ import annotations

from functools import cache

import gmpy2
from gmpy2 import mpz

from actionmfa.errors import WalletProofInvalidError

__all__ = [
    "EPS",
    "L_SIGN_ADD",
    "MAX_MODULUS_BITS",
    "MIN_MODULUS_BITS",
    "RHO_BITS",
    "L",
    "check_modulus",
    "in_range",
    "trial_division",
]

L = 256  # ℓ: secp256k1 scalars (x1, the multiplier k2⁻¹·r of the signing ciphertext)
EPS = 512  # ε = 2ℓ
# The signing ciphertext's additive term is ρ·q + a with ρ < 2^RHO_BITS: it must statistically hide
# x̃1·b + a where the server's plaintext x̃1 is only proven below 2^(ℓ+ε) and b < q, so ρ·q carries
# ℓ + ε + ℓ + 128 bits. Honest additive terms are below 2^L_SIGN_ADD.
RHO_BITS = L + EPS + 128
L_SIGN_ADD = RHO_BITS + L + 1
MIN_MODULUS_BITS = 2048  # 8ℓ; a floor the SDK cannot lower (issue 9 item 2)
MAX_MODULUS_BITS = 4096
TRIAL_DIVISION_BOUND = 1 << 20  # defence in depth beside Πfac: every prime below 2^20 (1000003 included)


@cache
def _small_primes() -> mpz:
    """The product of every prime below the bound (about 1.5 Mbit), built once (sieve, product tree)."""
    bound = TRIAL_DIVISION_BOUND
    sieve = bytearray([1]) * bound
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(bound**0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytes(len(range(i * i, bound, i)))
    level = [mpz(i) for i in range(bound) if sieve[i]]
    while len(level) > 1:
        level = [level[i] * level[i + 1] if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]


def trial_division(n: int) -> None:
    """Refuse ``n`` if a prime below 2^20 divides it (one gcd with their product)."""
    if gmpy2.gcd(_small_primes() % mpz(n), mpz(n)) != 1:
        raise WalletProofInvalidError("Paillier modulus has a small factor")


def check_modulus(n: int, *, min_bits: int = MIN_MODULUS_BITS) -> None:
    """Size (``max(min_bits, 2048)`` … 4096 bits, so a caller can raise the floor, never lower it),
    not a prime or a perfect power, no factor below 2^20."""
    bits = n.bit_length()
    if bits < max(min_bits, MIN_MODULUS_BITS) or bits > MAX_MODULUS_BITS:
        raise WalletProofInvalidError("Paillier modulus has the wrong size")
    nn = mpz(n)
    if gmpy2.is_prime(nn, 25) or gmpy2.is_power(nn):
        raise WalletProofInvalidError("Paillier modulus is not a product of two primes")
    trial_division(n)


def in_range(value: int, bits: int) -> bool:
    """``|value| ≤ 2^bits`` (the ± ranges of CGGMP21)."""
    return abs(value) <= (1 << bits)
