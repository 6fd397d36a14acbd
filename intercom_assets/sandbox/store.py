"""The workspace store: API-shaped records plus the memberships that tie them together.

Records are plain dicts shaped as the API (2.14) returns them (`versions.py` reshapes them for
later versions). Keys starting with `_` are private:
the HTTP layer strips them before answering, and the search engine may read them:

- contact: `_tag_ids`, `_company_ids`, `_note_ids` (full lists, in the order applied; the public
  `tags`, `companies`, `notes` embed at most 10 of each) and `_segment_ids`.
- conversation: `_tag_ids`, `_contact_ids`, `_teammate_ids`.
- company: `_tag_ids`, `_segment_ids`. segment: `_rule` (field path, value) deciding membership.

Every mutation goes through a method here so derived values (embedded lists, segment
membership, company `user_count`, cached JSON bytes) stay consistent.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

EMBED_LIMIT = 10
PARTS_LIMIT = 500
DAY = 86_400
"""Seconds in a day of the simulated clock (`Store.now`, unix seconds)."""
YEAR = 365 * DAY

Record = dict[str, Any]


def public(record: Mapping[str, Any]) -> Record:
    """The record without its private `_` keys (a shallow copy)."""
    return {k: v for k, v in record.items() if k[0] != "_"}


def numeric_id(record_id: str) -> tuple[int, str]:
    """Sort key of a numeric id kept as a string ("9" before "10")."""
    return (len(record_id), record_id)


def lookup(record: Record, path: str) -> Any:
    """The value at a field path such as `location.country` or `custom_attributes.plan`."""
    if path.startswith("custom_attributes."):
        return (record.get("custom_attributes") or {}).get(path[len("custom_attributes.") :])
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


class Store:
    """Every live record of one workspace, and what vanished from it."""

    def __init__(self, *, now: int, timezone: str, region: str = "US") -> None:
        self.now = now
        self.timezone = timezone
        self.region = region
        self.me: Record = {}
        self.admins: dict[str, Record] = {}
        self.teams: dict[str, Record] = {}
        self.tags: dict[str, Record] = {}
        self.segments: dict[str, Record] = {}
        self.data_attributes: list[Record] = []
        self.companies: dict[str, Record] = {}
        self.contacts: dict[str, Record] = {}
        self.notes: dict[str, Record] = {}
        self.conversations: dict[str, Record] = {}
        self.parts: dict[str, list[Record]] = {}
        self.events: dict[str, list[Record]] = {}
        self.deleted_contact_ids: set[str] = set()
        self.archived_contact_ids: set[str] = set()
        self.merged_contact_ids: dict[str, str] = {}
        self.merge_history: dict[str, Record] = {}
        """Merged-away contact id -> its 2.16 merge history item (`source_contact_id`,
        `source_contact_role`, `merged_at`), listed on its target."""
        self.deleted_company_ids: set[str] = set()
        self.deleted_admin_ids: set[str] = set()
        self.deleted_tag_ids: set[str] = set()
        self.deleted_segment_ids: set[str] = set()
        self.deleted_team_ids: set[str] = set()
        self.deleted_conversations: dict[str, Record] = {}
        """Deleted conversation id -> its entry in the 2.16 deleted-conversations feed."""
        self.tables: dict[str, dict[str, Record]] = {
            "admins": self.admins,
            "teams": self.teams,
            "tags": self.tags,
            "segments": self.segments,
            "companies": self.companies,
            "contacts": self.contacts,
            "notes": self.notes,
            "conversations": self.conversations,
        }
        self._numeric_ids: set[str] = set()
        self.version = 0
        self._json: dict[tuple[str, str, str], bytes] = {}
        self._shapes: set[str] = {""}
        self._sorted: dict[str, list[str]] = {}
        self._segment_counts: tuple[int, dict[str, int]] = (-1, {})

    def add_table(self, kind: str, numeric_ids: bool = False) -> dict[str, Record]:
        """The table of a kind of record, created empty if new; `numeric_ids` sorts its ids
        by number."""
        if numeric_ids:
            self._numeric_ids.add(kind)
        return self.tables.setdefault(kind, {})

    def numeric_ids(self, kind: str) -> bool:
        """Whether the ids of a kind sort as numbers."""
        return kind in self._numeric_ids

    # -- caches -------------------------------------------------------------------------------

    def changed(self, kind: str, record_id: str) -> None:
        """Forget the cached JSON of one record (in every shape)."""
        self.version += 1
        for shape in self._shapes:
            self._json.pop((kind, record_id, shape), None)

    def reordered(self, kind: str) -> None:
        """Forget the sorted id list of a kind (a record was added or removed)."""
        self.version += 1
        self._sorted.pop(kind, None)

    def json_of(
        self,
        kind: str,
        record: Mapping[str, Any],
        shape: str = "",
        reshape: Callable[[Record, Mapping[str, Any]], Record] | None = None,
    ) -> bytes:
        """The public JSON of a record, cached until it changes; `reshape` turns the public
        record into another shape first (an API version's; it reads the stored record too),
        cached apart under `shape`."""
        key = (kind, record["id"], shape)
        cached = self._json.get(key)
        if cached is None:
            body = public(record)
            if reshape is not None:
                self._shapes.add(shape)
                body = reshape(body, record)
            cached = self._json[key] = orjson.dumps(body)
        return cached

    def sorted_ids(self, kind: str) -> list[str]:
        """Ids of the live records of a kind (`contacts`, `tags`, ...), sorted; numeric ids
        sort by number."""
        ids = self._sorted.get(kind)
        if ids is None:
            table = self.tables[kind]
            ids = sorted(table, key=numeric_id) if kind in self._numeric_ids else sorted(table)
            self._sorted[kind] = ids
        return ids

    def segment_counts(self) -> dict[str, int]:
        """Members per segment (contacts; companies in company segments)."""
        version, counts = self._segment_counts
        if version != self.version:
            counts = dict.fromkeys(self.segments, 0)
            for contact in self.contacts.values():
                for sid in contact["_segment_ids"]:
                    counts[sid] = counts.get(sid, 0) + 1
            for company in self.companies.values():
                for sid in company["_segment_ids"]:
                    counts[sid] = counts.get(sid, 0) + 1
            self._segment_counts = (self.version, counts)
        return counts

    # -- contacts -----------------------------------------------------------------------------

    def refresh_contact(self, contact: Record) -> None:
        """Rebuild a contact's embedded tags, companies and notes and its segment membership."""
        cid = contact["id"]
        contact["tags"] = _addressable(cid, "tags", "tag", contact["_tag_ids"])
        contact["companies"] = _addressable(cid, "companies", "company", contact["_company_ids"])
        contact["notes"] = _addressable(cid, "notes", "note", contact["_note_ids"])
        contact["_segment_ids"] = [
            sid
            for sid, seg in self.segments.items()
            if seg["_rule"][0] != "company" and lookup(contact, seg["_rule"][0]) == seg["_rule"][1]
        ]
        self.changed("contacts", cid)

    def add_contact(self, contact: Record) -> None:
        self.contacts[contact["id"]] = contact
        self.reordered("contacts")
        for company_id in contact["_company_ids"]:
            self._bump_user_count(company_id, +1)
        self.refresh_contact(contact)

    def remove_contact(self, contact_id: str) -> Record:
        """Take a contact out of the live set (delete, archive or merge)."""
        contact = self.contacts.pop(contact_id)
        self.reordered("contacts")
        for company_id in contact["_company_ids"]:
            self._bump_user_count(company_id, -1)
        self.changed("contacts", contact_id)
        return contact

    def merge_histories(self) -> dict[str, list[Record]]:
        """Target id -> the merge history items of the contacts merged into it, newest first."""
        out: dict[str, list[Record]] = {}
        for source, item in self.merge_history.items():
            out.setdefault(self.merged_contact_ids[source], []).append(item)
        for items in out.values():
            items.sort(key=lambda i: (i["merged_at"], i["source_contact_id"]), reverse=True)
        return out

    def set_contact_companies(self, contact: Record, company_ids: list[str]) -> None:
        for company_id in contact["_company_ids"]:
            self._bump_user_count(company_id, -1)
        contact["_company_ids"] = list(company_ids)
        for company_id in company_ids:
            self._bump_user_count(company_id, +1)
        self.refresh_contact(contact)

    def _bump_user_count(self, company_id: str, delta: int) -> None:
        company = self.companies.get(company_id)
        if company is not None:
            company["user_count"] += delta
            self.changed("companies", company_id)

    # -- companies ----------------------------------------------------------------------------

    def refresh_company(self, company: Record) -> None:
        """Rebuild a company's embedded tags and segments."""
        company["tags"] = {
            "type": "tag.list",
            "tags": [
                {"type": "tag", "id": t, "name": self.tags[t]["name"]}
                for t in company["_tag_ids"]
                if t in self.tags
            ],
        }
        company["segments"] = {
            "type": "segment.list",
            "segments": [
                public(self.segments[s]) for s in company["_segment_ids"] if s in self.segments
            ],
        }
        self.changed("companies", company["id"])

    def remove_company(self, company_id: str) -> None:
        """Delete a company: it leaves every listing and its contacts are detached."""
        self.companies.pop(company_id)
        self.reordered("companies")
        self.deleted_company_ids.add(company_id)
        for contact in _strip(self.contacts.values(), "_company_ids", company_id):
            self.refresh_contact(contact)
        self.changed("companies", company_id)

    # -- conversations --------------------------------------------------------------------------

    def refresh_conversation(self, conversation: Record) -> None:
        parts = self.parts[conversation["id"]]
        conversation["statistics"]["count_conversation_parts"] = len(parts)
        self.changed("conversations", conversation["id"])

    def conversation_with_parts(self, conversation: Record) -> Record:
        """The conversation as GET /conversations/{id} returns it: the 500 newest parts."""
        parts = self.parts[conversation["id"]]
        out = public(conversation)
        out["conversation_parts"] = {
            "type": "conversation_part.list",
            "conversation_parts": parts[-PARTS_LIMIT:],
            "total_count": len(parts),
        }
        return out

    # -- vanishing metadata ---------------------------------------------------------------------

    def remove_tag(self, tag_id: str) -> None:
        """Delete a tag everywhere it was applied (no `updated_at` moves)."""
        self.tags.pop(tag_id)
        self.deleted_tag_ids.add(tag_id)
        for contact in _strip(self.contacts.values(), "_tag_ids", tag_id):
            self.refresh_contact(contact)
        for company in _strip(self.companies.values(), "_tag_ids", tag_id):
            self.refresh_company(company)
        for conversation in _strip(self.conversations.values(), "_tag_ids", tag_id):
            conversation["tags"]["tags"] = [
                t for t in conversation["tags"]["tags"] if t["id"] != tag_id
            ]
            self.changed("conversations", conversation["id"])
        self.reordered("tags")

    def recompute_company_segments(self) -> None:
        """Re-embed segments in companies (after a segment was renamed or removed)."""
        for company in self.companies.values():
            company["_segment_ids"] = [s for s in company["_segment_ids"] if s in self.segments]
            self.refresh_company(company)

    def add_segment(self, segment: Record) -> None:
        """Add a contact segment and compute its members."""
        self.segments[segment["id"]] = segment
        self.reordered("segments")
        field, value = segment["_rule"]
        for contact in self.contacts.values():
            if lookup(contact, field) == value:
                contact["_segment_ids"].append(segment["id"])
                self.changed("contacts", contact["id"])

    def remove_segment(self, segment_id: str) -> None:
        self.segments.pop(segment_id)
        self.reordered("segments")
        self.deleted_segment_ids.add(segment_id)
        for contact in self.contacts.values():
            if segment_id in contact["_segment_ids"]:
                contact["_segment_ids"].remove(segment_id)
                self.changed("contacts", contact["id"])
        self.recompute_company_segments()

    def remove_admin(self, admin_id: str) -> None:
        self.admins.pop(admin_id)
        self.deleted_admin_ids.add(admin_id)
        _strip(self.teams.values(), "admin_ids", int(admin_id))
        self.reordered("admins")

    def remove_team(self, team_id: str) -> None:
        self.teams.pop(team_id)
        self.deleted_team_ids.add(team_id)
        _strip(self.admins.values(), "team_ids", int(team_id))
        self.reordered("teams")


def _strip(records: Iterable[Record], key: str, value: str | int) -> list[Record]:
    """Take `value` out of the id list `key` of every record; the records that held it."""
    stripped = []
    for record in records:
        if value in record[key]:
            record[key] = [x for x in record[key] if x != value]
            stripped.append(record)
    return stripped


def _addressable(contact_id: str, plural: str, item_type: str, ids: list[str]) -> Record:
    return {
        "type": "list",
        "data": [{"type": item_type, "id": i, "url": f"/{plural}/{i}"} for i in ids[:EMBED_LIMIT]],
        "url": f"/contacts/{contact_id}/{plural}",
        "total_count": len(ids),
        "has_more": len(ids) > EMBED_LIMIT,
    }
