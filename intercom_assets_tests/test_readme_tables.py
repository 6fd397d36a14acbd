"""The README's table list names every table of every stream, and says which are partitioned,
as the code location defines them."""

import re
from pathlib import Path

from intercom_assets.assets import build_assets
from intercom_assets.partitions import daily_partitions
from intercom_assets.settings import PartitionSettings
from intercom_assets.streams import STREAMS

README = Path(__file__).resolve().parents[1] / "README.md"
ITEM = re.compile(r"^- (\w+)( \(daily partitions\))?: (.+)$")


def readme_tables() -> tuple[dict[str, list[str]], set[str], str]:
    """The README's **Tables** list: stream -> its tables, the streams marked partitioned,
    and the paragraph's head."""
    text = README.read_text()
    _, _, rest = text.partition("**Tables** (schema `intercom` by default)")
    assert rest, "README has no **Tables** list"
    intro, _, items = rest.partition("\n\n")
    listed: dict[str, list[str]] = {}
    partitioned: set[str] = set()
    for line in items.split("\n\n", 1)[0].splitlines():
        found = ITEM.match(line)
        assert found, f"not a table list item: {line!r}"
        stream, marked, tables = found.groups()
        listed[stream] = re.findall(r"`(\w+)`", tables)
        if marked:
            partitioned.add(stream)
    return listed, partitioned, intro


def test_the_readme_lists_every_table_and_the_partitioned_ones() -> None:
    assets = build_assets(daily_partitions(PartitionSettings("2026-01-01", "UTC")))
    partitioned_tables = {
        key.path[-1] for a in assets if a.partitions_def is not None for key in a.keys
    }
    listed, partitioned, intro = readme_tables()
    assert listed == {s.name: [t.name for t in s.tables] for s in STREAMS}
    assert partitioned == {
        s.name for s in STREAMS if {t.name for t in s.tables} <= partitioned_tables
    }
    assert {t for s in partitioned for t in listed[s]} == partitioned_tables
    total = sum(len(tables) for tables in listed.values())
    assert f"{total} in all" in intro
    assert f"{len(partitioned_tables)} tables of the {len(partitioned)} windowed" in " ".join(
        intro.split()
    )
