"""Conversation parts: `GET /conversations/{id}` for every conversation whose `updated_at`
moved since its parts were last loaded; its parts are replaced as a set.

`conversation_part_loads` remembers, per conversation, the `updated_at` loaded, the parts
returned, Intercom's true `total_count` and `truncated` (Intercom returns only the 500
newest parts). A loads row commits with its parts, so an interrupted run resumes with the
conversations not yet committed. Not window-bound: it follows the `conversations` table.
"""

from typing import Any

from .children import ChildStream, ChildTable, get_or_gone, listed_parts, moved_since_loaded
from .conversations import SHAPE as CONVERSATIONS
from .shape import BOOL, INT, JSON, TIMESTAMP, Shape, encode, field
from .sync import Run

PART_FIELDS = (
    field("id", nullable=False),
    field("conversation_id", nullable=False),
    field("type"),
    field("part_type"),
    field("body"),
    field("created_at", TIMESTAMP),
    field("updated_at", TIMESTAMP),
    field("notified_at", TIMESTAMP),
    field("assigned_to_type", path="assigned_to.type"),
    field("assigned_to_id", path="assigned_to.id"),
    field("author_type", path="author.type"),
    field("author_id", path="author.id"),
    field("author_name", path="author.name"),
    field("author_email", path="author.email"),
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
"""A child table of `conversations`: each conversation's parts are replaced as a set."""
PARTS = PART_TABLE.spec

LOADS = Shape(
    "conversation_part_loads",
    (
        field("id", nullable=False),
        field("conversation_updated_at", TIMESTAMP),
        field("parts_returned", INT),
        field("total_count", INT),
        field("count_conversation_parts", INT),
        field("truncated", BOOL),
    ),
)
"""One row per conversation whose parts are loaded (`id` is the conversation id)."""


def write_parts(run: Run, conversations: list[dict[str, Any]]) -> None:
    """Replace the parts of these conversations and record their loads, in one transaction."""
    owned: list[tuple[str, list[dict[str, Any]]]] = []
    loads: list[dict[str, Any]] = []
    for conversation in conversations:
        conversation_id = str(conversation["id"])
        own, total = listed_parts(conversation, "conversation_parts")
        statistics = conversation.get("statistics") or {}
        owned.append((conversation_id, own))
        loads.append(
            {
                "id": conversation_id,
                "conversation_updated_at": conversation.get("updated_at"),
                "parts_returned": len(own),
                "total_count": total,
                "count_conversation_parts": statistics.get("count_conversation_parts"),
                "truncated": total > len(own),
            }
        )
        run.report.fetched += len(own)
    part_frames, parents = PART_TABLE.frames(owned)
    load_frames, _ = LOADS.frames(encode(loads))
    run.write({**part_frames, **load_frames}, parents=parents)
    truncated = sum(1 for load in loads if load["truncated"])
    run.note(
        "conversations_truncated", run.report.extra.get("conversations_truncated", 0) + truncated
    )


STREAM = ChildStream[str, dict[str, Any]](
    name="conversation_parts",
    description="Parts of every conversation whose updated_at moved (500 newest each)",
    parents="conversations",
    tables=(PARTS, *LOADS.specs()),
    reads=CONVERSATIONS.specs()[:1],
    todo=lambda run: moved_since_loaded(
        run, "conversations", "conversation_part_loads", "conversation_updated_at"
    ),
    fetch=lambda client, conversation_id: get_or_gone(client, f"/conversations/{conversation_id}"),
    write=write_parts,
    rows=lambda conversation: 1 + len(listed_parts(conversation, "conversation_parts")[0]),
    deps=("conversations",),
)
