"""Every Intercom resource as a stream, in load order (see `base.Stream`).

`STREAMS` lists them so that each stream comes after the streams it depends on;
`get_stream(name)` finds one. A snapshot resource is one row of `snapshots.SNAPSHOTS`; another
kind of stream is one module declaring `STREAM` and one line here.
"""

from . import (
    activity_logs,
    companies,
    company_notes,
    contact_notes,
    contact_segments,
    contacts,
    conversation_parts,
    conversations,
    events,
    ticket_parts,
    ticket_types,
    tickets,
)
from .base import (
    DEFAULT_BATCH_SIZE,
    LiveCount,
    PartCap,
    Stream,
    StreamContext,
    StreamReport,
    Window,
    targets,
)
from .children import ParentsNotLoadedError
from .searched import SearchStream
from .snapshots import SNAPSHOTS
from .sync import EmptyListingError

_SNAPSHOT = {stream.name: stream for stream in SNAPSHOTS}

STREAMS: tuple[Stream, ...] = (
    _SNAPSHOT["tags"],
    _SNAPSHOT["segments"],
    _SNAPSHOT["admins"],
    _SNAPSHOT["teams"],
    _SNAPSHOT["data_attributes"],
    companies.STREAM,
    contacts.STREAM,
    conversations.STREAM,
    conversation_parts.STREAM,
    events.STREAM,
    _SNAPSHOT["ticket_states"],
    ticket_types.STREAM,
    tickets.STREAM,
    ticket_parts.STREAM,
    company_notes.STREAM,
    _SNAPSHOT["subscription_types"],
    _SNAPSHOT["help_centers"],
    _SNAPSHOT["help_center_collections"],
    _SNAPSHOT["articles"],
    _SNAPSHOT["newsfeeds"],
    _SNAPSHOT["news_items"],
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
    "PartCap",
    "SearchStream",
    "Stream",
    "StreamContext",
    "StreamReport",
    "Window",
    "get_stream",
    "targets",
]
