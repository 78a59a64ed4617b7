"""The audit log's keyed hash chain: how a row is sealed, and how a chain is checked.

Construction: a MAC chain over an append-only log with per-position sequence numbers, the
secretly-keyed form of the hash chains of Haber & Stornetta, "How to time-stamp a digital document"
(J. Cryptology 3(2), 1991, §5.1 "linking"), keyed as in Schneier & Kelsey, "Secure audit logs to
support computer forensics" (ACM TISSEC 2(2), 1999, §3: each entry carries a MAC over its content and
the previous entry's chain value). Unlike Schneier-Kelsey the key does not evolve (a single server
key, HMAC-SHA256 per RFC 2104): the property is that a **database writer without the server's key**
cannot add, alter, delete or reorder rows without ``verify`` noticing — not forward security against
a thief of the key itself.

Each environment has its own chain (``""`` names the chain of rows without an environment). The
row at position ``seq`` (1, 2, …) stores ``prev`` (the chain value of ``seq - 1``; for ``seq = 1``
the environment's keyed genesis value) and ``hash = HMAC(key, "actionmfa.audit.v1" ‖ chain ‖ seq ‖
prev ‖ canonical content)``. Content is every column an operator reads (event, ids, action,
outcome, details, client address, time); the database's own ``id`` is not in it (it is assigned on
insert) — rows are read in ``id`` order, so moving a row (changing ids) shows as ``seq`` out of order.

A per-environment head (``seq``, ``hash`` of the last row) is updated in the same transaction; it
catches rows deleted from the end. Its limit is the one every hash chain has: a writer who rolls the
head back together with the tail leaves a shorter chain that still checks, so operators who need
that anchor record the head ``verify`` prints somewhere the database writer cannot reach.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

DOMAIN = b"actionmfa.audit.v1"
KEY_PURPOSE = "audit-chain"  # Keyring.subkey(KEY_PURPOSE) is the chain's key (never in the database)
NO_ENVIRONMENT = ""  # the chain of rows that belong to no environment (operator-wide events)


def chain_of(environment_id: str | None) -> str:
    return environment_id if environment_id is not None else NO_ENVIRONMENT


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


def _mac(key: bytes, *parts: bytes) -> str:
    mac = hmac.new(key, DOMAIN, hashlib.sha256)
    for part in parts:
        mac.update(len(part).to_bytes(4, "big"))  # length-prefixed: no two part lists collide
        mac.update(part)
    return mac.hexdigest()


@functools.lru_cache(maxsize=1024)
def genesis(key: bytes, chain: str) -> str:
    """The ``prev`` of a chain's first row: keyed, so a chain cannot be restarted without the key."""
    return _mac(key, b"genesis", chain.encode())


def link(key: bytes, chain: str, seq: int, prev: str, content: bytes) -> str:
    return _mac(key, b"row", chain.encode(), str(seq).encode(), prev.encode(), content)


class Tamper(StrEnum):
    """What ``verify`` can find (the strings are printed by the CLI and the dashboard)."""

    ALTERED = "altered"  # the row's MAC does not match its content
    DELETED = "deleted"  # positions missing from the chain
    REORDERED = "reordered"  # a row sits after a later position (ids moved)
    INSERTED = "inserted"  # an unsealed row after the chain began
    HEAD = "head_mismatch"  # the head does not match the last row (rows deleted from the end)


@dataclass(frozen=True, slots=True)
class ChainedRow:
    id: int
    seq: int | None  # None: a row written before the chain existed (or inserted without the key)
    prev: str | None
    hash: str | None
    content: bytes


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Tamper
    row_id: int | None
    seq: int | None
    detail: str


@dataclass
class ChainReport:
    chain: str
    rows: int = 0  # sealed rows checked
    legacy_rows: int = 0  # rows older than the chain (migration 0008 left them unsealed)
    head_seq: int = 0
    head_hash: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


def verify_chain(
    key: bytes, chain: str, rows: Iterable[ChainedRow], head: tuple[int, str] | None
) -> ChainReport:
    """Check one environment's rows, given in ``id`` order, against the key and the head."""
    report = ChainReport(chain=chain, head_seq=head[0] if head else 0, head_hash=head[1] if head else None)
    last_seq = 0
    hashes: dict[int, str] = {}
    missing: dict[int, int] = {}  # seq -> id of the row after the gap
    started = False
    for row in rows:
        if row.seq is None or row.hash is None or row.prev is None:
            if started:
                report.findings.append(Finding(Tamper.INSERTED, row.id, None, f"row {row.id} carries no seal"))
            else:
                report.legacy_rows += 1
            continue
        started = True
        report.rows += 1
        sealed = hmac.compare_digest(link(key, chain, row.seq, row.prev, row.content), row.hash)
        if not sealed:
            # Its position is taken as claimed (so one altered row is one finding, not also a gap).
            report.findings.append(
                Finding(Tamper.ALTERED, row.id, row.seq, f"row {row.id} (seq {row.seq}) does not match its seal")
            )
            missing.pop(row.seq, None)
            if row.seq > last_seq:
                for gap in range(last_seq + 1, row.seq):
                    missing[gap] = row.id
                last_seq = row.seq
            continue
        expected_prev = genesis(key, chain) if row.seq == 1 else hashes.get(row.seq - 1)
        if row.seq <= last_seq:
            missing.pop(row.seq, None)
            report.findings.append(
                Finding(Tamper.REORDERED, row.id, row.seq, f"row {row.id} (seq {row.seq}) comes after seq {last_seq}")
            )
        else:
            for gap in range(last_seq + 1, row.seq):
                missing[gap] = row.id
            last_seq = row.seq
        if expected_prev is not None and not hmac.compare_digest(expected_prev, row.prev):
            report.findings.append(
                Finding(Tamper.ALTERED, row.id, row.seq, f"row {row.id} (seq {row.seq}) links to another predecessor")
            )
        hashes[row.seq] = row.hash
    _report_gaps(report, missing)
    if head is not None:
        seq_at_head = hashes.get(head[0])  # None: that row is altered (reported above) or gone
        if head[0] > last_seq:
            detail = f"the head is at seq {head[0]} but the last row is seq {last_seq}: rows deleted from the end"
            report.findings.append(Finding(Tamper.HEAD, None, head[0], detail))
        elif head[0] < last_seq or (seq_at_head is not None and not hmac.compare_digest(seq_at_head, head[1])):
            detail = f"the head (seq {head[0]}) does not match the last row (seq {last_seq})"
            report.findings.append(Finding(Tamper.HEAD, None, head[0], detail))
    return report


def _report_gaps(report: ChainReport, missing: dict[int, int]) -> None:
    run: list[int] = []
    for seq in sorted(missing):
        if run and (seq != run[-1] + 1 or missing[seq] != missing[run[-1]]):
            report.findings.append(_gap(run, missing[run[-1]]))
            run = []
        run.append(seq)
    if run:
        report.findings.append(_gap(run, missing[run[-1]]))


def _gap(run: list[int], next_id: int) -> Finding:
    span = f"seq {run[0]}" if len(run) == 1 else f"seq {run[0]}–{run[-1]}"
    return Finding(Tamper.DELETED, next_id, run[0], f"{len(run)} row(s) deleted ({span}), before row {next_id}")
