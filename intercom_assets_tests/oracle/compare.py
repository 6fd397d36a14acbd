"""The warehouse against the truth, as data: a list of `Difference`s, and an assertion.

```python
diffs = differences(warehouse, sb.truth(), streams=["contacts", "events"])
allowed = [d for d in diffs if is_within_its_bound(d)]        # a scenario's classifier
assert_matches_truth(warehouse, sb.truth(), allow=is_within_its_bound)
```

Per table (`columns.TABLES`): the stored columns equal the declared ones (name and SQL type
family); the rows in scope (live rows of entity tables; link and child rows of parents live
in the truth; every event not past Intercom's 90-day listing) equal the expected rows key by
key; every column of every matched row equals its expected value (JSON parsed, types strict);
soft-deleted ids are ids the truth says were deleted. Rows a table may keep beyond what the
API returns now (parts older than the 500 newest: `Table.kept`) may be held, each equal to its
source, with none missing between the oldest held and the rows returned.
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import orjson

from .columns import (
    BEYOND_WINDOW,
    EVENT_RETENTION_SECONDS,
    NOT_NULL,
    SQL_TYPES,
    STREAM_TABLES,
    TABLES,
    NullOr,
    Table,
    expected_rows,
    ts,
)
from .stored import Queryable, StoredTable, read_table

Kind = Literal["missing", "extra", "changed"]
HISTORY_KIND = "_change"
"""An entity table with history on has this column (what made the row's current version);
the history scenario checks the versions against the truth, so it is not compared here."""
LIMIT = 40


@dataclass(frozen=True)
class Difference:
    """One way the warehouse differs from the truth.

    - a column: `id` None, `column` its name; `expected` / `found` its SQL type (or None);
    - a row: `column` None, `expected` the expected row (missing) or `found` the stored row
      (extra), so a classifier can read e.g. an event's `contact_id`;
    - a value: `id` the row key, `column`, `expected` and `found` values (kind "changed").
    `id` is the row's key value (a tuple for link tables: parent, member).
    """

    table: str
    id: Any
    column: str | None
    expected: Any
    found: Any
    kind: Kind

    def __str__(self) -> str:
        where = self.table if self.id is None else f"{self.table}[{_key_text(self.id)}]"
        if self.column is None:
            if self.kind == "missing":
                if self.id is None:
                    return f"{where}: table missing"
                return f"{where}: row missing, expected {_short(self.expected)}"
            return f"{where}: unexpected row {_short(self.found)}"
        if self.id is None:
            return {
                "missing": f"{where}.{self.column}: column missing (expected {self.expected})",
                "extra": f"{where}.{self.column}: column {self.found} not known to the oracle",
                "changed": f"{where}.{self.column}: type {self.found}, expected {self.expected}",
            }[self.kind]
        return f"{where}.{self.column}: expected {self.expected!r}, found {self.found!r}"


def _key_text(key: Any) -> str:
    return "/".join(map(str, key)) if isinstance(key, tuple) else str(key)


def _short(row: Any, width: int = 160) -> str:
    text = repr({k: v for k, v in row.items() if k != "_raw"} if isinstance(row, dict) else row)
    return text if len(text) <= width else text[: width - 3] + "..."


# -- values -------------------------------------------------------------------------------------


def same(expected: Any, found: Any) -> bool:
    """Deep equality with types kept (1, 1.0 and True differ); NOT_NULL matches any value,
    `NullOr(v)` null or what matches v."""
    if expected is NOT_NULL:
        return found is not None
    if isinstance(expected, NullOr):
        return found is None or same(expected.value, found)
    if type(expected) is not type(found):
        return False
    if isinstance(expected, dict):
        return expected.keys() == found.keys() and all(
            same(v, found[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return len(expected) == len(found) and all(map(same, expected, found))
    if isinstance(expected, float):
        return expected == found or (math.isnan(expected) and math.isnan(found))
    return expected == found


def stored_value(kind: str, value: Any) -> Any:
    """A stored cell as comparable Python: JSON text parsed, datetimes as they are."""
    if value is None or kind != "json":
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return f"<invalid JSON {value!r}>"


def same_value(kind: str, expected: Any, found: Any) -> bool:
    if isinstance(expected, NullOr):
        return found is None or same_value(kind, expected.value, found)
    if kind == "timestamp" and isinstance(found, datetime) and isinstance(expected, datetime):
        return expected == found  # aware datetimes: equal instants in any zone
    return same(expected, found)


# -- tables -------------------------------------------------------------------------------------


def compare_columns(table: Table, stored: StoredTable) -> list[Difference]:
    declared = table.all_columns()
    out = []
    for name, col in declared.items():
        found = stored.types.get(name)
        wanted = "/".join(sorted(SQL_TYPES[col.kind]))
        if found is None:
            out.append(Difference(table.name, None, name, wanted, None, "missing"))
        elif found not in SQL_TYPES[col.kind]:
            out.append(Difference(table.name, None, name, wanted, found, "changed"))
    for name, found in stored.types.items():
        if name not in declared and not (table.entity and name == HISTORY_KIND):
            out.append(Difference(table.name, None, name, None, found, "extra"))
    return out


def compare_table(
    table: Table, truth: Mapping[str, Any], stored: StoredTable | None
) -> list[Difference]:
    if stored is None:
        return [Difference(table.name, None, None, "table", None, "missing")]
    out = compare_columns(table, stored)
    declared = table.all_columns()
    wrong = {(d.column) for d in out}
    comparable = [c for c in declared if c in stored.types and c not in wrong]
    expected = expected_rows(table, truth)
    kept = expected_rows(replace(table, sources=table.kept), truth) if table.kept else None
    in_scope = scope(table, truth)
    seen: set[Any] = set()
    for row in stored.rows:
        key = tuple(row.get(k) for k in table.key)
        if not in_scope(row):
            continue
        shown = key[0] if len(key) == 1 else key
        seen.add(key)
        want = expected.rows.get(key)
        if want is None and kept is not None:
            want = kept.rows.get(key)
        if want is None:
            out.append(Difference(table.name, shown, None, None, row, "extra"))
            continue
        for column in comparable:
            kind = declared[column].kind
            found = stored_value(kind, row[column])
            if not same_value(kind, want[column], found):
                out.append(Difference(table.name, shown, column, want[column], found, "changed"))
    for key, want in expected.rows.items():
        if key not in seen and in_scope(want):
            shown = key[0] if len(key) == 1 else key
            out.append(Difference(table.name, shown, None, want, None, "missing"))
    if kept is not None:
        out.extend(_holes(table, kept.rows, seen))
    if table.deleted_ids is not None and "_deleted_at" in stored.types:
        # A soft-deleted row must be one the truth deleted (a live one is a missing row).
        allowed = table.deleted_ids(truth) | {k[0] for k in expected.rows}
        for row in stored.rows:
            deleted_at = row["_deleted_at"]
            if deleted_at is not None and row["id"] not in allowed:
                out.append(
                    Difference(table.name, row["id"], "_deleted_at", None, deleted_at, "extra")
                )
    return out


def _holes(table: Table, kept: Mapping[Any, dict[str, Any]], held: set[Any]) -> list[Difference]:
    """Kept rows (oldest first per parent) not held although an older one of the same parent
    is: a row lost between two loads."""
    column = table.parent[0] if table.parent else table.key[0]
    older_held: set[Any] = set()
    out = []
    for key, want in kept.items():
        parent = want[column]
        if key in held:
            older_held.add(parent)
        elif parent in older_held:
            shown = key[0] if len(key) == 1 else key
            out.append(Difference(table.name, shown, None, want, None, "missing"))
    return out


def with_stored_parts(
    warehouse: Queryable, truth: Mapping[str, Any], stored: Mapping[str, StoredTable | None]
) -> Mapping[str, Any]:
    """The truth plus `parts_beyond_window`: per parts table, per parent, how many of the
    stored parts are older than the ones the API returns now (the loads table records it;
    which parts a warehouse has seen depends on when it loaded, not on the truth)."""
    beyond: dict[str, dict[str, int]] = {}
    for name in ("conversation_parts", "ticket_parts"):
        table = TABLES[name]
        if table.kept is None or table.parent is None:
            continue
        parts = stored[name] if name in stored else read_table(warehouse, name)
        counts: dict[str, int] = {}
        if parts is not None:
            older = expected_rows(replace(table, sources=table.kept), truth).rows
            column = table.parent[0]
            for row in parts.rows:
                if (row["id"],) in older:
                    counts[row[column]] = counts.get(row[column], 0) + 1
        beyond[name] = counts
    return {**truth, BEYOND_WINDOW: beyond}


def scope(table: Table, truth: Mapping[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Which stored rows the truth speaks for."""
    if table.in_scope is not None:
        return table.in_scope(truth)
    if table.name == "events":
        # Events are never deleted, and Intercom lists only the last 90 days: an event older
        # than that, or of a contact no longer live, stays stored but is not in the truth.
        cutoff = ts(truth["now"] - EVENT_RETENTION_SECONDS)
        live_contacts = {c["id"] for c in truth["contacts"]}
        listed = {e["id"] for events in truth["events"].values() for e in events}
        return lambda row: (
            row["id"] in listed
            or (row["contact_id"] in live_contacts and row["created_at"] > cutoff)
        )
    if table.parent is not None:
        column, parents = table.parent
        live = {r["id"] for r in truth[parents]}
        return lambda row: row[column] in live
    if table.live_only:
        return lambda row: row.get("_deleted_at") is None
    return lambda row: True


def differences(
    warehouse: Queryable,
    truth: Mapping[str, Any],
    streams: Iterable[str] | None = None,
    *,
    tables: Iterable[str] | None = None,
) -> list[Difference]:
    """Every difference between the tables of `streams` (all by default), or the `tables`
    named, and the truth."""
    names = list(STREAM_TABLES) if streams is None else list(streams)
    unknown = [n for n in names if n not in STREAM_TABLES]
    if unknown:
        raise ValueError(f"unknown streams {unknown}; known: {list(STREAM_TABLES)}")
    if tables is None:
        tables = [t for n in names for t in STREAM_TABLES[n]]
    else:
        tables = list(tables)
        unknown = [t for t in tables if t not in TABLES]
        if unknown:
            raise ValueError(f"unknown tables {unknown}; known: {list(TABLES)}")
    stored = {t: read_table(warehouse, t) for t in tables}
    truth = with_stored_contacts(warehouse, truth, stored.get("contacts"))
    if {"conversation_part_loads", "ticket_part_loads"} & set(tables):
        truth = with_stored_parts(warehouse, truth, stored)
    out: list[Difference] = []
    for name in tables:
        out.extend(compare_table(TABLES[name], truth, stored[name]))
    return out


def with_stored_contacts(
    warehouse: Queryable, truth: Mapping[str, Any], contacts: StoredTable | None = None
) -> Mapping[str, Any]:
    """The truth plus `stored_contact_ids`: merges are expected only of contacts the
    warehouse holds (a lead merged before any run saw it is not the warehouse's to record)."""
    contacts = contacts or read_table(warehouse, "contacts")
    known = {r["id"] for r in contacts.rows} if contacts else set()
    return {**truth, "stored_contact_ids": known}


def format_differences(diffs: Sequence[Difference], limit: int = LIMIT) -> str:
    """The first `limit` differences, one a line, with a count per table and kind."""
    counts: dict[tuple[str, str], int] = {}
    for d in diffs:
        counts[d.table, d.kind] = counts.get((d.table, d.kind), 0) + 1
    summary = ", ".join(f"{t} {k} {n}" for (t, k), n in counts.items())
    lines = [f"warehouse differs from the truth in {len(diffs)} ways ({summary}):"]
    lines += [f"  {d}" for d in diffs[:limit]]
    if len(diffs) > limit:
        lines.append(f"  ... and {len(diffs) - limit} more")
    return "\n".join(lines)


def assert_matches_truth(
    warehouse: Queryable,
    truth: Mapping[str, Any],
    streams: Iterable[str] | None = None,
    *,
    allow: Callable[[Difference], bool] | None = None,
    limit: int = LIMIT,
) -> list[Difference]:
    """Assert the tables of `streams` hold exactly the truth, up to the differences `allow`
    accepts (a scenario's documented bounds); returns the allowed differences."""
    diffs = differences(warehouse, truth, streams)
    allowed = [d for d in diffs if allow is not None and allow(d)]
    failing = [d for d in diffs if allow is None or not allow(d)]
    if failing:
        raise AssertionError(format_differences(failing, limit))
    return allowed
