"""Warehouse benchmark: diff-then-write against what users would pick instead, on PostgreSQL
and DuckDB.

For N contacts (35 columns, one JSON column, plus the whole record as JSON in `_raw`) it
measures, side by side in one run:

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
- history: the same initial and daily runs with history on for the table (the replaced
  versions copied into `contacts_history_closed`, in the same transactions).
- set-based upsert (`set_*`): what a careful SQL user writes. Each batch of every row is
  staged (PostgreSQL: COPY into a temporary table; DuckDB: the Arrow frame itself) and goes
  through one `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE (t.*) IS DISTINCT FROM
  (excluded.*)` (DuckDB: the same per column), so the server finds the changed rows; one
  transaction. The JSON columns are `jsonb` on PostgreSQL (`json` has no equality).
- dlt merge (`dlt_*`): dlt 1.x `merge` (primary key `id`, default `delete-insert` strategy),
  the same columns and JSON columns, fed the same batches as Arrow tables (dlt's fast path;
  CSV load files on PostgreSQL, dlt's faster choice there). The timing covers
  `pipeline.run` (extract, normalize, load). Needs the `bench` extra (`pip install -e
  .[bench]`).
- small batches: 50k rows written in stream-sized transactions (1,000 and 10,000 rows), new
  and then unchanged, to show the fixed cost per `write()`.

Each scenario runs in a fresh child process, so its peak RSS is its own.

    .venv/bin/python bench/warehouse.py [--quick]   # --quick: 10k rows, results printed only
    .venv/bin/python bench/warehouse.py --sizes 100000   # chosen sizes, results printed only
    .venv/bin/python bench/warehouse.py --rerun 100000   # side-by-side rerun, added to the json
    .venv/bin/python bench/warehouse.py --where-history 1000000   # DuckDB history, by statement
"""

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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
NAIVE_MAX_ROWS = 100_000  # the per-row upsert takes minutes beyond (about 200 s at 1M)
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


def warehouse_url(backend: str, workdir: str, n: int, suffix: str = "") -> str:
    if backend == "postgres":
        return PG_URL
    return f"duckdb:///{workdir}/bench_{n}{suffix}.duckdb"


HISTORY_SUFFIX = "_hist"


def run_warehouse(
    backend: str,
    workdir: str,
    n: int,
    day: int,
    batch: int = BATCH,
    schema_suffix: str = "",
    history: bool = False,
) -> dict:
    """Send the day's snapshot through the warehouse in batches with `submit` (the next batch
    is hashed while the previous one is written) and time the whole loop, from reading the
    first spilled batch to the final close (which waits for the last batch)."""
    if history:
        schema_suffix += HISTORY_SUFFIX
    schema = f"{SCHEMA}_{n}{schema_suffix}"
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}
    load = os.getloadavg()[0]
    files = spill(n, day, batch, workdir)
    url = warehouse_url(backend, workdir, n, schema_suffix)
    tables = frozenset({"contacts"}) if history else frozenset()
    wh = connect(url, schema=schema, history=tables)
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
    versions = None
    with connect(url, schema=schema, history=tables) as wh:
        wh.register([spec()])
        live = wh.count_live("contacts")
        if history:
            versions = wh.query(
                f"SELECT COUNT(*) AS n FROM {wh.db.table('contacts_history')}"
            ).item()
    return {
        "seconds": seconds,
        "rows_per_s": n / seconds,
        "peak_rss_mb": peak_rss_mb(),
        **totals,
        "live": live,
        **({"history_versions": versions} if history else {}),
        "load_average_at_start": load,
    }


def vacuum_analyze(
    n: int, schema_suffix: str = "", tables: tuple[str, ...] = ("contacts",)
) -> None:
    """What autovacuum does after a bulk load (it is off on the benchmark server): set the
    visibility map, so reading stored hashes is an index-only scan, and refresh statistics.
    Every baseline's table gets the same before its timed daily run."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for table in tables:
            conn.execute(f'VACUUM (ANALYZE) "{SCHEMA}_{n}{schema_suffix}".{table}')


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


# --- baselines users would pick instead ----------------------------------------------------

SET_SUFFIX = "_set"
DLT_SUFFIX = "_dlt"
BASELINE_COLUMNS = [*NAIVE_COLUMNS, "_raw"]


def baseline_types(backend: str) -> dict[str, str]:
    """SQL types of the baselines' columns: the declared ones, JSON for the JSON columns."""
    pg = backend == "postgres"
    types = {
        pl.String: "text" if pg else "VARCHAR",
        pl.Int64: "bigint",
        pl.Boolean: "boolean",
        pl.Float64: "double precision" if pg else "DOUBLE",
    }
    out = {}
    for column in spec().columns:
        if column.name == "custom_attributes":
            out[column.name] = "jsonb" if pg else "JSON"
        elif isinstance(column.dtype, pl.Datetime):
            out[column.name] = "timestamptz"
        else:
            out[column.name] = types[column.dtype]
    out["_raw"] = "jsonb" if pg else "JSON"
    return out


def set_based_sql(backend: str, target: str, source: str) -> str:
    """The set-based upsert: every staged row, changed ones written (the server compares)."""
    names = ", ".join(f'"{c}"' for c in BASELINE_COLUMNS)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in BASELINE_COLUMNS[1:])
    if backend == "postgres":
        changed = "(t.*) IS DISTINCT FROM (EXCLUDED.*)"
        into = f"{target} AS t"
    else:  # DuckDB has no whole-row comparison here: the same, column by column
        changed = " OR ".join(
            f'"{c}" IS DISTINCT FROM EXCLUDED."{c}"' for c in BASELINE_COLUMNS[1:]
        )
        into = target
    return (
        f"INSERT INTO {into} ({names}) SELECT {names} FROM {source}"
        f" ON CONFLICT (id) DO UPDATE SET {updates} WHERE {changed}"
    )


def run_set_based(backend: str, workdir: str, n: int, day: int) -> dict:
    """Every row of the day, batch by batch, through the set-based upsert; one transaction.
    The table is created (untimed) when missing."""
    schema = f"{SCHEMA}_{n}{SET_SUFFIX}"
    target = f'"{schema}".contacts'
    types = baseline_types(backend)
    columns = ", ".join(f'"{c}" {types[c]}' for c in BASELINE_COLUMNS)
    create = f"CREATE TABLE IF NOT EXISTS {target} ({columns}, PRIMARY KEY (id))"
    load = os.getloadavg()[0]
    files = spill(n, day, BATCH, workdir)
    written = 0
    if backend == "postgres":
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            conn.execute(create)
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(f"CREATE TEMP TABLE stage ({columns}) ON COMMIT DROP")
                for frame in spilled(files):
                    buffer = io.BytesIO()
                    frame.select(BASELINE_COLUMNS).write_csv(buffer, include_header=False)
                    with cur.copy("COPY stage FROM STDIN (FORMAT csv)") as copy:
                        copy.write(buffer.getvalue())
                    cur.execute("ANALYZE stage")
                    cur.execute(set_based_sql(backend, target, "stage"))
                    written += cur.rowcount
                    cur.execute("TRUNCATE stage")
            seconds = time.perf_counter() - started
    else:
        path = f"{workdir}/bench_{n}{SET_SUFFIX}.duckdb"
        with duckdb.connect(path) as conn:
            conn.execute("SET enable_progress_bar = false")
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            conn.execute(create)
            started = time.perf_counter()
            conn.execute("BEGIN TRANSACTION")
            for frame in spilled(files):
                conn.register("batch", frame.select(BASELINE_COLUMNS))
                casts = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in BASELINE_COLUMNS)
                source = f"(SELECT {casts} FROM batch)"
                row = conn.execute(set_based_sql(backend, target, source)).fetchone()
                written += row[0] if row else 0
                conn.unregister("batch")
            conn.execute("COMMIT")
            seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows_per_s": n / seconds,
        "peak_rss_mb": peak_rss_mb(),
        "written": written,
        "load_average_at_start": load,
    }


def dlt_postgres_credentials() -> str:
    """PG_URL with a password: dlt asks for one even where the server trusts the user."""
    parts = urlsplit(PG_URL)
    if parts.password is not None:
        return PG_URL
    netloc = f"{parts.username or 'postgres'}:unused@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


def run_dlt(backend: str, workdir: str, n: int, day: int) -> dict:
    """The day's batches through a dlt `merge` pipeline (one `pipeline.run`)."""
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt

    load = os.getloadavg()[0]
    files = spill(n, day, BATCH, workdir)
    if backend == "postgres":
        destination = dlt.destinations.postgres(credentials=dlt_postgres_credentials())
        file_format = "csv"
    else:
        destination = dlt.destinations.duckdb(credentials=f"{workdir}/bench_{n}{DLT_SUFFIX}.duckdb")
        file_format = None
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{backend}_{n}",
        destination=destination,
        dataset_name=f"{SCHEMA}_{n}{DLT_SUFFIX}",
        pipelines_dir=f"{workdir}/dlt",
    )
    hints = {"custom_attributes": {"data_type": "json"}, "_raw": {"data_type": "json"}}
    resource = dlt.resource(
        (frame.select(BASELINE_COLUMNS).to_arrow() for frame in spilled(files)),
        name="contacts",
        write_disposition="merge",
        primary_key="id",
        columns=hints,
    )
    started = time.perf_counter()
    pipeline.run(resource, loader_file_format=file_format)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows_per_s": n / seconds,
        "peak_rss_mb": peak_rss_mb(),
        "dlt": dlt.__version__,
        "load_average_at_start": load,
    }


STATEMENT_KINDS = (
    ("INSERT INTO", "_history_closed", "copy the replaced versions (history)"),
    ("DELETE", "", "delete the replaced rows"),
    ("INSERT INTO", "", "insert the written rows"),
    ("SELECT", "", "read the stored hashes"),
)


def statement_kind(sql: str) -> str:
    for start, contains, kind in STATEMENT_KINDS:
        if sql.lstrip().startswith(start) and contains in sql:
            return kind
    return "other statements"


def where_the_time_goes(backend: str, workdir: str, n: int, history: bool) -> dict:
    """The 1%-changed day on DuckDB (after an untimed initial load), with the seconds spent
    inside each kind of statement of the writer's transactions, their commits, and the
    closing checkpoint. The statements are timed by wrapping the DuckDB session's methods
    in this child process only."""
    assert backend == "duckdb"
    from intercom_assets.warehouse import duck

    run_warehouse(backend, workdir, n, 0, BATCH, "_explain", history)
    spent: dict[str, float] = {}

    def timed(method):
        def wrapper(self, sql, *args, **kwargs):
            started = time.perf_counter()
            try:
                return method(self, sql, *args, **kwargs)
            finally:
                kind = statement_kind(sql)
                spent[kind] = spent.get(kind, 0.0) + time.perf_counter() - started

        return wrapper

    duck.DuckDBSession.execute = timed(duck.DuckDBSession.execute)
    duck.DuckDBSession.query = timed(duck.DuckDBSession.query)
    session = duck.DuckDBBackend.session

    @contextlib.contextmanager
    def timed_session(self):
        with session(self) as s:
            yield s
            committing = time.perf_counter()
        spent["commit"] = spent.get("commit", 0.0) + time.perf_counter() - committing

    duck.DuckDBBackend.session = timed_session
    close = duck.DuckDBBackend.close

    def timed_close(self):
        started = time.perf_counter()
        close(self)
        spent["checkpoint at close"] = spent.get("checkpoint at close", 0.0) + (
            time.perf_counter() - started
        )

    duck.DuckDBBackend.close = timed_close
    result = run_warehouse(backend, workdir, n, 1, BATCH, "_explain", history)
    return {"seconds": result["seconds"], "history": history, "spent": spent}


def explain_history(n: int) -> None:
    """DuckDB's daily run with history off and on, side by side, split by statement kind;
    added to the recorded results under `where_the_time_goes`."""
    with tempfile.TemporaryDirectory() as workdir:
        runs = [in_child(where_the_time_goes, "duckdb", workdir, n, h) for h in (False, True)]
    off, on = runs
    kinds = sorted(set(off["spent"]) | set(on["spent"]))
    print(
        f"{n:,} rows, DuckDB, 1% changed: history off {off['seconds']:.2f} s, on"
        f" {on['seconds']:.2f} s (+{on['seconds'] / off['seconds'] - 1:.0%})"
    )
    for kind in kinds:
        print(f"  {kind:<40} {off['spent'].get(kind, 0):6.2f} {on['spent'].get(kind, 0):6.2f} s")
    results = json.loads(RESULTS.read_text())
    results["where_the_time_goes"] = {
        "what": "DuckDB daily run (1% changed), history off and on, seconds inside each kind"
        " of statement (the writer thread; batches are prepared meanwhile on the caller's)",
        "rows": n,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        "history_off": off,
        "history_on": on,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"added to {RESULTS}")


def in_child(function, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def drop_schemas(sizes: list[int]) -> None:
    suffixes = ("", HISTORY_SUFFIX, SET_SUFFIX, DLT_SUFFIX, f"{DLT_SUFFIX}_staging")
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for n in sizes:
            for suffix in suffixes:
                conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}_{n}{suffix}" CASCADE')
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


def run_size(
    n: int,
    workdir: str,
    naive: bool = True,
    entry: dict | None = None,
    progress: Callable[[dict], None] = lambda _: None,
    backends: tuple[str, ...] = ("postgres", "duckdb"),
    only: tuple[str, ...] = ("ours", "history", "set", "dlt"),
) -> dict:
    """Every contender at `n` rows, side by side; `progress(entry)` after each measurement."""
    entry = {"rows": n} if entry is None else entry
    entry["load_average_at_start"] = os.getloadavg()

    def measured(key: str, result: dict) -> None:
        entry[key] = result
        print(f"  {n:,} {key}: {result['seconds']:.2f} s", flush=True)
        progress(entry)

    naive = naive and "postgres" in backends
    if naive:
        measured("pg_naive", in_child(run_naive, n))
    for prefix, backend in (("pg", "postgres"), ("duckdb", "duckdb")):
        if backend not in backends:
            continue
        # each contender: its initial load, then (PostgreSQL: after VACUUM) the daily run
        contenders = {
            "ours": ("", run_warehouse, ()),
            "history": ("history_", run_warehouse, (BATCH, "", True)),
            "set": ("set_", run_set_based, ()),
            "dlt": ("dlt_", run_dlt, ()),
        }
        for name, function, extra in (contenders[c] for c in only):
            if backend == "postgres":
                checkpoint()
            measured(f"{prefix}_{name}initial", in_child(function, backend, workdir, n, 0, *extra))
            if backend == "postgres":
                suffix = {"history_": HISTORY_SUFFIX, "set_": SET_SUFFIX, "dlt_": DLT_SUFFIX}
                history = ("contacts", "contacts_history_closed")
                tables = history if name == "history_" else ("contacts",)
                vacuum_analyze(n, suffix.get(name, ""), tables)
                checkpoint()
            measured(f"{prefix}_{name}daily", in_child(function, backend, workdir, n, 1, *extra))
    if naive and "pg_daily" in entry:
        entry["speedup_daily_vs_naive"] = (
            entry["pg_naive"]["seconds"] / entry["pg_daily"]["seconds"]
        )
    entry["ratios"] = ratios(entry)
    progress(entry)
    return entry


GOALS = {
    "daily_vs_dlt": 5.0,
    "daily_vs_set_based": 3.0,
    "history_overhead_daily": 0.20,
    "initial_rows_per_s_vs_dlt": 1.0,
}
"""The goals at 1M rows: daily wall time at least 5x less than dlt's merge and 3x less than
the set-based upsert; history adds at most 20% to the daily write; the initial load at
least dlt's rows per second."""


def ratios(entry: dict) -> dict:
    """Per backend, the measured side of each goal and whether it is met; a goal whose
    measurements are missing says so."""
    out = {}
    for prefix in ("pg", "duckdb"):

        def seconds(key: str, prefix: str = prefix) -> float | None:
            found = entry.get(f"{prefix}_{key}")
            return None if found is None else found["seconds"]

        daily, initial = seconds("daily"), seconds("initial")
        if daily is None or initial is None:
            continue
        pairs = {
            "daily_vs_dlt": (seconds("dlt_daily"), daily),
            "daily_vs_set_based": (seconds("set_daily"), daily),
            "history_overhead_daily": (seconds("history_daily"), daily),
            "initial_rows_per_s_vs_dlt": (seconds("dlt_initial"), initial),
            "history_overhead_initial": (seconds("history_initial"), initial),
        }
        goals = {}
        for name, (theirs, ours) in pairs.items():
            if theirs is None:
                goals[name] = {"measured": None, "note": "not measured in this run"}
                continue
            overhead = name.startswith("history")
            value = theirs / ours - 1 if overhead else theirs / ours
            goal: dict = {"measured": value}
            if name in GOALS:
                goal["goal"] = GOALS[name]
                goal["met"] = value <= GOALS[name] if overhead else value >= GOALS[name]
            goals[name] = goal
        out[prefix] = goals
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k rows only")
    parser.add_argument(
        "--sizes", type=int, nargs="+", metavar="ROWS", help="these sizes only (nothing recorded)"
    )
    parser.add_argument(
        "--rerun",
        type=int,
        metavar="ROWS",
        help="run one size again and add it to the recorded results under 'reruns'",
    )
    parser.add_argument(
        "--table", action="store_true", help="print the recorded baselines as a Markdown table"
    )
    parser.add_argument(
        "--where-history",
        type=int,
        metavar="ROWS",
        help="DuckDB's daily run with history off and on, split by statement (added to the json)",
    )
    parser.add_argument(
        "--backends", nargs="+", choices=["postgres", "duckdb"], default=["postgres", "duckdb"]
    )
    parser.add_argument(
        "--results", type=Path, help="record into this file (also with --sizes) instead"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["ours", "history", "set", "dlt"],
        default=["ours", "history", "set", "dlt"],
        help="these contenders only, in this order",
    )
    args = parser.parse_args()
    if args.table:
        print(markdown(json.loads(RESULTS.read_text())))
        return
    if args.rerun:
        rerun(args.rerun)
        return
    if args.where_history:
        explain_history(args.where_history)
        return
    sizes = [10_000] if args.quick else [100_000, 1_000_000]
    if args.sizes:
        sizes = args.sizes
        args.quick = args.results is None  # a partial run never replaces the recorded results
    path = args.results or RESULTS
    load_before = os.getloadavg()
    rows: list[dict] = []
    small: list[dict] = []
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": False,
        "quick": args.quick,
        "batch_rows": BATCH,
        "columns": len(spec().columns),
        "changed_fraction": 1 / CHANGED_EVERY,
        "load_average_before": load_before,
        "cpus": os.cpu_count(),
        "versions": versions(),
        "goals": {"at_rows": 1_000_000, **GOALS},
        "sizes": rows,
        "small_batches": {"rows": SMALL_BATCH_ROWS, "runs": small},
    }

    def record(_: dict | None = None) -> None:
        """Write what is measured so far (a long run that is stopped keeps its figures)."""
        results["load_average_after"] = os.getloadavg()
        if not args.quick:  # a smoke run never replaces the recorded results
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=2) + "\n")

    try:
        with tempfile.TemporaryDirectory() as workdir:
            for n in sizes:
                entry: dict = {"rows": n}
                rows.append(entry)
                run_size(
                    n,
                    workdir,
                    naive=n <= NAIVE_MAX_ROWS,
                    entry=entry,
                    progress=record,
                    backends=tuple(args.backends),
                    only=tuple(args.only),
                )
                print_row(entry)
            if "postgres" in args.backends:
                for batch in SMALL_BATCHES:
                    small.append(in_child(run_small_batches, SMALL_BATCH_ROWS, batch))
                print_small(small)
    finally:
        drop_schemas(sizes)
    results["complete"] = True
    record()
    done = "--quick: nothing recorded" if args.quick else f"written {path}"
    print(f"load average {load_before} -> {os.getloadavg()}; {done}")


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


CONTENDERS = (
    ("", "ours"),
    ("history_", "ours, history on"),
    ("set_", "set-based upsert"),
    ("dlt_", "dlt merge"),
)


def markdown(results: dict) -> str:
    """The baselines side by side: wall seconds (rows/s) and peak RSS, per size and backend."""
    lines = [
        "| rows | backend | contender | initial load | daily, 1% changed"
        " | peak RSS initial / daily |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for entry in results["sizes"]:
        for prefix, backend in (("pg", "PostgreSQL"), ("duckdb", "DuckDB")):
            for name, label in CONTENDERS:
                initial = entry.get(f"{prefix}_{name}initial")
                daily = entry.get(f"{prefix}_{name}daily")
                if initial is None:
                    continue
                cells = [
                    f"{initial['seconds']:.2f} s ({initial['rows_per_s'] / 1000:.1f}k rows/s)",
                    f"{daily['seconds']:.2f} s" if daily else "not run",
                    f"{initial['peak_rss_mb']:.0f} / "
                    + (f"{daily['peak_rss_mb']:.0f} MB" if daily else "-"),
                ]
                lines.append(
                    f"| {entry['rows']:,} | {backend} | {label} | " + " | ".join(cells) + " |"
                )
    return "\n".join(lines)


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
    print(f"\n{n:>9,} rows                 seconds     rows/s   peak RSS MB  written")
    for key, r in entry.items():
        if not isinstance(r, dict) or "seconds" not in r:
            continue
        written = r.get("written", r.get("inserted", n) + r.get("updated", 0))
        print(
            f"  {key:<25}{r['seconds']:>9.2f} {r['rows_per_s']:>10,.0f}"
            f" {r['peak_rss_mb']:>12,.0f}  {written:>8,}"
        )
    if "speedup_daily_vs_naive" in entry:
        print(f"  daily speedup over naive (PostgreSQL): {entry['speedup_daily_vs_naive']:.1f}x")
    for prefix, goals in entry.get("ratios", {}).items():
        shown = ", ".join(
            f"{name} {g['measured']:.2f}" + ("" if g.get("met", True) else " (MISSED)")
            for name, g in goals.items()
            if g["measured"] is not None
        )
        print(f"  {prefix}: {shown}")


if __name__ == "__main__":
    main()
