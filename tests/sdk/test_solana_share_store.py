"""The Solana share file: Argon2id for passphrase files, old scrypt files upgraded, atomic writes that
never follow a planted symlink (the EVM store's rules, issue 9 item 7, applied to issue 14's store)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
from nacl import bindings

from actionmfa.errors import WalletProofInvalidError
from actionmfa.sdk.solana_shares import SolanaShareStore
from actionmfa.wallet.frost.keys import KeyShare

ENV, USER, WALLET = "env-1", "user-1", "wallet-1"


def _point(scalar: bytes) -> bytes:
    return bindings.crypto_scalarmult_ed25519_base_noclamp(scalar)


def _share() -> KeyShare:
    mine = bindings.crypto_core_ed25519_scalar_reduce(secrets.token_bytes(64))
    peer = bindings.crypto_core_ed25519_scalar_reduce(secrets.token_bytes(64))
    return KeyShare(1, mine, _point(mine), 2, _point(peer), _point(bindings.crypto_core_ed25519_scalar_add(mine, peer)))


def _file(tmp_path: Path) -> Path:
    return tmp_path / ENV / f"{USER}.sol.json"


def test_passphrase_file_uses_argon2id_and_opens_only_with_the_passphrase(tmp_path: Path) -> None:
    share = _share()
    SolanaShareStore(tmp_path, passphrase="correct horse").save(ENV, USER, WALLET, share)
    doc = json.loads(_file(tmp_path).read_text())
    assert doc["kdf"] == "argon2id" and doc["kdfParams"] == {"t": 3, "m": 64 * 1024, "p": 4}
    assert (_file(tmp_path).stat().st_mode & 0o777) == 0o600
    assert SolanaShareStore(tmp_path, passphrase="correct horse").load(ENV, USER, WALLET) == share
    with pytest.raises(WalletProofInvalidError):
        SolanaShareStore(tmp_path, passphrase="wrong").load(ENV, USER, WALLET)


def test_an_old_scrypt_file_is_read_and_rewritten_under_argon2id(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    from actionmfa.crypto import b64u

    share, salt, nonce = _share(), secrets.token_bytes(16), secrets.token_bytes(12)
    key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(b"pw")
    ct = AESGCM(key).encrypt(nonce, json.dumps(share.to_json()).encode(), f"sol:{ENV}:{USER}:{WALLET}:1".encode())
    _file(tmp_path).parent.mkdir(parents=True)
    _file(tmp_path).write_text(json.dumps({"version": 1, "kdf": "scrypt", "salt": b64u(salt),
                                           "wallets": {WALLET: {"nonce": b64u(nonce), "ct": b64u(ct), "version": 1}}}))
    store = SolanaShareStore(tmp_path, passphrase="pw")
    assert store.load(ENV, USER, WALLET) == share
    other = _share()
    store.save(ENV, USER, "wallet-2", other)
    assert json.loads(_file(tmp_path).read_text())["kdf"] == "argon2id"
    fresh = SolanaShareStore(tmp_path, passphrase="pw")
    assert fresh.load(ENV, USER, WALLET) == share and fresh.load(ENV, USER, "wallet-2") == other


def test_a_symlink_planted_at_the_share_file_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    _file(tmp_path).parent.mkdir(parents=True)
    os.symlink(victim, _file(tmp_path))
    store = SolanaShareStore(tmp_path)
    with pytest.raises(OSError):
        store.load(ENV, USER, WALLET)  # reading through the link is refused (O_NOFOLLOW)
    assert victim.read_text() == "{}"
