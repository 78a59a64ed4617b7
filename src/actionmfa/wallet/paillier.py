"""Paillier encryption on gmpy2 (Paillier 1999), with Blum moduli for the Πmod proof.

Only what two-party ECDSA needs: key generation with primes p ≡ q ≡ 3 (mod 4), encryption with
``g = N + 1``, CRT decryption, homomorphic addition and scalar multiplication, and a pool of
precomputed randomness ``r^N mod N²`` that moves the expensive exponentiation offline.

Written on gmpy2 (LGPL) rather than ``phe`` (GPL) so that the project stays permissively licensed.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import gmpy2
from gmpy2 import mpz

__all__ = [
    "DEFAULT_MODULUS_BITS",
    "PaillierPublicKey",
    "PaillierSecretKey",
    "PrecomputePool",
    "RandomnessPool",
    "generate_blum_prime",
    "generate_paillier_key",
    "release_gil",
]

DEFAULT_MODULUS_BITS = 2048
T = TypeVar("T")
_MR_ROUNDS = 40  # gmpy2.is_prime rounds; error ≤ 4^-40 per candidate


def release_gil() -> None:
    """Let this thread's long gmpy2 operations run without the GIL (the context is per thread), so a
    background precomputation or a second request thread does not stall the others."""
    gmpy2.get_context().allow_release_gil = True


_release_gil = release_gil


def _odd_primorial(limit: int) -> mpz:
    product, prime = mpz(1), mpz(3)
    while prime < limit:
        product *= prime
        prime = gmpy2.next_prime(prime)
    return product


_SIEVE = _odd_primorial(5000)  # one gcd discards candidates with a factor below 5000


def generate_blum_prime(bits: int, *, safe: bool = False) -> mpz:
    """A random prime ``p`` of ``bits`` bits with ``p ≡ 3 (mod 4)``.

    With ``safe=True`` the prime is also safe (``p = 2p' + 1``, ``p'`` prime, which implies
    ``p ≡ 3 (mod 4)``); about 0.1–4 s for 1024 bits on one core, against ~10 ms for a plain one.
    """
    if bits < 16:
        raise ValueError("prime size too small")
    sieve = _SIEVE if bits > 64 else mpz(1)
    while True:
        candidate = mpz(secrets.randbits(bits) | (3 << (bits - 2)) | 3)  # top bits set, ≡ 3 (mod 4)
        if gmpy2.gcd(candidate, sieve) != 1:
            continue
        if safe:
            half = candidate >> 1  # (p - 1) / 2, odd because p ≡ 3 (mod 4)
            if gmpy2.gcd(half, sieve) != 1:
                continue
            # one cheap round on each first, then the full test
            if not gmpy2.is_prime(half, 1) or not gmpy2.is_prime(candidate, 1):
                continue
            if gmpy2.is_prime(half, _MR_ROUNDS) and gmpy2.is_prime(candidate, _MR_ROUNDS):
                return candidate
        elif gmpy2.is_prime(candidate, _MR_ROUNDS):
            return candidate


@dataclass(frozen=True)
class PaillierPublicKey:
    """Public key ``N`` (generator ``g = N + 1``)."""

    n: int
    _n: mpz = field(init=False, repr=False, compare=False)
    _n2: mpz = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_n", mpz(self.n))
        object.__setattr__(self, "_n2", mpz(self.n) * mpz(self.n))

    @property
    def n_squared(self) -> int:
        return int(self._n2)

    @property
    def bits(self) -> int:
        return int(self._n.bit_length())

    def random_unit(self) -> mpz:
        """A uniform element of Z_N^* (a non-unit would reveal a factor; negligible, but checked)."""
        while True:
            r = mpz(secrets.randbelow(self.n - 1) + 1)
            if gmpy2.gcd(r, self._n) == 1:
                return r

    def randomness(self) -> int:
        """A fresh ``r^N mod N²`` — the expensive part of an encryption."""
        return self.randomness_pair()[1]

    def randomness_pair(self) -> tuple[int, int]:
        """A fresh ``(r, r^N mod N²)``: a proof about the ciphertext needs ``r`` itself."""
        _release_gil()
        r = self.random_unit()
        return int(r), int(gmpy2.powmod(r, self._n, self._n2))

    def encrypt(self, plaintext: int, *, rn: int | None = None) -> int:
        """Enc(m) = (1 + m·N) · r^N mod N². ``rn`` is a precomputed ``r^N`` used exactly once."""
        if not 0 <= plaintext < self.n:
            raise ValueError("plaintext out of range")
        blind = mpz(rn) if rn is not None else mpz(self.randomness())
        return int((1 + mpz(plaintext) * self._n) * blind % self._n2)

    def add(self, c1: int, c2: int) -> int:
        """Enc(m1) ⊕ Enc(m2) = Enc(m1 + m2)."""
        return int(mpz(c1) * mpz(c2) % self._n2)

    def mul(self, c: int, k: int) -> int:
        """k ⊙ Enc(m) = Enc(k·m)."""
        _release_gil()
        return int(gmpy2.powmod(mpz(c), mpz(k), self._n2))

    def is_ciphertext(self, c: int) -> bool:
        return 0 < c < self.n_squared and gmpy2.gcd(mpz(c), self._n) == 1


@dataclass(frozen=True)
class PaillierSecretKey:
    """Secret factors ``p``, ``q`` of a Blum modulus; decryption uses the CRT."""

    p: int
    q: int
    public: PaillierPublicKey = field(init=False)
    _crt: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p, q = mpz(self.p), mpz(self.q)
        if p == q:
            raise ValueError("p and q must differ")
        object.__setattr__(self, "public", PaillierPublicKey(int(p * q)))
        p2, q2 = p * p, q * q
        # h_p = L_p(g^(p-1) mod p²)^-1 mod p (Paillier 1999 §7, CRT decryption). With g = N + 1,
        # g^(p-1) ≡ 1 + (p-1)·N (mod p²), so L_p(…) = (p-1)·q ≡ -q (mod p): no exponentiation needed.
        hp = gmpy2.invert(-q % p, p)
        hq = gmpy2.invert(-p % q, q)
        q_inv_p = gmpy2.invert(q, p)
        object.__setattr__(self, "_crt", (p, q, p2, q2, hp, hq, q_inv_p))

    @property
    def n(self) -> int:
        return self.public.n

    def decrypt(self, ciphertext: int) -> int:
        if not self.public.is_ciphertext(ciphertext):
            raise ValueError("not a valid ciphertext")
        p, q, p2, q2, hp, hq, q_inv_p = self._crt
        _release_gil()
        c = mpz(ciphertext)
        mp = (gmpy2.powmod(c, p - 1, p2) - 1) // p * hp % p
        mq = (gmpy2.powmod(c, q - 1, q2) - 1) // q * hq % q
        return int(mq + ((mp - mq) * q_inv_p % p) * q)

    def phi(self) -> int:
        return (self.p - 1) * (self.q - 1)

    def to_json(self) -> dict[str, str]:
        return {"p": format(self.p, "x"), "q": format(self.q, "x")}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> PaillierSecretKey:
        return cls(int(data["p"], 16), int(data["q"], 16))


def generate_paillier_key(bits: int = DEFAULT_MODULUS_BITS, *, safe_primes: bool = False) -> PaillierSecretKey:
    """A Paillier key whose modulus is a Blum integer of exactly ``bits`` bits."""
    if bits % 2 or bits < 512:
        raise ValueError("modulus size must be even and at least 512 bits")
    half = bits // 2
    while True:
        p = generate_blum_prime(half, safe=safe_primes)
        q = generate_blum_prime(half, safe=safe_primes)
        n = p * q
        # |p - q| large (Fermat factoring), N exactly `bits` bits, gcd(N, φ(N)) = 1 (needed by Πmod).
        if abs(p - q).bit_length() < half - 100 or n.bit_length() != bits:
            continue
        if gmpy2.gcd(n, (p - 1) * (q - 1)) != 1:
            continue
        return PaillierSecretKey(int(p), int(q))


class PrecomputePool(Generic[T]):
    """Values made ahead of time by ``make`` (each handed out once), filled in idle time (``fill``,
    or ``start_background``) to take expensive work off the critical path."""

    def __init__(self, make: Callable[[], T], *, target: int = 16) -> None:
        self._make = make
        self.target = target
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._items)

    def fill(self, count: int | None = None) -> None:
        want = self.target if count is None else count
        while len(self._items) < want and not self._stop.is_set():
            value = self._make()
            with self._lock:
                self._items.append(value)

    def take_item(self) -> T:
        """A precomputed value if one is ready, else a freshly made one."""
        with self._lock:
            value = self._items.popleft() if self._items else None
        self._wake.set()
        return value if value is not None else self._make()

    def start_background(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="wallet-precompute", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        _release_gil()
        while not self._stop.is_set():
            self.fill()
            self._wake.wait(timeout=1.0)
            self._wake.clear()


class RandomnessPool(PrecomputePool[tuple[int, int]]):
    """Precomputed ``(r, r^N mod N²)`` pairs for one public key (each handed out once).

    Encryption costs one 2048-bit exponentiation modulo N² (~9 ms); everything else is cheap.
    """

    def __init__(self, public: PaillierPublicKey, *, target: int = 16) -> None:
        super().__init__(public.randomness_pair, target=target)
        self.public = public

    def take_pair(self) -> tuple[int, int]:
        return self.take_item()

    def take(self) -> int:
        """A precomputed ``r^N`` if one is ready, else a freshly computed one."""
        return self.take_item()[1]
