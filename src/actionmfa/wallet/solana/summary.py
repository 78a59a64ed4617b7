"""What an approval prompt shows about a Solana transaction: :func:`summarize`.

From the message bytes alone (the same bytes the ceremony signs): the version, the fee payer (the
first account key, RFC-less but fixed by the Solana runtime), the required signers, the program ids
invoked, the address-lookup tables a v0 message loads accounts from, and for System Program and SPL
Token (and Token-2022) transfers the source, recipient and amount. An account a v0 message loads
from a lookup table cannot be named without the table's on-chain contents, so it is shown as
``AccountRef(lookup_table=…, index=…)`` and the prompt must say so rather than guess.

Instruction layouts (little-endian):

* System ``Transfer``: u32 discriminant 2, u64 lamports; accounts [from, to].
* System ``TransferWithSeed``: u32 discriminant 11, u64 lamports, …; accounts [from, base, to].
* SPL Token ``Transfer``: u8 3, u64 amount; accounts [source, destination, owner].
* SPL Token ``TransferChecked``: u8 12, u64 amount, u8 decimals; accounts [source, mint, destination,
  owner].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from solders.message import Message, MessageV0
from solders.pubkey import Pubkey

from actionmfa.wallet.solana.payloads import parse_transaction_message

__all__ = ["AccountRef", "TransactionSummary", "Transfer", "TransferKind", "summarize"]

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 - a program id (solders.token.ID)
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"  # noqa: S105 - a program id


class TransferKind(StrEnum):
    SOL = "sol"  # lamports, System Program
    TOKEN = "token"  # noqa: S105 - token base units, SPL Token / Token-2022


@dataclass(frozen=True)
class AccountRef:
    """An account of the message: its address, or where a v0 message loads it from."""

    address: str | None
    lookup_table: str | None = None
    index: int | None = None

    def __str__(self) -> str:
        return self.address or f"{self.lookup_table}[{self.index}]"


@dataclass(frozen=True)
class Transfer:
    kind: TransferKind
    program_id: str
    source: AccountRef
    recipient: AccountRef
    amount: int
    authority: AccountRef | None = None
    mint: AccountRef | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class TransactionSummary:
    version: str  # "legacy" or "v0"
    fee_payer: str
    signers: list[str]
    program_ids: list[str]
    transfers: list[Transfer] = field(default_factory=list)
    lookup_tables: list[str] = field(default_factory=list)
    recent_blockhash: str = ""
    instruction_count: int = 0


def _resolver(message: Message | MessageV0) -> list[AccountRef]:
    refs = [AccountRef(str(k)) for k in message.account_keys]
    if isinstance(message, MessageV0):
        # Loaded addresses follow the static keys: every table's writable indexes, then every
        # table's read-only ones (the order the runtime uses).
        lookups = list(message.address_table_lookups)
        for lookup in lookups:
            refs += [AccountRef(None, str(lookup.account_key), i) for i in bytes(lookup.writable_indexes)]
        for lookup in lookups:
            refs += [AccountRef(None, str(lookup.account_key), i) for i in bytes(lookup.readonly_indexes)]
    return refs


def _u64(data: bytes, at: int) -> int | None:
    return int.from_bytes(data[at:at + 8], "little") if len(data) >= at + 8 else None


def _transfer(program: str, data: bytes, accounts: list[AccountRef]) -> Transfer | None:
    if program == SYSTEM_PROGRAM and len(data) >= 12:
        tag = int.from_bytes(data[:4], "little")
        amount = _u64(data, 4)
        if amount is None:
            return None
        if tag == 2 and len(accounts) >= 2 and len(data) == 12:
            return Transfer(TransferKind.SOL, program, accounts[0], accounts[1], amount, authority=accounts[0])
        if tag == 11 and len(accounts) >= 3:
            return Transfer(TransferKind.SOL, program, accounts[0], accounts[2], amount, authority=accounts[1])
        return None
    if program in (TOKEN_PROGRAM, TOKEN_2022_PROGRAM) and data:
        amount = _u64(data, 1)
        if amount is None:
            return None
        if data[0] == 3 and len(data) == 9 and len(accounts) >= 3:
            return Transfer(TransferKind.TOKEN, program, accounts[0], accounts[1], amount, authority=accounts[2])
        if data[0] == 12 and len(data) == 10 and len(accounts) >= 4:
            return Transfer(TransferKind.TOKEN, program, accounts[0], accounts[2], amount, authority=accounts[3],
                            mint=accounts[1], decimals=data[9])
    return None


def summarize(message: bytes | Message | MessageV0) -> TransactionSummary:
    """The approval facts of a transaction message (bytes as signed, or a solders message)."""
    msg = parse_transaction_message(message) if isinstance(message, bytes) else message
    refs = _resolver(msg)
    keys: list[Pubkey] = list(msg.account_keys)
    programs: list[str] = []
    transfers: list[Transfer] = []
    for ix in msg.instructions:
        # Program ids are always static keys (the runtime refuses a program loaded from a table).
        program = str(keys[ix.program_id_index]) if ix.program_id_index < len(keys) else "?"
        if program not in programs:
            programs.append(program)
        accounts = [refs[i] if i < len(refs) else AccountRef(None) for i in bytes(ix.accounts)]
        t = _transfer(program, bytes(ix.data), accounts)
        if t is not None:
            transfers.append(t)
    signers = [str(k) for k in keys[: msg.header.num_required_signatures]]
    tables = [str(lk.account_key) for lk in msg.address_table_lookups] if isinstance(msg, MessageV0) else []
    return TransactionSummary(
        version="v0" if isinstance(msg, MessageV0) else "legacy",
        fee_payer=str(keys[0]) if keys else "",
        signers=signers,
        program_ids=programs,
        transfers=transfers,
        lookup_tables=tables,
        recent_blockhash=str(msg.recent_blockhash),
        instruction_count=len(msg.instructions),
    )
