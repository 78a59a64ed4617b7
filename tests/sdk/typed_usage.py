"""How an application types its use of the SDK: checked with ``mypy --strict`` (test_sdk_surface.py).

Not run: ``assert_type`` makes mypy prove that each call returns the precise type (no ``Any``)
through ``Client`` and, awaited, through ``AsyncClient``.
"""

from __future__ import annotations

from typing import Any, assert_type

from eth_account.datastructures import SignedMessage, SignedTransaction
from solders.message import Message
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from actionmfa.domain.actions import MFAAction
from actionmfa.sdk import AsyncClient, AsyncSolanaWallet, AsyncWallet, Client
from actionmfa.sdk.auth import SignInResult
from actionmfa.sdk.authenticators import SoftwareAuthenticator
from actionmfa.sdk.errors import (
    ForbiddenError,
    MfaMethodDisabledError,
    MfaRateLimitedError,
    MfaRequiredError,
    PasskeyCeremonyError,
    RecoveryCodesAcknowledgedError,
)
from actionmfa.sdk.mfa import MfaAuthResult, MfaDevice, MfaMethods, TotpSetup
from actionmfa.sdk.passkeys import UserPasskey
from actionmfa.sdk.solana_wallets import SolanaWallet
from actionmfa.sdk.step_up import StepUpCheck
from actionmfa.sdk.users import SdkUser
from actionmfa.sdk.wallets import Wallet


def sync_story(client: Client, code: str) -> None:
    assert_type(client.auth.email.send_code("alice@example.com"), str)
    signed_in = client.auth.email.verify(code)
    assert_type(signed_in, SignInResult)
    assert_type(signed_in.user, SdkUser)
    assert_type(client.users.me().email, str | None)
    setup = client.mfa.add_device()
    assert_type(setup, TotpSetup)
    assert_type(client.mfa.verify_device(code), MfaDevice)
    assert_type(client.mfa.get_user_devices(), list[MfaDevice])
    assert_type(client.mfa.get_methods(verified_only=True), MfaMethods)
    assert_type(client.mfa.get_recovery_codes(), list[str])
    assert_type(client.mfa.is_required_for_action(mfa_action=MFAAction.WALLET_WAAS_SIGN), bool)
    assert_type(client.mfa.authenticate_device(code=code, create_mfa_token={"single_use": True}), str | None)
    assert_type(client.step_up.check("wallet:sign"), StepUpCheck)
    assert_type(client.step_up.authenticate(requested_scopes=["wallet:sign"], code=code), str | None)
    keys = SoftwareAuthenticator(origin="https://app.example.com")
    assert_type(client.passkeys.register(authenticator=keys), MfaAuthResult)
    assert_type(client.passkeys.get(), list[UserPasskey])
    assert_type(client.users.update(alias="ada"), SdkUser)
    wallet = client.wallets.create()
    assert_type(wallet, Wallet)
    assert_type(wallet.sign_message("hello"), SignedMessage)
    assert_type(wallet.sign_transaction({"chainId": 1}), SignedTransaction)
    assert_type(wallet.export_private_key(), str)
    assert_type(wallet.export_private_key(password="pw"), dict[str, Any])
    sol = client.wallets.create(chain="SOL")
    assert_type(sol, SolanaWallet)
    assert_type(sol.sign_message(b"hello"), Signature)
    assert_type(sol.sign_transaction(Message.default()), VersionedTransaction)
    assert_type(client.ui.mfa.show(create_mfa_token=True), str | None)
    client.auth.logout()


async def async_story(client: AsyncClient, code: str) -> None:
    assert_type(await client.auth.email.send_code("alice@example.com"), str)
    assert_type(await client.auth.email.verify(code), SignInResult)
    assert_type(await client.users.me(), SdkUser)
    assert_type(await client.mfa.add_device(), TotpSetup)
    assert_type(await client.mfa.get_user_devices(), list[MfaDevice])
    assert_type(await client.mfa.authenticate_device(code=code, create_mfa_token=True), str | None)
    assert_type(await client.step_up.check("wallet:sign"), StepUpCheck)
    assert_type(await client.passkeys.get(), list[UserPasskey])
    wallet = await client.wallets.create()
    assert_type(wallet, AsyncWallet)
    assert_type(await client.wallets.list(), list[AsyncWallet | AsyncSolanaWallet])
    sol = await client.wallets.create(chain="SOL")
    assert_type(sol, AsyncSolanaWallet)
    assert_type(await sol.sign_message(b"hello"), Signature)
    assert_type(await sol.export_private_key(), str)
    assert_type(await wallet.sign_message("hello"), SignedMessage)
    assert_type(await wallet.export_private_key(), str)
    assert_type(await client.ui.mfa.show(), str | None)
    await client.auth.logout()


def errors_are_one_tree(client: Client) -> str:
    try:
        client.users.update(alias="x")
    except (MfaRequiredError, ForbiddenError, MfaMethodDisabledError) as err:
        return err.code
    except (RecoveryCodesAcknowledgedError, MfaRateLimitedError, PasskeyCeremonyError) as err:
        return f"{err.status_code}"
    return "ok"
