"""Wire view of a Solana transaction's approval facts (:class:`TransactionSummary`)."""

from __future__ import annotations

from typing import Any

from actionmfa.wallet.solana.summary import AccountRef, TransactionSummary, Transfer


def _ref(ref: AccountRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    if ref.address is not None:
        return {"address": ref.address}
    return {"lookupTable": ref.lookup_table, "index": ref.index}


def _transfer(t: Transfer) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": t.kind.value, "programId": t.program_id, "source": _ref(t.source),
                           "recipient": _ref(t.recipient), "amount": str(t.amount), "authority": _ref(t.authority)}
    if t.mint is not None:
        out["mint"] = _ref(t.mint)
    if t.decimals is not None:
        out["decimals"] = t.decimals
    return out


def summary_json(s: TransactionSummary) -> dict[str, Any]:
    """Amounts as decimal strings (u64 does not fit a JavaScript number)."""
    return {"version": s.version, "feePayer": s.fee_payer, "signers": s.signers, "programIds": s.program_ids,
            "transfers": [_transfer(t) for t in s.transfers], "lookupTables": s.lookup_tables,
            "recentBlockhash": s.recent_blockhash, "instructionCount": s.instruction_count}
