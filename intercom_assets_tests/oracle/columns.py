"""What every warehouse column must hold, stated by hand from the API records.

One declaration per table: column -> how to read it from the truth record (the record as the
API returns it, see `Sandbox.truth()`; in its 2.14 shape, turned here by hand into the shape the
loader's API version sent, see `as_sent`), with its kind. Nothing here comes from the loader
nor from the sandbox's rendering: the paths are read off the Intercom 2.14 records
(`docs/streams.md` names the columns). Kinds
fix both the SQL type family the column must have and the Python type of every value:

- `text(path)`: a string (or null) at `path`; an int there is an oracle error.
- `id_text(path)`: an id the API sends as a number or a string, stored as text.
- `integer`, `number` (float; the API may send 499 for 499.0), `boolean`.
- `timestamp(path)`: unix seconds in the API, an aware UTC datetime in the warehouse.
- `json(path)`: any JSON value, compared parsed (types kept: 1, 1.0 and true differ).
- `context(name)`: a value the record does not hold (a part's conversation id).
- `NOT_NULL`: a value the oracle cannot know (hashes, wall-clock times) but that must be set.
- `NullOr(value)`: the value, or null: what the loader may or may not have been able to read
  (a merge's time once its target is gone).
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Record = Mapping[str, Any]
Context = Mapping[str, Any]
EVENT_RETENTION_SECONDS = 90 * 86_400


class OracleError(Exception):
    """The truth does not have the shape the oracle declares (a bug in the oracle)."""


class _NotNull:
    """Expected value: anything but null (values the API does not determine)."""

    def __repr__(self) -> str:
        return "<any non-null>"


NOT_NULL: Any = _NotNull()


@dataclass(frozen=True)
class NullOr:
    """Expected value: `value`, or null (the truth cannot tell which the loader could read)."""

    value: Any

    def __repr__(self) -> str:
        return f"<{self.value!r} or null>"


KINDS = ("text", "int", "float", "bool", "timestamp", "json")
SQL_TYPES: dict[str, frozenset[str]] = {
    "text": frozenset({"varchar", "text", "character varying"}),
    "int": frozenset({"bigint"}),
    "float": frozenset({"double", "double precision"}),
    "bool": frozenset({"boolean"}),
    "timestamp": frozenset({"timestamp with time zone"}),
    "json": frozenset({"json", "jsonb"}),
}
"""The SQL types (DuckDB, PostgreSQL; lower case) a column of each kind may have."""


@dataclass(frozen=True)
class Col:
    """One column: its kind and how to read its expected value."""

    kind: str
    read: Callable[[Record, Context], Any]
    source: str
    """Where the value comes from, for messages (`location.city`)."""


def at(record: Any, path: tuple[str, ...]) -> Any:
    """The value at `path`; null when a key is absent or a parent is not an object."""
    value = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def ts(value: Any) -> datetime | None:
    """Unix seconds as the warehouse stores them (aware, UTC)."""
    if value is None:
        return None
    if type(value) is not int:
        raise OracleError(f"timestamp {value!r} is not unix seconds")
    return datetime.fromtimestamp(value, UTC)


def _typed(
    kind: str, path: tuple[str, ...], allowed: tuple[type, ...], convert: Callable[[Any], Any]
) -> Col:
    source = ".".join(path)

    def read(record: Record, _: Context) -> Any:
        value = at(record, path)
        if value is None:
            return None
        if type(value) not in allowed:
            raise OracleError(
                f"{source} is {type(value).__name__} {value!r} in the API record, "
                f"the oracle expects {'/'.join(t.__name__ for t in allowed)}"
            )
        return convert(value)

    return Col(kind, read, source)


def _path(first: str, rest: tuple[str, ...]) -> tuple[str, ...]:
    return (first, *rest)


def text(first: str, *rest: str) -> Col:
    return _typed("text", _path(first, rest), (str,), lambda v: v)


def id_text(first: str, *rest: str) -> Col:
    return _typed("text", _path(first, rest), (str, int), str)


def integer(first: str, *rest: str) -> Col:
    return _typed("int", _path(first, rest), (int,), lambda v: v)


def number(first: str, *rest: str) -> Col:
    return _typed("float", _path(first, rest), (int, float), float)


def boolean(first: str, *rest: str) -> Col:
    return _typed("bool", _path(first, rest), (bool,), lambda v: v)


def timestamp(first: str, *rest: str) -> Col:
    return _typed("timestamp", _path(first, rest), (int,), ts)


def json(first: str, *rest: str) -> Col:
    path = _path(first, rest)
    return Col("json", lambda record, _: at(record, path), ".".join(path))


def context(name: str, kind: str = "text") -> Col:
    return Col(kind, lambda _, ctx: ctx[name], f"<{name}>")


def derived(kind: str, source: str, read: Callable[[Record], Any]) -> Col:
    """A value computed by hand from the whole record (`source` says how)."""
    return Col(kind, lambda record, _: read(record), source)


def not_null(kind: str) -> Col:
    return Col(kind, lambda *_: NOT_NULL, "<set by the loader>")


# -- the tables -----------------------------------------------------------------------------

Rows = Iterator[tuple[Record, Context]]
"""A table's source records, each with the context its columns may read."""


@dataclass(frozen=True)
class Table:
    """One warehouse table: its columns, key, meta columns and source records in the truth."""

    name: str
    columns: Mapping[str, Col]
    sources: Callable[[Mapping[str, Any]], Rows]
    key: tuple[str, ...] = ("id",)
    raw: Callable[[Record, Context], Any] | None = None
    """What `_raw` holds, parsed (None: the table has no `_raw`)."""
    entity: bool = True
    """Entity tables have `_deleted_at`; link and child tables do not."""
    live_only: bool = True
    """Compare only rows not soft-deleted (`_deleted_at` null); else every row."""
    parent: tuple[str, str] | None = None
    """(column, truth list): rows whose parent is not live in the truth are not compared."""
    deleted_ids: Callable[[Mapping[str, Any]], set[str]] | None = None
    """The ids the truth says were deleted: the only ids that may be soft-deleted."""
    in_scope: Callable[[Mapping[str, Any]], Callable[[Mapping[str, Any]], bool]] | None = None
    """`in_scope(truth)(row)`: whether the truth speaks for a row (stored or expected); None:
    as `live_only` and `parent` say."""
    kept: Callable[[Mapping[str, Any]], Rows] | None = None
    """Rows the warehouse may hold but need not (parts older than the 500 the API returns:
    held when a load saw them), oldest first per parent. A held one must equal its source;
    per parent, those held must be the newest of them (none missing between the oldest held
    and the expected rows)."""

    def meta(self) -> dict[str, Col]:
        meta: dict[str, Col] = {}
        if self.raw is not None:
            raw = self.raw
            meta["_raw"] = Col("json", raw, "<the API record>")
        meta["_hash"] = not_null("int")
        meta["_synced_at"] = not_null("timestamp")
        if self.entity:
            meta["_deleted_at"] = Col("timestamp", lambda *_: None, "<live row>")
        return meta

    def all_columns(self) -> dict[str, Col]:
        return {**self.columns, **self.meta()}


def the_record(record: Record, _: Context) -> Any:
    return record


def records(key: str) -> Callable[[Mapping[str, Any]], Rows]:
    def sources(truth: Mapping[str, Any]) -> Rows:
        for record in truth[key]:
            yield record, {}

    return sources


# -- what each API version sends ------------------------------------------------------------

V2_15 = (2, 15)
V2_16 = (2, 16)
"""The truth holds records in their 2.14 shape; `truth["api_version"]` (default 2.14) says
which version the loader read with. From 2.15 on a conversation has its `company` (a reference
`{"type": "company", "id"}` to `truth["conversation_companies"][id]`, or null). From 2.16 on
(the 2.16 description; docs/sandbox.md): company notes exist; a contact's `owner_id` is a
string; a conversation's `priority` is one of five levels, its unassigned
`admin_assignee_id`/`team_assignee_id` are `0`, not null, and it has `channel` (Messenger
both), `external_references` (`[]`), `sales_agent_participated` (false) and `sales_agent`
(null); a ticket's assignee ids are integers (strings in 2.14), `0` when unassigned (absent in
2.14), and it has `previous_ticket_state_id` (`truth["ticket_previous_state_ids"][id]`)."""

PRIORITY_216 = {"not_priority": "none", "priority": "high"}
"""A 2.14 priority flag as the 2.16 level the sandbox sends for it (docs/sandbox.md)."""


def _version(text: str) -> tuple[int, int]:
    if text == "Preview":  # Intercom's newest, later than every numbered version
        return (99, 0)
    major, _, minor = text.partition(".")
    return (int(major), int(minor or 0))


def on_215(truth: Mapping[str, Any]) -> bool:
    """Whether the loader read the truth with 2.15 or later."""
    return _version(truth.get("api_version", "2.14")) >= V2_15


def on_216(truth: Mapping[str, Any]) -> bool:
    """Whether the loader read the truth with 2.16 or later."""
    return _version(truth.get("api_version", "2.14")) >= V2_16


def _contact_216(contact: Record) -> Record:
    owner = contact["owner_id"]
    return {**contact, "owner_id": None if owner is None else str(owner)}


def _conversation_215(conversation: Record, truth: Mapping[str, Any]) -> Record:
    company = truth["conversation_companies"][conversation["id"]]
    return {
        **conversation,
        "company": None if company is None else {"type": "company", "id": company},
    }


def _conversation_216(conversation: Record) -> Record:
    admin, team = conversation["admin_assignee_id"], conversation["team_assignee_id"]
    return {
        **conversation,
        "priority": PRIORITY_216[conversation["priority"]],
        "admin_assignee_id": 0 if admin is None else admin,
        "team_assignee_id": 0 if team is None else team,
        "channel": {"initial": "messenger", "current": "messenger"},
        "external_references": [],
        "sales_agent_participated": False,
        "sales_agent": None,
    }


def _conversations_as_sent(truth: Mapping[str, Any]) -> Rows:
    for record in truth["conversations"]:
        sent = _conversation_215(record, truth) if on_215(truth) else record
        yield (_conversation_216(sent) if on_216(truth) else sent), {}


def _ticket_216(ticket: Record, truth: Mapping[str, Any]) -> Record:
    return {
        **ticket,
        "admin_assignee_id": int(ticket.get("admin_assignee_id", 0)),
        "team_assignee_id": int(ticket.get("team_assignee_id", 0)),
        "previous_ticket_state_id": truth["ticket_previous_state_ids"][ticket["id"]],
    }


def _tickets_as_sent(truth: Mapping[str, Any]) -> Rows:
    for record in truth["tickets"]:
        yield (_ticket_216(record, truth) if on_216(truth) else record), {}


def as_sent(key: str, on_216_as: Callable[[Record], Record]) -> Callable[[Mapping[str, Any]], Rows]:
    """The records at `truth[key]` as the loader's API version sent them."""

    def sources(truth: Mapping[str, Any]) -> Rows:
        convert = on_216_as if on_216(truth) else None
        for record in truth[key]:
            yield (record if convert is None else convert(record)), {}

    return sources


def link(parent: str, member: str, pairs: Callable[[Mapping[str, Any]], Iterator[tuple]]) -> Any:
    """A link table's rows: one synthesized `{parent: p, member: m}` per membership."""

    def sources(truth: Mapping[str, Any]) -> Rows:
        for p, m in pairs(truth):
            yield {parent: p, member: m}, {}

    return sources


def _embedded(list_key: str, outer: str, inner: str) -> Callable[[Mapping[str, Any]], Iterator]:
    """`(record id, member id)` for every member embedded at `record[outer][inner]`."""

    def pairs(truth: Mapping[str, Any]) -> Iterator[tuple[Any, Any]]:
        for record in truth[list_key]:
            for member in record[outer][inner]:
                yield record["id"], member["id"]

    return pairs


def _full_membership(key: str) -> Callable[[Mapping[str, Any]], Iterator]:
    def pairs(truth: Mapping[str, Any]) -> Iterator[tuple[Any, Any]]:
        for parent, members in truth[key].items():
            for member in members:
                yield parent, member

    return pairs


def _team_admins(truth: Mapping[str, Any]) -> Iterator[tuple[Any, Any]]:
    for team in truth["teams"]:
        for admin_id in team["admin_ids"]:
            yield team["id"], admin_id


def _parts(truth: Mapping[str, Any]) -> Rows:
    for conversation_id, parts in truth["conversation_parts"].items():
        for part in parts:
            yield part, {"conversation_id": conversation_id}


def older_parts(window_key: str, every_key: str) -> Callable[[Mapping[str, Any]], Rows]:
    """The parts of each parent older than those the API returns (`every_key` holds every
    part of a parent, oldest first; `window_key` the ones returned, the newest), with the
    parent's id as context: parts a warehouse keeps once it has seen them."""
    column = "conversation_id" if window_key == "conversation_parts" else "ticket_id"

    def rows(truth: Mapping[str, Any]) -> Rows:
        for parent, every in truth.get(every_key, {}).items():
            returned = {p["id"] for p in truth[window_key].get(parent, [])}
            for part in every:
                if part["id"] not in returned:
                    yield part, {column: parent}

    return rows


BEYOND_WINDOW = "parts_beyond_window"
"""The truth's key (added by `compare.with_stored_parts`) of the parts held beyond the API's
window: `{table: {parent id: how many of the warehouse's parts are older than the window}}`."""


def _beyond(truth: Mapping[str, Any], table: str, parent: str) -> int:
    return int(truth.get(BEYOND_WINDOW, {}).get(table, {}).get(parent, 0))


def _loads(truth: Mapping[str, Any]) -> Rows:
    """One load per live conversation: its parts as the GET returned them, the true count,
    and the stored parts older than the window (as many as the warehouse holds)."""
    for conversation in truth["conversations"]:
        conversation_id = conversation["id"]
        returned = len(truth["conversation_parts"][conversation_id])
        total = truth["conversation_part_counts"][conversation_id]
        yield (
            {
                "id": conversation_id,
                "conversation_updated_at": conversation["updated_at"],
                "parts_returned": returned,
                "total_count": total,
                "count_conversation_parts": conversation["statistics"]["count_conversation_parts"],
                "truncated": total > returned,
                "parts_beyond_window": _beyond(truth, "conversation_parts", conversation_id),
            },
            {},
        )


def _events(truth: Mapping[str, Any]) -> Rows:
    for events in truth["events"].values():
        for event in events:
            yield event, {}


def _merges(truth: Mapping[str, Any]) -> Rows:
    """The merges the warehouse must hold, per API version (`truth["api_version"]`), from
    `merged_contact_ids` and `contact_merges` (each merge's time and source role), with
    `stored_contact_ids` (added by the caller: every contact the warehouse holds, live or not).

    - 2.14: the merges of the contacts the warehouse held (a sweep finds each vanished and asks
      it: 410 names the target); a lead merged before any run saw it is not the warehouse's to
      record. `merged_at` and `source_role` are null.
    - 2.16: every merge into a live user, with its `merged_at` and `source_role`: the sweep
      lists users with their merge history, which also tells merges from before the first run
      (sources the warehouse never held). A merge into a contact no longer live (deleted or
      archived since): its source, if the warehouse held it, is recorded (the probe's 410 names
      the target), with the history's time and role if a sweep listed the target after the
      merge, else null (`NullOr`: the truth cannot tell). A merge into a contact no longer live
      whose source the warehouse never held is out of scope (`_merges_in_scope`): recorded only
      if a sweep listed the target after the merge.
    """
    known = truth["stored_contact_ids"]
    told = on_216(truth)
    users = {c["id"] for c in truth["contacts"] if c["role"] == "user"}
    details = truth["contact_merges"]
    for source, target in truth["merged_contact_ids"].items():
        merge = details.get(source) if told else None
        row = {"id": source, "target_id": target, "merged_at": None, "source_role": None}
        if merge is not None:
            row |= {"merged_at": merge["merged_at"], "source_role": merge["source_contact_role"]}
        if merge is not None and target in users:
            yield row, {"maybe": False}
        elif source in known:
            yield row, {"maybe": merge is not None}


def _merges_in_scope(truth: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    """On 2.16, a merge into a contact no longer live, of a source the warehouse never held, is
    not the truth's to judge (see `_merges`); every other row is."""
    if not on_216(truth):
        return lambda row: True
    live = {c["id"] for c in truth["contacts"]}
    known = truth["stored_contact_ids"]
    return lambda row: row["id"] in known or row["target_id"] in live


def _maybe(value: Any, ctx: Context) -> Any:
    return NullOr(value) if ctx["maybe"] and value is not None else value


def _merge_raw(record: Record, ctx: Context) -> Any:
    return {
        "id": record["id"],
        "target_id": record["target_id"],
        "detected_at": NOT_NULL,
        "merged_at": _maybe(record["merged_at"], ctx),
        "source_role": _maybe(record["source_role"], ctx),
    }


def _deleted(*keys: str) -> Callable[[Mapping[str, Any]], set[str]]:
    def ids(truth: Mapping[str, Any]) -> set[str]:
        out: set[str] = set()
        for key in keys:
            out |= {str(i) for i in truth[key]}
        return out

    return ids


_DEVICE = ("app_name", "app_version", "device", "os_version", "sdk_version")
_STAT_SECONDS = (
    "time_to_assignment",
    "time_to_admin_reply",
    "time_to_first_close",
    "time_to_last_close",
    "median_time_to_reply",
    "handling_time",
    "adjusted_handling_time",
)
_STAT_TIMES = (
    "first_contact_reply_at",
    "first_assignment_at",
    "first_admin_reply_at",
    "first_close_at",
    "last_assignment_at",
    "last_assignment_admin_reply_at",
    "last_contact_reply_at",
    "last_admin_reply_at",
    "last_close_at",
)
_STAT_COUNTS = ("count_reopens", "count_assignments", "count_conversation_parts")

TAGS = Table(
    "tags",
    {"id": text("id"), "type": text("type"), "name": text("name")},
    records("tags"),
    raw=the_record,
    deleted_ids=_deleted("deleted_tag_ids"),
)

SEGMENTS = Table(
    "segments",
    {
        "id": text("id"),
        "type": text("type"),
        "name": text("name"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "person_type": text("person_type"),
        "count": integer("count"),
    },
    records("segments"),
    raw=the_record,
    deleted_ids=_deleted("deleted_segment_ids"),
)

ADMINS = Table(
    "admins",
    {
        "id": text("id"),
        "type": text("type"),
        "name": text("name"),
        "email": text("email"),
        "job_title": text("job_title"),
        "away_mode_enabled": boolean("away_mode_enabled"),
        "away_mode_reassign": boolean("away_mode_reassign"),
        "away_status_reason_id": id_text("away_status_reason_id"),
        "has_inbox_seat": boolean("has_inbox_seat"),
        "team_ids": json("team_ids"),
        "avatar_image_url": text("avatar", "image_url"),
        "team_priority_level": json("team_priority_level"),
        "role_id": id_text("role", "id"),  # 2.16 on, when the admin has a role
        "role_name": text("role", "name"),
    },
    records("admins"),
    raw=the_record,
    deleted_ids=_deleted("deleted_admin_ids"),
)

TEAMS = Table(
    "teams",
    {
        "id": text("id"),
        "type": text("type"),
        "name": text("name"),
        "admin_ids": json("admin_ids"),
        "admin_priority_level": json("admin_priority_level"),
        "assignment_limit": integer("assignment_limit"),
        "distribution_method": text("distribution_method"),
    },
    records("teams"),
    raw=the_record,
    deleted_ids=_deleted("deleted_team_ids"),
)

TEAM_ADMINS = Table(
    "team_admins",
    {"team_id": text("team_id"), "admin_id": id_text("admin_id")},
    link("team_id", "admin_id", _team_admins),
    key=("team_id", "admin_id"),
    entity=False,
    live_only=False,
    parent=("team_id", "teams"),
)

DATA_ATTRIBUTES = Table(
    "data_attributes",
    {
        "id": derived("text", "<model>:<full_name>", lambda r: f"{r['model']}:{r['full_name']}"),
        "attribute_id": integer("id"),
        "type": text("type"),
        "model": text("model"),
        "name": text("name"),
        "full_name": text("full_name"),
        "label": text("label"),
        "description": text("description"),
        "data_type": text("data_type"),
        "options": json("options"),
        "api_writable": boolean("api_writable"),
        "messenger_writable": boolean("messenger_writable"),
        "ui_writable": boolean("ui_writable"),
        "custom": boolean("custom"),
        "archived": boolean("archived"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "admin_id": id_text("admin_id"),
    },
    records("data_attributes"),
    raw=the_record,
)

COMPANIES = Table(
    "companies",
    {
        "id": text("id"),
        "type": text("type"),
        "company_id": text("company_id"),
        "app_id": text("app_id"),
        "name": text("name"),
        "plan_id": id_text("plan", "id"),
        "plan_name": text("plan", "name"),
        "remote_created_at": timestamp("remote_created_at"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "last_request_at": timestamp("last_request_at"),
        "size": integer("size"),
        "website": text("website"),
        "industry": text("industry"),
        "monthly_spend": number("monthly_spend"),
        "session_count": integer("session_count"),
        "user_count": integer("user_count"),
        "custom_attributes": json("custom_attributes"),
    },
    records("companies"),
    raw=the_record,
    deleted_ids=_deleted("deleted_company_ids"),
)

COMPANY_TAGS = Table(
    "company_tags",
    {"company_id": text("company_id"), "tag_id": id_text("tag_id")},
    link("company_id", "tag_id", _embedded("companies", "tags", "tags")),
    key=("company_id", "tag_id"),
    entity=False,
    live_only=False,
    parent=("company_id", "companies"),
)

COMPANY_SEGMENTS = Table(
    "company_segments",
    {"company_id": text("company_id"), "segment_id": id_text("segment_id")},
    link("company_id", "segment_id", _embedded("companies", "segments", "segments")),
    key=("company_id", "segment_id"),
    entity=False,
    live_only=False,
    parent=("company_id", "companies"),
)

CONTACTS = Table(
    "contacts",
    {
        "id": text("id"),
        "type": text("type"),
        "external_id": text("external_id"),
        "workspace_id": text("workspace_id"),
        "role": text("role"),
        "email": text("email"),
        "email_domain": text("email_domain"),
        "phone": text("phone"),
        "name": text("name"),
        "owner_id": id_text("owner_id"),
        "has_hard_bounced": boolean("has_hard_bounced"),
        "marked_email_as_spam": boolean("marked_email_as_spam"),
        "unsubscribed_from_emails": boolean("unsubscribed_from_emails"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "signed_up_at": timestamp("signed_up_at"),
        "last_seen_at": timestamp("last_seen_at"),
        "last_replied_at": timestamp("last_replied_at"),
        "last_contacted_at": timestamp("last_contacted_at"),
        "last_email_opened_at": timestamp("last_email_opened_at"),
        "last_email_clicked_at": timestamp("last_email_clicked_at"),
        "language_override": text("language_override"),
        "browser": text("browser"),
        "browser_version": text("browser_version"),
        "browser_language": text("browser_language"),
        "os": text("os"),
        **{f"android_{n}": text(f"android_{n}") for n in _DEVICE},
        "android_last_seen_at": timestamp("android_last_seen_at"),
        **{f"ios_{n}": text(f"ios_{n}") for n in _DEVICE},
        "ios_last_seen_at": timestamp("ios_last_seen_at"),
        "avatar_image_url": text("avatar", "image_url"),
        "location_country": text("location", "country"),
        "location_region": text("location", "region"),
        "location_city": text("location", "city"),
        "social_profiles": json("social_profiles", "data"),
        "custom_attributes": json("custom_attributes"),
        "tags_total_count": integer("tags", "total_count"),
        "companies_total_count": integer("companies", "total_count"),
        "notes_total_count": integer("notes", "total_count"),
    },
    as_sent("contacts", _contact_216),
    raw=the_record,
    deleted_ids=_deleted("deleted_contact_ids", "archived_contact_ids", "merged_contact_ids"),
)

CONTACT_TAGS = Table(
    "contact_tags",
    {"contact_id": text("contact_id"), "tag_id": id_text("tag_id")},
    link("contact_id", "tag_id", _full_membership("contact_tags")),
    key=("contact_id", "tag_id"),
    entity=False,
    live_only=False,
    parent=("contact_id", "contacts"),
)

CONTACT_COMPANIES = Table(
    "contact_companies",
    {"contact_id": text("contact_id"), "company_id": id_text("company_id")},
    link("contact_id", "company_id", _full_membership("contact_companies")),
    key=("contact_id", "company_id"),
    entity=False,
    live_only=False,
    parent=("contact_id", "contacts"),
)

CONTACT_MERGES = Table(
    "contact_merges",
    {
        "id": text("id"),
        "target_id": text("target_id"),
        "detected_at": not_null("timestamp"),  # the loader's clock, not the API's
        "merged_at": Col(
            "timestamp",
            lambda r, ctx: _maybe(timestamp("merged_at").read(r, ctx), ctx),
            "merged_at (2.16 merge history)",
        ),
        "source_role": Col(
            "text",
            lambda r, ctx: _maybe(text("source_role").read(r, ctx), ctx),
            "source_contact_role (2.16 merge history)",
        ),
    },
    _merges,
    raw=_merge_raw,
    live_only=False,
    in_scope=_merges_in_scope,
)

CONVERSATIONS = Table(
    "conversations",
    {
        "id": text("id"),
        "type": text("type"),
        "title": text("title"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "waiting_since": timestamp("waiting_since"),
        "snoozed_until": timestamp("snoozed_until"),
        "open": boolean("open"),
        "state": text("state"),
        "read": boolean("read"),
        "priority": text("priority"),
        "admin_assignee_id": id_text("admin_assignee_id"),
        "team_assignee_id": id_text("team_assignee_id"),
        "conversation_rating_rating": integer("conversation_rating", "rating"),
        "conversation_rating_remark": text("conversation_rating", "remark"),
        "conversation_rating_created_at": timestamp("conversation_rating", "created_at"),
        "conversation_rating_updated_at": timestamp("conversation_rating", "updated_at"),
        "conversation_rating_contact_id": id_text("conversation_rating", "contact", "id"),
        "conversation_rating_teammate_id": id_text("conversation_rating", "teammate", "id"),
        "source_type": text("source", "type"),
        "source_id": id_text("source", "id"),
        "source_delivered_as": text("source", "delivered_as"),
        "source_subject": text("source", "subject"),
        "source_body": text("source", "body"),
        "source_url": text("source", "url"),
        "source_redacted": boolean("source", "redacted"),
        "source_author_type": text("source", "author", "type"),
        "source_author_id": id_text("source", "author", "id"),
        "source_author_name": text("source", "author", "name"),
        "source_author_email": text("source", "author", "email"),
        "source_attachments": json("source", "attachments"),
        "teammates": json("teammates", "teammates"),
        "custom_attributes": json("custom_attributes"),
        "first_contact_reply_created_at": timestamp("first_contact_reply", "created_at"),
        "first_contact_reply_type": text("first_contact_reply", "type"),
        "first_contact_reply_url": text("first_contact_reply", "url"),
        **{f"statistics_{n}": integer("statistics", n) for n in _STAT_SECONDS},
        **{f"statistics_{n}": timestamp("statistics", n) for n in _STAT_TIMES},
        "statistics_last_closed_by_id": id_text("statistics", "last_closed_by_id"),
        **{f"statistics_{n}": integer("statistics", n) for n in _STAT_COUNTS},
        "statistics_assigned_team_first_response_time": json(
            "statistics", "assigned_team_first_response_time"
        ),
        "sla_applied": json("sla_applied"),
        "linked_objects": json("linked_objects", "data"),
        "ai_agent_participated": boolean("ai_agent_participated"),
        "ai_agent": json("ai_agent"),
        "company_id": text("company", "id"),  # 2.15 on
        "channel_initial": text("channel", "initial"),  # 2.16 on
        "channel_current": text("channel", "current"),
        "sales_agent_participated": boolean("sales_agent_participated"),
        "external_references": json("external_references"),
        "sales_agent": json("sales_agent"),
    },
    _conversations_as_sent,
    raw=the_record,
)


def _deleted_feed(truth: Mapping[str, Any]) -> Rows:
    """The 2.16 deleted-conversations feed's entries (none before 2.16: no feed)."""
    if on_216(truth):
        for entry in truth["deleted_conversations"]:
            yield entry, {}


DELETED_CONVERSATIONS = Table(
    "deleted_conversations",
    {
        "id": text("id"),
        "type": text("type"),
        "deleted_at": timestamp("deleted_at"),
        "metrics_retained": boolean("metrics_retained"),
    },
    _deleted_feed,
    raw=the_record,
)

CONVERSATION_TAGS = Table(
    "conversation_tags",
    {"conversation_id": text("conversation_id"), "tag_id": id_text("tag_id")},
    link("conversation_id", "tag_id", _embedded("conversations", "tags", "tags")),
    key=("conversation_id", "tag_id"),
    entity=False,
    live_only=False,
    parent=("conversation_id", "conversations"),
)

CONVERSATION_CONTACTS = Table(
    "conversation_contacts",
    {"conversation_id": text("conversation_id"), "contact_id": id_text("contact_id")},
    link("conversation_id", "contact_id", _embedded("conversations", "contacts", "contacts")),
    key=("conversation_id", "contact_id"),
    entity=False,
    live_only=False,
    parent=("conversation_id", "conversations"),
)

CONVERSATION_PARTS = Table(
    "conversation_parts",
    {
        "id": text("id"),
        "conversation_id": context("conversation_id"),
        "type": text("type"),
        "part_type": text("part_type"),
        "body": text("body"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "notified_at": timestamp("notified_at"),
        "assigned_to_type": text("assigned_to", "type"),
        "assigned_to_id": id_text("assigned_to", "id"),
        "author_type": text("author", "type"),
        "author_id": id_text("author", "id"),
        "author_name": text("author", "name"),
        "author_email": text("author", "email"),
        "attachments": json("attachments"),
        "external_id": text("external_id"),
        "redacted": boolean("redacted"),
        "state": text("state"),
        "tags": json("tags"),
        "metadata": json("metadata"),
        "event_details": json("event_details"),
        "email_message_metadata": json("email_message_metadata"),
        "app_package_code": text("app_package_code"),
    },
    _parts,
    raw=the_record,
    entity=False,
    live_only=False,
    parent=("conversation_id", "conversations"),
    kept=older_parts("conversation_parts", "all_conversation_parts"),
)

CONVERSATION_PART_LOADS = Table(
    "conversation_part_loads",
    {
        "id": text("id"),
        "conversation_updated_at": timestamp("conversation_updated_at"),
        "parts_returned": integer("parts_returned"),
        "total_count": integer("total_count"),
        "count_conversation_parts": integer("count_conversation_parts"),
        "truncated": boolean("truncated"),
        "parts_beyond_window": integer("parts_beyond_window"),
    },
    _loads,
    raw=the_record,  # the load as recorded, times in unix seconds
    live_only=False,
    parent=("id", "conversations"),
)

EVENTS = Table(
    "events",
    {
        "id": text("id"),
        "contact_id": text("intercom_user_id"),
        "type": text("type"),
        "event_name": text("event_name"),
        "created_at": timestamp("created_at"),
        "user_id": text("user_id"),
        "email": text("email"),
        "metadata": json("metadata"),
    },
    _events,
    raw=the_record,
    live_only=False,
)

# -- tickets --------------------------------------------------------------------------------


def _ticket_parts(truth: Mapping[str, Any]) -> Rows:
    for ticket_id, parts in truth["ticket_parts"].items():
        for part in parts:
            yield part, {"ticket_id": ticket_id}


def _ticket_loads(truth: Mapping[str, Any]) -> Rows:
    """One load per live ticket: its parts as the GET returned them, the true count."""
    for ticket in truth["tickets"]:
        returned = len(truth["ticket_parts"][ticket["id"]])
        total = truth["ticket_part_counts"][ticket["id"]]
        yield (
            {
                "id": ticket["id"],
                "ticket_updated_at": ticket["updated_at"],
                "parts_returned": returned,
                "total_count": total,
                "truncated": total > returned,
                "parts_beyond_window": _beyond(truth, "ticket_parts", ticket["id"]),
            },
            {},
        )


def _ticket_type_attributes(truth: Mapping[str, Any]) -> Rows:
    for ticket_type in truth["ticket_types"]:
        for attribute in ticket_type["ticket_type_attributes"]["data"]:
            yield attribute, {}


TICKET_STATES = Table(
    "ticket_states",
    {
        "id": text("id"),
        "type": text("type"),
        "category": text("category"),
        "internal_label": text("internal_label"),
        "external_label": text("external_label"),
        "archived": boolean("archived"),
    },
    records("ticket_states"),
    raw=the_record,
)

TICKET_TYPES = Table(
    "ticket_types",
    {
        "id": text("id"),
        "type": text("type"),
        "category": text("category"),
        "name": text("name"),
        "description": text("description"),
        "icon": text("icon"),
        "workspace_id": text("workspace_id"),
        "archived": boolean("archived"),
        "is_internal": boolean("is_internal"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    records("ticket_types"),
    raw=the_record,
)

TICKET_TYPE_STATES = Table(
    "ticket_type_states",
    {"ticket_type_id": text("ticket_type_id"), "ticket_state_id": text("ticket_state_id")},
    link("ticket_type_id", "ticket_state_id", _embedded("ticket_types", "ticket_states", "data")),
    key=("ticket_type_id", "ticket_state_id"),
    entity=False,
    live_only=False,
    parent=("ticket_type_id", "ticket_types"),
)

TICKET_TYPE_ATTRIBUTES = Table(
    "ticket_type_attributes",
    {
        "id": text("id"),
        "ticket_type_id": id_text("ticket_type_id"),
        "type": text("type"),
        "workspace_id": text("workspace_id"),
        "name": text("name"),
        "description": text("description"),
        "data_type": text("data_type"),
        "input_options": json("input_options"),
        "order": integer("order"),
        "required_to_create": boolean("required_to_create"),
        "required_to_create_for_contacts": boolean("required_to_create_for_contacts"),
        "visible_on_create": boolean("visible_on_create"),
        "visible_to_contacts": boolean("visible_to_contacts"),
        "default": boolean("default"),
        "archived": boolean("archived"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    _ticket_type_attributes,
    raw=the_record,
    entity=False,
    live_only=False,
    parent=("ticket_type_id", "ticket_types"),
)

TICKETS = Table(
    "tickets",
    {
        "id": text("id"),
        "type": text("type"),
        "ticket_id": text("ticket_id"),
        "category": text("category"),
        "ticket_attributes": json("ticket_attributes"),
        "ticket_state_id": text("ticket_state", "id"),
        "ticket_state_category": text("ticket_state", "category"),
        "ticket_state_internal_label": text("ticket_state", "internal_label"),
        "ticket_state_external_label": text("ticket_state", "external_label"),
        "ticket_type_id": text("ticket_type", "id"),
        "ticket_type_name": text("ticket_type", "name"),
        "admin_assignee_id": id_text("admin_assignee_id"),
        "team_assignee_id": id_text("team_assignee_id"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "open": boolean("open"),
        "snoozed_until": timestamp("snoozed_until"),
        "is_shared": boolean("is_shared"),
        "previous_ticket_state_id": text("previous_ticket_state_id"),
        "linked_objects": json("linked_objects", "data"),
    },
    _tickets_as_sent,
    raw=the_record,
)

TICKET_CONTACTS = Table(
    "ticket_contacts",
    {"ticket_id": text("ticket_id"), "contact_id": text("contact_id")},
    link("ticket_id", "contact_id", _embedded("tickets", "contacts", "contacts")),
    key=("ticket_id", "contact_id"),
    entity=False,
    live_only=False,
    parent=("ticket_id", "tickets"),
)

TICKET_LINKED_OBJECTS = Table(
    "ticket_linked_objects",
    {"ticket_id": text("ticket_id"), "linked_object_id": text("linked_object_id")},
    link("ticket_id", "linked_object_id", _embedded("tickets", "linked_objects", "data")),
    key=("ticket_id", "linked_object_id"),
    entity=False,
    live_only=False,
    parent=("ticket_id", "tickets"),
)

TICKET_PARTS = Table(
    "ticket_parts",
    {
        "id": text("id"),
        "ticket_id": context("ticket_id"),
        "type": text("type"),
        "part_type": text("part_type"),
        "body": text("body"),
        "previous_ticket_state": text("previous_ticket_state"),
        "ticket_state": text("ticket_state"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "assigned_to_type": text("assigned_to", "type"),
        "assigned_to_id": id_text("assigned_to", "id"),
        "author_type": text("author", "type"),
        "author_id": id_text("author", "id"),
        "author_name": text("author", "name"),
        "author_email": text("author", "email"),
        "attachments": json("attachments"),
        "external_id": text("external_id"),
        "redacted": boolean("redacted"),
        "app_package_code": text("app_package_code"),
        "updated_attribute_data": json("updated_attribute_data"),
    },
    _ticket_parts,
    raw=the_record,
    entity=False,
    live_only=False,
    parent=("ticket_id", "tickets"),
    kept=older_parts("ticket_parts", "all_ticket_parts"),
)

TICKET_PART_LOADS = Table(
    "ticket_part_loads",
    {
        "id": text("id"),
        "ticket_updated_at": timestamp("ticket_updated_at"),
        "parts_returned": integer("parts_returned"),
        "total_count": integer("total_count"),
        "truncated": boolean("truncated"),
        "parts_beyond_window": integer("parts_beyond_window"),
    },
    _ticket_loads,
    raw=the_record,
    live_only=False,
    parent=("id", "tickets"),
)

# -- company notes (2.16) -------------------------------------------------------------------


def _company_notes(truth: Mapping[str, Any]) -> Rows:
    """Every live company's notes, when the loader read with 2.16 or later (none before)."""
    if not on_216(truth):
        return
    for company_id, notes in truth["company_notes"].items():
        for note in notes:
            yield note, {"company_id": company_id}


COMPANY_NOTES = Table(
    "company_notes",
    {
        "id": text("id"),
        "company_id": context("company_id"),
        "type": text("type"),
        "created_at": timestamp("created_at"),
        "author_type": text("author", "type"),
        "author_id": id_text("author", "id"),
        "author_name": text("author", "name"),
        "author_email": text("author", "email"),
        "body": text("body"),
    },
    _company_notes,
    raw=the_record,
    entity=False,
    live_only=False,
    parent=("company_id", "companies"),
)


SUBSCRIPTION_TYPES = Table(
    "subscription_types",
    {
        "id": text("id"),
        "type": text("type"),
        "state": text("state"),
        "name": text("default_translation", "name"),
        "description": text("default_translation", "description"),
        "locale": text("default_translation", "locale"),
        "consent_type": text("consent_type"),
        "content_types": json("content_types"),
        "translations": json("translations"),
    },
    records("subscription_types"),
    raw=the_record,
    deleted_ids=_deleted(),
)

HELP_CENTERS = Table(
    "help_centers",
    {
        "id": text("id"),
        "workspace_id": text("workspace_id"),
        "identifier": text("identifier"),
        "display_name": text("display_name"),
        "website_turned_on": boolean("website_turned_on"),
        "url": text("url"),
        "custom_domain": text("custom_domain"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    records("help_centers"),
    raw=the_record,
    deleted_ids=_deleted(),
)

HELP_CENTER_COLLECTIONS = Table(
    "help_center_collections",
    {
        "id": text("id"),
        "workspace_id": text("workspace_id"),
        "help_center_id": id_text("help_center_id"),
        "parent_id": id_text("parent_id"),
        "name": text("name"),
        "description": text("description"),
        "url": text("url"),
        "icon": text("icon"),
        "order": integer("order"),
        "default_locale": text("default_locale"),
        "translated_content": json("translated_content"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    records("help_center_collections"),
    raw=the_record,
    deleted_ids=_deleted(),
)

ARTICLES = Table(
    "articles",
    {
        "id": text("id"),
        "type": text("type"),
        "workspace_id": text("workspace_id"),
        "title": text("title"),
        "description": text("description"),
        "body": text("body"),
        "author_id": id_text("author_id"),
        "state": text("state"),
        "url": text("url"),
        "parent_id": id_text("parent_id"),
        "parent_ids": json("parent_ids"),
        "parent_type": text("parent_type"),
        "default_locale": text("default_locale"),
        "translated_content": json("translated_content"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    records("articles"),
    raw=the_record,
    deleted_ids=_deleted("deleted_article_ids"),
)

ADMIN_ACTIVITY_LOGS = Table(
    "admin_activity_logs",
    {
        "id": text("id"),
        "activity_type": text("activity_type"),
        "activity_description": text("activity_description"),
        "created_at": timestamp("created_at"),
        "performed_by_id": text("performed_by", "id"),
        "performed_by_email": text("performed_by", "email"),
        "performed_by_ip": text("performed_by", "ip"),
        "metadata": json("metadata"),
    },
    records("activity_logs"),
    raw=the_record,
    live_only=False,
)


def _contact_notes(truth: Mapping[str, Any]) -> Rows:
    for contact_id, notes in truth["contact_notes"].items():
        for note in notes:
            yield note, {"contact_id": contact_id}


def _contact_note_loads(truth: Mapping[str, Any]) -> Rows:
    """One load per live contact with notes: the count its notes were listed with."""
    for contact_id, notes in truth["contact_notes"].items():
        yield {"id": contact_id, "notes_total_count": len(notes)}, {}


CONTACT_NOTES = Table(
    "contact_notes",
    {
        "id": text("id"),
        "contact_id": context("contact_id"),
        "type": text("type"),
        "created_at": timestamp("created_at"),
        "body": text("body"),
        "author_type": text("author", "type"),
        "author_id": id_text("author", "id"),
        "author_name": text("author", "name"),
        "author_email": text("author", "email"),
    },
    _contact_notes,
    raw=the_record,
    entity=False,
    live_only=False,
    parent=("contact_id", "contacts"),
)

CONTACT_NOTE_LOADS = Table(
    "contact_note_loads",
    {"id": text("id"), "notes_total_count": integer("notes_total_count")},
    _contact_note_loads,
    raw=the_record,
    live_only=False,
    parent=("id", "contacts"),
)

CONTACT_SEGMENTS = Table(
    "contact_segments",
    {"contact_id": text("contact_id"), "segment_id": text("segment_id")},
    link("contact_id", "segment_id", _full_membership("contact_segments")),
    key=("contact_id", "segment_id"),
    entity=False,
    live_only=False,
    parent=("contact_id", "contacts"),
)

NEWSFEEDS = Table(
    "newsfeeds",
    {
        "id": text("id"),
        "type": text("type"),
        "name": text("name"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    records("newsfeeds"),
    raw=the_record,
    deleted_ids=_deleted(),
)

NEWS_ITEMS = Table(
    "news_items",
    {
        "id": text("id"),
        "type": text("type"),
        "workspace_id": text("workspace_id"),
        "title": text("title"),
        "body": text("body"),
        "sender_id": id_text("sender_id"),
        "state": text("state"),
        "newsfeed_assignments": json("newsfeed_assignments"),
        "labels": json("labels"),
        "cover_image_url": text("cover_image_url"),
        "reactions": json("reactions"),
        "deliver_silently": boolean("deliver_silently"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    records("news_items"),
    raw=the_record,
    deleted_ids=_deleted("deleted_news_item_ids"),
)


def _news_item_newsfeeds(truth: Mapping[str, Any]) -> Iterator[tuple[Any, Any]]:
    for item in truth["news_items"]:
        for assignment in item["newsfeed_assignments"]:
            yield item["id"], assignment["newsfeed_id"]


NEWS_ITEM_NEWSFEEDS = Table(
    "news_item_newsfeeds",
    {"news_item_id": text("news_item_id"), "newsfeed_id": id_text("newsfeed_id")},
    link("news_item_id", "newsfeed_id", _news_item_newsfeeds),
    key=("news_item_id", "newsfeed_id"),
    entity=False,
    live_only=False,
    parent=("news_item_id", "news_items"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        TAGS,
        SEGMENTS,
        ADMINS,
        TEAMS,
        TEAM_ADMINS,
        DATA_ATTRIBUTES,
        COMPANIES,
        COMPANY_TAGS,
        COMPANY_SEGMENTS,
        CONTACTS,
        CONTACT_TAGS,
        CONTACT_COMPANIES,
        CONTACT_MERGES,
        CONVERSATIONS,
        CONVERSATION_TAGS,
        DELETED_CONVERSATIONS,
        CONVERSATION_CONTACTS,
        CONVERSATION_PARTS,
        CONVERSATION_PART_LOADS,
        EVENTS,
        TICKET_STATES,
        TICKET_TYPES,
        TICKET_TYPE_STATES,
        TICKET_TYPE_ATTRIBUTES,
        TICKETS,
        TICKET_CONTACTS,
        TICKET_LINKED_OBJECTS,
        TICKET_PARTS,
        TICKET_PART_LOADS,
        COMPANY_NOTES,
        SUBSCRIPTION_TYPES,
        HELP_CENTERS,
        HELP_CENTER_COLLECTIONS,
        ARTICLES,
        ADMIN_ACTIVITY_LOGS,
        CONTACT_NOTES,
        CONTACT_NOTE_LOADS,
        CONTACT_SEGMENTS,
        NEWSFEEDS,
        NEWS_ITEMS,
        NEWS_ITEM_NEWSFEEDS,
    )
}

STREAM_TABLES: dict[str, tuple[str, ...]] = {
    "tags": ("tags",),
    "segments": ("segments",),
    "admins": ("admins",),
    "teams": ("teams", "team_admins"),
    "data_attributes": ("data_attributes",),
    "companies": ("companies", "company_tags", "company_segments"),
    "contacts": ("contacts", "contact_tags", "contact_companies", "contact_merges"),
    "conversations": (
        "conversations",
        "conversation_tags",
        "conversation_contacts",
        "deleted_conversations",
    ),
    "conversation_parts": ("conversation_parts", "conversation_part_loads"),
    "events": ("events",),
    "ticket_states": ("ticket_states",),
    "ticket_types": ("ticket_types", "ticket_type_states", "ticket_type_attributes"),
    "tickets": ("tickets", "ticket_contacts", "ticket_linked_objects"),
    "ticket_parts": ("ticket_parts", "ticket_part_loads"),
    "company_notes": ("company_notes",),
    "subscription_types": ("subscription_types",),
    "help_centers": ("help_centers",),
    "help_center_collections": ("help_center_collections",),
    "articles": ("articles",),
    "newsfeeds": ("newsfeeds",),
    "news_items": ("news_items", "news_item_newsfeeds"),
    "admin_activity_logs": ("admin_activity_logs",),
    "contact_notes": ("contact_notes", "contact_note_loads"),
    "contact_segments": ("contact_segments",),
}
"""The tables each stream writes (docs/streams.md), in load order."""

assert {t for ts_ in STREAM_TABLES.values() for t in ts_} == set(TABLES)
assert all(c.kind in KINDS for t in TABLES.values() for c in t.all_columns().values())


@dataclass
class Expected:
    """A table's expected rows by key, each with its source record (for classifiers)."""

    table: Table
    rows: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    records: dict[tuple[Any, ...], Record] = field(default_factory=dict)


def expected_rows(table: Table, truth: Mapping[str, Any]) -> Expected:
    """Every expected row of `table`, every column (meta included) read from the truth."""
    out = Expected(table)
    columns = table.all_columns()
    for record, ctx in table.sources(truth):
        row = {}
        for name, col in columns.items():
            try:
                row[name] = col.read(record, ctx)
            except OracleError as exc:
                raise OracleError(f"{table.name}.{name}: {exc}") from None
        key = tuple(row[k] for k in table.key)
        out.rows[key] = row
        out.records[key] = record
    return out
