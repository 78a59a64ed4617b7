"""What a malicious server would do to the encrypted key share (issue 9): ckey = Enc(x1 + shift)
with the best Πlog* it can make (its true witness, out of range)."""

from __future__ import annotations

from collections.abc import Callable

import gmpy2

from actionmfa.wallet.curve import Point, base_mul
from actionmfa.wallet.keyproofs import EncryptedShare, PreparedPaillier
from actionmfa.wallet.transcript import Role, Transcript
from actionmfa.wallet.zk.pilog import LogProof
from actionmfa.wallet.zk.ring import RingParams

EncryptShare = Callable[[PreparedPaillier, RingParams, bytes, int, Point | None], EncryptedShare]


def shifted_encrypt_share(shift: int = 2**900) -> EncryptShare:
    def encrypt(prepared: PreparedPaillier, client_ring: RingParams, sid: bytes, x1: int,
                q1: Point | None = None) -> EncryptedShare:
        pk = prepared.key.public
        rho = int(pk.random_unit())
        value = x1 + shift
        ckey = int((1 + value * pk.n) * gmpy2.powmod(rho, pk.n, pk.n_squared) % pk.n_squared)
        proof = LogProof.prove(pk, client_ring, Transcript(b"pilog/v2", sid, Role.SERVER), c=ckey,
                               x_point=q1 if q1 is not None else base_mul(x1), g=base_mul(1), x=value, rho=rho)
        return EncryptedShare(ckey, proof)

    return encrypt
