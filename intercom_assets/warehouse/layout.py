"""The layout version: which layout of tables a schema was written by.

`migrate` keeps one row in `_layout` (`version`, `created_at`): the `LAYOUT_VERSION` of the
code that created the schema's tables. A schema is migrated only when it holds exactly that
version, or holds none of the warehouse's tables yet (then the table and its row are created
with them). A schema written by another layout, or holding the warehouse's tables but no
version row, is refused before any DDL runs (`LayoutVersionError`): its data is to be
reloaded into a new schema, not converted. Bump `LAYOUT_VERSION` when a change to the stored
layout is one `migrate` cannot make by adding tables or columns.
"""

from collections.abc import Collection

import polars as pl

from .errors import LayoutVersionError
from .session import Session
from .sql import Dialect

LAYOUT_TABLE = "_layout"
LAYOUT_VERSION = 1
"""The layout this code writes (1: the first layout recorded)."""


def create_layout(dialect: Dialect, table: str) -> list[str]:
    """DDL of the layout table (`table`: its quoted, qualified name) and its one row."""
    ts = dialect.types["timestamp"]
    return [
        f'CREATE TABLE IF NOT EXISTS {table} ("version" {dialect.types["int64"]} NOT NULL,'
        f' "created_at" {ts} NOT NULL)',
        f'INSERT INTO {table} ("version", "created_at") VALUES ({LAYOUT_VERSION},'
        f" CURRENT_TIMESTAMP)",
    ]


def stored_versions(s: Session, table: str) -> list[int]:
    """The versions the layout table holds (one, in a schema this code wrote)."""
    rows = s.query(f'SELECT "version" FROM {table}', schema={"version": pl.Int64()})
    return [int(v) for v in rows.get_column("version").to_list()]


def check_layout(schema: str, versions: list[int] | None, found: Collection[str]) -> bool:
    """Whether the layout table and its row must be created: True for a schema without any
    of the warehouse's tables (`found`: those it holds) and no layout version (`versions`:
    those stored, None without a layout table), False for a schema of this layout;
    LayoutVersionError otherwise."""
    if not versions:
        if not found:
            return True
        shown = ", ".join(sorted(found)[:3]) + (", ..." if len(found) > 3 else "")
        raise LayoutVersionError(
            f"schema {schema!r} holds tables ({shown}) but no layout version: this"
            f" warehouse was written by an older layout; reload into a new schema"
        )
    if versions == [LAYOUT_VERSION]:
        return False
    if len(versions) != 1:
        raise LayoutVersionError(
            f"schema {schema!r}: {LAYOUT_TABLE} holds {len(versions)} rows instead of one;"
            " reload into a new schema"
        )
    if versions[0] > LAYOUT_VERSION:
        raise LayoutVersionError(
            f"schema {schema!r}: this warehouse was written by a newer layout (version"
            f" {versions[0]}; this version writes {LAYOUT_VERSION}); run the newer version,"
            " or reload into a new schema"
        )
    raise LayoutVersionError(
        f"schema {schema!r}: this warehouse was written by an older layout (version"
        f" {versions[0]}; this version writes {LAYOUT_VERSION}); reload into a new schema"
    )
