"""The SDK's Solana user shares on disk: one AES-256-GCM sealed FROST share per wallet and key version.

Files sit beside the EVM share files (``<dir>/<environment>/<user>.sol.json``) and use the same key:
scrypt(passphrase, per-file salt) with a passphrase, else the random device key in
``<dir>/device.key`` (0600), created if absent. The AAD names environment, user, wallet and version,
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
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from actionmfa.crypto import b64u, b64u_decode
from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet.frost.group import GroupError
from actionmfa.wallet.frost.keys import KeyShare

__all__ = ["SolanaShareStore"]


class SolanaShareStore:
    def __init__(self, directory: Path, *, passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase
        self._lock = threading.Lock()

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
        return b64u_decode(path.read_text().strip())

    def _key(self, doc: dict[str, Any]) -> bytes:
        if doc["kdf"] == "scrypt":
            if self._passphrase is None:
                raise WalletProofInvalidError("This share file needs a passphrase")
            return Scrypt(salt=b64u_decode(doc["salt"]), length=32, n=2**15, r=8, p=1).derive(self._passphrase.encode())
        return self._device_key()

    def _load(self, path: Path) -> dict[str, Any]:
        if path.exists():
            doc: dict[str, Any] = json.loads(path.read_text())
            return doc
        if self._passphrase is not None:
            return {"version": 1, "kdf": "scrypt", "salt": b64u(secrets.token_bytes(16)), "wallets": {}}
        return {"version": 1, "kdf": "device-key", "wallets": {}}

    @staticmethod
    def _write(path: Path, doc: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @staticmethod
    def _aad(environment_id: str, user_id: str, wallet_id: str, version: int) -> bytes:
        return f"sol:{environment_id}:{user_id}:{wallet_id}:{version}".encode()

    def save(self, environment_id: str, user_id: str, wallet_id: str, share: KeyShare, *, version: int = 1,
             pending: bool = False) -> None:
        path = self._path(environment_id, user_id)
        with self._lock:
            doc = self._load(path)
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
