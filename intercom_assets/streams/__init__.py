"""Every Intercom resource as a stream, in load order (see `base.Stream`).

`STREAMS` lists them so that each stream comes after the streams it depends on;
`get_stream(name)` finds one. Adding a stream = one module + its tests + one line here.
"""

from . import (
    activity_logs,
    admins,
    companies,
    company_notes,
    contact_notes,
    contact_segments,
    contacts,
    conversation_parts,
    conversations,
    data_attributes,
    events,
    help_center,
    segments,
    subscription_types,
    tags,
    teams,
    ticket_parts,
    ticket_states,
    ticket_types,
    tickets,
)
from .base import DEFAULT_BATCH_SIZE, LiveCount, Stream, StreamContext, StreamReport, Window
from .children import ParentsNotLoadedError
from .searched import SearchStream
from .sync import EmptyListingError

STREAMS: tuple[Stream, ...] = (
    tags.STREAM,
    segments.STREAM,
    admins.STREAM,
    teams.STREAM,
    data_attributes.STREAM,
    companies.STREAM,
    contacts.STREAM,
    conversations.STREAM,
    conversation_parts.STREAM,
    events.STREAM,
    ticket_states.STREAM,
    ticket_types.STREAM,
    tickets.STREAM,
    ticket_parts.STREAM,
    company_notes.STREAM,
    subscription_types.STREAM,
    help_center.HELP_CENTERS_STREAM,
    help_center.COLLECTIONS_STREAM,
    help_center.ARTICLES_STREAM,
    activity_logs.STREAM,
    contact_notes.STREAM,
    contact_segments.STREAM,
)


def get_stream(name: str) -> Stream:
    """The stream called `name`; a clear error lists the known names otherwise."""
    for stream in STREAMS:
        if stream.name == name:
            return stream
    known = ", ".join(s.name for s in STREAMS)
    raise KeyError(f"unknown stream {name!r}; known streams: {known}")


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "STREAMS",
    "EmptyListingError",
    "LiveCount",
    "ParentsNotLoadedError",
    "SearchStream",
    "Stream",
    "StreamContext",
    "StreamReport",
    "Window",
    "get_stream",
]
