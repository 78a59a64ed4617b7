"""Transactions signed by the two parties and executed by an in-process Solana runtime (LiteSVM,
signature verification on): a transfer, a program call and a v0 transaction with a lookup table."""

from __future__ import annotations

import struct

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import AccountMeta, Instruction
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from actionmfa.sdk.solana_wallets import SolanaWallet
from actionmfa.wallet.solana.summary import AccountRef, summarize
from tests.api import wallet_support
from tests.api.wallet_support import WalletUser

open_user = wallet_support.open_user
shared_paillier = wallet_support.shared_paillier
wallet_runtime = wallet_support.wallet_runtime
app_client = wallet_support.app_client

MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
LOOKUP_TABLE_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
FEE = 5000  # lamports per signature
SOL = 10**9


def _funded(user: WalletUser) -> tuple[LiteSVM, SolanaWallet]:
    wallet = user.sdk.wallets.create(chain="SOL")
    assert isinstance(wallet, SolanaWallet)
    svm = LiteSVM()
    svm.airdrop(wallet.pubkey, SOL)
    return svm, wallet


def _ok(result: object) -> TransactionMetadata:
    assert isinstance(result, TransactionMetadata), result
    return result


def test_a_transfer_executes(open_user: WalletUser) -> None:
    svm, wallet = _funded(open_user)
    recipient = Pubkey.new_unique()
    ix = transfer(TransferParams(from_pubkey=wallet.pubkey, to_pubkey=recipient, lamports=1_234_567))
    signed = wallet.sign_transaction(Message.new_with_blockhash([ix], wallet.pubkey, svm.latest_blockhash()))
    _ok(svm.send_transaction(signed))
    assert svm.get_balance(recipient) == 1_234_567
    assert svm.get_balance(wallet.pubkey) == SOL - 1_234_567 - FEE


def test_a_program_call_executes(open_user: WalletUser) -> None:
    # The Memo program checks that every account passed to it signed the transaction.
    svm, wallet = _funded(open_user)
    ix = Instruction(MEMO_PROGRAM, b"approved with MFA", [AccountMeta(wallet.pubkey, True, False)])
    signed = wallet.sign_transaction(Message.new_with_blockhash([ix], wallet.pubkey, svm.latest_blockhash()))
    meta = _ok(svm.send_transaction(signed))
    assert any("approved with MFA" in line for line in meta.logs())
    assert svm.get_balance(wallet.pubkey) == SOL - FEE


def _lookup_table(svm: LiteSVM, addresses: list[Pubkey]) -> AddressLookupTableAccount:
    """An active lookup table written straight into the runtime: LookupTableMeta (discriminator 1,
    deactivation slot u64::MAX, last extended slot 0, start index 0, no authority, padding) then
    the addresses."""
    key = Pubkey.new_unique()
    meta = struct.pack("<IQQB", 1, 2**64 - 1, 0, 0) + b"\x00" + bytes(32) + b"\x00\x00"
    data = meta + b"".join(bytes(a) for a in addresses)
    svm.set_account(key, Account(lamports=SOL, data=data, owner=LOOKUP_TABLE_PROGRAM, executable=False, rent_epoch=0))
    svm.warp_to_slot(10)
    return AddressLookupTableAccount(key, addresses)


def test_a_v0_transaction_with_a_lookup_table_executes(open_user: WalletUser) -> None:
    svm, wallet = _funded(open_user)
    recipients = [Pubkey.new_unique() for _ in range(3)]
    table = _lookup_table(svm, recipients)
    ixs = [transfer(TransferParams(from_pubkey=wallet.pubkey, to_pubkey=r, lamports=1_000_000 * (i + 1)))
           for i, r in enumerate(recipients)]
    message = MessageV0.try_compile(wallet.pubkey, ixs, [table], svm.latest_blockhash())
    assert len(message.address_table_lookups) == 1  # the recipients come from the table
    summary = summarize(message)
    assert summary.version == "v0" and summary.lookup_tables == [str(table.key)]
    assert [t.recipient for t in summary.transfers] == [AccountRef(None, str(table.key), i) for i in range(3)]
    assert [t.amount for t in summary.transfers] == [1_000_000, 2_000_000, 3_000_000]
    signed = wallet.sign_transaction(VersionedTransaction.populate(message, [Signature.default()]))
    _ok(svm.send_transaction(signed))
    assert [svm.get_balance(r) for r in recipients] == [1_000_000, 2_000_000, 3_000_000]
    assert svm.get_balance(wallet.pubkey) == SOL - 6_000_000 - FEE


def test_the_runtime_checks_signatures(open_user: WalletUser) -> None:
    # The runtime really verifies: the same transaction with one bit of the signature flipped fails.
    svm, wallet = _funded(open_user)
    recipient = Pubkey.new_unique()
    ix = transfer(TransferParams(from_pubkey=wallet.pubkey, to_pubkey=recipient, lamports=1_000_000))
    message = Message.new_with_blockhash([ix], wallet.pubkey, svm.latest_blockhash())
    signed = wallet.sign_transaction(message)
    raw = bytearray(bytes(signed.signatures[0]))
    raw[5] ^= 1
    forged = VersionedTransaction.populate(message, [Signature.from_bytes(bytes(raw))])
    assert isinstance(svm.send_transaction(forged), FailedTransactionMetadata)
    assert svm.get_balance(wallet.pubkey) == SOL
    _ok(svm.send_transaction(signed))
    assert svm.get_balance(recipient) == 1_000_000
