"""The SDK's user-share store: one encrypted file per (environment, user), written atomically.

What a file holds (format 2, JSON): for each wallet its **current** share (the key version the
server signs with) and its **pending** shares (a refresh or reshare whose new share exists here but
whose confirmation this device has not seen), each tagged with its key version and the ceremony that
produced it; and the **pending key generations** (a wallet the server may have created while the
answer was lost). Pending entries are written ahead, before the request that lets the server commit,
and are never overwritten — a retry writes a second entry beside the first — so whichever one the
server committed is still here (:meth:`ShareStore.promote`).

Every share is sealed with AES-256-GCM under a file key, with AAD naming environment, user, wallet,
key version and ceremony, so a blob copied to another slot does not open:

* with a passphrase the file key is **Argon2id** (RFC 9106 §4, the second recommended option:
  t = 3, m = 64 MiB, p = 4) of the passphrase and a per-file salt;
* without one it is a random 32-byte **device key** in ``<dir>/device.key`` (0600). That protects a
  copy of the share file taken alone (a backup, a synced folder), not a reader of the whole directory:
  anyone who can read ``device.key`` can open the shares (docs/wallets.md says so).

Writes go through a random temporary name opened ``O_CREAT|O_EXCL|O_NOFOLLOW`` with mode 0600, are
fsynced, renamed over the file and the directory fsynced: a crash leaves the old file or the new one,
and a pre-existing file or symlink at any name is never followed or reused.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from actionmfa.crypto import b64u, b64u_decode
from actionmfa.errors import WalletProofInvalidError
from actionmfa.wallet import ecdsa2p as p2

__all__ = ["ARGON2ID_PARAMS", "PendingShare", "ShareStore", "atomic_write"]

FORMAT = 2
# RFC 9106 §4, second recommended option (memory-constrained): t=3, 64 MiB, 4 lanes.
ARGON2ID_PARAMS = {"t": 3, "m": 64 * 1024, "p": 4}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def default_share_dir() -> Path:
    return Path(os.environ.get("ACTIONMFA_WALLET_DIR") or Path.home() / ".actionmfa" / "wallets")


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: random temp name (``O_EXCL|O_NOFOLLOW``, 0600), fsync, rename,
    fsync of the directory. Never follows or reuses a file someone placed beside it."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    for _ in range(16):
        tmp = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o600)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 16 collisions of 64 random bits
        raise OSError("could not create a temporary file")
    try:
        os.fchmod(fd, 0o600)  # the umask may only narrow the mode; make it exact
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)  # rename(2) replaces a symlink at ``path`` itself, never its target
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


@dataclass(frozen=True)
class PendingShare:
    """A share written ahead of a refresh or reshare confirmation."""

    version: int
    ceremony_id: str
    share: p2.ClientKeyShare
    kind: str | None = None  # "refresh" | "reshare"


@dataclass
class _Entry:
    version: int
    ceremony_id: str | None
    plain: dict[str, Any]
    kind: str | None = None


@dataclass
class _Doc:
    """A file's content, decrypted."""

    kdf: dict[str, Any]
    current: dict[str, _Entry]
    pending: dict[str, list[_Entry]]
    keygens: dict[str, dict[str, Any]]


class ShareStore:
    """User shares on disk (module docstring): ``save``/``load`` the current share, ``add_pending``/
    ``pending``/``promote``/``discard_pending`` for share changes, ``*_keygen`` for key generations."""

    def __init__(self, directory: Path | str | None = None, *, passphrase: str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_share_dir()
        self._passphrase = passphrase
        self._lock = threading.RLock()
        self._keys: dict[str, bytes] = {}  # derived file keys by salt (Argon2id costs ~0.5 s)

    # -- files and keys ------------------------------------------------------------------------
    def _path(self, environment_id: str, user_id: str) -> Path:
        safe = [p for p in (environment_id, user_id) if p.replace("-", "").isalnum()]
        if len(safe) != 2:
            raise ValueError("unexpected id format")
        return self.directory / environment_id / f"{user_id}.json"

    def _device_key(self) -> bytes:
        path = self.directory / "device.key"
        raw = _read(path)
        if raw is None:
            # Create-if-absent atomically: a complete file is linked in, or another process won.
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            staged = self.directory / f".device.key.{secrets.token_hex(8)}"
            atomic_write(staged, b64u(secrets.token_bytes(32)).encode())
            try:
                os.link(staged, path)
            except FileExistsError:
                pass
            finally:
                staged.unlink(missing_ok=True)
            raw = _read(path)
            assert raw is not None  # noqa: S101 - linked above or by the other process
        return b64u_decode(raw.decode().strip())

    def _derive(self, kdf: dict[str, Any]) -> bytes:
        name = kdf["name"]
        if name == "device-key":
            return self._device_key()
        if self._passphrase is None:
            raise WalletProofInvalidError("This share file needs a passphrase")
        cache_key = f"{name}:{kdf['salt']}:{kdf.get('t')}:{kdf.get('m')}:{kdf.get('p')}:{kdf.get('n')}"
        key = self._keys.get(cache_key)
        if key is None:
            salt = b64u_decode(kdf["salt"])
            if name == "argon2id":
                key = Argon2id(salt=salt, length=32, iterations=int(kdf["t"]), lanes=int(kdf["p"]),
                               memory_cost=int(kdf["m"])).derive(self._passphrase.encode())
            elif name == "scrypt":  # format 1 files (scrypt N = 2^15): read once, rewritten as Argon2id
                key = Scrypt(salt=salt, length=32, n=int(kdf.get("n", 2**15)), r=8, p=1).derive(
                    self._passphrase.encode())
            else:
                raise WalletProofInvalidError("Unknown key derivation in the share file")
            self._keys[cache_key] = key
        return key

    def _new_kdf(self) -> dict[str, Any]:
        if self._passphrase is None:
            return {"name": "device-key"}
        return {"name": "argon2id", "salt": b64u(secrets.token_bytes(16)), **ARGON2ID_PARAMS}

    @staticmethod
    def _aad(environment_id: str, user_id: str, slot: str, version: int, ceremony_id: str | None) -> bytes:
        return f"actionmfa/share/v2:{environment_id}:{user_id}:{slot}:{version}:{ceremony_id or ''}".encode()

    @staticmethod
    def _open(key: bytes, blob: dict[str, Any], aad: bytes) -> dict[str, Any]:
        try:
            plain = AESGCM(key).decrypt(b64u_decode(blob["nonce"]), b64u_decode(blob["ct"]), aad)
        except InvalidTag as exc:
            raise WalletProofInvalidError("User share could not be decrypted (wrong passphrase?)") from exc
        data: dict[str, Any] = json.loads(plain)
        return data

    @staticmethod
    def _seal(key: bytes, data: dict[str, Any], aad: bytes) -> dict[str, str]:
        nonce = secrets.token_bytes(12)
        return {"nonce": b64u(nonce), "ct": b64u(AESGCM(key).encrypt(nonce, json.dumps(data).encode(), aad))}

    def _load(self, env: str, user: str) -> _Doc:
        raw = _read(self._path(env, user))
        if raw is None:
            return _Doc(self._new_kdf(), {}, {}, {})
        doc: dict[str, Any] = json.loads(raw)
        if doc.get("format") == FORMAT:
            key = self._derive(doc["kdf"])
            current = {w: _Entry(e["version"], e.get("ceremonyId"),
                                 self._open(key, e, self._aad(env, user, w, e["version"], e.get("ceremonyId"))))
                       for w, e in doc["wallets"].items()}
            pending = {w: [_Entry(e["version"], e["ceremonyId"],
                                  self._open(key, e, self._aad(env, user, w, e["version"], e["ceremonyId"])),
                                  e.get("kind"))
                           for e in entries]
                       for w, entries in doc["pending"].items()}
            keygens = {c: self._open(key, e, self._aad(env, user, "keygen", 0, c)) for c, e in doc["keygens"].items()}
            return _Doc(doc["kdf"], current, pending, keygens)
        return self._load_format1(env, user, doc)

    def _load_format1(self, env: str, user: str, doc: dict[str, Any]) -> _Doc:
        """Format 1: ``{kdf: scrypt|device-key, salt, wallets: {id | id#pending: blob}}``; AAD
        ``env:user:wallet:version``. Read, and written back as format 2 by the next save."""
        kdf = {"name": doc["kdf"]} if doc["kdf"] == "device-key" else {"name": "scrypt", "salt": doc["salt"]}
        key = self._derive(kdf)
        out = _Doc(self._new_kdf(), {}, {}, {})
        for slot, blob in doc["wallets"].items():
            wallet_id, _, marker = slot.partition("#")
            version = int(blob.get("version", 1))
            plain = self._open(key, blob, f"{env}:{user}:{wallet_id}:{version}".encode())
            if marker:
                out.pending.setdefault(wallet_id, []).append(_Entry(version, "format1", plain))
            else:
                out.current[wallet_id] = _Entry(version, None, plain)
        return out

    def _save(self, env: str, user: str, doc: _Doc) -> None:
        if doc.kdf["name"] != ("argon2id" if self._passphrase is not None else "device-key"):
            doc.kdf = self._new_kdf()  # format 1 or another mode: re-sealed under today's KDF
        key = self._derive(doc.kdf)

        def seal(slot: str, e: _Entry) -> dict[str, Any]:
            return {"version": e.version, "ceremonyId": e.ceremony_id, "kind": e.kind,
                    **self._seal(key, e.plain, self._aad(env, user, slot, e.version, e.ceremony_id))}

        out = {
            "format": FORMAT,
            "kdf": doc.kdf,
            "wallets": {w: seal(w, e) for w, e in doc.current.items()},
            "pending": {w: [seal(w, e) for e in entries] for w, entries in doc.pending.items() if entries},
            "keygens": {c: self._seal(key, data, self._aad(env, user, "keygen", 0, c))
                        for c, data in doc.keygens.items()},
        }
        atomic_write(self._path(env, user), json.dumps(out).encode())

    # -- current shares ----------------------------------------------------------------------
    def save(self, environment_id: str, user_id: str, wallet_id: str, share: p2.ClientKeyShare, *,
             version: int = 1, ceremony_id: str | None = None) -> None:
        """Make ``share`` the wallet's current share at ``version``; pending shares of that version or
        older go (the server can no longer commit them)."""
        with self._lock:
            doc = self._load(environment_id, user_id)
            doc.current[wallet_id] = _Entry(version, ceremony_id, share.to_json())
            doc.pending[wallet_id] = [e for e in doc.pending.get(wallet_id, []) if e.version > version]
            self._save(environment_id, user_id, doc)

    def load(self, environment_id: str, user_id: str, wallet_id: str, *,
             version: int | None = None) -> p2.ClientKeyShare | None:
        """The current share if its version is ``version`` (or any, by default); else None."""
        with self._lock:
            if _read(self._path(environment_id, user_id)) is None:
                return None
            entry = self._load(environment_id, user_id).current.get(wallet_id)
        if entry is None or (version is not None and entry.version != version):
            return None
        return p2.ClientKeyShare.from_json(entry.plain)

    def current_version(self, environment_id: str, user_id: str, wallet_id: str) -> tuple[int, str | None] | None:
        """(key version, ceremony id) of the current share, if there is one."""
        with self._lock:
            if _read(self._path(environment_id, user_id)) is None:
                return None
            entry = self._load(environment_id, user_id).current.get(wallet_id)
        return (entry.version, entry.ceremony_id) if entry is not None else None

    # -- pending shares ----------------------------------------------------------------------
    def add_pending(self, environment_id: str, user_id: str, wallet_id: str, share: p2.ClientKeyShare, *,
                    version: int, ceremony_id: str, kind: str) -> None:
        """Write ahead a share the server may commit with ``ceremony_id``. Never replaces another."""
        with self._lock:
            doc = self._load(environment_id, user_id)
            entries = doc.pending.setdefault(wallet_id, [])
            if any(e.ceremony_id == ceremony_id for e in entries):
                raise WalletProofInvalidError("A pending share of this ceremony is already stored")
            entries.append(_Entry(version, ceremony_id, share.to_json(), kind))
            self._save(environment_id, user_id, doc)

    def pending(self, environment_id: str, user_id: str, wallet_id: str) -> list[PendingShare]:
        with self._lock:
            if _read(self._path(environment_id, user_id)) is None:
                return []
            doc = self._load(environment_id, user_id)
        return [PendingShare(e.version, str(e.ceremony_id), p2.ClientKeyShare.from_json(e.plain), e.kind)
                for e in doc.pending.get(wallet_id, [])]

    def promote(self, environment_id: str, user_id: str, wallet_id: str, *, version: int,
                ceremony_id: str | None) -> PendingShare | None:
        """The server says ``(version, ceremony_id)`` is current: make that pending share current
        (None if this device has no such share). A format-1 pending share (no ceremony recorded)
        matches on its version alone."""
        with self._lock:
            doc = self._load(environment_id, user_id)
            entries = doc.pending.get(wallet_id, [])
            match = [e for e in entries if e.version == version
                     and (e.ceremony_id == ceremony_id or (e.ceremony_id == "format1" and len(entries) == 1))]
            if not match:
                return None
            doc.current[wallet_id] = _Entry(version, ceremony_id, match[0].plain)
            doc.pending[wallet_id] = [e for e in entries if e.version > version]
            self._save(environment_id, user_id, doc)
            found = match[0]
            return PendingShare(version, str(found.ceremony_id), p2.ClientKeyShare.from_json(found.plain), found.kind)

    def reconcile(self, environment_id: str, user_id: str, wallet_id: str, *, version: int,
                  ceremony_id: str | None) -> str | None:
        """Match this device to the server's ``(keyVersion, keyCeremonyId)``: promote that pending
        share if the current one is older, drop what the server can no longer commit. Returns the
        kind (``refresh``/``reshare``) of the share promoted, if one was."""
        with self._lock:
            current = self.current_version(environment_id, user_id, wallet_id)
            kind: str | None = None
            if current is None or current[0] != version:
                found = self.promote(environment_id, user_id, wallet_id, version=version, ceremony_id=ceremony_id)
                kind = found.kind if found is not None else None
            self.discard_pending(environment_id, user_id, wallet_id, up_to_version=version)
            return kind

    def discard_pending(self, environment_id: str, user_id: str, wallet_id: str, *, up_to_version: int) -> None:
        """Drop pending shares the server can no longer commit (versions ≤ its current one)."""
        with self._lock:
            doc = self._load(environment_id, user_id)
            before = doc.pending.get(wallet_id, [])
            kept = [e for e in before if e.version > up_to_version]
            if len(kept) != len(before):
                doc.pending[wallet_id] = kept
                self._save(environment_id, user_id, doc)

    # -- pending key generations ---------------------------------------------------------------
    def put_keygen(self, environment_id: str, user_id: str, ceremony_id: str, data: dict[str, Any]) -> None:
        """Write ahead a key generation's client state and the message about to be sent."""
        with self._lock:
            doc = self._load(environment_id, user_id)
            if ceremony_id in doc.keygens:
                raise WalletProofInvalidError("This key generation is already stored")
            doc.keygens[ceremony_id] = data
            self._save(environment_id, user_id, doc)

    def keygens(self, environment_id: str, user_id: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            if _read(self._path(environment_id, user_id)) is None:
                return {}
            return dict(self._load(environment_id, user_id).keygens)

    def finish_keygen(self, environment_id: str, user_id: str, ceremony_id: str, *,
                      wallet_id: str | None = None, share: p2.ClientKeyShare | None = None) -> None:
        """Drop a pending key generation — in the same write as its wallet's first share, if any."""
        with self._lock:
            doc = self._load(environment_id, user_id)
            doc.keygens.pop(ceremony_id, None)
            if wallet_id is not None and share is not None:
                doc.current[wallet_id] = _Entry(1, ceremony_id, share.to_json())
            self._save(environment_id, user_id, doc)
