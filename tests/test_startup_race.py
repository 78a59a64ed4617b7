"""Issue 11.3: servers starting together on a fresh store — real processes, SQLite and PostgreSQL.

Each round releases N processes running the real start-up path (keys file, migrations, bootstrap)
at once on a fresh data dir and database (benchmarks/startup_race.py; 30 rounds there). Before the
fix, 3 of 4 SQLite processes crashed every round (``database is locked`` in migrations, or
``keys.json`` read half-written), and PostgreSQL could bootstrap twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.startup_race import race_round

from tests.databases import PostgresProvider

ROUNDS = 1
PROCESSES = 4


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_racing_start_ups_bootstrap_exactly_once(backend: str, tmp_path: Path, postgres: PostgresProvider) -> None:
    server_url = None
    if backend == "postgres":
        if postgres.admin_url is None:
            pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
        server_url = postgres.admin_url
    for n in range(ROUNDS):
        result = race_round(tmp_path / f"round-{n}", processes=PROCESSES, server_url=server_url)
        assert result.errors == [] and result.failed == 0
        assert (result.bootstrapped, result.environments, result.operator_tokens) == (1, 1, 1)
        assert result.keyrings == 1 and result.bootstrap_file_matches
