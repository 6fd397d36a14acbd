"""Daily partitions in the workspace's time zone, and the stream window of a run.

Every stream asset shares one `DailyPartitionsDefinition` with `end_offset=1`, so today's
partition exists for intraday refreshes. A run covers one day or, in a single-run
backfill, a whole range: its window is `[first day's start, last day's end)`.

The first partition also covers everything before it: a window that starts at the first
partition becomes `Window(start=None, end)`, so loading the first day (or a range from
it) brings the whole history up to that day's end.
"""

from datetime import datetime

import dagster as dg

from intercom_assets.settings import PartitionSettings
from intercom_assets.streams.base import Window


def daily_partitions(settings: PartitionSettings) -> dg.DailyPartitionsDefinition:
    """One partition per day from the start date, up to and including today."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date, timezone=settings.timezone, end_offset=1
    )


def stream_window(
    partitions: dg.DailyPartitionsDefinition, start: datetime, end: datetime
) -> Window:
    """The stream window for a run over `[start, end)`: open-ended at the first partition."""
    return Window(start=None if start <= partitions.start else start, end=end)
