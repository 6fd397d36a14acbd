"""The ground truth: every live record as the API returns it, plus what vanished."""

from typing import Any

import orjson

from intercom_assets.sandbox.store import Store, public


def build_truth(store: Store) -> dict[str, Any]:
    """A JSON-able dict, sorted by id everywhere (shape documented in the package docstring)."""
    counts = store.segment_counts()
    ids = store.sorted_ids

    def segment(seg_id: str) -> dict[str, Any]:
        return {**public(store.segments[seg_id]), "count": counts.get(seg_id, 0)}

    conversations = [
        orjson.loads(store.json_of("conversations", store.conversations[i]))
        for i in ids("conversations")
    ]
    out: dict[str, Any] = {
        "now": store.now,
        "timezone": store.timezone,
        "admins": [store.admins[i] for i in ids("admins")],
        "teams": [store.teams[i] for i in ids("teams")],
        "tags": [store.tags[i] for i in ids("tags")],
        "segments": [segment(i) for i in ids("segments")],
        "data_attributes": sorted(
            store.data_attributes, key=lambda a: (a["model"], a.get("id", 0), a["full_name"])
        ),
        "companies": [
            orjson.loads(store.json_of("companies", store.companies[i])) for i in ids("companies")
        ],
        "contacts": [
            orjson.loads(store.json_of("contacts", store.contacts[i])) for i in ids("contacts")
        ],
        "contact_tags": {i: sorted(store.contacts[i]["_tag_ids"]) for i in ids("contacts")},
        "contact_companies": {
            i: sorted(store.contacts[i]["_company_ids"]) for i in ids("contacts")
        },
        "conversations": conversations,
        "conversation_parts": {
            c["id"]: store.conversation_with_parts(store.conversations[c["id"]])[
                "conversation_parts"
            ]["conversation_parts"]
            for c in conversations
        },
        "conversation_part_counts": {c["id"]: len(store.parts[c["id"]]) for c in conversations},
        "events": {i: events for i in ids("contacts") if (events := store.listable_events(i))},
        "deleted_contact_ids": sorted(store.deleted_contact_ids),
        "archived_contact_ids": sorted(store.archived_contact_ids),
        "merged_contact_ids": dict(sorted(store.merged_contact_ids.items())),
        "deleted_company_ids": sorted(store.deleted_company_ids),
        "deleted_admin_ids": sorted(store.deleted_admin_ids, key=lambda i: (len(i), i)),
        "deleted_tag_ids": sorted(store.deleted_tag_ids, key=lambda i: (len(i), i)),
        "deleted_segment_ids": sorted(store.deleted_segment_ids),
        "deleted_team_ids": sorted(store.deleted_team_ids, key=lambda i: (len(i), i)),
    }
    # One round trip so the caller owns an independent copy of every nested value.
    return orjson.loads(orjson.dumps(out))
