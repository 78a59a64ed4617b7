"""The hot paths' statements, compiled once per dialect and run on the driver's cursor (issue 15).

``Connection.execute`` of a Core statement costs, per call, the cache-key walk, an execution
context, parameter coercion and a result object: about a fifth of a TOTP authentication's CPU,
more than running the SQL. A :class:`Statement` does that work once per dialect — the SQL text
exactly as SQLAlchemy compiles it (``render_bind_cast`` on psycopg included), the parameters'
order, the bind and result processors of the columns' types (:class:`~actionmfa.store.tables.UTCDateTime`,
JSON, booleans on SQLite) — and each call only converts the parameters and runs the cursor of the
connection the unit of work already holds, inside its transaction.

What stays as SQLAlchemy does it: the connection, the transaction and its ``BEGIN``/``COMMIT``
(``store/db.py``); ``before_cursor_execute`` / ``after_cursor_execute`` listeners are called for
every statement (the statement counter, :mod:`actionmfa.store.statements`, sees them all); a
driver error is raised as SQLAlchemy's exception of the same class (``IntegrityError``,
``DataError`` — the API maps PostgreSQL's NUL refusal to a 400 — with ``hide_parameters``), and a
disconnect invalidates the connection as SQLAlchemy would.

Only statements whose every parameter the caller gives (or that are literals) are accepted:
compiling refuses Python-side column defaults, which ``Connection.execute`` would fill in and
this module does not.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    # qmark (SQLite): the parameter names in the order of the ``?``s; named (psycopg): each name once.
    order: tuple[str, ...]
    positional: bool
    processors: tuple[tuple[str, Processor], ...]  # the caller's parameters that need converting
    literals: Mapping[str, Any]  # bound values the statement carries itself (already converted)
    columns: tuple[tuple[int, Processor], ...]  # result columns that need converting, by position
    row: Any  # the namedtuple class of a result row (None: no result columns)


def _row_class(names: list[str]) -> Any:
    return namedtuple("Row", names, rename=True)  # type: ignore[misc]


def _plan(stmt: ClauseElement, keys: Sequence[str] | None, dialect: Dialect) -> _Plan:
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None,
                                 for_executemany=True)  # no implicit RETURNING of an INSERT's key
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ValueError("a compiled statement cannot fill in column defaults: give every value")
    processors: list[tuple[str, Processor]] = []
    literals: dict[str, Any] = {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.callable is not None or bind.expanding:
            raise ValueError(f"parameter {name!r}: callables and expanding IN are not supported")
        if bind.required or (keys is not None and name in keys):
            if process is not None:
                processors.append((name, process))
        else:  # a literal the statement carries (``literal(0)``, a ``values()`` constant)
            literals[name] = process(bind.value) if process is not None else bind.value
    positional = bool(compiled.positional)
    order = tuple(compiled.positiontup) if positional else tuple(compiled.binds)
    exported = list(getattr(stmt, "exported_columns", ()) or ())
    columns: list[tuple[int, Processor]] = []
    for i, col in enumerate(exported):
        process = col.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            columns.append((i, process))
    row = _row_class([str(c.key) for c in exported]) if exported else None
    return _Plan(compiled.string, order, positional, tuple(processors), literals, tuple(columns), row)


class Statement:
    """One Core statement, compiled on first use per dialect and run on the DBAPI cursor.

    ``keys``: for an INSERT, the columns the caller gives (as ``Connection.execute`` would derive
    from the parameters)."""

    def __init__(self, stmt: ClauseElement, *, keys: Iterable[str] | None = None) -> None:
        self.stmt = stmt
        self.keys = tuple(keys) if keys is not None else None
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def _plan_for(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            with self._lock:
                plan = self._plans.get(dialect.name)
                if plan is None:
                    plan = self._plans[dialect.name] = _plan(self.stmt, self.keys, dialect)
        return plan

    # -- running ------------------------------------------------------------------------------------
    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every result row (named tuples, values converted as SQLAlchemy would)."""
        plan = self._plan_for(conn.dialect)
        cursor = _run(conn, plan, _args(plan, params), many=False)
        try:
            return _convert(plan, cursor.fetchall())
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        """The first result row, or None."""
        plan = self._plan_for(conn.dialect)
        cursor = _run(conn, plan, _args(plan, params), many=False)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else _convert(plan, [row])[0]

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run it; the number of rows it matched (an UPDATE's conditional write)."""
        plan = self._plan_for(conn.dialect)
        cursor = _run(conn, plan, _args(plan, params), many=False)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Run it for its effect (an INSERT)."""
        plan = self._plan_for(conn.dialect)
        _run(conn, plan, _args(plan, params), many=False).close()

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per parameter set (``executemany``: one statement for the counter, as
        SQLAlchemy's own ``execute(stmt, [rows])`` is)."""
        plan = self._plan_for(conn.dialect)
        if len(rows) == 1:
            _run(conn, plan, _args(plan, rows[0]), many=False).close()
        else:
            _run(conn, plan, [_args(plan, r) for r in rows], many=True).close()


def _args(plan: _Plan, params: Mapping[str, Any]) -> Any:
    values = {**params, **plan.literals} if plan.literals else dict(params)  # the statement's own values win
    for name, process in plan.processors:
        values[name] = process(values[name])
    if plan.positional:
        return tuple([values[name] for name in plan.order])
    return values


def _convert(plan: _Plan, rows: list[Any]) -> list[Any]:
    make = plan.row._make
    if not plan.columns:
        return [make(r) for r in rows]
    out = []
    for r in rows:
        values = list(r)
        for i, process in plan.columns:
            values[i] = process(values[i])
        out.append(make(values))
    return out


def _run(conn: Connection, plan: _Plan, args: Any, *, many: bool) -> Any:
    if not conn.in_transaction():
        # Every statement runs in the unit of work's transaction (store/db.py opens it): without
        # one, the driver would autocommit each statement on its own.
        raise RuntimeError("compiled statements run inside a transaction")
    fairy = conn.connection
    cursor = fairy.cursor()
    dispatch = conn.dispatch
    try:
        for listener in dispatch.before_cursor_execute:
            listener(conn, cursor, plan.sql, args, None, many)
        if many:
            cursor.executemany(plan.sql, args)
        else:
            cursor.execute(plan.sql, args)
        for after in dispatch.after_cursor_execute:
            after(conn, cursor, plan.sql, args, None, many)
    except conn.dialect.loaded_dbapi.Error as err:
        cursor.close()
        invalidated = bool(conn.dialect.is_disconnect(err, fairy.dbapi_connection, cursor))
        if invalidated:
            conn.invalidate(err)
        raise DBAPIError.instance(
            plan.sql, args, err, conn.dialect.loaded_dbapi.Error, hide_parameters=True,
            connection_invalidated=invalidated, dialect=conn.dialect, ismulti=many,
        ) from err
    except BaseException:
        cursor.close()
        raise
    return cursor
