"""The SDK's Solana user shares on disk: one AES-256-GCM sealed FROST share per wallet and key version.

Files sit beside the EVM share files (``<dir>/<environment>/<user>.sol.json``) and use the same key:
Argon2id(passphrase, per-file salt) with a passphrase (RFC 9106 §4, the EVM store's parameters;
files from before it, scrypt N = 2^15, are still read and rewritten under Argon2id on the next save),
else the random device key in ``<dir>/device.key`` (0600), created if absent. Writes go through the
EVM store's :func:`~actionmfa.sdk.share_store.atomic_write` (random ``O_EXCL|O_NOFOLLOW`` 0600 temp
file, fsync, rename) and reads never follow a symlink. The AAD names environment, user, wallet and version,
so a blob copied to another slot does not open. A refresh writes the new share as *pending* before
the server switches; :meth:`load` of the newer version promotes it (crash safety as for EVM).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from actionmfa.crypto import b64u, b64u_decode
from actionmfa.errors import WalletProofInvalidError
from actionmfa.sdk.share_store import ARGON2ID_PARAMS, atomic_write
from actionmfa.wallet.frost.group import GroupError
from actionmfa.wallet.frost.keys import KeyShare

__all__ = ["SolanaShareStore"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _read_text(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with os.fdopen(fd, "r") as fh:
        return fh.read()


class SolanaShareStore:
    def __init__(self, directory: Path, *, passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase
        self._lock = threading.Lock()
        self._keys: dict[str, bytes] = {}  # derived file keys by salt (Argon2id costs ~0.5 s)

    def _path(self, environment_id: str, user_id: str) -> Path:
        if not all(p.replace("-", "").isalnum() for p in (environment_id, user_id)):
            raise ValueError("unexpected id format")
        return self.directory / environment_id / f"{user_id}.sol.json"

    def _device_key(self) -> bytes:
        path = self.directory / "device.key"
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # created by the EVM store (or another thread) meanwhile
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(b64u(secrets.token_bytes(32)))
        return b64u_decode(_read_text(path).strip())

    def _key(self, doc: dict[str, Any]) -> bytes:
        kdf = doc["kdf"]
        if kdf == "device-key":
            return self._device_key()
        if self._passphrase is None:
            raise WalletProofInvalidError("This share file needs a passphrase")
        cache_key = f"{kdf}:{doc['salt']}"
        key = self._keys.get(cache_key)
        if key is None:
            salt = b64u_decode(doc["salt"])
            if kdf == "argon2id":
                params = doc["kdfParams"]
                key = Argon2id(salt=salt, length=32, iterations=int(params["t"]), lanes=int(params["p"]),
                               memory_cost=int(params["m"])).derive(self._passphrase.encode())
            elif kdf == "scrypt":  # files from before Argon2id: read, rewritten under Argon2id on save
                key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(self._passphrase.encode())
            else:
                raise WalletProofInvalidError("Unknown key derivation in the share file")
            self._keys[cache_key] = key
        return key

    def _upgrade(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Re-seal a scrypt file's shares under a fresh Argon2id key (called on save)."""
        if doc["kdf"] != "scrypt":
            return doc
        old_key = self._key(doc)
        new = self._new_doc()
        new_key = self._key(new)
        for slot, entry in doc["wallets"].items():
            wallet_id = slot.removesuffix("#pending")
            aad = self._aad(doc["_env"], doc["_user"], wallet_id, int(entry["version"]))
            plain = AESGCM(old_key).decrypt(b64u_decode(entry["nonce"]), b64u_decode(entry["ct"]), aad)
            nonce = secrets.token_bytes(12)
            new["wallets"][slot] = {"nonce": b64u(nonce), "ct": b64u(AESGCM(new_key).encrypt(nonce, plain, aad)),
                                    "version": entry["version"]}
        return new

    def _new_doc(self) -> dict[str, Any]:
        if self._passphrase is not None:
            return {"version": 2, "kdf": "argon2id", "salt": b64u(secrets.token_bytes(16)),
                    "kdfParams": dict(ARGON2ID_PARAMS), "wallets": {}}
        return {"version": 1, "kdf": "device-key", "wallets": {}}

    def _load(self, path: Path) -> dict[str, Any]:
        try:
            doc: dict[str, Any] = json.loads(_read_text(path))
        except FileNotFoundError:
            return self._new_doc()
        return doc

    @staticmethod
    def _write(path: Path, doc: dict[str, Any]) -> None:
        atomic_write(path, json.dumps({k: v for k, v in doc.items() if not k.startswith("_")}).encode())

    @staticmethod
    def _aad(environment_id: str, user_id: str, wallet_id: str, version: int) -> bytes:
        return f"sol:{environment_id}:{user_id}:{wallet_id}:{version}".encode()

    def save(self, environment_id: str, user_id: str, wallet_id: str, share: KeyShare, *, version: int = 1,
             pending: bool = False) -> None:
        path = self._path(environment_id, user_id)
        with self._lock:
            doc = self._upgrade({**self._load(path), "_env": environment_id, "_user": user_id})
            nonce = secrets.token_bytes(12)
            ct = AESGCM(self._key(doc)).encrypt(nonce, json.dumps(share.to_json()).encode(),
                                                self._aad(environment_id, user_id, wallet_id, version))
            slot = f"{wallet_id}#pending" if pending else wallet_id
            doc["wallets"][slot] = {"nonce": b64u(nonce), "ct": b64u(ct), "version": version}
            if not pending:
                doc["wallets"].pop(f"{wallet_id}#pending", None)
            self._write(path, doc)

    def load(self, environment_id: str, user_id: str, wallet_id: str, *, version: int | None = None) -> KeyShare | None:
        """The share of ``version`` (default: the current one); a pending share of that version is
        promoted to current (the server confirmed a refresh this device had not seen confirmed)."""
        path = self._path(environment_id, user_id)
        with self._lock:
            if not path.exists():
                return None
            doc = self._load(path)
            current = doc["wallets"].get(wallet_id)
            pending = doc["wallets"].get(f"{wallet_id}#pending")
            entry = current
            if version is not None and (current is None or current["version"] != version):
                entry = pending if pending is not None and pending["version"] == version else None
            if entry is None:
                return None
            aad = self._aad(environment_id, user_id, wallet_id, int(entry["version"]))
            try:
                plain = AESGCM(self._key(doc)).decrypt(b64u_decode(entry["nonce"]), b64u_decode(entry["ct"]), aad)
            except InvalidTag as exc:
                raise WalletProofInvalidError("User share could not be decrypted (wrong passphrase?)") from exc
            if entry is pending:
                doc["wallets"][wallet_id] = doc["wallets"].pop(f"{wallet_id}#pending")
                self._write(path, doc)
        try:
            return KeyShare.from_json(json.loads(plain))
        except GroupError as exc:
            raise WalletProofInvalidError("Stored user share is unusable") from exc
