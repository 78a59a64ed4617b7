from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actionmfa.services.core.audit import AuditIds, row_values

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("key", ["code", "recoveryCode", "secret", "mfaToken", "jwt", "password", "privateKey"])
def test_secret_looking_details_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="looks secret"):
        row_values(AuditIds("env"), "x", now=NOW, **{key: "v"})


def test_ids_and_plain_details_pass() -> None:
    row = row_values(
        AuditIds("env", "u", "s", "127.0.0.1"),
        "gate.allowed",
        now=NOW,
        action="user.update",
        outcome="allow",
        tokenId="t1",
        activeKeyId="k2",
        via="mfa_token",
    )
    assert row["details"] == {"tokenId": "t1", "activeKeyId": "k2", "via": "mfa_token"}
    assert (row["user_id"], row["session_id"], row["client_address"]) == ("u", "s", "127.0.0.1")
