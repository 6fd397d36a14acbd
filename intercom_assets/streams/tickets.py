"""Tickets with their contacts and linked objects: the window through `POST /tickets/search`.

Ticket search honours exact seconds (`updated_at > start-1 AND < end`), ascending by
`updated_at`, 150 a page, like conversations. A ticket embeds its state and type (kept as
columns), its contacts and its linked objects (conversations and tickets, link tables). Parts
are another stream (`ticket_parts`), as search returns none. Intercom's ticket record carries
no tag list (2.14 and 2.16), so tickets have no tag table.
"""

from intercom_assets.api import SearchSemantics

from .searched import SearchStream
from .shape import BOOL, JSON, TIMESTAMP, Link, Shape, field, ids_at

TICKET_SEARCH = SearchSemantics("/tickets/search", "second")

SHAPE = Shape(
    "tickets",
    (
        field("id", nullable=False),
        field("type"),
        field("ticket_id"),
        field("category"),
        field("ticket_attributes", JSON),
        field("ticket_state_id", path="ticket_state.id"),
        field("ticket_state_category", path="ticket_state.category"),
        field("ticket_state_internal_label", path="ticket_state.internal_label"),
        field("ticket_state_external_label", path="ticket_state.external_label"),
        field("ticket_type_id", path="ticket_type.id"),
        field("ticket_type_name", path="ticket_type.name"),
        field("admin_assignee_id"),
        field("team_assignee_id"),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
        field("open", BOOL),
        field("snoozed_until", TIMESTAMP),
        field("is_shared", BOOL),
        field("previous_ticket_state_id"),
        field("linked_objects", JSON, "linked_objects.data"),
    ),
    links=(
        Link("ticket_contacts", "ticket_id", "contact_id", ids_at("contacts.contacts")),
        Link(
            "ticket_linked_objects", "ticket_id", "linked_object_id", ids_at("linked_objects.data")
        ),
    ),
)


STREAM = SearchStream(
    name="tickets",
    description="Intercom tickets with contacts and linked objects, by updated_at window",
    shape=SHAPE,
    search=TICKET_SEARCH,
    deps=("contacts",),
    references={
        "ticket_contacts": {"ticket_id": "tickets", "contact_id": "contacts"},
        "ticket_linked_objects": {
            "ticket_id": "tickets",
            "linked_object_id": ("conversations", "tickets"),
        },
    },
)
