"""The tables a warehouse knows: specs registered in memory, and the migration that makes the
database hold them.

`register` only records specs (no SQL): reads, checks and writes look tables up here.
`migrate` brings the database up to date: it creates the schema, the state table, the
rejected-records table (see `rejected`) and missing tables, adds the columns a spec gained
(never drops one), refuses a stored column whose type differs from its spec
(`SchemaMismatchError`, before any DDL runs) and moves the previous version's state tables
into the state store (see `legacy`). It first looks without
a lock; when something is missing it takes the schema's migration lock (see
`Backend.migration`), looks again inside it and changes only what is still missing, so
migrations starting together in several threads or processes do not collide. A spec this
warehouse already migrated is not looked at again.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from .database import Database
from .errors import SchemaMismatchError, WarehouseInputError
from .history import (
    ALL,
    CHANGE,
    PREVIOUS_INDEX_SUFFIX,
    VALID_TO,
    HistoryTables,
    closed_table,
    content_columns,
    create_closed,
    create_view,
    history_column_type,
    history_view,
    wanted,
)
from .legacy import LEGACY_TABLES, move_legacy_state
from .rejected import REJECTED_TABLE, create_rejected_table
from .session import Session
from .spec import TableSpec
from .sql import create_table, quote, schema_name, stored_type_key
from .state import STATE_TABLE, create_state_table


@dataclass
class _Plan:
    """What a migration still has to do."""

    statements: list[str] = field(default_factory=list)
    legacy: dict[str, str] = field(default_factory=dict)
    """Legacy state tables present (name -> quoted name)."""

    def __bool__(self) -> bool:
        return bool(self.statements or self.legacy)


class Schema:
    """Registered specs of one database schema, and its migration."""

    def __init__(self, db: Database, history: HistoryTables = frozenset()) -> None:
        self.db = db
        self.history = history
        """The tables that keep a history table (see `history`)."""
        self.specs: dict[str, TableSpec] = {}
        self._migrated: dict[str, TableSpec] = {}
        self._state_ready = False

    def register(self, specs: Iterable[TableSpec]) -> None:
        """Know these tables (replacing a spec of the same name). Runs no SQL."""
        for spec in specs:
            if not isinstance(spec, TableSpec):
                raise TypeError(f"expected a TableSpec, got {type(spec).__name__}")
            self.specs[spec.name] = spec

    def spec(self, table: str) -> TableSpec:
        """The registered spec of a table."""
        try:
            return self.specs[table]
        except KeyError:
            raise WarehouseInputError(
                f"unknown table {table!r}: register() or migrate() its spec first"
            ) from None

    def has_history(self, spec: TableSpec) -> bool:
        """Whether writes to `spec`'s table also record versions in its history table."""
        return wanted(self.history, spec)

    def migrate(self, specs: Iterable[TableSpec] = ()) -> None:
        """Make the database hold `specs` (and the state and rejected-records tables), then
        register them.

        Raises SchemaMismatchError (naming schema, table and column) when a stored column's
        type differs from its spec; nothing is changed (or registered) then.
        """
        specs = list(specs)
        for spec in specs:
            if self.history != ALL and spec.name in self.history and not spec.is_entity:
                raise WarehouseInputError(
                    f"{spec.name}: history is kept for entity tables only (its rows are"
                    " replaced per parent)"
                )
        pending = [spec for spec in specs if self._migrated.get(spec.name) != spec]
        if not pending and self._state_ready:
            return
        with self.db.session() as s:
            needed = self._plan(s, pending)
        if needed:
            self.db.wait()
            with self.db.backend.migration(self.db.schema) as s:
                plan = self._plan(s, pending)  # again: another migration may have run
                for statement in plan.statements:
                    s.execute(statement)
                if plan.legacy:
                    move_legacy_state(
                        s, self.db.backend.dialect, plan.legacy, self.db.table(STATE_TABLE)
                    )
        self.register(specs)
        self._migrated.update({spec.name: spec for spec in pending})
        self._state_ready = True

    def _plan(self, s: Session, specs: list[TableSpec]) -> _Plan:
        backend, schema = self.db.backend, self.db.schema
        dialect = backend.dialect
        plan = _Plan()
        if not backend.schema_exists(s, schema):
            plan.statements.append(
                f"CREATE SCHEMA IF NOT EXISTS {schema_name(schema, backend.catalog)}"
            )
        names = [STATE_TABLE, REJECTED_TABLE, *LEGACY_TABLES, *(spec.name for spec in specs)]
        for spec in specs:
            if self.has_history(spec):
                names += [history_view(spec.name), closed_table(spec.name)]
        found = backend.columns(s, schema, names)
        if STATE_TABLE not in found:
            plan.statements.append(create_state_table(dialect, self.db.table(STATE_TABLE)))
        if REJECTED_TABLE not in found:
            plan.statements.append(create_rejected_table(dialect, self.db.table(REJECTED_TABLE)))
        plan.legacy = {name: self.db.table(name) for name in LEGACY_TABLES if name in found}
        for spec in specs:
            existing = found.get(spec.name)
            if not existing:
                plan.statements.append(create_table(dialect, schema, spec, backend.catalog))
            else:
                plan.statements += self._alter(spec, existing)
            if self.has_history(spec):
                plan.statements += self._history(spec, existing or {}, found)
        return plan

    def _history(
        self, spec: TableSpec, existing: dict[str, str], found: dict[str, dict[str, str]]
    ) -> list[str]:
        """What history needs (see `history`): `_change` in the table, the closed-versions
        table with every content column, and the view over both. A history table of the
        previous layout (every version in one table) becomes the closed-versions table."""
        dialect = self.db.backend.dialect
        table = self.db.table(spec.name)
        view_name, closed_name = history_view(spec.name), closed_table(spec.name)
        view, closed = self.db.table(view_name), self.db.table(closed_name)
        statements = []
        if CHANGE not in existing:  # a table created just now, or history turned on
            statements.append(
                f"ALTER TABLE {table} ADD COLUMN {quote(CHANGE)}"
                f" {history_column_type(dialect, spec, CHANGE)}"
            )
        stored = found.get(closed_name)
        old_layout = closed_name not in found and view_name in found
        if old_layout:
            statements += self._upgrade(spec, table, view, closed_name, closed)
            stored = found[view_name]
        if stored is None:
            statements.append(create_closed(dialect, spec, closed))
        else:
            for c in content_columns(spec):
                if c not in stored:
                    sql_type = history_column_type(dialect, spec, c)
                    statements.append(f"ALTER TABLE {closed} ADD COLUMN {quote(c)} {sql_type}")
        shown = found.get(view_name) if not old_layout else None
        if shown is not None and all(c in shown for c in content_columns(spec)):
            return statements
        if shown is not None:  # the table gained a column: show it too
            statements.append(f"DROP VIEW {view}")
        # how the view's query names tables of its own schema (see `Dialect`)
        named = quote if dialect.views_bind_in_schema else self.db.table
        statements.append(create_view(dialect, spec, view, named(closed_name), named(spec.name)))
        return statements

    def _upgrade(
        self, spec: TableSpec, table: str, old: str, closed_name: str, closed: str
    ) -> list[str]:
        """Turn a history table of the previous layout (current versions included, open)
        into the closed-versions table: the open versions' kinds move to the table's
        `_change`, then they leave (the table's rows are those versions)."""
        key, change = quote(spec.key), quote(CHANGE)
        return [
            f"ALTER TABLE {old} RENAME TO {quote(closed_name)}",
            f"DROP INDEX IF EXISTS {self.db.table(spec.name + PREVIOUS_INDEX_SUFFIX)}",
            f"UPDATE {table} AS t SET {change} = h.{change} FROM {closed} AS h"
            f" WHERE h.{quote(VALID_TO)} IS NULL AND h.{key} = t.{key}",
            f"DELETE FROM {closed} WHERE {quote(VALID_TO)} IS NULL",
        ]

    def _alter(self, spec: TableSpec, existing: dict[str, str]) -> list[str]:
        """The columns a stored table lacks; SchemaMismatchError for a changed type."""
        dialect, schema = self.db.backend.dialect, self.db.schema
        statements = []
        for name in spec.stored_columns():
            key = stored_type_key(spec, name)
            stored = existing.get(name)
            if stored is None:
                statements.append(
                    f"ALTER TABLE {self.db.table(spec.name)}"
                    f" ADD COLUMN {quote(name)} {dialect.column_type(spec, name)}"
                )
            elif not dialect.accepts(key, stored):
                raise SchemaMismatchError(
                    f"{schema}.{spec.name}.{name} is stored as {stored} but the spec"
                    f" declares {dialect.reported[key]}; migrate the column (the data is"
                    " kept in _raw)"
                )
        return statements
