"""Red-team findings on the 2P-ECDSA key proofs (each test failed before its fix)."""

from __future__ import annotations

import pytest

from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.keyproofs import verify_key_without_ring
from tests.wallet_keys import server_keys


def test_key_only_memo_does_not_vouch_for_another_modulus() -> None:
    """A malicious server first sends an honest pair set-up (its Πmod/Πprm pass and are memoised),
    then the same key id, ring and proofs with another N: the memo must not skip Πmod for that N."""
    honest, other = server_keys()[0], server_keys()[1]
    ckey = honest.key.public.encrypt(5)
    verify_key_without_ring(honest.key_id, honest.key.n, honest.ring.public, honest.mod_proof,
                            honest.prm_proof, int(ckey))
    forged_n = other.key.n  # passes the size and trial-division checks, but no proof is about it
    forged_ckey = other.key.public.encrypt(5)
    with pytest.raises(WalletProofInvalidError):
        verify_key_without_ring(honest.key_id, forged_n, honest.ring.public, honest.mod_proof,
                                honest.prm_proof, int(forged_ckey))
