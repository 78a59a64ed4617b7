"""Approval facts of Solana messages: fee payer, programs, System and SPL Token transfers."""

from __future__ import annotations

import struct

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from actionmfa.errors import InvalidRequestError
from actionmfa.wallet.solana.payloads import SolanaPayloadKind, SolanaSignRequest, message_request
from actionmfa.wallet.solana.summary import (
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    AccountRef,
    TransferKind,
    summarize,
)

PAYER, OWNER = Pubkey.new_unique(), Pubkey.new_unique()


def _token_ix(program: str, data: bytes, accounts: list[Pubkey], signer: Pubkey) -> Instruction:
    metas = [AccountMeta(a, a == signer, a != signer) for a in accounts]
    return Instruction(Pubkey.from_string(program), data, metas)


def test_system_transfer_and_fee_payer() -> None:
    to = Pubkey.new_unique()
    m = Message.new_with_blockhash([transfer(TransferParams(from_pubkey=OWNER, to_pubkey=to, lamports=99))], PAYER,
                                   Hash.default())
    s = summarize(to_bytes_versioned(m))
    assert s.fee_payer == str(PAYER) and set(s.signers) == {str(PAYER), str(OWNER)}
    (t,) = s.transfers
    assert (t.kind, t.source, t.recipient, t.amount) == (TransferKind.SOL, AccountRef(str(OWNER)),
                                                         AccountRef(str(to)), 99)


@pytest.mark.parametrize("program", [TOKEN_PROGRAM, TOKEN_2022_PROGRAM])
def test_spl_token_transfer_and_transfer_checked(program: str) -> None:
    src, dst, mint = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    plain = _token_ix(program, b"\x03" + struct.pack("<Q", 5_000), [src, dst, OWNER], OWNER)
    checked = _token_ix(program, b"\x0c" + struct.pack("<QB", 7_000_000, 6), [src, mint, dst, OWNER], OWNER)
    memo = Instruction(Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"), b"hi", [])
    s = summarize(Message.new_with_blockhash([plain, checked, memo], PAYER, Hash.default()))
    assert s.program_ids == [program, "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"]
    a, b = s.transfers
    assert (a.kind, a.recipient, a.amount, a.authority) == (TransferKind.TOKEN, AccountRef(str(dst)), 5_000,
                                                            AccountRef(str(OWNER)))
    assert (b.recipient, b.amount, b.mint, b.decimals) == (AccountRef(str(dst)), 7_000_000, AccountRef(str(mint)), 6)


def test_other_instructions_are_programs_only() -> None:
    approve = _token_ix(TOKEN_PROGRAM, b"\x04" + struct.pack("<Q", 1), [Pubkey.new_unique(), Pubkey.new_unique(),
                                                                        OWNER], OWNER)
    s = summarize(MessageV0.try_compile(PAYER, [approve], [], Hash.default()))
    assert s.version == "v0" and s.transfers == [] and s.program_ids == [TOKEN_PROGRAM]


def test_payload_parsing_refuses_non_canonical_and_confusable_bytes() -> None:
    m = Message.new_with_blockhash([transfer(TransferParams(from_pubkey=PAYER, to_pubkey=OWNER, lamports=1))], PAYER,
                                   Hash.default())
    raw = to_bytes_versioned(m)
    SolanaSignRequest(SolanaPayloadKind.TRANSACTION, raw).validate()
    with pytest.raises(InvalidRequestError):
        SolanaSignRequest(SolanaPayloadKind.TRANSACTION, raw + b"\x00").validate()
    with pytest.raises(InvalidRequestError, match="transaction"):
        message_request(raw)
    assert message_request("hello").message == b"hello"
    with pytest.raises(InvalidRequestError):
        SolanaSignRequest(SolanaPayloadKind.TRANSACTION, raw).require_signer(str(Pubkey.new_unique()))
    assert SolanaSignRequest(SolanaPayloadKind.TRANSACTION, raw).require_signer(str(PAYER)) == 0
