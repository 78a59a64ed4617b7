"""The approval prompt's view of a Solana payload (issue 12 with issue 14's :func:`summarize`).

A transaction shows the chain, the fee payer, the signers, every transfer (SOL in SOL with its
lamports, SPL tokens in base units, or with the decimals a ``TransferChecked`` states), the programs
it invokes and — for a v0 message — that some accounts come from lookup tables and cannot be named
from the message alone (the prompt says so rather than guess). An off-chain message shows its text,
or hex for bytes that are not printable text.
"""

from __future__ import annotations

from decimal import Decimal

from actionmfa.wallet.approval import ApprovalView, rows_view
from actionmfa.wallet.solana.payloads import SolanaPayloadKind, SolanaSignRequest
from actionmfa.wallet.solana.summary import TransferKind, summarize

LAMPORTS_PER_SOL = Decimal(10) ** 9
PROGRAM_NAMES = {
    "11111111111111111111111111111111": "System Program",
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA": "SPL Token",
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb": "SPL Token-2022",
    "ComputeBudget111111111111111111111111111111": "Compute Budget",
}


def sol(lamports: int) -> str:
    return f"{format((Decimal(lamports) / LAMPORTS_PER_SOL).normalize(), 'f')} SOL"


def describe_solana(request: SolanaSignRequest, *, wallet_id: str, app: str = "") -> ApprovalView:
    digest = request.approval_digest(wallet_id=wallet_id)
    rows: list[tuple[str, object]] = [("Chain", "Solana")]
    if request.kind is SolanaPayloadKind.MESSAGE:
        try:
            text = request.message.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if text and text.isprintable():
            rows.append(("Message", text))
        else:
            rows += [("Message (hex)", "0x" + request.message.hex()), ("Length", f"{len(request.message)} bytes")]
        return rows_view("wallet.waas.sign", "Sign a Solana message", rows, warning=None, digest=digest, app=app)
    summary = summarize(request.message)
    rows += [("Fee payer", summary.fee_payer), ("Signers", ", ".join(summary.signers))]
    title = "Sign a Solana transaction"
    for i, t in enumerate(summary.transfers, start=1):
        if t.kind is TransferKind.SOL:
            amount = f"{sol(t.amount)} ({t.amount:,} lamports)"
        elif t.decimals is not None:
            units = format((Decimal(t.amount) / Decimal(10) ** t.decimals).normalize(), "f")
            amount = f"{units} tokens of mint {t.mint}"
        else:
            amount = f"{t.amount:,} token base units (decimals not stated)"
        rows += [(f"Transfer {i}: amount", amount), (f"Transfer {i}: from", str(t.source)),
                 (f"Transfer {i}: to", str(t.recipient))]
        if len(summary.transfers) == 1 and t.kind is TransferKind.SOL:
            title = f"Send {sol(t.amount)}"
    programs = [PROGRAM_NAMES.get(p, p) for p in summary.program_ids]
    rows += [("Programs", ", ".join(programs)), ("Instructions", summary.instruction_count)]
    warning = None
    unknown = [p for p in summary.program_ids if p not in PROGRAM_NAMES]
    if unknown:
        warning = "It calls programs whose instructions are not decoded here: approve only if you trust the app."
    if summary.lookup_tables:
        rows.append(("Lookup tables", ", ".join(summary.lookup_tables)))
        note = "Some accounts come from lookup tables and cannot be named from the transaction alone."
        warning = f"{warning} {note}" if warning else note
    return rows_view("wallet.waas.sign", title, rows, warning=warning, digest=digest, app=app)
