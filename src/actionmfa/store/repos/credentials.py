"""One user's verified credentials in one statement (``SdkUser.verifiedCredentials``, every answer
that carries the user): the verified TOTP devices, the passkeys and the embedded wallets as one
``UNION ALL``, instead of three SELECTs (issue 15: round trips per request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, String, bindparam, literal, null, select, true, union_all

from actionmfa.store import mfa_tables as m
from actionmfa.store.compiled import Statement
from actionmfa.store.passkey_tables import passkeys as pk
from actionmfa.store.wallet_tables import waas_wallets as ww

# part: 0 = TOTP device, 1 = passkey, 2 = wallet; ordered as the three separate reads were.
_DEVICES = select(
    literal(0).label("part"),
    m.mfa_devices.c.id,
    m.mfa_devices.c.verified_at.label("at"),
    m.mfa_devices.c.alias,
    null().cast(String).label("address"),
    null().cast(String).label("chain"),
    null().cast(String).label("scheme"),
    null().cast(String).label("pending_action"),
    m.mfa_devices.c.created_at,
    null().cast(String).label("custody"),
).where(m.mfa_devices.c.user_id == bindparam("uid"), m.mfa_devices.c.verified == true())
_PASSKEYS = select(
    literal(1), pk.c.id, pk.c.created_at, pk.c.alias, null().cast(String), null().cast(String), null().cast(String),
    null().cast(String), pk.c.created_at, null().cast(String)
).where(pk.c.user_id == bindparam("uid"))
_WALLETS = select(
    literal(2), ww.c.id, ww.c.created_at, null().cast(String), ww.c.address, ww.c.chain, ww.c.threshold_scheme,
    ww.c.pending_action, ww.c.created_at, ww.c.custody
).where(ww.c.environment_id == bindparam("eid"), ww.c.user_id == bindparam("uid"))
_ALL = union_all(_DEVICES, _PASSKEYS, _WALLETS).subquery()
_QUERY = Statement(select(_ALL).order_by(_ALL.c.part, _ALL.c.created_at, _ALL.c.id))


@dataclass(frozen=True, slots=True)
class CredentialRow:
    part: int  # 0 TOTP device, 1 passkey, 2 wallet
    id: str
    at: datetime | None  # verified (device) or created (passkey, wallet)
    alias: str | None
    address: str | None
    chain: str | None
    scheme: str | None = None  # wallets: thresholdSignatureScheme
    pending_action: str | None = None  # wallets: the operator's decision the next sign-in completes
    custody: str | None = None  # wallets: "pregenerated" until claimed (issue 13.1)


class CredentialRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def of_user(self, environment_id: str, user_id: str) -> list[CredentialRow]:
        rows = _QUERY.rows(self.conn, {"uid": user_id, "eid": environment_id})
        return [CredentialRow(r.part, r.id, r.at, r.alias, r.address, r.chain, r.scheme, r.pending_action,
                              r.custody) for r in rows]
