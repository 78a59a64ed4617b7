"""``create_db_engine``'s handling of PostgreSQL URLs (issue 15: pgbouncer in transaction mode)."""

from __future__ import annotations

import logging

import pytest

from actionmfa.store.db import create_db_engine


def test_a_password_in_the_url_reaches_the_driver() -> None:
    # str() of a SQLAlchemy URL masks the password ("***"); the engine must get the real one.
    engine = create_db_engine("postgresql://app:s3cret@db.internal:5432/actionmfa")
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.password == "s3cret"


def test_prepare_threshold_is_taken_off_the_url_for_psycopg() -> None:
    engine = create_db_engine("postgresql+psycopg://app@127.0.0.1:6432/actionmfa?prepare_threshold=none")
    assert "prepare_threshold" not in engine.url.query  # not a libpq parameter: psycopg would refuse it
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    assert "prepare_threshold" not in kwargs


def test_without_the_option_psycopg_keeps_its_default() -> None:
    engine = create_db_engine("postgresql+psycopg://app@127.0.0.1/actionmfa")
    assert engine.url.query == {}


def test_pgbouncers_port_without_the_option_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    # Behind pgbouncer < 1.21 in transaction mode, psycopg's prepared statements would be shared between
    # clients (the redteam review measured another client's statement answering); nothing can detect
    # pgbouncer at connect, so its default port is the hint.
    with caplog.at_level(logging.WARNING, logger="actionmfa.store"):
        create_db_engine("postgresql+psycopg://app@127.0.0.1:6432/actionmfa")
    assert any("prepare_threshold=none" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="actionmfa.store"):
        create_db_engine("postgresql+psycopg://app@127.0.0.1:6432/actionmfa?prepare_threshold=none")
        create_db_engine("postgresql+psycopg://app@127.0.0.1:5432/actionmfa")
    assert not caplog.records
