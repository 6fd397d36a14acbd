"""Conversation parts: `GET /conversations/{id}` for every conversation whose `updated_at`
moved since its parts were last loaded; its parts are replaced as a set.

`conversation_part_loads` remembers, per conversation, the `updated_at` loaded, the parts
returned, Intercom's true `total_count` and `truncated` (Intercom returns only the 500
newest parts). A loads row commits with its parts, so an interrupted run resumes with the
conversations not yet committed. Not window-bound: it follows the `conversations` table.
"""

from dataclasses import dataclass
from typing import Any

import polars as pl

from intercom_assets.api import IntercomNotFound, fan_out
from intercom_assets.warehouse import TableSpec

from .base import StreamContext, StreamReport
from .conversations import SHAPE as CONVERSATIONS
from .shape import BOOL, INT, JSON, TIMESTAMP, Shape, field, frame
from .sync import Run, read_columns

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
PARTS = TableSpec(
    "conversation_parts",
    tuple(f.spec_column() for f in PART_FIELDS),
    primary_key=("id",),
    parent_key="conversation_id",
    raw=True,
)
"""A child table of `conversations`: each conversation's parts are replaced as a set."""

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


@dataclass(frozen=True)
class ConversationPartsStream:
    name: str = "conversation_parts"
    description: str = "Parts of every conversation whose updated_at moved (500 newest each)"
    tables = (PARTS, *LOADS.specs())
    deps: tuple[str, ...] = ("conversations",)
    windowed: bool = False

    def run(self, ctx: StreamContext) -> StreamReport:
        wh = ctx.warehouse
        wh.register(CONVERSATIONS.specs()[:1])  # read only
        wh.migrate(self.tables)
        run = Run(ctx, self.name)
        todo = stale_conversations(run)
        run.note("conversations_to_load", len(todo))
        client = ctx.client

        def get(conversation_id: str) -> dict[str, Any] | None:
            try:
                return client.get(f"/conversations/{conversation_id}")
            except IntercomNotFound:
                return None

        pending: list[dict[str, Any]] = []
        parts_pending = 0
        missing = truncated = 0
        failure: Exception | None = None
        for result in fan_out(todo, get, max_in_flight=ctx.max_in_flight):
            if result.error is not None:
                failure = result.error
                break
            conversation = result.value
            run.report.pages += 1
            if conversation is None:
                missing += 1
                continue
            pending.append(conversation)
            parts_pending += len(parts_of(conversation))
            if parts_pending >= ctx.batch_size or len(pending) >= ctx.batch_size:
                truncated += write_parts(run, pending)
                pending, parts_pending = [], 0
        if pending:
            truncated += write_parts(run, pending)
        run.note("conversations_missing", missing)
        run.note("conversations_truncated", truncated)
        if failure is not None:
            raise failure
        return run.finish()


def stale_conversations(run: Run) -> list[str]:
    """Live conversations whose `updated_at` differs from the one their parts were loaded at."""
    conversations = read_columns(run.warehouse, "conversations", ["id", "updated_at"])
    loads = read_columns(
        run.warehouse, "conversation_part_loads", ["id", "conversation_updated_at"]
    )
    stale = conversations.join(loads, on="id", how="left").filter(
        pl.col("conversation_updated_at").is_null()
        | (pl.col("conversation_updated_at") != pl.col("updated_at"))
    )
    return stale.sort("id").get_column("id").to_list()


def parts_of(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    listed = conversation.get("conversation_parts")
    parts = listed.get("conversation_parts") if isinstance(listed, dict) else None
    return parts if isinstance(parts, list) else []


def write_parts(run: Run, conversations: list[dict[str, Any]]) -> int:
    """Replace the parts of these conversations and record their loads; return truncated."""
    parts: list[dict[str, Any]] = []
    owners: list[str] = []
    loads: list[dict[str, Any]] = []
    for conversation in conversations:
        conversation_id = str(conversation["id"])
        own = parts_of(conversation)
        listed = conversation.get("conversation_parts") or {}
        total = listed.get("total_count") if isinstance(listed, dict) else None
        total = total if isinstance(total, int) else len(own)
        statistics = conversation.get("statistics") or {}
        parts.extend(own)
        owners.extend([conversation_id] * len(own))
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
    parts_frame = frame(parts, [f for f in PART_FIELDS if f.column != "conversation_id"])
    parts_frame = parts_frame.with_columns(
        pl.Series("conversation_id", owners, dtype=pl.String)
    ).select(*PARTS.column_names, "_raw")
    load_frames, _ = LOADS.frames(loads)
    ids = [load["id"] for load in loads]
    run.write(
        {PARTS.name: parts_frame, **load_frames},
        parents={PARTS.name: pl.Series("conversation_id", ids, dtype=pl.String)},
    )
    return sum(1 for load in loads if load["truncated"])


STREAM = ConversationPartsStream()
