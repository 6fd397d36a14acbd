"""The exactness scenario (issue 10), shared by `test_exactness.py` and `bench/exactness.py`.

Production's rhythm under the sandbox's default churn: the history as one range run, then per
simulated day the change sensor's run of today's partition at 16:00 (its own tick
picks the streams) and the daily schedule's run of yesterday at 00:30 (its own tick picks the
partition; the daily job's own run config sweeps contacts and conversations). After every run
the whole warehouse is compared with the truth (`oracle.differences`) and every difference is
put in a class by `Ledger.classify`, from the sandbox's change logs and earlier truths only
(never from the loader): a difference no class explains, or whose class's bound has elapsed,
fails the run. The classes and their bounds are the table in `test_exactness.py`'s
docstring (docs/change-matrix.md).

`oracle.calls.minimum_calls` is the fewest API requests each run needs, one term a line, from
the truth and Intercom's limits (the ledger gives it each stream's previous truth); the scenario
compares each day's requests with it, plus `recheck_minimum` (the events re-check) per day.
"""

import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from intercom_assets.sandbox import ChangeLog, Churn
from intercom_assets_tests.dagster.conftest import (
    START_DATE,
    TIMEZONE,
    Pipeline,
    stream_metadata,
)
from intercom_assets_tests.oracle import Difference, differences, format_differences
from intercom_assets_tests.oracle.calls import (
    contacts_listed,
    mark,
    minimum_calls,
    notes_counts,
)
from intercom_assets_tests.oracle.columns import STREAM_TABLES, TABLES, expected_rows
from intercom_assets_tests.oracle.compare import same_value, stored_value

DAY = 86_400
HOUR = 3600
RUNS = (("16:00", 15 * HOUR + 1800), ("daily", 8 * HOUR + 1800))
"""Each simulated day from 00:30: (run, seconds the clock moves before it)."""
BUDGET = 1.1
DEFAULT_CHURN = Churn()
NO_SILENT_EVENTS = Churn(event_bumps_contact=1.0)
"""The defaults, except that every new event moves its contact's `last_seen_at`."""

SNAPSHOT_STREAMS = (
    "tags",
    "segments",
    "admins",
    "teams",
    "data_attributes",
    "companies",
    "ticket_states",
    "ticket_types",
    "company_notes",
    "subscription_types",
    "help_centers",
    "help_center_collections",
    "articles",
    "newsfeeds",
    "news_items",
)
WINDOW_KINDS = {
    "contacts": ("contacts_created", "contacts_updated", "events_created"),
    "conversations": ("conversations_created", "conversations_updated"),
    "conversation_parts": ("conversations_created", "conversations_updated"),
    "tickets": ("tickets_created", "tickets_updated"),
    "ticket_parts": ("tickets_created", "tickets_updated"),
}
"""Changes that move `updated_at` (or `last_seen_at`): the stream's next run loads them. An
event moves its contact's timestamps unless it is silent (then the contact row is unchanged)."""
SWEEP_KINDS = {
    "contacts": (
        "contacts_deleted",
        "contacts_archived",
        "contacts_merged",
        "contact_tags_changed",
        "contact_notes_added",
    ),
    "conversations": ("conversation_tags_changed", "conversations_deleted"),
}
"""Changes no window sees: the next daily run (full mode) sweeps them."""
FEED_KINDS = {"conversations": ("conversations_deleted",)}
"""On API version 2.16 the conversations stream reads the deleted-conversations feed in every
run: these kinds move from the sweep's bound to the stream's next run."""
V2_16 = (2, 16)


def on_216(api_version: str) -> bool:
    major, _, minor = api_version.partition(".")
    return (int(major), int(minor or 0)) >= V2_16


def kinds_for(api_version: str) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """(window kinds, sweep kinds) of a scenario read with `api_version`."""
    if not on_216(api_version):
        return WINDOW_KINDS, SWEEP_KINDS
    window = {s: (*k, *FEED_KINDS.get(s, ())) for s, k in WINDOW_KINDS.items()}
    sweep = {
        s: tuple(k for k in ks if k not in FEED_KINDS.get(s, ())) for s, ks in SWEEP_KINDS.items()
    }
    return window, sweep


SILENT_KINDS = (
    *SWEEP_KINDS["contacts"],
    *SWEEP_KINDS["conversations"],
    "tags_deleted",
    "companies_deleted",
    "company_tags_changed",
)
"""The kinds issue 10 is about (besides silent events): the scenario must see each happen."""
TABLE_STREAM = {table: stream for stream, tables in STREAM_TABLES.items() for table in tables}
CONTACT_KINDS = (*WINDOW_KINDS["contacts"], *SWEEP_KINDS["contacts"])
SEGMENT_KINDS = ("segments_created", "segments_updated", "segments_deleted")


def local_day(at: int, offset_days: int = 0) -> str:
    moment = datetime.fromtimestamp(at, ZoneInfo(TIMEZONE)) + timedelta(days=offset_days)
    return moment.strftime("%Y-%m-%d")


def window(day: str) -> tuple[int, int]:
    """Partition `day` as unix seconds `[start, end)` in the workspace zone."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=ZoneInfo(TIMEZONE))
    return int(start.timestamp()), int((start + timedelta(days=1)).timestamp())


def by_id(records: Iterable[Mapping[str, Any]], key: Callable[[Any], str] | None = None) -> dict:
    return {(key(r) if key else r["id"]): r for r in records}


def record_index(truth: Mapping[str, Any], stream: str) -> dict[str, Any]:
    """A snapshot stream's records in `truth` by the key its tables use for them."""
    if stream == "data_attributes":
        return by_id(truth["data_attributes"], lambda r: f"{r['model']}:{r['full_name']}")
    if stream == "company_notes":
        return by_id(n for notes in truth["company_notes"].values() for n in notes)
    return by_id(truth[stream])


def memberships(truth: Mapping[str, Any]) -> dict[tuple[str, str], set[str]]:
    """`{(kind, tag or company id): {contact or conversation ids}}` in `truth`."""
    out: dict[tuple[str, str], set[str]] = {}
    for contact_id, tags in truth["contact_tags"].items():
        for tag in tags:
            out.setdefault(("contact_tag", str(tag)), set()).add(contact_id)
    for contact_id, companies in truth["contact_companies"].items():
        for company in companies:
            out.setdefault(("contact_company", str(company)), set()).add(contact_id)
    for conversation in truth["conversations"]:
        for tag in conversation["tags"]["tags"]:
            out.setdefault(("conversation_tag", str(tag["id"])), set()).add(conversation["id"])
    return out


@dataclass
class Ledger:
    """What the scenario knows besides the warehouse: the change logs, and per stream the time
    and truth of its last run. Everything here comes from the sandbox."""

    recheck_days: int
    api_version: str = "2.14"
    logs: list[ChangeLog] = field(default_factory=list)
    last_run: dict[str, int] = field(default_factory=dict)
    last_truth: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_full: int = 0
    """When the searched streams last ran in full mode (the daily run)."""
    links_since_full: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """Every membership the truth showed since the last full run (what a tag or company
    delete can leave behind in the warehouse until the next sweep)."""
    event_marks: dict[str, int] = field(default_factory=dict)
    """Each contact's activity mark in the truth when `events` last ran."""
    logs_through: int = 0
    """Every admin activity log created before this was in a window `admin_activity_logs`
    read (the end of the newest partition it ran, or the clock when that was earlier)."""
    notes_listed: dict[str, int] = field(default_factory=dict)
    """Each contact's note count in the truth when the `contacts` stream last listed it
    (what the warehouse's `notes_total_count` says)."""

    def start(self, truth: dict[str, Any], streams: Iterable[str]) -> None:
        self.after_run(truth, streams, full=True)

    def after_run(self, truth: dict[str, Any], streams: Iterable[str], *, full: bool) -> None:
        now = truth["now"]
        for name in streams:
            self.last_run[name] = now
            self.last_truth[name] = truth
        links = memberships(truth)
        if full:
            self.last_full = now
            self.links_since_full = links
        else:
            for key, members in links.items():
                self.links_since_full.setdefault(key, set()).update(members)
        if "events" in streams:
            self.event_marks = {c["id"]: mark(c) for c in truth["contacts"]}

    def after_activity_logs(self, truth: Mapping[str, Any], partition: str) -> None:
        self.logs_through = max(self.logs_through, min(window(partition)[1], truth["now"]))

    def since(self, moment: int, kinds: Iterable[str]) -> set[str]:
        """Ids of `kinds` changed after `moment` (logs are whole clock moves ending at runs)."""
        out: set[str] = set()
        for log in self.logs:
            if log.end > moment:
                for kind in kinds:
                    out.update(log.ids[kind])
        return out

    def merge_targets(self, moment: int) -> set[str]:
        return {t for log in self.logs if log.end > moment for t in log.merges.values()}

    def classifier(self, truth: Mapping[str, Any]) -> Callable[[Difference], str | None]:
        """`classify(difference)`: its class, or None when no class within its bound explains
        it. Pending sets are computed once per comparison."""
        now = truth["now"]
        window_kinds, sweep_kinds = kinds_for(self.api_version)
        window_ids = {s: self.since(self.last_run[s], kinds) for s, kinds in window_kinds.items()}
        window_ids["contacts"] |= self.merge_targets(self.last_run["contacts"])
        deleted_tags = self.since(self.last_full, ["tags_deleted"])
        deleted_companies = self.since(self.last_full, ["companies_deleted"])
        sweep_ids = {s: self.since(self.last_full, kinds) for s, kinds in sweep_kinds.items()}
        for kind, key in self.links_since_full:
            family = "conversations" if kind == "conversation_tag" else "contacts"
            gone = deleted_companies if kind == "contact_company" else deleted_tags
            if key in gone:
                sweep_ids[family] |= self.links_since_full[kind, key]
        snapshot_changed = {
            s: self._changed_records(s, truth) for s in SNAPSHOT_STREAMS if s in self.last_run
        }
        part_of: dict[str, str] = {}
        ticket_part_of: dict[str, str] = {}
        note_of: dict[str, str] = {}
        membership_moved = (
            self.since(self.last_run["contact_segments"], CONTACT_KINDS)
            | self.merge_targets(self.last_run["contact_segments"]),
            self.since(self.last_run["contact_segments"], SEGMENT_KINDS),
        )

        def contact_of(d: Difference) -> str:
            if d.table == "contact_note_loads":
                return str(d.id)
            if d.kind == "missing":
                return str(d.expected["contact_id"])
            if d.kind == "extra":
                return str(d.found["contact_id"])
            if not note_of:
                for contact_id, notes in truth["contact_notes"].items():
                    note_of.update((n["id"], contact_id) for n in notes)
            return note_of.get(str(d.id), "")

        def conversation_of(d: Difference) -> str:
            if d.kind == "missing":
                return str(d.expected["conversation_id"])
            if d.kind == "extra":
                return str(d.found["conversation_id"])
            if not part_of:
                for conversation_id, parts in truth["conversation_parts"].items():
                    part_of.update((p["id"], conversation_id) for p in parts)
            return part_of.get(d.id, "")

        def ticket_of(d: Difference) -> str:
            if d.kind == "missing":
                return str(d.expected["ticket_id"])
            if d.kind == "extra":
                return str(d.found["ticket_id"])
            if not ticket_part_of:
                for ticket_id, parts in truth["ticket_parts"].items():
                    ticket_part_of.update((p["id"], ticket_id) for p in parts)
            return ticket_part_of.get(d.id, "")

        def classify(d: Difference) -> str | None:
            if d.id is None:
                return None  # a column's type or presence: never allowed
            stream = TABLE_STREAM[d.table]
            if stream == "events":
                return self._event(d, now)
            if stream == "admin_activity_logs":
                created = d.expected["created_at"] if d.kind == "missing" else None
                open_day = created is not None and created.timestamp() >= self.logs_through
                return "open day" if open_day else None
            if stream == "contact_segments":
                contact_id, segment_id = (str(k) for k in d.id)
                moved = contact_id in membership_moved[0] or segment_id in membership_moved[1]
                return "membership" if moved else None
            if stream == "contact_notes":
                contact_id = contact_of(d)
                if contact_id in window_ids["contacts"]:
                    return "window"
                return "sweep" if contact_id in sweep_ids["contacts"] else None
            key = d.id[0] if isinstance(d.id, tuple) else d.id
            if d.table == "conversation_parts":
                key = conversation_of(d)
            if d.table == "ticket_parts":
                key = ticket_of(d)
            key = str(key)
            if stream in SNAPSHOT_STREAMS:
                return "snapshot" if key in snapshot_changed[stream] else None
            if key in window_ids[stream]:
                return "window"
            if key in sweep_ids.get(stream, ()):
                return "sweep"
            return None

        return classify

    def _changed_records(self, stream: str, truth: Mapping[str, Any]) -> set[str]:
        """Keys of the stream's records created, changed or deleted since its last run."""
        before = record_index(self.last_truth[stream], stream)
        after = record_index(truth, stream)
        keys = before.keys() | after.keys()
        return {str(k) for k in keys if before.get(k) != after.get(k)}

    def _event(self, d: Difference, now: int) -> str | None:
        if d.kind != "missing" or d.column is not None:
            return None  # events never change, and no stored event may be extra
        contact_id, created = d.expected["contact_id"], int(d.expected["created_at"].timestamp())
        if created > self.last_run["events"]:
            return "window"  # `events` has not run since
        if self.event_marks.get(contact_id, 0) >= created:
            return None  # its contact moved after it, before `events` last ran: same run
        return "silent event" if now < created + self.recheck_days * DAY else None


@dataclass
class Step:
    """One run of the scenario: what it loaded, what it cost, what still differs."""

    name: str
    day: str
    partition: str
    streams: list[str]
    full: list[str]
    calls: dict[str, int]
    least: dict[str, int]
    classes: Counter[str]
    seconds: float
    compare_seconds: float
    extra: dict[str, dict[str, Any]]
    """Each stream's materialization metadata (its report's figures and extras)."""


@dataclass
class Day:
    day: str
    steps: list[Step]
    changes: dict[str, int]
    recheck_least: int

    @property
    def calls(self) -> int:
        return sum(sum(s.calls.values()) for s in self.steps)

    @property
    def least(self) -> int:
        return sum(sum(s.least.values()) for s in self.steps) + self.recheck_least

    @property
    def ratio(self) -> float:
        return self.calls / self.least


def recheck_minimum(truth: Mapping[str, Any], recheck_days: int, first_check: int) -> int:
    """The events re-check's share of the day that ends at `truth["now"]` (one call each).

    Every contact must be read at least every N days; with one run a day guaranteed (the
    daily run), that means a read every N - 1 days. Two terms, from the truth alone:

    - contacts quiet since the history load (`first_check` read them all) are read again once
      every N - 1 days, spread evenly: ceil(quiet / (N - 1)) a day;
    - a contact whose activity last moved exactly N - 1 days ago (in that day's 24 hours, and
      quiet since) was read then and must be read again today.
    """
    interval = max(recheck_days - 1, 1)
    now = truth["now"]
    quiet = sum(1 for c in truth["contacts"] if mark(c) <= first_check)
    due_again = sum(
        1
        for c in truth["contacts"]
        if first_check < mark(c) and now - (interval + 1) * DAY < mark(c) <= now - interval * DAY
    )
    return math.ceil(quiet / interval) + due_again


@dataclass
class Scenario:
    """Runs the scenario on a pipeline; `days` of churn, silent events only in the first
    `days - recheck_days` (so that N days after the last one the warehouse must be exact)."""

    p: Pipeline
    days: int
    recheck_days: int
    report: Callable[[str], None] = print
    ledger: Ledger = field(init=False)
    history_seconds: float = 0.0
    history_at: int = 0
    log: list[Day] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)
    silent_events: int = 0

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.recheck_days, self.api_version)

    @property
    def api_version(self) -> str:
        """The version the pipeline's loader sends (`Intercom-Version`)."""
        return str(self.p.resources["intercom"].api_version)

    def truth(self) -> dict[str, Any]:
        """The sandbox's truth, with the API version the loader reads with (the oracle's
        expected rows depend on it: company notes, ticket assignee id types)."""
        return {**self.p.sb.truth(), "api_version": self.api_version}

    def run(self) -> None:
        p = self.p
        began = time.perf_counter()
        result = p.materialize(START_DATE, p.day())
        assert result.success
        self.history_seconds = time.perf_counter() - began
        truth = self.truth()
        self.history_at = truth["now"]
        self.ledger.start(truth, [s for s in stream_metadata(result)])
        self.ledger.logs_through = truth["now"]
        self.ledger.notes_listed = notes_counts(truth, truth["contacts"])
        self.check("history", truth, after_daily=True)
        assert p.tick() == []  # the sensor's first tick records its marks
        for index in range(self.days):
            silent = index < self.days - self.recheck_days
            self.one_day(DEFAULT_CHURN if silent else NO_SILENT_EVENTS)
        final = differences_now(p, self.api_version, self.ledger)
        assert not final, format_differences(final)
        self.report(
            f"history {self.history_seconds:.1f} s; per day: "
            + ", ".join(
                f"{d.day} runs {sum(s.seconds for s in d.steps):.1f} s compare "
                f"{sum(s.compare_seconds for s in d.steps):.1f} s ratio {d.ratio:.3f}"
                for d in self.log
            )
        )

    def one_day(self, churn: Churn) -> None:
        p = self.p
        day = p.day()
        steps: list[Step] = []
        changes: Counter[str] = Counter()
        for name, seconds in RUNS:
            log = p.sb.advance(seconds=seconds, churn=churn)
            truth = self.truth()
            self.ledger.logs.append(log)
            changes.update(log.counts)
            self.silent_events += silent_events(log, truth)
            if name == "daily":
                partition = p.daily_partition()
                assert partition == day
                full = p.daily_swept()
                step = self.step(name, day, partition, None, full, truth)
            else:
                streams = p.tick()
                if not streams:
                    self.report(f"{day} {name}: the sensor skipped")
                    continue
                step = self.step(name, day, p.day(), streams, [], truth)
            steps.append(step)
        self.changes.update(changes)
        recheck = recheck_minimum(truth, self.recheck_days, self.history_at)
        record = Day(day, steps, dict(changes), recheck)
        self.log.append(record)
        self.report(
            f"{day}: {record.calls} calls, minimum {record.least}, ratio {record.ratio:.3f}"
            + "".join(f"\n  {s.name}: {s.calls}\n    minimum {s.least}" for s in steps)
            + f"\n    events re-check minimum {record.recheck_least}"
        )

    def step(
        self,
        name: str,
        day: str,
        partition: str,
        streams: list[str] | None,
        full: list[str],
        truth: dict[str, Any],
    ) -> Step:
        """One run (`streams` None: the daily run) at the clock of `truth`, and its check."""
        p = self.p
        chosen = streams if streams is not None else list(STREAM_TABLES)
        ledger = self.ledger
        least = minimum_calls(
            ledger.last_truth,
            truth,
            window(partition),
            chosen,
            full=full,
            notes_listed=ledger.notes_listed,
        )
        listed = contacts_listed(ledger.last_truth, truth, window(partition), full)
        p.sb.reset_request_counts()
        began = time.perf_counter()
        if streams is None:
            result = p.daily_run(partition)
        else:
            result = p.materialize(partition, streams=streams)
        assert result.success
        seconds = time.perf_counter() - began
        calls = p.sb.request_counts()
        extra = stream_metadata(result, chosen)
        if "contacts" in chosen:
            self.ledger.notes_listed.update(notes_counts(truth, listed))
        if "admin_activity_logs" in chosen:
            self.ledger.after_activity_logs(truth, partition)
        self.ledger.after_run(truth, chosen, full=bool(full))
        began = time.perf_counter()
        classes = self.check(f"{day} {name}", truth, after_daily=streams is None)
        compare = time.perf_counter() - began
        return Step(
            name, day, partition, chosen, full, calls, least, classes, seconds, compare, extra
        )

    def check(self, name: str, truth: dict[str, Any], *, after_daily: bool) -> Counter[str]:
        """Every difference has a class within its bound; after a daily run only silent events
        remain."""
        with self.p.warehouse() as wh:
            diffs = differences(wh, truth)
        classify = self.ledger.classifier(truth)
        classes = [classify(d) for d in diffs]
        failing = [d for d, c in zip(diffs, classes, strict=True) if c is None]
        assert not failing, f"{name}: outside every bound\n" + format_differences(failing)
        counted = Counter(f"{c} ({d.table})" for d, c in zip(diffs, classes, strict=True))
        if after_daily:
            others = [
                d
                for d, c in zip(diffs, classes, strict=True)
                if c not in ("silent event", "open day")
            ]
            assert not others, f"{name}: after a daily run\n" + format_differences(others)
        self.report(f"{name}: {sum(counted.values())} differences {dict(counted)}")
        return Counter(c for c in classes if c is not None)


def silent_events(log: ChangeLog, truth: Mapping[str, Any]) -> int:
    """Contacts that recorded events in this clock move without their activity mark moving
    (`truth` is the truth at the move's end)."""
    contacts = by_id(truth["contacts"])
    found = 0
    for contact_id in set(log.ids["events_created"]):
        contact = contacts.get(contact_id)
        found += contact is not None and mark(contact) <= log.start
    return found


def differences_now(
    p: Pipeline, api_version: str = "2.14", ledger: Ledger | None = None
) -> list[Difference]:
    """Every difference now (the truth as `api_version` sends it); with `ledger`, those of the
    admin activity logs' open day (today's partition, which no daily run has read yet) left
    out."""
    truth = {**p.sb.truth(), "api_version": api_version}
    with p.warehouse() as wh:
        diffs = differences(wh, truth)
    if ledger is None:
        return diffs
    classify = ledger.classifier(truth)
    return [d for d in diffs if d.table != "admin_activity_logs" or classify(d) != "open day"]


# --- history on for contacts: every state the truth had at the runs is one version --------------


HISTORY_TABLE = "contacts"
NOT_LIVE = "<not live>"
"""A contact's state while the truth does not list it (deleted, archived or merged)."""


def contact_states(truth: Mapping[str, Any]) -> dict[str, str]:
    """Each live contact of `truth` as the warehouse must store it (the oracle's expected
    declared columns and `_raw`), as canonical JSON text."""
    table = TABLES[HISTORY_TABLE]
    expected = expected_rows(table, truth)
    columns = [*table.columns, "_raw"]
    return {
        key[0]: orjson.dumps(
            {c: row[c] for c in columns}, option=orjson.OPT_SORT_KEYS, default=str
        ).decode()
        for key, row in expected.rows.items()
    }


@dataclass
class HistoryTrail:
    """Per contact, its state at each run since the first run that saw it live."""

    states: dict[str, list[str]] = field(default_factory=dict)

    def add(self, truth: Mapping[str, Any]) -> None:
        now = contact_states(truth)
        for contact_id in {*self.states, *now}:
            self.states.setdefault(contact_id, []).append(now.get(contact_id, NOT_LIVE))

    def versions(self) -> dict[str, int]:
        """Per contact, how many times its state changed from one run to the next (the first
        state counts): the versions its history must hold."""
        return {
            contact_id: 1 + sum(a != b for a, b in itertools.pairwise(states))
            for contact_id, states in self.states.items()
        }


@dataclass
class HistoryScenario:
    """The history load, then `days` days of default churn, each closed by the daily run
    (which sweeps contacts, so after every run the contacts table equals the truth), on a
    pipeline whose warehouse keeps history for contacts. After each run: the contacts table
    equals the truth, and "as of" the run's end gives the truth's live contacts then; at the
    end each contact's version count equals the number of its states across the runs."""

    p: Pipeline
    days: int
    report: Callable[[str], None] = print
    trail: HistoryTrail = field(default_factory=HistoryTrail)
    runs: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)

    def run(self) -> None:
        p = self.p
        assert p.materialize(START_DATE, p.day()).success
        self.after_run("history")
        for _ in range(self.days):
            p.sb.advance(seconds=DAY, churn=DEFAULT_CHURN)
            assert p.daily_run(p.daily_partition()).success
            self.after_run(p.day(-1))
        with p.warehouse() as wh:
            wh.register([_contacts_spec()])
            stored = Counter(wh.history(HISTORY_TABLE).get_column("id").to_list())
            for at, truth in self.runs:
                self.check_as_of(wh, at, truth)
        expected = self.trail.versions()
        wrong = {i: (n, stored.get(i, 0)) for i, n in expected.items() if stored.get(i, 0) != n}
        assert not wrong, f"contacts whose (expected, stored) version counts differ: {wrong}"
        assert set(stored) == set(expected)
        self.report(
            f"{len(expected)} contacts, {sum(expected.values())} versions over"
            f" {len(self.runs)} runs; {sum(n > 1 for n in expected.values())} changed"
        )

    def after_run(self, name: str) -> None:
        truth = self.p.sb.truth()
        with self.p.warehouse() as wh:
            diffs = differences(wh, truth, tables=[HISTORY_TABLE])
        assert not diffs, f"{name}: contacts differ from the truth\n" + format_differences(diffs)
        self.trail.add(truth)
        self.runs.append((datetime.now(UTC), truth))
        time.sleep(0.001)  # the next run's versions begin strictly later

    @staticmethod
    def check_as_of(wh: Any, at: datetime, truth: Mapping[str, Any]) -> None:
        """The versions live at `at` hold the truth's live contacts then, `_raw` included."""
        then = wh.as_of(HISTORY_TABLE, at)
        records = by_id(truth[HISTORY_TABLE])
        assert set(then.get_column("id")) == set(records), at
        for contact_id, raw in then.select("id", "_raw").iter_rows():
            assert same_value("json", records[contact_id], stored_value("json", raw)), contact_id


def _contacts_spec() -> Any:
    """The contacts table's spec, so the warehouse can read its history (not compared)."""
    from intercom_assets.streams import get_stream

    return get_stream(HISTORY_TABLE).tables[0]
