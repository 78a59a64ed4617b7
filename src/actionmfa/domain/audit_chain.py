"""The audit log's keyed hash chain: how a row is sealed, and how a chain is checked.

Construction: a MAC chain over an append-only log with per-position sequence numbers, the
secretly-keyed form of the hash chains of Haber & Stornetta, "How to time-stamp a digital document"
(J. Cryptology 3(2), 1991, §5.1 "linking"), keyed as in Schneier & Kelsey, "Secure audit logs to
support computer forensics" (ACM TISSEC 2(2), 1999, §3: each entry carries a MAC over its content and
the previous entry's chain value). Unlike Schneier-Kelsey the key does not evolve (a single server
key, HMAC-SHA256 per RFC 2104): the property is that a **database writer without the server's key**
cannot add, alter, delete or reorder rows without ``verify`` noticing — not forward security against
a thief of the key itself.

Each environment's log is split into ``K`` **shards** (issue 15.3), each its own chain with its own
head row, so that writers of different users do not queue on one row lock: a row's shard is
:func:`shard_of` its user id (the first 8 bytes of SHA-256(user id), big-endian, mod ``K``; rows
without a user go to shard 0), so one user's events stay in one chain, in order. ``K`` is a writer's
setting (``ACTIONMFA_AUDIT_CHAIN_SHARDS``), never re-derived when checking: the shard is stored on
each row (``audit_log.chain_shard``), so changing ``K`` later only changes where new rows go.
``""`` names the environment of rows without one.

A shard's chain is named by :func:`chain_label`: shard 0 is the environment id itself — exactly the
one chain per environment of before the shards, so chains written then keep verifying — and shard
``k > 0`` is ``f"{environment}#{k}"``. The row at position ``seq`` (1, 2, …) of a shard stores
``prev`` (the chain value of ``seq - 1``; for ``seq = 1`` the label's keyed genesis value) and
``hash = HMAC(key, "actionmfa.audit.v1" ‖ label ‖ seq ‖ prev ‖ canonical content)``. The label is in
the MAC, so a row moved to another shard (its ``chain_shard`` changed) fails there and leaves a gap
where it was. Content is every column an operator reads (event, ids, action, outcome, details,
client address, time); the database's own ``id`` is not in it (it is assigned on insert) — rows are
read in ``id`` order, so moving a row (changing ids) shows as ``seq`` out of order.

A head per (environment, shard) (``seq``, ``hash`` of the last row) is updated in the same
transaction; it catches rows deleted from the end. Its limit is the one every hash chain has: a
writer who rolls a head back together with the tail — or deletes a whole shard's rows together with
its head row — leaves a shorter chain that still checks. The **anchor** (:func:`anchor_of`) is what
catches that: one line per environment, every shard's head position and one digest over the heads'
hashes, which an operator records somewhere the database writer cannot reach and later hands back
to ``verify`` (:func:`parse_anchor`): each recorded position must still hold the recorded hash.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

DOMAIN = b"actionmfa.audit.v1"
ANCHOR_DOMAIN = b"actionmfa.audit.anchor.v1"
KEY_PURPOSE = "audit-chain"  # Keyring.subkey(KEY_PURPOSE) is the chain's key (never in the database)
NO_ENVIRONMENT = ""  # the chain of rows that belong to no environment (operator-wide events)
MAX_SHARDS = 256  # audit_log.chain_shard and audit_chain_heads.shard are small integers


def chain_of(environment_id: str | None) -> str:
    return environment_id if environment_id is not None else NO_ENVIRONMENT


def check_shards(shards: int) -> int:
    """``shards`` if it is a valid number of shards per environment (1 to :data:`MAX_SHARDS`)."""
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
        raise ValueError(f"the audit chain's shards per environment must be a whole number from 1 to {MAX_SHARDS}, "
                         f"got {shards!r}")
    return shards


def shard_of(user_id: str | None, shards: int) -> int:
    """The shard a row of ``user_id`` is written to: the first 8 bytes of SHA-256(user id) as a
    big-endian integer, mod ``shards``; a row without a user (``None`` or ``""``) goes to shard 0."""
    if shards <= 1 or not user_id:
        return 0
    return int.from_bytes(hashlib.sha256(user_id.encode()).digest()[:8], "big") % shards


def chain_label(chain: str, shard: int) -> str:
    """The name a shard's chain is sealed under: shard 0 is the environment's own chain (the one
    chain per environment of before the shards), shard ``k > 0`` is ``f"{chain}#{k}"``."""
    return chain if shard == 0 else f"{chain}#{shard}"


def canonical_content(values: dict[str, Any]) -> bytes:
    """The row's content as canonical JSON (sorted keys, no spaces, UTC time to the microsecond)."""
    created: datetime = values["created_at"]
    doc = {
        "environment_id": values.get("environment_id"),
        "user_id": values.get("user_id"),
        "session_id": values.get("session_id"),
        "event": values["event"],
        "action": values.get("action"),
        "outcome": values.get("outcome"),
        "details": values.get("details") or {},
        "client_address": values.get("client_address"),
        "created_at": created.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _lp(*parts: bytes) -> Iterable[bytes]:
    for part in parts:
        yield len(part).to_bytes(4, "big")  # length-prefixed: no two part lists collide
        yield part


def _mac(key: bytes, *parts: bytes) -> str:
    mac = hmac.new(key, DOMAIN, hashlib.sha256)
    for chunk in _lp(*parts):
        mac.update(chunk)
    return mac.hexdigest()


@functools.lru_cache(maxsize=1024)
def genesis(key: bytes, chain: str) -> str:
    """The ``prev`` of a chain's first row (``chain``: a :func:`chain_label`): keyed, so a chain
    cannot be restarted without the key."""
    return _mac(key, b"genesis", chain.encode())


def link(key: bytes, chain: str, seq: int, prev: str, content: bytes) -> str:
    return _mac(key, b"row", chain.encode(), str(seq).encode(), prev.encode(), content)


class Tamper(StrEnum):
    """What ``verify`` can find (the strings are printed by the CLI and the dashboard)."""

    ALTERED = "altered"  # the row's MAC does not match its content (or its shard: a moved row)
    DELETED = "deleted"  # positions missing from the chain
    REORDERED = "reordered"  # a row sits after a later position (ids moved)
    INSERTED = "inserted"  # an unsealed row after the chain began
    HEAD = "head_mismatch"  # the head does not match the last row (rows deleted from the end)
    ANCHOR = "anchor_mismatch"  # the chain no longer passes through a recorded anchor (a head rolled back)


@dataclass(frozen=True, slots=True)
class ChainedRow:
    id: int
    seq: int | None  # None: a row written before the chain existed (or inserted without the key)
    prev: str | None
    hash: str | None
    content: bytes
    shard: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Tamper
    row_id: int | None
    seq: int | None
    detail: str
    shard: int = 0


@dataclass
class ChainReport:
    """One shard's chain (``chain``: the environment; ``shard``: which of its chains)."""

    chain: str
    rows: int = 0  # sealed rows checked
    legacy_rows: int = 0  # rows older than the chain (migration 0008 left them unsealed)
    head_seq: int = 0
    head_hash: str | None = None
    findings: list[Finding] = field(default_factory=list)
    shard: int = 0

    @property
    def intact(self) -> bool:
        return not self.findings


class _ChainCheck:
    """The rules for one shard's chain, fed its rows in ``id`` order."""

    def __init__(self, key: bytes, chain: str, shard: int, watch: int | None = None) -> None:
        self.key, self.shard, self.label = key, shard, chain_label(chain, shard)
        self.report = ChainReport(chain=chain, shard=shard)
        self.last_seq = 0
        self.hashes: dict[int, str] = {}
        self.missing: dict[int, int] = {}  # seq -> id of the row after the gap
        self.started = False
        self.watch = watch  # a recorded anchor's position in this shard: keep the hash found there
        self.watched: str | None = None

    def _find(self, kind: Tamper, row_id: int | None, seq: int | None, detail: str) -> None:
        prefix = f"shard {self.shard}: " if self.shard else ""
        self.report.findings.append(Finding(kind, row_id, seq, prefix + detail, self.shard))

    def add(self, row: ChainedRow) -> None:
        report = self.report
        if row.seq is None or row.hash is None or row.prev is None:
            # ids below 1 are never assigned by the database (sequences and SQLite rowids start at 1):
            # an unsealed row there was written by hand, not before the chain existed
            if self.started or row.id < 1:
                self._find(Tamper.INSERTED, row.id, None, f"row {row.id} carries no seal")
            else:
                report.legacy_rows += 1
            return
        self.started = True
        report.rows += 1
        if row.seq == self.watch:
            self.watched = row.hash
        sealed = hmac.compare_digest(link(self.key, self.label, row.seq, row.prev, row.content), row.hash)
        if not sealed:
            # Its position is taken as claimed (so one altered row is one finding, not also a gap).
            self._find(Tamper.ALTERED, row.id, row.seq, f"row {row.id} (seq {row.seq}) does not match its seal")
            self.missing.pop(row.seq, None)
            if row.seq > self.last_seq:
                for gap in range(self.last_seq + 1, row.seq):
                    self.missing[gap] = row.id
                self.last_seq = row.seq
            return
        expected_prev = genesis(self.key, self.label) if row.seq == 1 else self.hashes.get(row.seq - 1)
        if row.seq <= self.last_seq:
            self.missing.pop(row.seq, None)
            detail = f"row {row.id} (seq {row.seq}) comes after seq {self.last_seq}"
            self._find(Tamper.REORDERED, row.id, row.seq, detail)
        else:
            for gap in range(self.last_seq + 1, row.seq):
                self.missing[gap] = row.id
            self.last_seq = row.seq
        if expected_prev is not None and not hmac.compare_digest(expected_prev, row.prev):
            self._find(Tamper.ALTERED, row.id, row.seq, f"row {row.id} (seq {row.seq}) links to another predecessor")
        self.hashes[row.seq] = row.hash

    def finish(self, head: tuple[int, str] | None) -> ChainReport:
        report = self.report
        report.head_seq, report.head_hash = (head[0], head[1]) if head else (0, None)
        self._report_gaps()
        if head is not None:
            seq_at_head = self.hashes.get(head[0])  # None: that row is altered (reported above) or gone
            if head[0] > self.last_seq:
                last = self.last_seq
                detail = f"the head is at seq {head[0]} but the last row is seq {last}: rows deleted from the end"
                self._find(Tamper.HEAD, None, head[0], detail)
            elif head[0] < self.last_seq or (seq_at_head is not None and not hmac.compare_digest(seq_at_head, head[1])):
                detail = f"the head (seq {head[0]}) does not match the last row (seq {self.last_seq})"
                self._find(Tamper.HEAD, None, head[0], detail)
        elif report.rows:
            self._find(Tamper.HEAD, None, None, f"sealed rows up to seq {self.last_seq} but no head")
        return report

    def _report_gaps(self) -> None:
        run: list[int] = []
        for seq in sorted(self.missing):
            if run and (seq != run[-1] + 1 or self.missing[seq] != self.missing[run[-1]]):
                self._gap(run)
                run = []
            run.append(seq)
        if run:
            self._gap(run)

    def _gap(self, run: list[int]) -> None:
        next_id = self.missing[run[-1]]
        span = f"seq {run[0]}" if len(run) == 1 else f"seq {run[0]}–{run[-1]}"
        self._find(Tamper.DELETED, next_id, run[0], f"{len(run)} row(s) deleted ({span}), before row {next_id}")


def verify_chain(
    key: bytes, chain: str, rows: Iterable[ChainedRow], head: tuple[int, str] | None, *, shard: int = 0
) -> ChainReport:
    """Check one shard's rows (of environment ``chain``), given in ``id`` order, against the key and its head."""
    check = _ChainCheck(key, chain, shard)
    for row in rows:
        check.add(row)
    return check.finish(head)


@dataclass(frozen=True, slots=True)
class Anchor:
    """A recorded position of every shard of one environment: ``positions`` (shard → seq) and the
    digest over the hashes found there (:func:`anchor_digest`)."""

    positions: Mapping[int, int]
    digest: str

    def __str__(self) -> str:
        return ",".join(f"{s}:{q}" for s, q in sorted(self.positions.items())) + "@" + self.digest


def anchor_digest(chain: str, heads: Mapping[int, tuple[int, str]]) -> str:
    """SHA-256(``"actionmfa.audit.anchor.v1"`` ‖ chain ‖ (shard ‖ seq ‖ hash) for every shard in
    order), each part length-prefixed as in the MAC: one value over all of an environment's heads."""
    digest = hashlib.sha256(ANCHOR_DOMAIN)
    for chunk in _lp(chain.encode()):
        digest.update(chunk)
    for shard in sorted(heads):
        seq, last = heads[shard]
        for chunk in _lp(str(shard).encode(), str(seq).encode(), last.encode()):
            digest.update(chunk)
    return digest.hexdigest()


def anchor_of(chain: str, heads: Mapping[int, tuple[int, str]]) -> Anchor:
    return Anchor({s: h[0] for s, h in heads.items()}, anchor_digest(chain, heads))


def parse_anchor(text: str) -> Anchor:
    """An anchor as :class:`Anchor` prints it (``0:12,3:7@<64 hex>``); ``ValueError`` otherwise."""
    spec, sep, digest = text.strip().partition("@")
    if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("an anchor reads SHARD:SEQ,SHARD:SEQ…@DIGEST (64 hex digits), as `audit verify` prints it")
    positions: dict[int, int] = {}
    for item in filter(None, spec.split(",")):
        shard, colon, seq = item.partition(":")
        if not colon or not shard.isdigit() or not seq.isdigit() or int(shard) >= MAX_SHARDS or int(shard) in positions:
            raise ValueError(f"bad anchor position {item!r} (SHARD:SEQ, each shard once)")
        positions[int(shard)] = int(seq)
    return Anchor(positions, digest)


@dataclass
class EnvironmentReport:
    """Every shard of one environment (``chain``), and the anchor checks if one was given."""

    chain: str
    shards: list[ChainReport]
    anchor_findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.anchor_findings and all(r.intact for r in self.shards)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.shards)

    @property
    def legacy_rows(self) -> int:
        return sum(r.legacy_rows for r in self.shards)

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.shards for f in r.findings] + self.anchor_findings

    @property
    def heads(self) -> dict[int, tuple[int, str]]:
        return {r.shard: (r.head_seq, r.head_hash) for r in self.shards if r.head_hash is not None}

    @property
    def anchor(self) -> Anchor:
        """What an operator records: where every shard's head is now, and the digest over them."""
        return anchor_of(self.chain, self.heads)


def verify_environment(
    key: bytes,
    chain: str,
    rows: Iterable[ChainedRow],
    heads: Mapping[int, tuple[int, str]],
    *,
    anchor: Anchor | None = None,
) -> EnvironmentReport:
    """Check every shard of one environment: ``rows`` in ``id`` order (each names its shard),
    ``heads`` by shard. With ``anchor`` (recorded earlier), also check that each recorded position
    still holds the recorded hash — the check that catches a head rolled back with its tail, or a
    shard deleted together with its head row."""
    watch = dict(anchor.positions) if anchor is not None else {}
    checks: dict[int, _ChainCheck] = {}

    def check_of(shard: int) -> _ChainCheck:
        check = checks.get(shard)
        if check is None:
            check = checks[shard] = _ChainCheck(key, chain, shard, watch.get(shard))
        return check

    began = False  # a sealed row of any shard seen: unsealed rows after it are inserted, not legacy
    for row in rows:
        check = check_of(row.shard)
        if row.seq is not None and row.hash is not None and row.prev is not None:
            began = True
        elif began:
            check.started = True  # legacy rows (before migration 0008) predate every shard's first row
        check.add(row)
    for shard in heads:
        check_of(shard)
    for shard in watch:
        check_of(shard)
    report = EnvironmentReport(chain, [checks[s].finish(heads.get(s)) for s in sorted(checks)])
    if anchor is not None:
        report.anchor_findings = _anchor_findings(chain, anchor, checks)
    return report


def _anchor_findings(chain: str, anchor: Anchor, checks: Mapping[int, _ChainCheck]) -> list[Finding]:
    found: dict[int, tuple[int, str]] = {}
    findings = []
    for shard, seq in sorted(anchor.positions.items()):
        watched = checks[shard].watched
        if watched is None:
            detail = f"shard {shard}: the recorded anchor's seq {seq} is gone (a head rolled back with its rows)"
            findings.append(Finding(Tamper.ANCHOR, None, seq, detail, shard))
        else:
            found[shard] = (seq, watched)
    if not findings and not hmac.compare_digest(anchor_digest(chain, found), anchor.digest):
        detail = "the rows at the recorded anchor's positions are not the ones recorded"
        findings.append(Finding(Tamper.ANCHOR, None, None, detail))
    return findings
