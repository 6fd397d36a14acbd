"""The `quarantine` check: records a stream held back because they do not fit its table.

A stream quarantines a record its table cannot hold (`streams.sync.Run.fit`): the record
goes to the warehouse's `_rejected` table and every other record loads. This check, one per
stream on its entity table (`intercom/<stream>`), reads the stream's unresolved rows there.
It is its own step (`intercom__<stream>_quarantine`), after the stream's, and not blocking:
its failure fails the run (so the run-failure alert posts it) without holding back the
streams downstream, whose steps do not wait for it.

- Nothing held: passed.
- Records this run received malformed (`last_seen` since the run was created): ERROR, and
  the step fails with the check's description, which names them (a failed check alone
  would not fail the run).
- Records held from an earlier run and not received again by this one (a window run that
  does not reach back to them): WARN, shown on the asset; the run that received them
  already failed and alerted. The daily sweep receives them again.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from intercom_assets.keys import op_name, table_key
from intercom_assets.resources import WarehouseResource
from intercom_assets.streams import Stream

CHECK = "quarantine"
SHOWN = 3
"""How many quarantined records the one-line description names (then "and N more")."""


def build_quarantine_checks(streams: Sequence[Stream]) -> list[dg.AssetChecksDefinition]:
    """One `quarantine` check per stream, on its entity table."""
    return [quarantine_check(stream) for stream in streams]


def quarantine_check(stream: Stream) -> dg.AssetChecksDefinition:
    """The `quarantine` check of `stream` (see the module docstring)."""
    entity = stream.tables[0].name
    spec = dg.AssetCheckSpec(
        CHECK,
        asset=table_key(entity),
        description=(
            f"no {stream.name} record held back in _rejected (a record that does not fit"
            f" {entity} is quarantined there while the others load)"
        ),
    )

    @dg.multi_asset_check(specs=[spec], name=f"{op_name(stream.name)}_{CHECK}")
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        with warehouse.connect() as wh:
            held = wh.rejected(stream.name)
            schema = wh.schema
        since = run_created(context)
        now = held.filter(pl.col("last_seen") >= since) if since is not None else held
        result = evaluate(stream.name, schema, held, now)
        yield dg.AssetCheckResult(
            asset_key=table_key(entity),
            check_name=CHECK,
            passed=result.passed,
            severity=result.severity,
            description=result.description,
            metadata=result.metadata,
        )
        if not result.passed and result.severity == dg.AssetCheckSeverity.ERROR:
            raise dg.Failure(  # after the result: it is recorded, then the step fails
                description=result.description,
                metadata={"error": "quarantine", "retried": False},
                allow_retries=False,
            )

    return _check


def evaluate(
    stream: str, schema: str, held: pl.DataFrame, now: pl.DataFrame
) -> dg.AssetCheckResult:
    """The check's result for the `held` rows of `stream`, of which this run received `now`."""
    ids = held.get_column("record_id").to_list()
    metadata: dict[str, dg.MetadataValue] = {
        "quarantined": dg.MetadataValue.int(len(ids)),
        "received_by_this_run": dg.MetadataValue.int(now.height),
        "record_ids": dg.MetadataValue.json(ids[:100]),
        "fields": dg.MetadataValue.json(held.get_column("field").to_list()[:100]),
    }
    if not ids:
        return dg.AssetCheckResult(passed=True, metadata=metadata)
    shown = now if now.height else held
    errors = shown.get_column("error").to_list()
    more = f"; and {len(errors) - SHOWN} more" if len(errors) > SHOWN else ""
    count = f"{shown.height} {stream} record{'s' if shown.height > 1 else ''}"
    listed = f"{'; '.join(errors[:SHOWN])}{more}"
    if now.height:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                f"{count} quarantined in {schema}._rejected (every other record loaded): {listed}"
            ),
            metadata=metadata,
        )
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{count} held in {schema}._rejected since an earlier run (not received again by"
            f" this run): {listed}"
        ),
        metadata=metadata,
    )


def run_created(context: dg.AssetCheckExecutionContext) -> datetime | None:
    """When the check's run was created (rows seen since then were received by this run)."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is None:
        return None
    created: datetime = record.create_timestamp
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)
