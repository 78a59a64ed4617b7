"""The SDK's user-share store: encrypted per-user files, optional passphrase."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from actionmfa.errors import WalletProofInvalidError
from actionmfa.sdk.wallets import ShareStore
from actionmfa.wallet import ecdsa2p as p2
from actionmfa.wallet.curve import base_mul, random_scalar
from actionmfa.wallet.paillier import PaillierPublicKey

ENV = "0b7c7a54-3b8e-4d7e-9f43-4a1c2b3d4e5f"
USER = "5d1f4e3c-2b1a-4c9d-8e7f-6a5b4c3d2e1f"


def _share() -> p2.ClientKeyShare:
    x2 = random_scalar()
    q1 = base_mul(random_scalar())
    return p2.ClientKeyShare(x2, base_mul(x2), q1, PaillierPublicKey(2**1023 + 1155), 12345)


def test_round_trip_without_passphrase_uses_device_key(tmp_path: Path) -> None:
    store = ShareStore(tmp_path)
    share = _share()
    store.save(ENV, USER, "w1", share)
    path = tmp_path / ENV / f"{USER}.json"
    assert format(share.x2, "064x") not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "device.key").stat().st_mode) == 0o600
    loaded = ShareStore(tmp_path).load(ENV, USER, "w1")
    assert loaded is not None and loaded.x2 == share.x2
    assert store.load(ENV, USER, "other") is None


def test_passphrase_protects_the_file(tmp_path: Path) -> None:
    share = _share()
    ShareStore(tmp_path, passphrase="correct horse").save(ENV, USER, "w1", share)
    loaded = ShareStore(tmp_path, passphrase="correct horse").load(ENV, USER, "w1")
    assert loaded is not None and loaded.x2 == share.x2
    with pytest.raises(WalletProofInvalidError):
        ShareStore(tmp_path, passphrase="wrong").load(ENV, USER, "w1")
    with pytest.raises(WalletProofInvalidError):
        ShareStore(tmp_path).load(ENV, USER, "w1")


def test_blob_is_bound_to_its_wallet(tmp_path: Path) -> None:
    import json

    store = ShareStore(tmp_path)
    store.save(ENV, USER, "w1", _share())
    path = tmp_path / ENV / f"{USER}.json"
    doc = json.loads(path.read_text())
    doc["wallets"]["w2"] = doc["wallets"]["w1"]  # copy the blob under another wallet id
    path.write_text(json.dumps(doc))
    with pytest.raises(WalletProofInvalidError):
        store.load(ENV, USER, "w2")


def test_ids_cannot_escape_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ShareStore(tmp_path).save("../etc", USER, "w1", _share())
