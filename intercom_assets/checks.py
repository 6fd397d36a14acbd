"""Asset checks on the stored tables: keys, parents, counts against Intercom, part caps.

- every table: primary key unique and non-null (ERROR);
- every link/child table: each row's parent exists in the parent's entity table (ERROR);
- contacts, companies, conversations: live rows against Intercom's `total_count` (WARN, or
  ERROR when more are missing than the change matrix's bounds explain: `count_severity`);
- conversation parts: conversations over Intercom's 500-part cap (WARN, with their count).

Every check is blocking: a failure at ERROR severity fails its run (the assets downstream of
the checked one are not run on top of a broken table), so the run-failure alert posts it;
a WARN failure is shown on the asset and does not stop anything.
"""

from collections.abc import Callable, Sequence

import dagster as dg

from intercom_assets.assets import asset_key
from intercom_assets.resources import IntercomResource, WarehouseResource
from intercom_assets.streams import STREAMS, LiveCount, Stream
from intercom_assets.warehouse import TableSpec, Warehouse

PART_CAP = 500
"""Intercom returns at most the 500 newest parts of a conversation."""
PART_LOADS = "conversation_part_loads"
MISSING_ERROR_SHARE = 0.01
MISSING_ERROR_RECORDS = 10
"""`live_count` fails at ERROR when more than this share of Intercom's records, and more than
this many, are missing from the warehouse; see `count_severity`."""
"""Per conversation: parts returned, Intercom's true count, `truncated`."""


def build_checks(streams: Sequence[Stream] = STREAMS) -> list[dg.AssetChecksDefinition]:
    """Every check for these streams."""
    tables = {spec.name: spec for stream in streams for spec in stream.tables}
    checks: list[dg.AssetChecksDefinition] = []
    for stream in streams:
        for spec in stream.tables:
            checks.append(primary_key_check(stream, spec))
            parent = parent_table(spec, tables)
            if parent is not None:
                checks.append(parent_check(stream, spec, tables[parent]))
    checks += [count_check(s, s.live_count) for s in streams if s.live_count is not None]
    if PART_LOADS in tables:
        checks.append(part_cap_check(tables[PART_LOADS]))
    return checks


def parent_table(spec: TableSpec, tables: dict[str, TableSpec]) -> str | None:
    """The entity table a child table's parent key points to (`contact_id` -> `contacts`)."""
    if spec.parent_key is None:
        return None
    name = f"{spec.parent_key.removesuffix('_id')}s"
    return name if name in tables and tables[name].is_entity else None


def primary_key_check(stream: Stream, spec: TableSpec) -> dg.AssetChecksDefinition:
    """`<table>_primary_key`: no duplicated and no null primary-key values."""

    def evaluate(wh: Warehouse) -> dg.AssetCheckResult:
        duplicates, nulls = wh.duplicate_keys(spec.name), wh.null_keys(spec.name)
        return dg.AssetCheckResult(
            passed=duplicates == 0 and nulls == 0,
            metadata={"duplicate_keys": duplicates, "null_keys": nulls},
        )

    return _warehouse_check(
        stream,
        (spec,),
        f"{spec.name}_primary_key",
        f"{spec.name}: primary key ({', '.join(spec.primary_key)}) unique and non-null",
        evaluate,
    )


def parent_check(stream: Stream, spec: TableSpec, parent: TableSpec) -> dg.AssetChecksDefinition:
    """`<table>_parents`: every row's parent key exists in the parent table."""
    column = spec.parent_key or ""

    def evaluate(wh: Warehouse) -> dg.AssetCheckResult:
        orphans = wh.orphans(spec.name, column, parent.name, live_only=False)
        return dg.AssetCheckResult(passed=orphans == 0, metadata={"orphans": orphans})

    return _warehouse_check(
        stream,
        (spec, parent),
        f"{spec.name}_parents",
        f"{spec.name}.{column} points to an existing {parent.name} row",
        evaluate,
    )


def count_severity(live: int, total: int) -> dg.AssetCheckSeverity:
    """ERROR when more records are missing than the change matrix's bounds explain, else WARN.

    Within the bounds (docs/change-matrix.md) the stored count trails Intercom's by the records
    created since the last window run (the change sensor's runs follow within minutes; the
    search index lags minutes) and leads it by records deleted since the last sweep (at most a
    day): both are small, and a WARN. Missing more than `MISSING_ERROR_SHARE` of Intercom's
    records and more than `MISSING_ERROR_RECORDS` is days of creations (or history never
    loaded): an ERROR. A surplus stays a WARN: the next daily sweep removes it.
    """
    missing = total - live
    if missing > MISSING_ERROR_RECORDS and missing > MISSING_ERROR_SHARE * total:
        return dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckSeverity.WARN


def count_check(stream: Stream, count: LiveCount) -> dg.AssetChecksDefinition:
    """`live_count`: live rows stored against Intercom's `total_count` (WARN, or ERROR beyond
    the bounds: `count_severity`)."""

    @dg.asset_check(
        asset=asset_key(stream.name),
        name="live_count",
        description=f"live {count.table} rows equal Intercom's total_count",
        blocking=True,
    )
    def _check(intercom: IntercomResource, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        total = count.intercom_total(intercom.client())
        with warehouse.connect() as wh:
            wh.register(stream.tables[:1])  # checks only read: no DDL
            live = count.stored(wh)
        return dg.AssetCheckResult(
            passed=live == total,
            severity=count_severity(live, total),
            metadata={
                "stored_live": live,
                "intercom_total_count": total,
                "difference": live - total,
                "error_when_missing_over": max(
                    MISSING_ERROR_RECORDS, int(MISSING_ERROR_SHARE * total)
                ),
            },
        )

    return _check


def part_cap_check(loads: TableSpec) -> dg.AssetChecksDefinition:
    """`part_cap`: conversations with more parts than Intercom returns (WARN, with count)."""

    def evaluate(wh: Warehouse) -> dg.AssetCheckResult:
        truncated = int(wh.read_columns(loads.name, ["truncated"])["truncated"].sum())
        return dg.AssetCheckResult(
            passed=truncated == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"conversations_over_cap": truncated},
        )

    return _warehouse_check(
        _stream_of(loads.name),
        (loads,),
        "part_cap",
        f"conversations over Intercom's {PART_CAP}-part cap (only the newest are loaded)",
        evaluate,
    )


def _warehouse_check(
    stream: Stream,
    specs: Sequence[TableSpec],
    name: str,
    description: str,
    evaluate: Callable[[Warehouse], dg.AssetCheckResult],
) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset_key(stream.name), name=name, description=description, blocking=True)
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as wh:
            wh.register(specs)  # checks only read: no DDL
            return evaluate(wh)

    return _check


def _stream_of(table: str) -> Stream:
    return next(s for s in STREAMS if any(t.name == table for t in s.tables))
