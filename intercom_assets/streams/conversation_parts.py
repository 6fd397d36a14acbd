"""Conversation parts: `GET /conversations/{id}` for every conversation whose `updated_at`
moved since its parts were last loaded; its parts are replaced as a set, within the window
Intercom returned (only the 500 newest parts come back; older stored parts are kept, see
`parts`).

`conversation_part_loads` remembers, per conversation, the `updated_at` loaded, the parts
returned, Intercom's true `total_count`, `truncated` and `parts_beyond_window`. A loads row
commits with its parts, so an interrupted run resumes with the conversations not yet
committed. Not window-bound: it follows the `conversations` table.
"""

from typing import Any

from .base import PartCap
from .children import ChildStream, ChildTable, get_or_gone, listed_parts, moved_since_loaded
from .conversations import SHAPE as CONVERSATIONS
from .parts import CappedParts, load_fields
from .shape import AUTHOR, BOOL, INT, JSON, TIMESTAMP, Shape, field, flattened

PART_FIELDS = (
    field("id", nullable=False),
    field("conversation_id", nullable=False),
    field("type"),
    field("part_type"),
    field("body"),
    field("created_at", TIMESTAMP),
    field("updated_at", TIMESTAMP),
    field("notified_at", TIMESTAMP),
    *flattened("assigned_to", "type", "id"),
    *AUTHOR,
    field("attachments", JSON),
    field("external_id"),
    field("redacted", BOOL),
    field("state"),
    field("tags", JSON),
    field("metadata", JSON),
    field("event_details", JSON),
    field("email_message_metadata", JSON),
    field("app_package_code"),
)
PART_TABLE = ChildTable.of("conversation_parts", "conversation_id", PART_FIELDS)
"""A child table of `conversations`: each conversation's parts are replaced as a set (within
the returned window)."""
PARTS = PART_TABLE.spec

LOADS = Shape(
    "conversation_part_loads",
    load_fields("conversation_updated_at", field("count_conversation_parts", INT)),
)
"""One row per conversation whose parts are loaded (`id` is the conversation id)."""

WRITE = CappedParts(
    "conversation_parts",
    PART_TABLE,
    LOADS,
    "conversation_updated_at",
    more=lambda conversation: {
        "count_conversation_parts": (conversation.get("statistics") or {}).get(
            "count_conversation_parts"
        )
    },
    truncated_note="conversations_truncated",
)


STREAM = ChildStream[str, dict[str, Any]](
    name="conversation_parts",
    description="Parts of every conversation whose updated_at moved (500 newest each, older kept)",
    parents="conversations",
    tables=(PARTS, *LOADS.specs()),
    reads=CONVERSATIONS.specs()[:1],
    todo=lambda run: moved_since_loaded(
        run, "conversations", "conversation_part_loads", "conversation_updated_at"
    ),
    fetch=lambda client, conversation_id: get_or_gone(client, f"/conversations/{conversation_id}"),
    write=WRITE.write,
    rows=lambda conversation: 1 + len(listed_parts(conversation, "conversation_parts")[0]),
    deps=("conversations",),
    references={"conversation_parts": {"conversation_id": "conversations"}},
    checks=(PartCap("conversation_parts", "conversation_part_loads", "conversations"),),
)
