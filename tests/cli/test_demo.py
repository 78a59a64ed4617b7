"""``actionmfa demo`` runs the whole story end to end (with a fast Paillier key for test time)."""

from __future__ import annotations

import io
import itertools
import threading

import pytest
from typer.testing import CliRunner

from actionmfa import cli
from actionmfa.demo import run_demo
from actionmfa.wallet.keyproofs import PreparedPaillier
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


def test_demo_waits_for_a_cold_key_pool_under_a_slow_prime_search() -> None:
    """The first key takes longer than an SDK request waits (10 s by default): the demo warms the
    pool with a progress bar first instead of failing wallet creation with a ReadTimeout."""
    key = wallet_keys.server_keys()[0]
    searches = itertools.count()

    def slow_search() -> PreparedPaillier:
        if next(searches) == 0:  # the first key is what the demo waits for; the later ones come at once
            threading.Event().wait(11.0)  # a busy machine's safe-prime search
        return key

    out = io.StringIO()
    result = run_demo(out, paillier_generator=slow_search)
    text = out.getvalue()
    assert result["recovered"] == result["address"] == result["exported_address"]
    assert "searching for 2048-bit safe primes" in text and "key pool warm after" in text
    assert "Traceback" not in text


def test_demo_command_reports_an_expected_failure_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    def timed_out(out: object, **_: object) -> None:
        raise httpx.ReadTimeout("timed out")

    monkeypatch.setattr("actionmfa.demo.run_demo", timed_out)
    result = CliRunner().invoke(cli.app, ["demo"])
    assert result.exit_code == 1
    assert "demo stopped: timed out" in result.output and "Traceback" not in result.output
