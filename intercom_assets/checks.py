"""Checks on the stored tables, each attached to the table asset it checks and run at the end
of its stream's step (check specs of the stream's multi-asset, results from the same step):

- every table: `primary_key`, unique and non-null (ERROR);
- every link/child table: `parents`, each row's parent exists in the entity table its parent
  key references (the stream's declared `references`) (ERROR);
- contacts, companies, conversations: `live_count`, live rows against Intercom's
  `total_count` (companies: those with users, the only ones Intercom counts) (WARN, or
  ERROR when more are missing than the change matrix's bounds explain: `count_severity`);
- a parts table whose stream declares a `PartCap` (conversation and ticket parts): `part_cap`,
  the parents (conversations, tickets) with more parts than Intercom returns (the 500 newest):
  WARN, naming them with the parts stored beyond the returned window and those never loaded.

Every check is blocking: a failure at ERROR severity fails its step after the tables'
materializations are recorded (the assets downstream are not run on top of a broken table),
so the run-failure alert posts it; a WARN failure is shown on the asset and stops nothing.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from intercom_assets.api import IntercomClient
from intercom_assets.keys import table_key
from intercom_assets.streams import LiveCount, PartCap, Stream, targets
from intercom_assets.warehouse import TableSpec, Warehouse

PART_CAP = 500
"""Intercom returns at most the 500 newest parts of a conversation or ticket."""
NAMED_PARENTS = 50
"""`part_cap` names at most this many parents in its description (all in its metadata)."""
MISSING_ERROR_SHARE = 0.01
MISSING_ERROR_RECORDS = 10
"""`live_count` fails at ERROR when more than this share of Intercom's records, and more than
this many, are missing from the warehouse; see `count_severity`."""

Evaluate = Callable[[Warehouse, Callable[[], IntercomClient]], dg.AssetCheckResult]
"""Evaluates a check on an open warehouse; the second argument gives the run's client."""


@dataclass(frozen=True)
class TableCheck:
    """A check of one table: its spec (attached to the table's asset), the tables it reads
    and how it is evaluated."""

    spec: dg.AssetCheckSpec
    reads: tuple[TableSpec, ...]
    evaluate: Evaluate

    @property
    def key(self) -> dg.AssetCheckKey:
        return self.spec.key

    def result(self, wh: Warehouse, client: Callable[[], IntercomClient]) -> dg.AssetCheckResult:
        """The check's result, addressed to its table and name."""
        found = self.evaluate(wh, client)
        return dg.AssetCheckResult(
            asset_key=self.spec.asset_key,
            check_name=self.spec.name,
            passed=found.passed,
            severity=found.severity,
            metadata=found.metadata,
            description=found.description,
        )


def stream_checks(stream: Stream, tables: Mapping[str, TableSpec]) -> list[TableCheck]:
    """Every check of `stream`'s tables; `tables` holds every table of the code location (a
    parent may belong to another stream)."""
    own = {spec.name: spec for spec in stream.tables}
    checks: list[TableCheck] = []
    for spec in stream.tables:
        checks.append(primary_key_check(spec))
        parent = parent_table(stream, spec, tables)
        if parent is not None:
            checks.append(parent_check(spec, tables[parent]))
        for cap in stream.checks:
            if cap.parts == spec.name:
                checks.append(part_cap_check(spec, own[cap.loads], cap))
    if stream.live_count is not None:
        checks.append(count_check(stream.tables[0], stream.live_count))
    return checks


def parent_table(stream: Stream, spec: TableSpec, tables: Mapping[str, TableSpec]) -> str | None:
    """The entity table a child table's parent key references, as `stream` declares it
    (`contact_tags.contact_id` -> `contacts`), when it is one of `tables`."""
    if spec.parent_key is None:
        return None
    reference = stream.references.get(spec.name, {}).get(spec.parent_key)
    found = [t for t in targets(reference) if t in tables] if reference is not None else []
    if len(found) != 1 or not tables[found[0]].is_entity:
        return None
    return found[0]


def _spec(table: TableSpec, name: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name, asset=table_key(table.name), description=description, blocking=True
    )


def primary_key_check(spec: TableSpec) -> TableCheck:
    """`primary_key`: no duplicated and no null primary-key values."""

    def evaluate(wh: Warehouse, _: Callable[[], IntercomClient]) -> dg.AssetCheckResult:
        duplicates, nulls = wh.duplicate_keys(spec.name), wh.null_keys(spec.name)
        return dg.AssetCheckResult(
            passed=duplicates == 0 and nulls == 0,
            metadata={"duplicate_keys": duplicates, "null_keys": nulls},
        )

    description = f"{spec.name}: primary key ({', '.join(spec.primary_key)}) unique and non-null"
    return TableCheck(_spec(spec, "primary_key", description), (spec,), evaluate)


def parent_check(spec: TableSpec, parent: TableSpec) -> TableCheck:
    """`parents`: every row's parent key exists in the parent table."""
    column = spec.parent_key or ""

    def evaluate(wh: Warehouse, _: Callable[[], IntercomClient]) -> dg.AssetCheckResult:
        orphans = wh.orphans(spec.name, column, parent.name, live_only=False)
        return dg.AssetCheckResult(passed=orphans == 0, metadata={"orphans": orphans})

    description = f"{spec.name}.{column} points to an existing {parent.name} row"
    return TableCheck(_spec(spec, "parents", description), (spec, parent), evaluate)


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


def count_check(spec: TableSpec, count: LiveCount) -> TableCheck:
    """`live_count`: live rows stored against Intercom's `total_count` (WARN, or ERROR beyond
    the bounds: `count_severity`)."""

    def evaluate(wh: Warehouse, client: Callable[[], IntercomClient]) -> dg.AssetCheckResult:
        total = count.intercom_total(client())
        live = count.stored(wh)
        metadata: dict[str, Any] = {
            "stored_live": live,
            "intercom_total_count": total,
            "difference": live - total,
            "error_when_missing_over": max(MISSING_ERROR_RECORDS, int(MISSING_ERROR_SHARE * total)),
        }
        if count.counts is not None:
            metadata |= {"counts": count.counts, "table_live_rows": wh.count_live(count.table)}
        return dg.AssetCheckResult(
            passed=live == total,
            severity=count_severity(live, total),
            metadata=metadata,
        )

    description = f"live {count.table} rows equal Intercom's total_count" + (
        f", which counts {count.counts}" if count.counts else ""
    )
    return TableCheck(_spec(spec, "live_count", description), (spec,), evaluate)


def part_cap_check(parts: TableSpec, loads: TableSpec, cap: PartCap) -> TableCheck:
    """`part_cap` on a parts table: the parents (conversations, tickets) with more parts than
    Intercom returns, by id (WARN). Their older parts are stored as far as a load saw them
    (`parts_beyond_window`); the rest were never returned, so never loaded."""
    parents = cap.parents

    def evaluate(wh: Warehouse, _: Callable[[], IntercomClient]) -> dg.AssetCheckResult:
        columns = ["id", "parts_returned", "total_count", "parts_beyond_window", "truncated"]
        capped = wh.read_columns(loads.name, columns).filter("truncated").sort("id")
        ids = capped.get_column("id").to_list()
        beyond = int(capped.get_column("parts_beyond_window").fill_null(0).sum())
        never = int(
            (capped["total_count"] - capped["parts_returned"] - capped["parts_beyond_window"])
            .fill_null(0)
            .clip(lower_bound=0)
            .sum()
        )
        shown = ", ".join(ids[:NAMED_PARENTS]) + (" ..." if len(ids) > NAMED_PARENTS else "")
        description = (
            f"{len(ids)} {parents} hold more parts than Intercom returns (the {PART_CAP}"
            f" newest): {shown}; {beyond} older parts are stored from earlier loads,"
            f" {never} were never returned"
            if ids
            else f"no {parents} over Intercom's {PART_CAP}-part cap"
        )
        return dg.AssetCheckResult(
            passed=not ids,
            severity=dg.AssetCheckSeverity.WARN,
            description=description,
            metadata={
                f"{parents}_over_cap": len(ids),
                f"{parents.removesuffix('s')}_ids": dg.MetadataValue.json(ids),
                "parts_beyond_window": beyond,
                "parts_never_loaded": never,
            },
        )

    description = (
        f"{parents} over Intercom's {PART_CAP}-part cap, by id (only the newest {PART_CAP} are"
        " returned; older parts are kept as far as a load saw them)"
    )
    return TableCheck(_spec(parts, "part_cap", description), (parts, loads), evaluate)


def evaluate_checks(
    checks: Sequence[TableCheck],
    wh: Warehouse,
    client: Callable[[], IntercomClient],
) -> list[dg.AssetCheckResult]:
    """The results of `checks` on the open warehouse (which only reads: no DDL)."""
    wh.register([t for check in checks for t in check.reads])
    return [check.result(wh, client) for check in checks]
