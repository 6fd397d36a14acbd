"""How the sandbox's ground truth maps to warehouse tables, and one assertion over all of it.

`assert_matches_truth(warehouse, sb.truth(), streams=...)` compares, table by table and row
by row: the live ids, every typed column (recomputed from the truth records through the
streams' `Field` declarations, and a few columns derived here by hand), `_raw` parsed equal
to the truth record, link tables equal to the truth's full membership, conversation parts
and their loads, listable events, soft-deleted contacts and recorded merges. A failure
lists every difference found (the first 40), readable.
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from intercom_assets.streams import (
    STREAMS,
    admins,
    companies,
    contacts,
    conversation_parts,
    conversations,
    data_attributes,
    events,
    get_stream,
    segments,
    tags,
    teams,
)
from intercom_assets.streams.shape import JSON, TIMESTAMP, Shape, encode
from intercom_assets.warehouse import Warehouse


def frame(records: Sequence[Any], fields: Sequence[Any], *, raw: bool = True) -> pl.DataFrame:
    read = Shape("expected", tuple(fields)).read(encode(records))
    return read if raw else read.drop("_raw")


EVENT_RETENTION_SECONDS = 90 * 86_400
Record = dict[str, Any]
Check = Callable[[Record], Any]


def ts(value: Any) -> datetime | None:
    """A unix-seconds value as the warehouse stores it."""
    return None if value is None else datetime.fromtimestamp(value, UTC)


def at(record: Mapping[str, Any], *path: str) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


# Columns checked by hand: an independent statement of what a few typed columns must hold.
BY_HAND: dict[str, dict[str, Check]] = {
    "contacts": {
        "location_city": lambda r: at(r, "location", "city"),
        "avatar_image_url": lambda r: at(r, "avatar", "image_url"),
        "updated_at": lambda r: ts(r["updated_at"]),
        "last_seen_at": lambda r: ts(r.get("last_seen_at")),
        "role": lambda r: r["role"],
        "owner_id": lambda r: None if r.get("owner_id") is None else str(r["owner_id"]),
        "custom_attributes": lambda r: r.get("custom_attributes"),
    },
    "companies": {
        "plan_name": lambda r: at(r, "plan", "name"),
        "monthly_spend": lambda r: (
            None if r.get("monthly_spend") is None else float(r["monthly_spend"])
        ),
        "updated_at": lambda r: ts(r["updated_at"]),
    },
    "conversations": {
        "source_author_id": lambda r: at(r, "source", "author", "id"),
        "statistics_count_conversation_parts": lambda r: at(
            r, "statistics", "count_conversation_parts"
        ),
        "statistics_first_contact_reply_at": lambda r: ts(
            at(r, "statistics", "first_contact_reply_at")
        ),
        "admin_assignee_id": lambda r: (
            None if r.get("admin_assignee_id") is None else str(r["admin_assignee_id"])
        ),
    },
    "data_attributes": {"id": lambda r: f"{r['model']}:{r['full_name']}"},
    "segments": {"count": lambda r: r["count"]},
    "conversation_parts": {"author_id": lambda r: at(r, "author", "id")},
    "events": {
        "contact_id": lambda r: r["intercom_user_id"],
        "created_at": lambda r: ts(r["created_at"]),
    },
}


class Diff:
    """Differences found so far."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def same_set(self, what: str, stored: Iterable[Any], expected: Iterable[Any]) -> None:
        stored_set, expected_set = set(stored), set(expected)
        missing = sorted(expected_set - stored_set, key=str)
        extra = sorted(stored_set - expected_set, key=str)
        if missing:
            self.add(f"{what}: {len(missing)} missing, e.g. {missing[:5]}")
        if extra:
            self.add(f"{what}: {len(extra)} unexpected, e.g. {extra[:5]}")


def assert_matches_truth(
    warehouse: Warehouse,
    truth: Mapping[str, Any],
    streams: Sequence[str] | None = None,
) -> None:
    """Assert that the tables of `streams` (all by default) hold exactly the truth."""
    names = list(streams) if streams is not None else [s.name for s in STREAMS]
    for name in names:
        warehouse.ensure_tables(get_stream(name).tables)
    diff = Diff()
    for name in names:
        COMPARE[name](warehouse, truth, diff)
    if diff.lines:
        shown = "\n  ".join(diff.lines[:40])
        more = f"\n  ... and {len(diff.lines) - 40} more" if len(diff.lines) > 40 else ""
        raise AssertionError(f"warehouse differs from the truth:\n  {shown}{more}")


# -- entity tables ----------------------------------------------------------------------------


def compare_entities(
    warehouse: Warehouse,
    shape: Shape,
    records: Sequence[Record],
    diff: Diff,
    key: Callable[[Record], str] = lambda r: str(r["id"]),
) -> pl.DataFrame:
    """Live ids, typed columns, hand-checked columns and `_raw` of an entity table."""
    table = shape.table
    stored = warehouse.table(table)
    live = stored.filter(pl.col("_deleted_at").is_null())
    diff.same_set(f"{table} live ids", live.get_column("id").to_list(), [key(r) for r in records])
    by_id = {row["id"]: row for row in live.iter_rows(named=True)}
    expected = frame(records, shape.fields).to_dicts() if records else []
    json_columns = {f.column for f in shape.fields if f.dtype is JSON}
    hand = BY_HAND.get(table, {})
    for record, row in zip(records, expected, strict=True):
        found = by_id.get(key(record))
        if found is None:
            continue
        for column, value in row.items():
            if column == "_raw":
                continue
            compare_value(
                diff, table, key(record), column, found[column], value, column in json_columns
            )
        for column, check in hand.items():
            compare_value(
                diff,
                table,
                key(record),
                f"{column} (by hand)",
                found[column],
                check(record),
                column in json_columns,
                parsed=True,
            )
        if orjson.loads(found["_raw"]) != record:
            diff.add(f"{table}[{key(record)}]._raw differs from the API record")
    return stored


def compare_value(
    diff: Diff,
    table: str,
    key: str,
    column: str,
    stored: Any,
    expected: Any,
    is_json: bool,
    *,
    parsed: bool = False,
) -> None:
    if is_json:
        stored = None if stored is None else orjson.loads(stored)
        if not parsed:
            expected = None if expected is None else orjson.loads(expected)
    if stored != expected:
        diff.add(f"{table}[{key}].{column}: stored {stored!r}, expected {expected!r}")


def compare_links(
    warehouse: Warehouse,
    table: str,
    parent: str,
    member: str,
    membership: Mapping[str, Iterable[Any]],
    diff: Diff,
) -> None:
    """Link rows of the live parents equal the truth's full membership."""
    stored = warehouse.table(table)
    live_parents = set(membership)
    rows = {(p, m) for p, m in stored.select(parent, member).iter_rows() if p in live_parents}
    expected = {(p, str(m)) for p, members in membership.items() for m in members}
    diff.same_set(f"{table} rows", rows, expected)


# -- per stream ----------------------------------------------------------------------------------


def _snapshot(module: Any, key: str) -> Callable[[Warehouse, Mapping[str, Any], Diff], None]:
    def compare(warehouse: Warehouse, truth: Mapping[str, Any], diff: Diff) -> None:
        compare_entities(warehouse, module.SHAPE, truth[key], diff)

    return compare


def compare_teams(warehouse: Warehouse, truth: Mapping[str, Any], diff: Diff) -> None:
    compare_entities(warehouse, teams.SHAPE, truth["teams"], diff)
    membership = {t["id"]: t["admin_ids"] for t in truth["teams"]}
    compare_links(warehouse, "team_admins", "team_id", "admin_id", membership, diff)


def compare_data_attributes(warehouse: Warehouse, truth: Mapping[str, Any], diff: Diff) -> None:
    compare_entities(
        warehouse,
        data_attributes.SHAPE,
        truth["data_attributes"],
        diff,
        key=lambda r: f"{r['model']}:{r['full_name']}",
    )


def compare_companies(warehouse: Warehouse, truth: Mapping[str, Any], diff: Diff) -> None:
    records = truth["companies"]
    compare_entities(warehouse, companies.SHAPE, records, diff)
    tag_sets = {c["id"]: [t["id"] for t in c["tags"]["tags"]] for c in records}
    segment_sets = {c["id"]: [s["id"] for s in c["segments"]["segments"]] for c in records}
    compare_links(warehouse, "company_tags", "company_id", "tag_id", tag_sets, diff)
    compare_links(warehouse, "company_segments", "company_id", "segment_id", segment_sets, diff)


def compare_contacts(warehouse: Warehouse, truth: Mapping[str, Any], diff: Diff) -> None:
    stored = compare_entities(warehouse, contacts.SHAPE, truth["contacts"], diff)
    compare_links(warehouse, "contact_tags", "contact_id", "tag_id", truth["contact_tags"], diff)
    compare_links(
        warehouse,
        "contact_companies",
        "contact_id",
        "company_id",
        truth["contact_companies"],
        diff,
    )
    deleted = stored.filter(pl.col("_deleted_at").is_not_null()).get_column("id").to_list()
    known = set(stored.get_column("id").to_list())
    gone = (
        set(truth["deleted_contact_ids"])
        | set(truth["archived_contact_ids"])
        | set(truth["merged_contact_ids"])
    )
    diff.same_set("soft-deleted contacts", deleted, gone & known)
    merges = warehouse.table("contact_merges")
    recorded = dict(merges.select("id", "target_id").iter_rows())
    expected = {s: t for s, t in truth["merged_contact_ids"].items() if s in known}
    diff.same_set("contact_merges", recorded.items(), expected.items())


def compare_conversations(warehouse: Warehouse, truth: Mapping[str, Any], diff: Diff) -> None:
    records = truth["conversations"]
    compare_entities(warehouse, conversations.SHAPE, records, diff)
    tag_sets = {c["id"]: [t["id"] for t in c["tags"]["tags"]] for c in records}
    contact_sets = {c["id"]: [x["id"] for x in c["contacts"]["contacts"]] for c in records}
    compare_links(warehouse, "conversation_tags", "conversation_id", "tag_id", tag_sets, diff)
    compare_links(
        warehouse, "conversation_contacts", "conversation_id", "contact_id", contact_sets, diff
    )


def compare_parts(warehouse: Warehouse, truth: Mapping[str, Any], diff: Diff) -> None:
    parts_by_conversation: dict[str, list[Record]] = truth["conversation_parts"]
    stored = warehouse.table("conversation_parts")
    live = set(parts_by_conversation)
    rows = {
        row["id"]: row for row in stored.iter_rows(named=True) if row["conversation_id"] in live
    }
    expected = {
        p["id"]: (conversation_id, p)
        for conversation_id, parts in parts_by_conversation.items()
        for p in parts
    }
    diff.same_set("conversation_parts ids", rows, expected)
    fields = [f for f in conversation_parts.PART_FIELDS if f.column != "conversation_id"]
    json_columns = {f.column for f in fields if f.dtype is JSON}
    wanted = frame([p for _, p in expected.values()], fields, raw=False).to_dicts()
    for (part_id, (conversation_id, part)), want in zip(expected.items(), wanted, strict=True):
        row = rows.get(part_id)
        if row is None:
            continue
        for column, value in want.items():
            compare_value(
                diff,
                "conversation_parts",
                part_id,
                column,
                row[column],
                value,
                column in json_columns,
            )
        compare_value(
            diff,
            "conversation_parts",
            part_id,
            "conversation_id",
            row["conversation_id"],
            conversation_id,
            False,
        )
        compare_value(
            diff,
            "conversation_parts",
            part_id,
            "author_id (by hand)",
            row["author_id"],
            at(part, "author", "id"),
            False,
        )
        if orjson.loads(row["_raw"]) != part:
            diff.add(f"conversation_parts[{part_id}]._raw differs from the API record")
    loads = {
        row["id"]: row for row in warehouse.table("conversation_part_loads").iter_rows(named=True)
    }
    counts: dict[str, int] = truth["conversation_part_counts"]
    for conversation_id, parts in parts_by_conversation.items():
        load = loads.get(conversation_id)
        if load is None:
            diff.add(f"conversation_part_loads[{conversation_id}] missing")
            continue
        total = counts[conversation_id]
        got = (load["parts_returned"], load["total_count"], load["truncated"])
        want_load = (len(parts), total, total > len(parts))
        if got != want_load:
            diff.add(
                f"conversation_part_loads[{conversation_id}] (returned, total, truncated)"
                f" {got} != {want_load}"
            )


def compare_events(warehouse: Warehouse, truth: Mapping[str, Any], diff: Diff) -> None:
    listable: dict[str, list[Record]] = truth["events"]
    stored = {row["id"]: row for row in warehouse.table("events").iter_rows(named=True)}
    expected = {e["id"]: e for events_of in listable.values() for e in events_of}
    diff.same_set("listable events", set(stored) & set(expected), expected)
    json_columns = {f.column for f in events.SHAPE.fields if f.dtype is JSON}
    wanted = frame(list(expected.values()), events.SHAPE.fields, raw=False).to_dicts()
    for (event_id, event), want in zip(expected.items(), wanted, strict=True):
        row = stored.get(event_id)
        if row is None:
            continue
        for column, value in want.items():
            compare_value(
                diff, "events", event_id, column, row[column], value, column in json_columns
            )
        for column, check in BY_HAND["events"].items():
            compare_value(
                diff, "events", event_id, f"{column} (by hand)", row[column], check(event), False
            )
        if orjson.loads(row["_raw"]) != event:
            diff.add(f"events[{event_id}]._raw differs from the API record")
    cutoff = ts(truth["now"] - EVENT_RETENTION_SECONDS)
    live_contacts = {c["id"] for c in truth["contacts"]}
    stale = [
        event_id
        for event_id, row in stored.items()
        if event_id not in expected
        and row["contact_id"] in live_contacts
        and row["created_at"] > cutoff
    ]
    if stale:
        diff.add(
            f"events: {len(stale)} stored but not listable and younger than 90 days: {stale[:5]}"
        )


COMPARE: dict[str, Callable[[Warehouse, Mapping[str, Any], Diff], None]] = {
    "tags": _snapshot(tags, "tags"),
    "segments": _snapshot(segments, "segments"),
    "admins": _snapshot(admins, "admins"),
    "teams": compare_teams,
    "data_attributes": compare_data_attributes,
    "companies": compare_companies,
    "contacts": compare_contacts,
    "conversations": compare_conversations,
    "conversation_parts": compare_parts,
    "events": compare_events,
}
"""How each stream's tables are compared with the truth."""

__all__ = ["COMPARE", "TIMESTAMP", "assert_matches_truth"]


SUBLIST_PAGE = 50
"""Page size of the contact sub-lists (`/contacts/{id}/companies`) as the stream reads them."""


def sublist_calls(contacts: list[dict[str, Any]]) -> int:
    """Requests for the tag and company lists that a contact only embeds the first 10 of."""
    calls = 0
    for contact in contacts:
        if contact["tags"]["has_more"]:
            calls += 1
        if contact["companies"]["has_more"]:
            calls += math.ceil(contact["companies"]["total_count"] / SUBLIST_PAGE)
    return calls
