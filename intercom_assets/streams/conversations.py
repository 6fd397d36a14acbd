"""Conversations with their tags and contacts: the window through `POST /conversations/search`.

Conversation search honours exact seconds (`updated_at > start-1 AND < end`), ascending by
`updated_at`, 150 a page; a record edited during the walk may come twice (the last wins).
Parts are another stream (`conversation_parts`), as search returns no parts. On API version
2.16 every run also reads the deleted-conversations feed (`deleted_conversations`).
"""

from intercom_assets.api import CONVERSATION_SEARCH

from .base import LiveCount
from .deleted_conversations import SHAPE as DELETED_SHAPE
from .deleted_conversations import soft_delete_from_feed
from .searched import SearchStream
from .shape import BOOL, INT, JSON, TIMESTAMP, Link, Shape, field, ids_at

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
_SOURCE = ("type", "id", "delivered_as", "subject", "body", "url")
_AUTHOR = ("type", "id", "name", "email")

SHAPE = Shape(
    "conversations",
    (
        field("id", nullable=False),
        field("type"),
        field("title"),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
        field("waiting_since", TIMESTAMP),
        field("snoozed_until", TIMESTAMP),
        field("open", BOOL),
        field("state"),
        field("read", BOOL),
        field("priority"),
        field("admin_assignee_id"),
        field("team_assignee_id"),
        field("conversation_rating_rating", INT, "conversation_rating.rating"),
        field("conversation_rating_remark", path="conversation_rating.remark"),
        field("conversation_rating_created_at", TIMESTAMP, "conversation_rating.created_at"),
        field("conversation_rating_updated_at", TIMESTAMP, "conversation_rating.updated_at"),
        field("conversation_rating_contact_id", path="conversation_rating.contact.id"),
        field("conversation_rating_teammate_id", path="conversation_rating.teammate.id"),
        *(field(f"source_{name}", path=f"source.{name}") for name in _SOURCE),
        field("source_redacted", BOOL, "source.redacted"),
        *(field(f"source_author_{name}", path=f"source.author.{name}") for name in _AUTHOR),
        field("source_attachments", JSON, "source.attachments"),
        field("teammates", JSON, "teammates.teammates"),
        field("custom_attributes", JSON),
        field("first_contact_reply_created_at", TIMESTAMP, "first_contact_reply.created_at"),
        field("first_contact_reply_type", path="first_contact_reply.type"),
        field("first_contact_reply_url", path="first_contact_reply.url"),
        *(field(f"statistics_{n}", INT, f"statistics.{n}") for n in _STAT_SECONDS),
        *(field(f"statistics_{n}", TIMESTAMP, f"statistics.{n}") for n in _STAT_TIMES),
        field("statistics_last_closed_by_id", path="statistics.last_closed_by_id"),
        *(field(f"statistics_{n}", INT, f"statistics.{n}") for n in _STAT_COUNTS),
        field(
            "statistics_assigned_team_first_response_time",
            JSON,
            "statistics.assigned_team_first_response_time",
        ),
        field("sla_applied", JSON),
        field("linked_objects", JSON, "linked_objects.data"),
        field("ai_agent_participated", BOOL),
        field("ai_agent", JSON),
        # Fields later API versions add (null where the version read does not send them):
        field("company_id", path="company.id"),  # 2.15
        field("channel_initial", path="channel.initial"),  # 2.16
        field("channel_current", path="channel.current"),
        field("sales_agent_participated", BOOL),
        field("external_references", JSON),
        field("sales_agent", JSON),
    ),
    links=(
        Link("conversation_tags", "conversation_id", "tag_id", ids_at("tags.tags")),
        Link("conversation_contacts", "conversation_id", "contact_id", ids_at("contacts.contacts")),
    ),
)


STREAM = SearchStream(
    name="conversations",
    description=(
        "Intercom conversations with tags and contacts, by updated_at window; on API version"
        " 2.16 also the deleted-conversations feed (deleted_conversations, empty on 2.14)"
    ),
    shape=SHAPE,
    search=CONVERSATION_SEARCH,
    live_count=LiveCount("conversations", "/conversations"),
    deps=("contacts",),
    extra_tables=DELETED_SHAPE.specs(),
    references={
        "conversation_tags": {"conversation_id": "conversations", "tag_id": "tags"},
        "conversation_contacts": {"conversation_id": "conversations", "contact_id": "contacts"},
    },
    deletions=soft_delete_from_feed,
)
