"""Typed server configuration (DESIGN §9), read once at start-up and passed in.

Every field has an ``ACTIONMFA_*`` variable; ``actionmfa serve`` flags override them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from actionmfa.crypto import Keyring
from actionmfa.domain.audit_chain import MAX_SHARDS, check_shards


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


# Threads that run one worker's sync routes (anyio's default limiter, set by api/app.py). The hot
# routes and the session dependencies have their own, smaller pool (api/threads.py): store/db.py's
# PG_REQUEST_THREADS / SQLITE_REQUEST_THREADS. The PostgreSQL connection pool holds a connection for
# every thread of both (store/db.py), so none is opened per request.
REQUEST_THREADS = 40


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None = None
    port: int = 25
    sender: str = "ActionMFA <no-reply@localhost>"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path = Path(".actionmfa")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    mail_log: bool = False  # dev: print mail to the log instead of sending it
    max_body_bytes: int = 256 * 1024
    encryption_keys: str | None = None  # "kid:base64,kid2:base64" — first is active
    hash_key: str | None = None  # base64, >= 32 bytes
    trust_proxy_headers: bool = False
    workers: int = 1
    warm_wallet_pool: bool = True  # start Paillier prime search at start-up, not at the first wallet
    webhook_interval_seconds: float = 0.0  # the webhook worker's poll period in each server process (0: off)
    # Bounded connections (issue 11.2, actionmfa.connections): deadlines in seconds, caps per worker.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: int = 5
    max_connections: int = 800
    max_connections_per_client: int = 64
    graceful_shutdown_timeout: int = 15
    metrics_token: str | None = None  # bearer token for GET /metrics; unset: loopback clients only
    log_format: str = "json"  # "json" (one object per line) or "text"
    ready_min_keys: int | None = None  # /health/ready wants this many pooled keys (default 1 if warmed)
    # The audit chain's shards per environment (domain/audit_chain.py); None: 16 on PostgreSQL, 1 on SQLite.
    audit_chain_shards: int | None = None

    def __post_init__(self) -> None:
        if self.audit_chain_shards is not None:
            check_shards(self.audit_chain_shards)

    @property
    def effective_ready_min_keys(self) -> int:
        if self.ready_min_keys is not None:
            return self.ready_min_keys
        return 1 if self.warm_wallet_pool else 0

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'actionmfa.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ServerConfig:
        e = os.environ if env is None else env
        smtp = SmtpConfig(
            host=e.get("ACTIONMFA_SMTP_HOST") or None,
            port=int(e.get("ACTIONMFA_SMTP_PORT", "25")),
            sender=e.get("ACTIONMFA_SMTP_FROM", SmtpConfig.sender),
            user=e.get("ACTIONMFA_SMTP_USER") or None,
            password=e.get("ACTIONMFA_SMTP_PASSWORD") or None,
            starttls=_bool(e.get("ACTIONMFA_SMTP_STARTTLS", "false")),
        )
        cfg = cls(
            data_dir=Path(e.get("ACTIONMFA_DATA_DIR", ".actionmfa")),
            database_url=e.get("ACTIONMFA_DATABASE_URL") or None,
            host=e.get("ACTIONMFA_HOST", "127.0.0.1"),
            port=int(e.get("ACTIONMFA_PORT", "8080")),
            public_url=e.get("ACTIONMFA_PUBLIC_URL") or None,
            smtp=smtp,
            mail_log=_bool(e.get("ACTIONMFA_MAIL_LOG", "false")),
            max_body_bytes=int(e.get("ACTIONMFA_MAX_BODY_BYTES", str(256 * 1024))),
            encryption_keys=e.get("ACTIONMFA_ENCRYPTION_KEYS") or None,
            hash_key=e.get("ACTIONMFA_HASH_KEY") or None,
            trust_proxy_headers=_bool(e.get("ACTIONMFA_TRUST_PROXY_HEADERS", "false")),
            workers=int(e.get("ACTIONMFA_WORKERS", "1")),
            warm_wallet_pool=_bool(e.get("ACTIONMFA_WALLET_POOL_WARM", "true")),
            webhook_interval_seconds=float(e.get("ACTIONMFA_WEBHOOK_INTERVAL_SECONDS", "2")),
            header_timeout=float(e.get("ACTIONMFA_HEADER_TIMEOUT", "10")),
            body_timeout=float(e.get("ACTIONMFA_BODY_TIMEOUT", "30")),
            keep_alive_timeout=int(e.get("ACTIONMFA_KEEP_ALIVE_TIMEOUT", "5")),
            max_connections=int(e.get("ACTIONMFA_MAX_CONNECTIONS", "800")),
            max_connections_per_client=int(e.get("ACTIONMFA_MAX_CONNECTIONS_PER_CLIENT", "64")),
            graceful_shutdown_timeout=int(e.get("ACTIONMFA_GRACEFUL_SHUTDOWN_TIMEOUT", "15")),
            metrics_token=e.get("ACTIONMFA_METRICS_TOKEN") or None,
            log_format="text" if e.get("ACTIONMFA_LOG_FORMAT", "json").strip().lower() == "text" else "json",
            ready_min_keys=int(e["ACTIONMFA_READY_MIN_KEYS"]) if e.get("ACTIONMFA_READY_MIN_KEYS") else None,
            audit_chain_shards=_shards(e.get("ACTIONMFA_AUDIT_CHAIN_SHARDS", "")),
        )
        return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})


def _shards(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        return check_shards(int(value.strip()))
    except ValueError:
        raise ValueError(
            f"ACTIONMFA_AUDIT_CHAIN_SHARDS must be a whole number from 1 to {MAX_SHARDS} (got {value!r})"
        ) from None


def _parse_keys(spec: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    active = ""
    for part in spec.split(","):
        kid, _, b64 = part.strip().partition(":")
        keys[kid] = base64.b64decode(b64)
        active = active or kid
    return keys, active


KEYS_FILE = "keys.json"


def load_keyring(config: ServerConfig) -> Keyring:
    """Keys from ``ACTIONMFA_ENCRYPTION_KEYS``/``ACTIONMFA_HASH_KEY``, else ``<data dir>/keys.json``.

    The file is created (mode 0600) on first start. Several workers must share the same keys:
    give them the same variables or the same data directory.
    """
    if config.encryption_keys and config.hash_key:
        keys, active = _parse_keys(config.encryption_keys)
        return Keyring(keys=keys, active_key_id=active, hash_key=base64.b64decode(config.hash_key))
    path = config.data_dir / KEYS_FILE
    if not path.exists():
        doc = {
            "active": "k1",
            "keys": {"k1": base64.b64encode(secrets.token_bytes(32)).decode()},
            "hashKey": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        # Several workers may start at once on a fresh data dir: each writes a complete file under
        # a temporary name and links it into place; link() never replaces, so exactly one file wins
        # and every process then reads that one — never a half-written file (issue 11.3).
        write_private_file(path, doc, replace=False)
    return read_keys_file(path)


def write_private_file(path: Path, doc: dict[str, Any], *, replace: bool = True) -> bool:
    """Write ``doc`` as JSON (mode 0600) atomically: a temporary file created with ``O_EXCL`` in the
    same directory, written and fsynced, then renamed over ``path`` (``replace``) or hard-linked to
    it (not ``replace``: false if the file already exists, which is then left as it is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # O_EXCL, 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            tmp.replace(path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def read_keys_file(path: Path) -> Keyring:
    doc = json.loads(path.read_text())
    return Keyring(
        keys={k: base64.b64decode(v) for k, v in doc["keys"].items()},
        active_key_id=doc["active"],
        hash_key=base64.b64decode(doc["hashKey"]),
    )


def write_keys_file(path: Path, keyring: Keyring) -> None:
    doc = {
        "active": keyring.active_key_id,
        "keys": {k: base64.b64encode(v).decode() for k, v in keyring.keys.items()},
        "hashKey": base64.b64encode(keyring.hash_key).decode(),
    }
    write_private_file(path, doc)
