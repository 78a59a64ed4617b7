"""The chain's construction as documented in domain/audit_chain.py, recomputed independently."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from actionmfa.domain.audit_chain import ChainedRow, Tamper, canonical_content, genesis, link, verify_chain

KEY = bytes(range(32))


def _lp(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def test_genesis_and_link_follow_the_documented_encoding() -> None:
    g = hmac.new(KEY, b"actionmfa.audit.v1" + _lp(b"genesis", b"env"), hashlib.sha256).hexdigest()
    assert genesis(KEY, "env") == g
    content = canonical_content({"event": "gate.allowed", "created_at": datetime(2026, 1, 1, tzinfo=UTC)})
    assert content == (
        b'{"action":null,"client_address":null,"created_at":"2026-01-01T00:00:00.000000+00:00","details":{},'
        b'"environment_id":null,"event":"gate.allowed","outcome":null,"session_id":null,"user_id":null}'
    )
    want = hmac.new(KEY, b"actionmfa.audit.v1" + _lp(b"row", b"env", b"1", g.encode(), content), hashlib.sha256)
    assert link(KEY, "env", 1, g, content) == want.hexdigest()


def _chain(n: int) -> list[ChainedRow]:
    rows, prev = [], genesis(KEY, "e")
    for seq in range(1, n + 1):
        content = f'{{"n":{seq}}}'.encode()
        h = link(KEY, "e", seq, prev, content)
        rows.append(ChainedRow(id=seq * 10, seq=seq, prev=prev, hash=h, content=content))
        prev = h
    return rows


def test_each_kind_of_tampering_is_one_finding() -> None:
    rows = _chain(6)
    head = (6, rows[-1].hash or "")
    assert verify_chain(KEY, "e", rows, head).intact
    assert [f.kind for f in verify_chain(KEY, "e", rows[:2] + rows[3:], head).findings] == [Tamper.DELETED]
    swapped = [rows[0], rows[2], rows[1], *rows[3:]]
    assert [f.kind for f in verify_chain(KEY, "e", swapped, head).findings] == [Tamper.REORDERED]
    assert [f.kind for f in verify_chain(KEY, "e", rows[:4], head).findings] == [Tamper.HEAD]
    altered = [*rows[:3], ChainedRow(40, 4, rows[3].prev, rows[3].hash, b"{}"), *rows[4:]]
    assert [f.kind for f in verify_chain(KEY, "e", altered, head).findings] == [Tamper.ALTERED]
    assert not verify_chain(b"\x00" * 32, "e", rows, head).intact  # another key
    assert not verify_chain(KEY, "other", rows, head).intact  # another environment's chain
