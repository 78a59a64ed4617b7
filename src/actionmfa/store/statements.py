"""Counting the SQL statements a piece of work sends to the database (issue 15).

:func:`counting` hooks SQLAlchemy's ``before_cursor_execute`` event on an engine and counts every
statement the driver is asked to run — ``BEGIN IMMEDIATE`` on SQLite included, commits (a driver
call, not a statement) not. The hot paths' counts are asserted in ``tests/api/test_statement_counts.py``
so that a later change cannot silently add round trips; ``benchmarks/`` prints them per path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event


@dataclass
class StatementLog:
    """The statements seen so far (their SQL text, in order)."""

    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def clear(self) -> None:
        self.statements.clear()


@contextmanager
def counting(engine: Engine) -> Iterator[StatementLog]:
    """Count the statements run on ``engine`` (any thread) while the block runs."""
    log = StatementLog()

    def before(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, executemany: bool) -> None:
        log.statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)
