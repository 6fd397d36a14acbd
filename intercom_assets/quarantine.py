"""The `quarantine` check: records a stream held back because they do not fit its table.

A stream quarantines a record its table cannot hold (`streams.sync.Run.fit`): the record
goes to the warehouse's `_rejected` table and every other record loads. This check, one per
stream on its entity table (`intercom/<stream>`), reads the stream's unresolved rows there.
The checks of every stream are one step (`intercom__quarantine`, subsettable: a run
evaluates the checks of the streams it selected), after the streams' steps, and not
blocking: its failure fails the run (so the run-failure alert posts it) without holding back
any stream, since no stream step waits for it.

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

from intercom_assets.keys import table_key
from intercom_assets.resources import WarehouseResource
from intercom_assets.streams import Stream

CHECK = "quarantine"
SHOWN = 3
"""How many quarantined records the one-line description names (then "and N more")."""


STEP = "intercom__quarantine"
"""The one step of every stream's `quarantine` check (a run evaluates those it selected)."""


def build_quarantine_checks(streams: Sequence[Stream]) -> list[dg.AssetChecksDefinition]:
    """The `quarantine` check of every stream, on its entity table, as one subsettable step
    (one read of `_rejected` per run, whatever the run selects)."""
    specs = {
        table_key(stream.tables[0].name): (
            stream.name,
            dg.AssetCheckSpec(
                CHECK,
                asset=table_key(stream.tables[0].name),
                description=(
                    f"no {stream.name} record held back in _rejected (a record that does not"
                    f" fit {stream.tables[0].name} is quarantined there while the others load)"
                ),
            ),
        )
        for stream in streams
    }

    @dg.multi_asset_check(specs=[spec for _, spec in specs.values()], name=STEP, can_subset=True)
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = [specs[key.asset_key] for key in context.selected_asset_check_keys]
        with warehouse.connect() as wh:
            held = wh.rejected()
            schema = wh.schema
        since = run_created(context)
        failures = []
        for stream, spec in sorted(selected, key=lambda s: s[0]):
            mine = held.filter(pl.col("stream") == stream)
            now = mine.filter(pl.col("last_seen") >= since) if since is not None else mine
            result = evaluate(stream, schema, mine, now)
            yield dg.AssetCheckResult(
                asset_key=spec.asset_key,
                check_name=CHECK,
                passed=result.passed,
                severity=result.severity,
                description=result.description,
                metadata=result.metadata,
            )
            if not result.passed and result.severity == dg.AssetCheckSeverity.ERROR:
                failures.append(result.description or stream)
        if failures:  # after the results: they are recorded, then the step fails
            raise dg.Failure(
                description="; ".join(failures),
                metadata={"error": "quarantine", "retried": False},
                allow_retries=False,
            )

    return [_check]


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
