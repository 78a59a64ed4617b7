"""The chain's construction as documented in domain/audit_chain.py, recomputed independently."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from actionmfa.domain.audit_chain import (
    MAX_SHARDS,
    Anchor,
    ChainedRow,
    Tamper,
    anchor_of,
    canonical_content,
    chain_label,
    check_shards,
    genesis,
    link,
    parse_anchor,
    shard_of,
    verify_chain,
    verify_environment,
)

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


# -- shards (issue 15.3) ------------------------------------------------------------------------


def test_a_users_shard_is_the_documented_function_of_its_id() -> None:
    for user in ("user-1", "0b3c1f9e-7d7e-4c1e-9a52-3f6c2b7d9e10", "é"):
        want = int.from_bytes(hashlib.sha256(user.encode()).digest()[:8], "big") % 16
        assert shard_of(user, 16) == want
    assert shard_of(None, 16) == shard_of("", 16) == 0  # rows without a user: shard 0
    assert {shard_of(f"u{i}", 1) for i in range(50)} == {0}  # one shard: the environment's one chain
    assert {shard_of(f"u{i}", 16) for i in range(400)} == set(range(16))  # distinct users spread out


def test_shard_counts_outside_1_to_256_are_refused() -> None:
    assert check_shards(1) == 1 and check_shards(MAX_SHARDS) == 256
    for bad in (0, -1, 257, True, 2.0, "4"):
        with pytest.raises(ValueError, match="from 1 to 256"):
            check_shards(bad)  # type: ignore[arg-type]


def test_shard_zero_is_the_environments_own_chain_and_later_shards_have_their_own_label() -> None:
    assert chain_label("env", 0) == "env" and chain_label("env", 7) == "env#7"
    assert genesis(KEY, chain_label("env", 7)) != genesis(KEY, "env")


def _sharded(shards: dict[int, int]) -> list[ChainedRow]:
    """Rows of several shards of environment "e", interleaved in id order (shard: row count)."""
    rows: list[ChainedRow] = []
    prev = {s: genesis(KEY, chain_label("e", s)) for s in shards}
    next_id = 1
    for seq in range(1, max(shards.values()) + 1):
        for shard, n in shards.items():
            if seq > n:
                continue
            content = f'{{"s":{shard},"n":{seq}}}'.encode()
            h = link(KEY, chain_label("e", shard), seq, prev[shard], content)
            rows.append(ChainedRow(id=next_id, seq=seq, prev=prev[shard], hash=h, content=content, shard=shard))
            prev[shard], next_id = h, next_id + 1
    return rows


def _heads(rows: list[ChainedRow]) -> dict[int, tuple[int, str]]:
    return {r.shard: (r.seq or 0, r.hash or "") for r in rows}  # the last row of each shard


def test_every_shard_is_checked_and_the_report_is_the_environments() -> None:
    rows = _sharded({0: 3, 2: 4, 5: 1})
    report = verify_environment(KEY, "e", rows, _heads(rows))
    assert report.intact and report.rows == 8 and [r.shard for r in report.shards] == [0, 2, 5]
    # A later shard's rows checked as shard 0 (the label is in the seal) do not verify:
    as_zero = [dataclasses.replace(r, shard=0) for r in rows if r.shard == 2]
    assert not verify_chain(KEY, "e", as_zero, None).intact
    assert verify_chain(KEY, "e", [r for r in rows if r.shard == 2], _heads(rows)[2], shard=2).intact


def test_a_row_moved_between_shards_fails_where_it_lands_and_leaves_a_gap() -> None:
    rows = _sharded({1: 3, 2: 3})
    heads = _heads(rows)
    target = next(r for r in rows if r.shard == 1 and r.seq == 2)
    moved = [dataclasses.replace(r, shard=2, seq=4) if r is target else r for r in rows]
    heads[2] = (4, target.hash or "")  # the forger moves the head along
    findings = verify_environment(KEY, "e", moved, heads).findings
    found = {(f.kind, f.shard, f.row_id) for f in findings}
    assert (Tamper.DELETED, 1, next(r.id for r in rows if r.shard == 1 and r.seq == 3)) in found
    assert (Tamper.ALTERED, 2, target.id) in found  # sealed under "e#1", not "e#2"
    assert f"shard 2: row {target.id} (seq 4) does not match its seal" in {f.detail for f in findings}
    assert {f.shard for f in findings} == {1, 2}


def test_unsealed_rows_are_legacy_only_before_the_environments_first_sealed_row() -> None:
    rows = [dataclasses.replace(r, id=r.id + 1) for r in _sharded({3: 2})]
    unsealed = ChainedRow(id=1, seq=None, prev=None, hash=None, content=b"{}", shard=0)  # ids start at 1
    later = dataclasses.replace(unsealed, id=99)
    report = verify_environment(KEY, "e", [unsealed, *rows, later], _heads(rows))
    assert report.legacy_rows == 1
    assert [(f.kind, f.shard, f.row_id) for f in report.findings] == [(Tamper.INSERTED, 0, 99)]


def test_sealed_rows_without_a_head_are_found() -> None:
    rows = _sharded({0: 1, 4: 2})
    heads = _heads(rows)
    del heads[4]
    assert [(f.kind, f.shard) for f in verify_environment(KEY, "e", rows, heads).findings] == [(Tamper.HEAD, 4)]


def test_the_anchor_follows_the_documented_encoding_and_reads_back() -> None:
    rows = _sharded({0: 2, 3: 1})
    heads = _heads(rows)
    want = hashlib.sha256(b"actionmfa.audit.anchor.v1" + _lp(b"e") + _lp(b"0", b"2", heads[0][1].encode())
                          + _lp(b"3", b"1", heads[3][1].encode())).hexdigest()
    anchor = anchor_of("e", heads)
    assert anchor.digest == want and str(anchor) == f"0:2,3:1@{want}"
    assert parse_anchor(str(anchor)) == anchor
    for bad in ("", "0:2", "0:2@xyz", f"0:2,0:3@{want}", f"a:1@{want}", f"0:-1@{want}", f"300:1@{want}"):
        with pytest.raises(ValueError):
            parse_anchor(bad)


def test_an_anchor_catches_a_head_rolled_back_and_a_shard_deleted() -> None:
    rows = _sharded({0: 3, 3: 3})
    anchor = verify_environment(KEY, "e", rows, _heads(rows)).anchor
    grown = _sharded({0: 5, 3: 3})
    assert verify_environment(KEY, "e", grown, _heads(grown), anchor=anchor).intact  # later rows: fine
    rolled = [r for r in rows if not (r.shard == 3 and r.seq == 3)]
    report = verify_environment(KEY, "e", rolled, _heads(rolled))
    assert report.intact  # the limit of a chain alone
    report = verify_environment(KEY, "e", rolled, _heads(rolled), anchor=anchor)
    assert [(f.kind, f.shard, f.seq) for f in report.findings] == [(Tamper.ANCHOR, 3, 3)]
    gone = [r for r in rows if r.shard != 3]
    assert [(f.kind, f.shard) for f in verify_environment(KEY, "e", gone, _heads(gone), anchor=anchor).findings] == [
        (Tamper.ANCHOR, 3)]
    forged = Anchor(anchor.positions, "0" * 64)
    assert [f.kind for f in verify_environment(KEY, "e", rows, _heads(rows), anchor=forged).findings] == [
        Tamper.ANCHOR]
