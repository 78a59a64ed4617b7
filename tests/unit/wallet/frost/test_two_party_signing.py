"""Two-party FROST signing between the user and the server: binding, refusals, nonce freshness."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.signing import VerifyKey

from actionmfa.errors import WalletProofInvalidError, WalletSignatureInvalidError
from actionmfa.wallet.frost import ceremony as fc
from actionmfa.wallet.frost import group as g
from actionmfa.wallet.frost.keys import KeyShare
from actionmfa.wallet.frost.transcript import refresh_context

MSG = b"\x01\x00\x01\x03" + bytes(60)


def _sign(user: KeyShare, server: KeyShare, msg: bytes = MSG) -> tuple[bytes, dict, dict]:
    opening, state = fc.server_sign_begin(server)
    message, _ = fc.client_sign(user, msg, opening)
    return fc.server_sign_complete(server, state, msg, message), opening, message


def test_signatures_verify_with_independent_verifiers(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    user, server = frost_shares
    sig, _, _ = _sign(user, server)
    assert len(sig) == 64
    VerifyKey(user.group_public_key).verify(MSG, sig)  # libsodium
    Ed25519PublicKey.from_public_bytes(user.group_public_key).verify(sig, MSG)  # OpenSSL


def test_tampered_user_commitment_is_refused(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    user, server = frost_shares
    opening, state = fc.server_sign_begin(server)
    message, _ = fc.client_sign(user, MSG, opening)
    forged = copy.deepcopy(message)
    forged["commitments"]["binding"] = g.base_mult(g.random_scalar()).hex()
    with pytest.raises(WalletSignatureInvalidError):
        fc.server_sign_complete(server, state, MSG, forged)


def test_tampered_server_commitment_is_refused(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    # The user signs against commitments the server never made (a man in the middle, or a server
    # lying about them): the binding factors differ and the server refuses the user's share.
    user, server = frost_shares
    opening, state = fc.server_sign_begin(server)
    forged = copy.deepcopy(opening)
    forged["commitments"]["hiding"] = g.base_mult(g.random_scalar()).hex()
    message, _ = fc.client_sign(user, MSG, forged)
    with pytest.raises(WalletSignatureInvalidError):
        fc.server_sign_complete(server, state, MSG, message)


def test_a_share_for_another_message_is_refused(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    user, server = frost_shares
    opening, state = fc.server_sign_begin(server)
    message, _ = fc.client_sign(user, b"what the user saw", opening)
    with pytest.raises(WalletSignatureInvalidError):
        fc.server_sign_complete(server, state, b"something else", message)


def test_identity_and_small_order_commitments_are_refused(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    user, server = frost_shares
    opening, state = fc.server_sign_begin(server)
    message, _ = fc.client_sign(user, MSG, opening)
    for bad in ("01" + "00" * 31, "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"):
        forged = copy.deepcopy(message)
        forged["commitments"]["hiding"] = bad
        with pytest.raises(WalletProofInvalidError):
            fc.server_sign_complete(server, state, MSG, forged)


def test_retries_never_share_a_nonce_commitment(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    # A lost round is retried as a new ceremony: both parties draw fresh nonces every time, so no two
    # signatures — even of the same message — share a nonce commitment or an R.
    user, server = frost_shares
    seen_commitments: set[str] = set()
    seen_r: set[bytes] = set()
    for _ in range(8):
        sig, opening, message = _sign(user, server)
        for c in (opening["commitments"], message["commitments"]):
            for key in ("hiding", "binding"):
                assert c[key] not in seen_commitments
                seen_commitments.add(c[key])
        assert sig[:32] not in seen_r
        seen_r.add(sig[:32])


def test_refresh_keeps_the_key_and_retires_the_old_shares(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    user, server = frost_shares
    ctx = refresh_context(wallet_id="wallet-1", ceremony_id="ref-1", key_version=1)
    opening, state = fc.server_refresh_begin(ctx)
    user_state, message = fc.client_refresh_begin(ctx, opening)
    reply, new_server = fc.server_refresh_finish(server, state, ctx, message)
    new_user = fc.client_refresh_finish(user, user_state, ctx, reply)
    assert new_user.group_public_key == user.group_public_key == new_server.group_public_key
    assert new_user.secret_share != user.secret_share and new_server.secret_share != server.secret_share
    assert new_user.peer_public_share == new_server.public_share
    secret = fc.group_secret(new_user, new_server.secret_share)
    assert g.base_mult(secret) == user.group_public_key
    # A share from before the refresh with one from after it is not the key.
    assert g.base_mult(fc.group_secret(user, new_server.secret_share)) != user.group_public_key
    assert g.base_mult(fc.group_secret(new_user, server.secret_share)) != user.group_public_key
    sig, _, _ = _sign(new_user, new_server)
    VerifyKey(user.group_public_key).verify(MSG, sig)
    # The old user share can no longer sign with the refreshed server.
    opening, sstate = fc.server_sign_begin(new_server)
    stale, _ = fc.client_sign(user, MSG, opening)
    with pytest.raises(WalletSignatureInvalidError):
        fc.server_sign_complete(new_server, sstate, MSG, stale)


def test_refresh_refuses_a_tampered_package(frost_shares: tuple[KeyShare, KeyShare]) -> None:
    user, server = frost_shares
    ctx = refresh_context(wallet_id="wallet-1", ceremony_id="ref-2", key_version=1)
    opening, state = fc.server_refresh_begin(ctx)
    user_state, message = fc.client_refresh_begin(ctx, opening)
    forged = copy.deepcopy(message)
    forged["package"]["commitment"] = g.base_mult(g.random_scalar()).hex()
    with pytest.raises(WalletProofInvalidError):
        fc.server_refresh_finish(server, state, ctx, forged)
    reply, _ = fc.server_refresh_finish(server, state, ctx, message)
    forged_reply = copy.deepcopy(reply)
    forged_reply["share"] = g.random_scalar().hex()
    with pytest.raises(WalletProofInvalidError):
        fc.client_refresh_finish(user, user_state, ctx, forged_reply)
