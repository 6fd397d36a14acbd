"""A writer process for the crash test: applies numbered batches, resuming from its state.

python -m intercom_assets_tests.warehouse.writer URL SCHEMA FIRST LAST ROWS_PER_BATCH [HISTORY]

HISTORY: comma-separated tables that keep history (none by default).
"""

import sys

import polars as pl

from intercom_assets.warehouse import StateUpdate, connect

from .conftest import CONTACT_TAGS, CONTACTS

STREAM = "contacts"


def batch(number: int, rows: int) -> dict[str, pl.DataFrame]:
    """Batch `number`: `rows` new contacts plus new values for contact 0, and their tags."""
    ids = [f"b{number}-{i}" for i in range(rows)] + ["shared"]
    contacts = pl.DataFrame(
        {
            "id": ids,
            "email": [f"{i}@example.com" for i in ids],
            "session_count": [number] * len(ids),
            "lifetime_value": [None] * len(ids),
            "unsubscribed": [False] * len(ids),
            "updated_at": [None] * len(ids),
            "custom_attributes": [f'{{"batch": {number}, "pad": "{"x" * 200}"}}'] * len(ids),
            "_raw": [f'{{"batch": {number}}}'] * len(ids),
        },
        schema_overrides={
            "lifetime_value": pl.Float64,
            "updated_at": pl.Datetime("us", "UTC"),
        },
    )
    tags = pl.DataFrame({"contact_id": ["shared"], "tag_id": [f"t{number}"]})
    return {"contacts": contacts, "contact_tags": tags}


def main(
    url: str, schema: str, first: int, last: int, rows: int, history: frozenset[str] = frozenset()
) -> None:
    with connect(url, schema=schema, history=history) as wh:
        wh.migrate([CONTACTS, CONTACT_TAGS])
        state = wh.read_state(STREAM) or {"batch": 0}
        for number in range(max(first, state["batch"] + 1), last + 1):
            frames = batch(number, rows)
            print(f"begin {number}", flush=True)
            wh.write(frames, state=StateUpdate(STREAM, {"batch": number}))
            print(f"committed {number}", flush=True)


if __name__ == "__main__":
    url, schema, first, last, rows, *more = sys.argv[1:]
    tables = frozenset(more[0].split(",")) if more else frozenset()
    main(url, schema, int(first), int(last), int(rows), tables)
