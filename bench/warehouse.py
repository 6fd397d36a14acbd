"""Warehouse benchmark: the naive per-row upsert against diff-then-write, on PostgreSQL and DuckDB.

For N contacts (35 columns, one JSON column) it measures, side by side in one run:

- naive: the approach this project replaces. Every day all N rows are sent as one
  `INSERT ... ON CONFLICT DO UPDATE` statement per row (PostgreSQL only).
- initial: the warehouse loading N rows into an empty table (batches of BATCH rows, sent with
  `Warehouse.submit`; the timing covers building the batches too, from the first batch to
  the final `close()`).
- daily: the warehouse on a day where 1% of the rows changed: every row goes through the
  warehouse in batches (hash, read stored hashes, diff), only the changed rows are written.
  Before it, PostgreSQL gets the `VACUUM (ANALYZE)` autovacuum would run after the initial
  load (autovacuum is off on the benchmark server); the naive baseline gets the same. Every
  PostgreSQL scenario starts after a CHECKPOINT, so none pays for the previous one's writes.
- small batches: 50k rows written in stream-sized transactions (1,000 and 10,000 rows), new
  and then unchanged, to show the fixed cost per `write()`.

Each scenario runs in a fresh child process, so its peak RSS is its own.

    .venv/bin/python bench/warehouse.py [--quick]   # --quick: 10k rows, results printed only
    .venv/bin/python bench/warehouse.py --rerun 100000   # side-by-side rerun, added to the json
"""

import argparse
import io
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.ipc as pa_ipc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intercom_assets.warehouse import JSON, Column, TableSpec, connect

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# fixed in the parent, inherited by the spawned scenario processes
SCHEMA = os.environ.setdefault("BENCH_WAREHOUSE_SCHEMA", f"bench_warehouse_{os.getpid()}")
BATCH = 50_000
CHANGED_EVERY = 100  # 1% of rows change on day 1
SMALL_BATCHES = (1_000, 10_000)  # stream-sized transactions (streams write 10,000 by default)
SMALL_BATCH_ROWS = 50_000
RESULTS = Path(__file__).parent / "results" / "warehouse.json"
STRING_COLUMNS = [f"s{i:02d}" for i in range(19)]
TIME_COLUMNS = [f"t{i}" for i in range(8)]
BASE_SECONDS = 1_600_000_000


def spec() -> TableSpec:
    columns = [Column("id", pl.String, nullable=False)]
    columns += [Column(name, pl.String) for name in STRING_COLUMNS]
    columns += [Column("session_count", pl.Int64), Column("owner_id", pl.Int64)]
    columns += [Column(f"b{i}", pl.Boolean) for i in range(3)]
    columns += [Column(name, pl.Datetime("us", "UTC")) for name in TIME_COLUMNS]
    columns += [Column("lifetime_value", pl.Float64), Column("custom_attributes", JSON)]
    return TableSpec("contacts", tuple(columns), ("id",))


def make_batch(start: int, stop: int, day: int) -> pl.DataFrame:
    """Rows start..stop of the contact snapshot of `day`; day 1 changes every 100th row."""
    i = pl.int_range(start, stop, dtype=pl.Int64)
    changed = (pl.lit(day) > 0) & (i % CHANGED_EVERY == 37)
    bump = pl.when(changed).then(pl.lit(1)).otherwise(pl.lit(0))
    strings = {
        name: pl.concat_str([pl.lit(f"{name}-value-"), (i * (k + 3) % 100_003).cast(pl.String)])
        for k, name in enumerate(STRING_COLUMNS)
    }
    strings["s00"] = pl.concat_str([pl.lit("user"), i.cast(pl.String), pl.lit("@example.com")])
    strings["s05"] = pl.when(i % 7 == 0).then(None).otherwise(strings["s05"])
    times = {
        name: pl.when((i + k) % 4 == 0)
        .then(None)
        .otherwise(
            pl.from_epoch(pl.lit(BASE_SECONDS) + i * 13 + k * 86_400 + bump * 3_600, time_unit="s")
        )
        .cast(pl.Datetime("us", "UTC"))
        for k, name in enumerate(TIME_COLUMNS)
    }
    custom = pl.concat_str(
        [
            pl.lit('{"plan":"pro","seats":'),
            (i % 50 + bump).cast(pl.String),
            pl.lit(',"region":"eu-west-1","score":'),
            (i % 997).cast(pl.String),
            pl.lit(',"beta":true,"referrer":"https://partner.example.com/r/'),
            (i % 313).cast(pl.String),
            pl.lit('","tier":"gold","owner":"team-'),
            (i % 17).cast(pl.String),
            pl.lit('","nps":9,"churn_risk":0.125,"tags":["a","b"],"lang":"en",'),
            pl.lit('"source":"web","signup_step":4,"trial":false,"seats_used":3}'),
        ]
    )
    frame = pl.select(
        id=pl.concat_str([pl.lit("c"), i.cast(pl.String).str.zfill(23)]),
        **strings,
        session_count=i % 1000 + bump,
        owner_id=i % 50,
        b0=i % 2 == 0,
        b1=i % 3 == 0,
        b2=i % 5 == 0,
        **times,
        lifetime_value=pl.when(i % 10 < 3).then(None).otherwise((i % 10_000) / 7),
        custom_attributes=custom,
    )
    return frame.with_columns(_raw=pl.struct(pl.all()).struct.json_encode())


def batches(n: int, day: int, batch: int = BATCH) -> Iterator[pl.DataFrame]:
    for start in range(0, n, batch):
        yield make_batch(start, min(n, start + batch), day)


def spill(n: int, day: int, batch: int, workdir: str) -> list[Path]:
    """The day's batches written to Arrow IPC files (untimed), so a timed loop only maps
    them back (memory-mapped) and the batch generator's cost is not counted."""
    folder = Path(workdir) / f"batches_{n}_{day}_{batch}"
    if not folder.exists():
        folder.mkdir(parents=True)
        for number, frame in enumerate(batches(n, day, batch)):
            frame.write_ipc(folder / f"{number:05d}.arrow")
    return sorted(folder.glob("*.arrow"))


def spilled(files: list[Path]) -> Iterator[pl.DataFrame]:
    """The spilled batches, memory-mapped (zero copy: Arrow string views map to polars')."""
    for file in files:
        yield pl.from_arrow(pa_ipc.open_file(pa.memory_map(str(file))).read_all())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warehouse_url(backend: str, workdir: str, n: int) -> str:
    if backend == "postgres":
        return PG_URL
    return f"duckdb:///{workdir}/bench_{n}.duckdb"


def run_warehouse(
    backend: str, workdir: str, n: int, day: int, batch: int = BATCH, schema_suffix: str = ""
) -> dict:
    """Send the day's snapshot through the warehouse in batches with `submit` (the next batch
    is hashed while the previous one is written) and time the whole loop, from reading the
    first spilled batch to the final close (which waits for the last batch)."""
    schema = f"{SCHEMA}_{n}{schema_suffix}"
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}
    load = os.getloadavg()[0]
    files = spill(n, day, batch, workdir)
    wh = connect(warehouse_url(backend, workdir, n), schema=schema)
    wh.migrate([spec()])

    def add(result) -> None:
        counts = result.tables["contacts"]
        for key in totals:
            totals[key] += getattr(counts, key)

    started = time.perf_counter()
    for frame in spilled(files):
        wh.submit({"contacts": frame}, on_written=add)
    wh.close()
    seconds = time.perf_counter() - started
    with connect(warehouse_url(backend, workdir, n), schema=schema) as wh:
        wh.register([spec()])
        live = wh.count_live("contacts")
    return {
        "seconds": seconds,
        "rows_per_s": n / seconds,
        "peak_rss_mb": peak_rss_mb(),
        **totals,
        "live": live,
        "load_average_at_start": load,
    }


def vacuum_analyze(n: int, schema_suffix: str = "") -> None:
    """What autovacuum does after a bulk load (it is off on the benchmark server): set the
    visibility map, so reading stored hashes is an index-only scan, and refresh statistics.
    The naive baseline's table gets the same before its timed run."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'VACUUM (ANALYZE) "{SCHEMA}_{n}{schema_suffix}".contacts')


def checkpoint() -> None:
    """Write out dirty pages between scenarios, so none pays for the previous one's writes
    (the naive run's timed part starts after its own preload, VACUUM and CHECKPOINT)."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def run_small_batches(n: int, batch: int) -> dict:
    """A stream's shape: n new rows, then the same n unchanged, in batches of `batch` rows."""
    suffix = f"_b{batch}"
    with tempfile.TemporaryDirectory() as workdir:
        new = run_warehouse("postgres", workdir, n, 0, batch, suffix)
        unchanged = run_warehouse("postgres", workdir, n, 0, batch, suffix)
    return {
        "batch_rows": batch,
        "new_rows_per_s": new["rows_per_s"],
        "unchanged_rows_per_s": unchanged["rows_per_s"],
        "ms_per_write_new": 1000 * new["seconds"] / -(-n // batch),
        "ms_per_write_unchanged": 1000 * unchanged["seconds"] / -(-n // batch),
    }


NAIVE_COLUMNS = [c.name for c in spec().columns]


def naive_table_sql(schema: str) -> str:
    types = {pl.String: "text", pl.Int64: "bigint", pl.Boolean: "boolean", pl.Float64: "float8"}
    cols = []
    for column in spec().columns:
        if column.name == "custom_attributes":
            sql_type = "jsonb"
        elif isinstance(column.dtype, pl.Datetime):
            sql_type = "timestamptz"
        else:
            sql_type = types[column.dtype]
        cols.append(f'"{column.name}" {sql_type}')
    return f'CREATE TABLE "{schema}".naive ({", ".join(cols)}, PRIMARY KEY (id))'


def run_naive(n: int) -> dict:
    """Preload day 0 with COPY (untimed), then upsert all of day 1 one statement per row."""
    schema = f"{SCHEMA}_{n}"
    names = ", ".join(f'"{c}"' for c in NAIVE_COLUMNS)
    placeholders = ", ".join(
        "%s::jsonb" if c == "custom_attributes" else "%s" for c in NAIVE_COLUMNS
    )
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in NAIVE_COLUMNS[1:])
    upsert = (
        f'INSERT INTO "{schema}".naive ({names}) VALUES ({placeholders})'
        f" ON CONFLICT (id) DO UPDATE SET {updates}"
    )
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(naive_table_sql(schema))
        for frame in batches(n, day=0):
            buffer = io.BytesIO()
            frame.drop("_raw").write_csv(buffer, include_header=False)
            with conn.cursor().copy(f'COPY "{schema}".naive FROM STDIN (FORMAT csv)') as copy:
                copy.write(buffer.getvalue())
        conn.execute(f'VACUUM ANALYZE "{schema}".naive')
        conn.execute("CHECKPOINT")
        seconds = 0.0
        with conn.transaction(), conn.cursor() as cur:
            for frame in batches(n, day=1):
                rows = list(frame.drop("_raw").iter_rows())
                started = time.perf_counter()
                for row in rows:
                    cur.execute(upsert, row)
                seconds += time.perf_counter() - started
    return {"seconds": seconds, "rows_per_s": n / seconds, "peak_rss_mb": peak_rss_mb()}


def in_child(function, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def drop_schemas(sizes: list[int]) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for n in sizes:
            conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}_{n}" CASCADE')
        for batch in SMALL_BATCHES:
            conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}_{SMALL_BATCH_ROWS}_b{batch}" CASCADE')


def versions() -> dict:
    with psycopg.connect(PG_URL) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "python": platform.python_version(),
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        "psycopg": psycopg.__version__,
        "postgresql": server,
    }


def run_size(n: int, workdir: str) -> dict:
    entry: dict = {"rows": n, "load_average_at_start": os.getloadavg()}
    entry["pg_naive"] = in_child(run_naive, n)
    checkpoint()
    entry["pg_initial"] = in_child(run_warehouse, "postgres", workdir, n, 0)
    vacuum_analyze(n)
    checkpoint()
    entry["pg_daily"] = in_child(run_warehouse, "postgres", workdir, n, 1)
    entry["duckdb_initial"] = in_child(run_warehouse, "duckdb", workdir, n, 0)
    entry["duckdb_daily"] = in_child(run_warehouse, "duckdb", workdir, n, 1)
    entry["speedup_daily_vs_naive"] = entry["pg_naive"]["seconds"] / entry["pg_daily"]["seconds"]
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k rows only")
    parser.add_argument(
        "--rerun",
        type=int,
        metavar="ROWS",
        help="run one size again and add it to the recorded results under 'reruns'",
    )
    args = parser.parse_args()
    if args.rerun:
        rerun(args.rerun)
        return
    sizes = [10_000] if args.quick else [10_000, 100_000, 1_000_000]
    load_before = os.getloadavg()
    rows = []
    small: list[dict] = []
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for n in sizes:
                rows.append(run_size(n, workdir))
                print_row(rows[-1])
            for batch in SMALL_BATCHES:
                small.append(in_child(run_small_batches, SMALL_BATCH_ROWS, batch))
            print_small(small)
    finally:
        drop_schemas(sizes)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "batch_rows": BATCH,
        "columns": len(spec().columns),
        "changed_fraction": 1 / CHANGED_EVERY,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "versions": versions(),
        "sizes": rows,
        "small_batches": {"rows": SMALL_BATCH_ROWS, "runs": small},
    }
    if args.quick:  # a smoke run never replaces the recorded results
        print(f"load average {load_before} -> {os.getloadavg()}; --quick: nothing recorded")
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"load average {load_before} -> {os.getloadavg()}; written {RESULTS}")


def rerun(n: int) -> None:
    """Run one size again (side by side: naive, then ours) and record it next to the run."""
    try:
        with tempfile.TemporaryDirectory() as workdir:
            entry = run_size(n, workdir)
    finally:
        drop_schemas([n])
    entry["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    entry["load_average_after"] = os.getloadavg()
    print_row(entry)
    results = json.loads(RESULTS.read_text())
    results.setdefault("reruns", []).append(entry)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"added to {RESULTS}")


def print_small(runs: list[dict]) -> None:
    print(f"\nPostgreSQL, {SMALL_BATCH_ROWS:,} rows in stream-sized transactions")
    for r in runs:
        print(
            f"  batch {r['batch_rows']:>6,}: new {r['new_rows_per_s']:>8,.0f} rows/s"
            f" ({r['ms_per_write_new']:.0f} ms/write), unchanged"
            f" {r['unchanged_rows_per_s']:>8,.0f} rows/s"
            f" ({r['ms_per_write_unchanged']:.0f} ms/write)"
        )


def print_row(entry: dict) -> None:
    n = entry["rows"]
    print(f"\n{n:>9,} rows          seconds     rows/s   peak RSS MB  written")
    for key in ["pg_naive", "pg_initial", "pg_daily", "duckdb_initial", "duckdb_daily"]:
        r = entry[key]
        written = r.get("inserted", n) + r.get("updated", 0)
        print(
            f"  {key:<18}{r['seconds']:>9.2f} {r['rows_per_s']:>10,.0f} {r['peak_rss_mb']:>12,.0f}"
            f"  {written:>8,}"
        )
    print(f"  daily speedup over naive (PostgreSQL): {entry['speedup_daily_vs_naive']:.1f}x")


if __name__ == "__main__":
    main()
