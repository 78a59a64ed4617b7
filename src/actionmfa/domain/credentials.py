"""A user's verified credentials, as Dynamic's ``SdkUser.verifiedCredentials`` lists them.

Dynamic's clients read a user's credentials from this list (``JwtVerifiedCredential``: ``id``,
``format``, ``signInEnabled`` required). ActionMFA fills it with what the user really has:

* the sign-in credential — ``email`` (the address) or ``externalUser`` (the IdP's ``sub`` as
  ``publicIdentifier``); ``signInEnabled`` is true, since it is how the user signs in;
* each verified MFA method — ``totp`` (a device) or ``passkey``; ``signInEnabled`` false, since
  ActionMFA uses them as second factors only;
* each embedded wallet — ``blockchain`` with ``address``, ``chain`` (CAIP-2 namespace as Dynamic's
  clients expect it: ``eip155`` for EVM, ``solana`` for Solana), ``walletName`` ``actionmfa``,
  ``walletProvider`` ``embeddedWallet`` and ``embeddedWalletId``, and ``walletProperties`` (below).

``walletProperties`` carries what the SDK must learn **at sign-in** (issue 13.2): the wallet's
``thresholdSignatureScheme`` and, under Dynamic's names for deferred wallet work
(``WaasWalletProperties.settings``: ``reshareOnNextSignOn`` — the target scheme —,
``revokeOnNextSignOn``, ``shouldRefreshOnNextSignOn``), the operator's pending delegation decision;
``pendingAction`` is the same decision under ActionMFA's name, as ``GET /waas/wallets`` shows it.
A pregenerated wallet not claimed yet (issue 13.1) has ``pregenerated: true`` and
``settings.shouldRefreshOnNextSignOn: true`` (its claim ends with the refresh).

The sign-in credential has no row of its own, so its id is derived (UUIDv5 of the user id and the
format): stable across calls, distinct per user.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from actionmfa.domain.models import User
from actionmfa.domain.wallets import PendingAction

__all__ = [
    "CREDENTIAL_CHAIN",
    "WALLET_NAME",
    "CredentialFormat",
    "MethodRecord",
    "VerifiedCredential",
    "WalletProperties",
    "WalletRecord",
    "sign_in_credential_id",
    "verified_credentials",
]

_NAMESPACE = uuid.UUID("2f4bb1a2-7d6e-4f39-9a55-0f6c3f1d8e21")  # ActionMFA's sign-in credential ids

# The chain names Dynamic's clients use in a credential (CHAINS_INFO_MAP's verifiedCredentialChainName).
CREDENTIAL_CHAIN = {"EVM": "eip155", "SOL": "solana"}
WALLET_NAME = "actionmfa"
EMBEDDED_WALLET_PROVIDER = "embeddedWallet"


class CredentialFormat(StrEnum):
    """Dynamic's ``JwtVerifiedCredentialFormatEnum`` members that ActionMFA has."""

    EMAIL = "email"
    EXTERNAL_USER = "externalUser"
    TOTP = "totp"
    PASSKEY = "passkey"
    BLOCKCHAIN = "blockchain"


@dataclass(frozen=True)
class MethodRecord:
    """A verified MFA method: a TOTP device or a passkey."""

    id: str
    kind: CredentialFormat  # TOTP or PASSKEY
    verified_at: datetime | None
    alias: str | None = None


@dataclass(frozen=True)
class WalletRecord:
    id: str
    address: str
    chain: str  # the wallet's chain as stored ("EVM", "SOL")
    created_at: datetime
    scheme: str = "TWO_OF_TWO"  # thresholdSignatureScheme
    pending_action: str | None = None  # domain.wallets.PendingAction
    pregenerated: bool = False  # made by the operator, not claimed yet (issue 13.1)


@dataclass(frozen=True)
class WalletProperties:
    """What a ``blockchain`` credential says of the wallet's state (Dynamic's ``walletProperties``)."""

    threshold_scheme: str
    pending_action: str | None = None
    pregenerated: bool = False  # the claim (stand-in share, then a refresh) is still to run: issue 13.1

    @property
    def reshare_on_next_sign_on(self) -> str | None:
        """Dynamic's ``reshareOnNextSignOn``: the scheme an approved delegation reshares to."""
        return "TWO_OF_THREE" if self.pending_action == PendingAction.APPROVE_DELEGATION.value else None

    @property
    def revoke_on_next_sign_on(self) -> bool:
        return self.pending_action == PendingAction.REVOKE_DELEGATION.value


@dataclass(frozen=True)
class VerifiedCredential:
    id: str
    format: CredentialFormat
    sign_in_enabled: bool
    email: str | None = None
    public_identifier: str | None = None
    address: str | None = None
    chain: str | None = None
    wallet_name: str | None = None
    wallet_provider: str | None = None
    embedded_wallet_id: str | None = None
    verified_at: datetime | None = None
    wallet_properties: WalletProperties | None = None


def sign_in_credential_id(user: User) -> str:
    """The id of the user's sign-in credential (email or external user)."""
    kind = CredentialFormat.EXTERNAL_USER if user.external_id is not None else CredentialFormat.EMAIL
    return str(uuid.uuid5(_NAMESPACE, f"{user.id}:{kind.value}"))


def verified_credentials(
    user: User, *, methods: Iterable[MethodRecord] = (), wallets: Iterable[WalletRecord] = ()
) -> list[VerifiedCredential]:
    """The sign-in credential first, then the MFA methods, then the wallets (each in given order)."""
    out: list[VerifiedCredential] = []
    if user.external_id is not None:
        out.append(
            VerifiedCredential(
                id=sign_in_credential_id(user),
                format=CredentialFormat.EXTERNAL_USER,
                sign_in_enabled=True,
                public_identifier=user.external_id,
                email=user.email,
                verified_at=user.created_at,
            )
        )
    elif user.email is not None:
        out.append(
            VerifiedCredential(
                id=sign_in_credential_id(user),
                format=CredentialFormat.EMAIL,
                sign_in_enabled=True,
                email=user.email,
                public_identifier=user.email,
                verified_at=user.created_at,
            )
        )
    for method in methods:
        out.append(
            VerifiedCredential(
                id=method.id,
                format=method.kind,
                sign_in_enabled=False,
                public_identifier=method.alias,
                verified_at=method.verified_at,
            )
        )
    for wallet in wallets:
        out.append(
            VerifiedCredential(
                id=wallet.id,
                format=CredentialFormat.BLOCKCHAIN,
                sign_in_enabled=False,
                address=wallet.address,
                public_identifier=wallet.address,
                chain=CREDENTIAL_CHAIN.get(wallet.chain, wallet.chain.lower()),
                wallet_name=WALLET_NAME,
                wallet_provider=EMBEDDED_WALLET_PROVIDER,
                embedded_wallet_id=wallet.id,
                verified_at=wallet.created_at,
                wallet_properties=WalletProperties(wallet.scheme, wallet.pending_action, wallet.pregenerated),
            )
        )
    return out
