"""Wire models of the embedded-wallet routes (user ceremonies, delegated signing, the operator's secret).

Each answer names the fields every client reads; ``message`` is the round's protocol message, a JSON
object whose members the wallet layer defines and checks (``wallet/messages.py`` and the proof
modules; docs/wallets.md has the wire contract). The answers allow members beyond the ones listed:
the ceremonies grow (chains, schemes, proofs) and a client must ignore what it does not read.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from actionmfa.wallet.payloads import PayloadKind
from actionmfa.wallet.solana.payloads import SolanaPayloadKind

ProtocolMessage = dict[str, Any]

# What is signed (docs/wallets.md): the document lists the kinds; the payload parsers check them and
# name the field (``kind``) when they refuse one, so the type stays a string here.
EvmSignKind = Annotated[str, Field(max_length=32, json_schema_extra={"enum": [k.value for k in PayloadKind]})]
SignKind = Annotated[str, Field(max_length=32, json_schema_extra={
    "enum": [k.value for k in PayloadKind] + [k.value for k in SolanaPayloadKind]})]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- answers ---------------------------------------------------------------------------------------
class WalletOut(Open):
    id: str
    chain: str
    address: str
    publicKey: str
    locked: bool
    keyVersion: int
    createdAt: str
    thresholdSignatureScheme: str
    keyCeremonyId: str | None = None  # the ceremony whose shares are current (crash-safe share changes)
    pendingAction: str | None = None  # approve_delegation | revoke_delegation: the operator's decision
    pregenerated: bool = False  # made by the operator, not claimed yet (claim, then refresh: issue 13.1)


class WalletList(Open):
    wallets: list[WalletOut]


class CeremonyOpened(Open):
    """The first answer of a ceremony: its id, expiry and the server's first message."""

    ceremonyId: str
    expiresAt: str
    message: ProtocolMessage


class KeygenOpened(CeremonyOpened):
    userId: str


class WalletCeremonyOpened(CeremonyOpened):
    walletId: str
    keyVersion: int


class SignOpened(WalletCeremonyOpened):
    digest: str


class CeremonyRound(Open):
    ceremonyId: str
    message: ProtocolMessage


class KeygenFinished(Open):
    wallet: WalletOut
    message: ProtocolMessage


class WalletUpdated(Open):
    """A refresh or reshare confirmed: the wallet as it now is (a reshare to a delegate adds
    ``delegation {event, delivered}``)."""

    wallet: WalletOut


class SignatureOut(Open):
    r: str
    s: str
    v: int


class SignatureResult(Open):
    """The signature: ECDSA ``{r, s, v}`` (and, for a transaction, ``signedTransaction``, the signed
    raw transaction); Ed25519 (Solana) as base58 text with ``signatureHex`` and ``signerIndex``."""

    ceremonyId: str
    digest: str
    signature: SignatureOut | str


class ExportedShare(Open):
    """The server share sealed with HPKE (RFC 9180) to the client's recipient key."""

    encryptionType: str
    encapsulatedKey: str
    ciphertext: str
    walletId: str
    requestId: str
    tokenId: str
    keyVersion: int


class DelegationDecision(BaseModel):
    """The wallets an operator's delegation decision marked (issue 13.2)."""

    model_config = ConfigDict(extra="forbid")

    environmentId: str
    pendingAction: str
    walletIds: list[str]
    withdrawnWalletIds: list[str] = Field(default_factory=list,
                                          description="approvals not yet completed that a revocation withdrew")


class DelegateRingBody(BaseModel):
    """The delegate's ring-Pedersen parameters with their Πprm (``ClientRing.to_json()``, made by
    :func:`actionmfa.sdk.delegated.create_delegate_ring`)."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, str] = Field(description="{N, s, t}: base64url big-endian integers")
    prmProof: dict[str, Any] = Field(description="Πprm (CGGMP21 §C.2, 128 rounds)")


class DelegateRing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environmentId: str
    digest: str = Field(description="SHA-256 of (N̂, ŝ, t̂), hex")


class DelegationSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environmentId: str
    hmacSecret: str


class ClaimedShare(Open):
    """A pregenerated wallet's stand-in share sealed with HPKE (RFC 9180) to the claiming SDK's key."""

    encryptionType: str
    encapsulatedKey: str
    ciphertext: str
    walletId: str
    keyVersion: int
    keyCeremonyId: str | None = None


class PregeneratedWalletOut(BaseModel):
    identifier: str
    type: str = Field(description="email | externalUserId")
    walletId: str
    chain: str
    address: str
    publicKey: str
    created: bool = Field(description="false: the identity already had this wallet (idempotent)")
    status: str = Field(description="sealed (waiting for the sign-in) | pregenerated (attached, not claimed) | claimed")
    userId: str | None = None


class PregeneratedWallets(BaseModel):
    environmentId: str
    wallets: list[PregeneratedWalletOut]
