"""The tables a warehouse knows: specs registered in memory, and the migration that makes the
database hold them.

`register` only records specs (no SQL): reads, checks and writes look tables up here.
`migrate` brings the database up to date: it checks the schema's layout version (see
`layout`: a schema written by another layout is refused with `LayoutVersionError`), creates
the schema, the layout table, the state table, the rejected-records table (see `rejected`)
and missing tables, adds the columns a spec gained (never drops one) and refuses a stored
column whose type differs from its spec (`SchemaMismatchError`); both refusals come before
any DDL runs. It first looks without
a lock; when something is missing it takes the schema's migration lock (see
`Backend.migration`), looks again inside it and changes only what is still missing, so
migrations starting together in several threads or processes do not collide. A spec this
warehouse already migrated is not looked at again.
"""

from collections.abc import Iterable

from .database import Database
from .errors import SchemaMismatchError, WarehouseInputError
from .history import (
    ALL,
    CHANGE,
    HistoryTables,
    closed_table,
    content_columns,
    create_closed,
    create_view,
    history_column_type,
    history_view,
    wanted,
)
from .layout import LAYOUT_TABLE, check_layout, create_layout, stored_versions
from .rejected import REJECTED_TABLE, create_rejected_table
from .session import Session
from .spec import TableSpec
from .sql import create_table, quote, schema_name, stored_type_key
from .state import STATE_TABLE, create_state_table


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

        Raises LayoutVersionError (naming the schema) when the schema was written by another
        layout (see `layout`), SchemaMismatchError (naming schema, table and column) when a
        stored column's type differs from its spec; nothing is changed (or registered) then.
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
                for statement in self._plan(s, pending):  # again: another may have run
                    s.execute(statement)
        self.register(specs)
        self._migrated.update({spec.name: spec for spec in pending})
        self._state_ready = True

    def _plan(self, s: Session, specs: list[TableSpec]) -> list[str]:
        """The statements a migration of `specs` still has to run (LayoutVersionError or
        SchemaMismatchError when the schema cannot be migrated)."""
        backend, schema = self.db.backend, self.db.schema
        dialect = backend.dialect
        plan = []
        if not backend.schema_exists(s, schema):
            plan.append(f"CREATE SCHEMA IF NOT EXISTS {schema_name(schema, backend.catalog)}")
        names = [LAYOUT_TABLE, STATE_TABLE, REJECTED_TABLE, *(spec.name for spec in specs)]
        for spec in specs:
            if self.has_history(spec):
                names += [history_view(spec.name), closed_table(spec.name)]
        found = backend.columns(s, schema, names)
        layout = self.db.table(LAYOUT_TABLE)
        versions = stored_versions(s, layout) if LAYOUT_TABLE in found else None
        if check_layout(schema, versions, found.keys() - {LAYOUT_TABLE}):
            plan += create_layout(dialect, layout)
        if STATE_TABLE not in found:
            plan.append(create_state_table(dialect, self.db.table(STATE_TABLE)))
        if REJECTED_TABLE not in found:
            plan.append(create_rejected_table(dialect, self.db.table(REJECTED_TABLE)))
        for spec in specs:
            existing = found.get(spec.name)
            if not existing:
                plan.append(create_table(dialect, schema, spec, backend.catalog))
            else:
                plan += self._alter(spec, existing)
            if self.has_history(spec):
                plan += self._history(spec, existing or {}, found)
        return plan

    def _history(
        self, spec: TableSpec, existing: dict[str, str], found: dict[str, dict[str, str]]
    ) -> list[str]:
        """What history needs (see `history`): `_change` in the table, the closed-versions
        table with every content column, and the view over both."""
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
        if stored is None:
            statements.append(create_closed(dialect, spec, closed))
        else:
            for c in content_columns(spec):
                if c not in stored:
                    sql_type = history_column_type(dialect, spec, c)
                    statements.append(f"ALTER TABLE {closed} ADD COLUMN {quote(c)} {sql_type}")
        shown = found.get(view_name)
        if shown is not None and all(c in shown for c in content_columns(spec)):
            return statements
        if shown is not None:  # the table gained a column: show it too
            statements.append(f"DROP VIEW {view}")
        # how the view's query names tables of its own schema (see `Dialect`)
        named = quote if dialect.views_bind_in_schema else self.db.table
        statements.append(create_view(dialect, spec, view, named(closed_name), named(spec.name)))
        return statements

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
