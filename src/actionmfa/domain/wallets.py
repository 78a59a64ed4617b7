"""The persisted vocabulary of embedded wallets (DESIGN §7): chains, ceremonies and their stages.

Values are what the ``waas_wallets`` / ``waas_ceremonies`` columns hold; they never change without a
migration. The cryptography itself lives in :mod:`actionmfa.wallet` (pure) and the use cases in
:mod:`actionmfa.services.wallets`.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Chain(StrEnum):
    """``waas_wallets.chain``."""

    EVM = "EVM"
    SOL = "SOL"  # Ed25519, two-party FROST (actionmfa.wallet.frost)


class Custody(StrEnum):
    """``waas_wallets.custody`` (NULL: the user's ordinary two-party wallet)."""

    # Made by the operator before the user existed (issue 13.1): the server holds both shares (its own
    # and the stand-in's) until the user claims it; it neither signs, exports nor reshares until then.
    PREGENERATED = "pregenerated"


class IdentityType(StrEnum):
    """``waas_pregenerated.identity_type``: who a pregenerated wallet waits for (Dynamic's
    ``UserIdentifierTypeEnum`` names)."""

    EMAIL = "email"  # the address, as the email sign-in normalises it
    EXTERNAL_USER_ID = "externalUserId"  # the ``sub`` of the developer's JWT (externalAuth sign-in)


class CeremonyKind(StrEnum):
    """``waas_ceremonies.kind``: what a ceremony row is running."""

    KEYGEN = "keygen"
    SIGN = "sign"
    REFRESH = "refresh"
    RESHARE = "reshare"
    DELEGATED_SIGN = "delegated_sign"


class Stage(IntEnum):
    """``waas_ceremonies.stage`` (an integer column). A stage only moves forward, by one conditional
    UPDATE from the stage a round expects, so a round cannot run twice or out of order.

    keygen:   OPENED → DONE
    sign:     OPENED (server committed) → REPLIED (R1 revealed) → CLAIMED (final round running) → DONE
    refresh:  OPENED (ρ1 committed) → REPLIED (x1′, ckey′ pending) → DONE
    reshare:  OPENED (server dealt) → REPLIED (x1′, ckey′ pending) → DONE
    """

    OPENED = 1
    REPLIED = 2
    CLAIMED = 3
    DONE = 99


class CeremonyOutcome(StrEnum):
    """``waas_ceremonies.outcome`` (NULL while the ceremony is live)."""

    OK = "ok"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_PROOF = "invalid_proof"  # the client's c3 failed Πaff-g: refused without a decryption
    WITHDRAWN = "withdrawn"  # a reshare ended by the operator's revocation while it was open


class PendingAction(StrEnum):
    """``waas_wallets.pending_action``: what the operator decided and the user's next sign-in completes
    (issue 13.2; Dynamic's *WaaS Reshare*: "when a wallet is approved or revoked from delegated access
    and the user next signs in")."""

    APPROVE_DELEGATION = "approve_delegation"  # reshare 2-of-2 → 2-of-3 (the user may decline)
    REVOKE_DELEGATION = "revoke_delegation"  # reshare 2-of-3 → 2-of-2


class LockReason(StrEnum):
    """``waas_wallets.lock_reason``: why a wallet no longer signs (until an operator unlocks it)."""

    INVALID_SIGNATURE = "invalid_signature"

