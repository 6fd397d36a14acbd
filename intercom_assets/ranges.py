"""Partition ranges a run may cover, checked before the run starts.

A range is refused when it is reversed or reaches outside the partitions (before the first,
which `INTERCOM_ASSETS_START_DATE` sets, or after today); the message names the valid range
and the variable. `intercom-assets load` checks its range here before it launches a run, and
every stream asset checks its run's range again before it fetches anything (a range launched
from the UI or `dagster asset materialize`).
"""

from datetime import date

import dagster as dg

from intercom_assets.problems import Refusal
from intercom_assets.settings import START_DATE


class PartitionRangeError(Refusal):
    """A partition range that is reversed or reaches outside the partitions."""


def valid_range(partitions: dg.DailyPartitionsDefinition) -> tuple[str, str]:
    """The first and the last partition key (today, in the partitions' time zone)."""
    first = partitions.get_first_partition_key()
    last = partitions.get_last_partition_key()
    if first is None or last is None:  # a start date in the future: no partition yet
        start = partitions.start.strftime("%Y-%m-%d")
        raise PartitionRangeError(
            f"there are no partitions yet: {START_DATE.variable}={start} is after today"
        )
    return first, last


def check_range(partitions: dg.DailyPartitionsDefinition, start: str, end: str) -> None:
    """Raise `PartitionRangeError` unless `start...end` are partition keys in order."""
    first, last = valid_range(partitions)
    valid = f"the partitions are {first}...{last} ({START_DATE.variable}={first} sets the first)"
    for name, key in (("start", start), ("end", end)):
        if not _is_date(key):
            raise PartitionRangeError(f"the range's {name} {key!r} is not a date like {first}")
    if start > end:
        raise PartitionRangeError(
            f"the partition range {start}...{end} is reversed: its start is after its end\n{valid}"
        )
    if start < first:
        raise PartitionRangeError(
            f"the partition range {start}...{end} starts before the first partition\n"
            f"{valid}; set {START_DATE.variable} earlier to load older days"
        )
    if end > last:
        raise PartitionRangeError(
            f"the partition range {start}...{end} ends after the last partition (today)\n{valid}"
        )


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
