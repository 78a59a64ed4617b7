"""Storage for the MFA core: devices, recovery codes, per-user attempt state (tables in
:mod:`actionmfa.store.mfa_tables`; MFA and elevated tokens are :mod:`actionmfa.store.repos.tokens`).

Every single-use property is one conditional UPDATE whose rowcount says who won (STYLE habit 5):
``last_step < :step`` for TOTP, ``used_at IS NULL`` for recovery codes. They run inside the caller's
write transaction, so a failed action rolls the spend back too. What counts as "a verified method"
is the MFA core's decision (:func:`actionmfa.domain.policy.has_verified_method`); this module only
counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from actionmfa.domain.actions import MFADeviceType
from actionmfa.domain.records import DeviceRow, MfaUserState
from actionmfa.store import mfa_tables as m
from actionmfa.store import tables as t
from actionmfa.store.compiled import Statement

__all__ = ["DeviceRow", "MfaRepo", "MfaUserState"]


def _device(row: Any) -> DeviceRow:
    return DeviceRow(
        id=row.id,
        user_id=row.user_id,
        type=MFADeviceType(row.type),
        secret_enc=row.secret_enc,
        verified=bool(row.verified),
        is_default=bool(row.is_default),
        alias=row.alias,
        last_step=row.last_step,
        created_at=row.created_at,
        verified_at=row.verified_at,
    )


def _state(row: Any) -> MfaUserState:
    return MfaUserState(
        user_id=row.user_id,
        pending_codes_enc=row.pending_codes_enc,
        locked_until=row.locked_until,
        has_failures=bool(getattr(row, "has_failures", True)),
    )


def _build_lock_state(dialect: str) -> Any:
    st, f = m.mfa_user_state, m.mfa_failures
    ins: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(st).values(user_id=bindparam("uid"))
    upsert = ins.on_conflict_do_update(index_elements=[st.c.user_id], set_={"user_id": ins.excluded.user_id})
    if dialect == "postgresql":
        # No "are there failures?" here: a statement that waited for another transaction's lock on
        # the row returns the row's latest version but runs its sub-queries in the snapshot taken
        # before the wait (READ COMMITTED), so a failure that transaction just committed would be
        # missed and survive the success. Without the column, the success always clears (_state).
        return upsert.returning(st.c.user_id, st.c.pending_codes_enc, st.c.locked_until)
    has_failures = (
        select(f.c.user_id).where(f.c.user_id == bindparam("uid")).exists().label("has_failures")
    )
    return upsert.returning(st.c.user_id, st.c.pending_codes_enc, st.c.locked_until, has_failures)


# The hot path's statements, compiled once per dialect and run on the driver's cursor (issue 15:
# building them per call, then SQLAlchemy's per-call execution, were most of the cost).
_DEVICES = Statement(
    select(m.mfa_devices).where(m.mfa_devices.c.user_id == bindparam("uid")).order_by(m.mfa_devices.c.created_at)
)
_ADVANCE_STEP = Statement(
    update(m.mfa_devices)
    .where(
        m.mfa_devices.c.id == bindparam("did"),
        or_(m.mfa_devices.c.last_step.is_(None), m.mfa_devices.c.last_step < bindparam("step")),
    )
    .values(last_step=bindparam("step"))
)
_LOCK_STATE = {name: Statement(_build_lock_state(name)) for name in ("sqlite", "postgresql")}
# Spends a recovery code once: the conditional write of recovery-code auth.
_SPEND_RECOVERY = Statement(
    update(m.recovery_codes)
    .where(
        m.recovery_codes.c.user_id == bindparam("uid"),
        m.recovery_codes.c.code_hash == bindparam("hash"),
        m.recovery_codes.c.used_at.is_(None),
    )
    .values(used_at=bindparam("now", type_=m.recovery_codes.c.used_at.type))
)
# A code success clears the failure counter: on PostgreSQL on every TOTP / recovery-code auth
# (lockout.succeed: the lock statement cannot tell whether there are failures).
_CLEAR_FAILURES = Statement(delete(m.mfa_failures).where(m.mfa_failures.c.user_id == bindparam("uid")))
# The gate's question on every gated call ("has the user a verified method?").
_COUNT_VERIFIED = Statement(
    select(func.count().label("n"))
    .select_from(m.mfa_devices)
    .where(m.mfa_devices.c.user_id == bindparam("uid"), m.mfa_devices.c.verified.is_(True))
)


class MfaRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- devices -------------------------------------------------------------------------------
    def devices(self, user_id: str) -> list[DeviceRow]:
        return [_device(r) for r in _DEVICES.rows(self.conn, {"uid": user_id})]

    def device(self, user_id: str, device_id: str) -> DeviceRow | None:
        row = self.conn.execute(
            select(m.mfa_devices).where(m.mfa_devices.c.id == device_id, m.mfa_devices.c.user_id == user_id)
        ).first()
        return _device(row) if row else None

    def add_device(self, *, id: str, user_id: str, type: MFADeviceType, secret_enc: str | None, now: datetime) -> None:
        self.conn.execute(
            insert(m.mfa_devices).values(
                id=id,
                user_id=user_id,
                type=type.value,
                secret_enc=secret_enc,
                verified=False,
                is_default=False,
                created_at=now,
            )
        )

    def delete_pending(self, user_id: str, type: MFADeviceType) -> None:
        self.conn.execute(
            delete(m.mfa_devices).where(
                m.mfa_devices.c.user_id == user_id,
                m.mfa_devices.c.type == type.value,
                m.mfa_devices.c.verified.is_(False),
            )
        )

    def mark_verified(self, device_id: str, *, step: int, make_default: bool, now: datetime) -> bool:
        """Verify a pending device and store its first accepted step; false if someone beat us."""
        result = self.conn.execute(
            update(m.mfa_devices)
            .where(m.mfa_devices.c.id == device_id, m.mfa_devices.c.verified.is_(False))
            .values(verified=True, verified_at=now, last_step=step, is_default=make_default)
        )
        return result.rowcount == 1

    def advance_step(self, device_id: str, step: int) -> bool:
        """RFC 6238 §5.2 replay refusal: store ``step`` only if it is newer than the last accepted one."""
        return _ADVANCE_STEP.rowcount(self.conn, {"did": device_id, "step": step}) == 1

    def set_default(self, user_id: str, device_id: str) -> None:
        self.conn.execute(update(m.mfa_devices).where(m.mfa_devices.c.user_id == user_id).values(is_default=False))
        self.conn.execute(update(m.mfa_devices).where(m.mfa_devices.c.id == device_id).values(is_default=True))

    def delete_device(self, device_id: str) -> None:
        self.conn.execute(delete(m.mfa_devices).where(m.mfa_devices.c.id == device_id))

    def set_secret(self, device_id: str, secret_enc: str) -> None:
        self.conn.execute(update(m.mfa_devices).where(m.mfa_devices.c.id == device_id).values(secret_enc=secret_enc))

    def all_secrets(self) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            select(m.mfa_devices.c.id, m.mfa_devices.c.secret_enc).where(m.mfa_devices.c.secret_enc.is_not(None))
        ).all()
        return [(r.id, r.secret_enc) for r in rows]

    def count_verified_devices(self, user_id: str) -> int:
        row = _COUNT_VERIFIED.first(self.conn, {"uid": user_id})
        return int(row.n) if row is not None else 0

    # -- recovery codes ------------------------------------------------------------------------
    def replace_recovery_codes(self, user_id: str, rows: list[dict[str, Any]]) -> None:
        self.conn.execute(delete(m.recovery_codes).where(m.recovery_codes.c.user_id == user_id))
        self.conn.execute(insert(m.recovery_codes), rows)

    def has_recovery_codes(self, user_id: str) -> bool:
        q = select(func.count()).select_from(m.recovery_codes).where(m.recovery_codes.c.user_id == user_id)
        return int(self.conn.execute(q).scalar_one()) > 0

    def unused_recovery_count(self, user_id: str) -> int:
        q = (
            select(func.count())
            .select_from(m.recovery_codes)
            .where(m.recovery_codes.c.user_id == user_id, m.recovery_codes.c.used_at.is_(None))
        )
        return int(self.conn.execute(q).scalar_one())

    def unused_recovery_hashes(self, user_id: str) -> list[str]:
        rc = m.recovery_codes
        rows = self.conn.execute(select(rc.c.code_hash).where(rc.c.user_id == user_id, rc.c.used_at.is_(None)))
        return [r.code_hash for r in rows]

    def spend_recovery_code(self, user_id: str, code_hash: str, now: datetime) -> bool:
        return _SPEND_RECOVERY.rowcount(self.conn, {"uid": user_id, "hash": code_hash, "now": now}) == 1

    # -- per-user state: pending codes copy and lockout ----------------------------------------
    def lock_user_state(self, user_id: str) -> MfaUserState:
        """Create the user's state row if needed and lock it, in one statement.

        ``INSERT … ON CONFLICT DO UPDATE … RETURNING``: on PostgreSQL the conflicting row is locked
        exactly as ``SELECT … FOR UPDATE`` would lock it, and SQLite serialises writers anyway, so
        every code check of one user runs behind this lock and the failure counter and the lockout
        are exact under concurrent attempts from several workers. On SQLite, where nothing runs
        between the lock and this statement's reads, the same statement says whether counted
        failures exist, so a success clears only what is there (issue 15: round trips); on
        PostgreSQL it cannot say (see ``_build_lock_state``) and ``has_failures`` is true.
        """
        row = _LOCK_STATE[self.conn.dialect.name].first(self.conn, {"uid": user_id})
        assert row is not None  # noqa: S101 - an upsert returns its row
        return _state(row)

    def state(self, user_id: str) -> MfaUserState | None:
        row = self.conn.execute(select(m.mfa_user_state).where(m.mfa_user_state.c.user_id == user_id)).first()
        return _state(row) if row else None

    def set_pending_codes(self, user_id: str, sealed: str | None) -> None:
        """Store (or with None drop) the sealed copy of the codes shown until acknowledged."""
        self.lock_user_state(user_id)
        self._update_state(user_id, pending_codes_enc=sealed)

    def set_locked_until(self, user_id: str, until: datetime | None) -> None:
        self.lock_user_state(user_id)
        self._update_state(user_id, locked_until=until)

    def clear_held_lockout(self, user_id: str) -> None:
        """Clear the lockout of a state row the caller already holds (:meth:`lock_user_state`)."""
        self._update_state(user_id, locked_until=None)

    def _update_state(self, user_id: str, **values: Any) -> None:
        self.conn.execute(update(m.mfa_user_state).where(m.mfa_user_state.c.user_id == user_id).values(**values))

    def add_failure(self, user_id: str, route: str, now: datetime) -> None:
        self.conn.execute(insert(m.mfa_failures).values(user_id=user_id, route=route, failed_at=now))

    def count_failures_since(self, user_id: str, since: datetime) -> int:
        self.conn.execute(
            delete(m.mfa_failures).where(m.mfa_failures.c.user_id == user_id, m.mfa_failures.c.failed_at <= since)
        )
        q = (
            select(func.count())
            .select_from(m.mfa_failures)
            .where(m.mfa_failures.c.user_id == user_id, m.mfa_failures.c.failed_at > since)
        )
        return int(self.conn.execute(q).scalar_one())

    def clear_failures(self, user_id: str) -> None:
        _CLEAR_FAILURES.run(self.conn, {"uid": user_id})

    # -- key rotation --------------------------------------------------------------------------
    def pending_copies(self) -> list[tuple[str, str]]:
        st = m.mfa_user_state
        rows = self.conn.execute(
            select(st.c.user_id, st.c.pending_codes_enc).where(st.c.pending_codes_enc.is_not(None))
        )
        return [(r.user_id, r.pending_codes_enc) for r in rows]

    # -- reset ---------------------------------------------------------------------------------
    def reset_user(self, user_id: str) -> None:
        """Admin reset of the MFA core's rows: devices, codes, tokens, failures and lockout of one user
        are gone (passkeys are the passkey store's, :meth:`PasskeyRepo.delete_for_user`)."""
        self.lock_user_state(user_id)  # same lock order as a code attempt: no deadlock with one
        for table in (
            m.mfa_devices,
            m.recovery_codes,
            m.mfa_tokens,
            m.elevated_tokens,
            m.mfa_failures,
            m.mfa_user_state,
        ):
            self.conn.execute(delete(table).where(table.c.user_id == user_id))
        self.conn.execute(update(t.users).where(t.users.c.id == user_id).values(mfa_backup_code_ack=None))
