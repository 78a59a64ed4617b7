"""The SDK's user-share store: encrypted per-user files, optional passphrase."""

from __future__ import annotations

import json
import secrets
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from actionmfa.crypto import b64u, b64u_decode
from actionmfa.errors import WalletProofInvalidError
from actionmfa.sdk.share_store import ARGON2ID_PARAMS, atomic_write
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


# -- atomic writes (issue 9.7) ------------------------------------------------------------------------


def test_a_symlink_at_the_old_temp_name_is_not_followed(tmp_path: Path) -> None:
    store = ShareStore(tmp_path)
    store.save(ENV, USER, "w1", _share())
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ENV / f"{USER}.tmp").symlink_to(victim)  # where the old code wrote its temp file
    store.save(ENV, USER, "w2", _share())
    assert victim.read_text() == "precious"
    path = tmp_path / ENV / f"{USER}.json"
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.load(ENV, USER, "w2") is not None


def test_a_pre_existing_temp_file_does_not_lend_its_mode(tmp_path: Path) -> None:
    store = ShareStore(tmp_path)
    (tmp_path / ENV).mkdir(parents=True)
    planted = tmp_path / ENV / f"{USER}.tmp"
    planted.write_text("{}")
    planted.chmod(0o644)  # world-readable: the old code opened it with O_TRUNC and kept this mode
    store.save(ENV, USER, "w1", _share())
    path = tmp_path / ENV / f"{USER}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    store.save(ENV, USER, "w2", _share())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlink_at_the_share_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    store = ShareStore(tmp_path)
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    (tmp_path / ENV).mkdir(parents=True)
    (tmp_path / ENV / f"{USER}.json").symlink_to(victim)
    with pytest.raises(OSError):  # reading refuses to follow it (O_NOFOLLOW) …
        store.save(ENV, USER, "w1", _share())
    assert victim.read_text() == "precious"


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "d" / "f.json"
    for i in range(3):
        atomic_write(target, str(i).encode())
    assert target.read_text() == "2"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.json"]


# -- key derivation ---------------------------------------------------------------------------------------


def test_passphrase_files_use_argon2id(tmp_path: Path) -> None:
    ShareStore(tmp_path, passphrase="correct horse").save(ENV, USER, "w1", _share())
    doc = json.loads((tmp_path / ENV / f"{USER}.json").read_text())
    kdf = doc["kdf"]
    assert kdf["name"] == "argon2id" and kdf == {**kdf, **ARGON2ID_PARAMS}
    assert kdf["m"] >= 64 * 1024 and kdf["t"] >= 3 and len(b64u_decode(kdf["salt"])) == 16


def _format1_file(tmp_path: Path, share: p2.ClientKeyShare, passphrase: str) -> Path:
    """A share file as the format-1 store wrote it (scrypt N = 2^15, AAD env:user:wallet:version)."""
    salt = secrets.token_bytes(16)
    key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())
    nonce = secrets.token_bytes(12)
    ct = AESGCM(key).encrypt(nonce, json.dumps(share.to_json()).encode(), f"{ENV}:{USER}:w1:1".encode())
    doc = {"version": 1, "kdf": "scrypt", "salt": b64u(salt),
           "wallets": {"w1": {"nonce": b64u(nonce), "ct": b64u(ct), "version": 1}}}
    path = tmp_path / ENV / f"{USER}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    return path


def test_a_format1_scrypt_file_is_read_and_rewritten_as_argon2id(tmp_path: Path) -> None:
    share = _share()
    path = _format1_file(tmp_path, share, "pw")
    store = ShareStore(tmp_path, passphrase="pw")
    loaded = store.load(ENV, USER, "w1")
    assert loaded is not None and loaded.x2 == share.x2
    store.save(ENV, USER, "w2", _share())
    doc = json.loads(path.read_text())
    assert doc["format"] == 2 and doc["kdf"]["name"] == "argon2id"
    again = ShareStore(tmp_path, passphrase="pw").load(ENV, USER, "w1")
    assert again is not None and again.x2 == share.x2


# -- pending shares (issue 9.6) -----------------------------------------------------------------------------


def test_pending_shares_are_never_overwritten(tmp_path: Path) -> None:
    store = ShareStore(tmp_path)
    current, first, second = _share(), _share(), _share()
    store.save(ENV, USER, "w1", current, version=1)
    store.add_pending(ENV, USER, "w1", first, version=2, ceremony_id="c-1", kind="refresh")
    store.add_pending(ENV, USER, "w1", second, version=2, ceremony_id="c-2", kind="refresh")  # a retry
    with pytest.raises(WalletProofInvalidError):
        store.add_pending(ENV, USER, "w1", _share(), version=2, ceremony_id="c-1", kind="refresh")
    assert [(p.ceremony_id, p.share.x2) for p in store.pending(ENV, USER, "w1")] == [
        ("c-1", first.x2), ("c-2", second.x2)]
    loaded = store.load(ENV, USER, "w1")
    assert loaded is not None and loaded.x2 == current.x2  # the current share is untouched
    # The server committed the first attempt: that share becomes current, the other can never commit.
    promoted = store.promote(ENV, USER, "w1", version=2, ceremony_id="c-1")
    assert promoted is not None and promoted.share.x2 == first.x2 and promoted.kind == "refresh"
    assert store.pending(ENV, USER, "w1") == []
    assert store.current_version(ENV, USER, "w1") == (2, "c-1")
    assert store.load(ENV, USER, "w1", version=1) is None


def test_a_pending_share_of_an_unknown_ceremony_is_not_promoted(tmp_path: Path) -> None:
    store = ShareStore(tmp_path)
    store.save(ENV, USER, "w1", _share(), version=1)
    store.add_pending(ENV, USER, "w1", _share(), version=2, ceremony_id="c-1", kind="refresh")
    assert store.promote(ENV, USER, "w1", version=2, ceremony_id="other-device") is None
    store.discard_pending(ENV, USER, "w1", up_to_version=2)
    assert store.pending(ENV, USER, "w1") == []


def test_pending_keygens_survive_a_new_store(tmp_path: Path) -> None:
    ShareStore(tmp_path).put_keygen(ENV, USER, "k-1", {"state": {"x2": "01"}, "message": {"a": 1}})
    store = ShareStore(tmp_path)
    assert store.keygens(ENV, USER) == {"k-1": {"state": {"x2": "01"}, "message": {"a": 1}}}
    share = _share()
    store.finish_keygen(ENV, USER, "k-1", wallet_id="w1", share=share)
    assert store.keygens(ENV, USER) == {}
    loaded = store.load(ENV, USER, "w1")
    assert loaded is not None and loaded.x2 == share.x2
