"""``actionmfa demo`` runs the whole story end to end (with a fast Paillier key for test time)."""

from __future__ import annotations

import io

from actionmfa.demo import run_demo
from tests import wallet_keys


def test_demo_walks_the_story() -> None:
    key = wallet_keys.server_keys()[0]
    out = io.StringIO()
    result = run_demo(out, paillier_generator=lambda: key)
    text = out.getvalue()
    assert result["recovered"] == result["address"] == result["exported_address"]
    assert "refused: 403 mfa_required" in text
    assert "refused: mfa_token_invalid" in text or "refused: mfa_required" in text.split("8.")[1]
    assert result["audit_events"] > 5
