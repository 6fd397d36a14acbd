"""Route templates (`GET /contacts/{id}`) for counting requests without raw ids."""

from urllib.parse import urlsplit

# Path segments that are part of Intercom's routes; any other segment is an id.
LITERAL_SEGMENTS = frozenset(
    {
        "activity_log_event_types",
        "activity_logs",
        "admins",
        "articles",
        "attributes",
        "away_status_reasons",
        "collections",
        "companies",
        "contacts",
        "conversations",
        "data_attributes",
        "deleted",
        "events",
        "find_by_external_id",
        "help_center",
        "help_centers",
        "list",
        "me",
        "merge_history",
        "notes",
        "parts",
        "scroll",
        "search",
        "segments",
        "subscription_types",
        "subscriptions",
        "summaries",
        "tags",
        "teams",
        "ticket_states",
        "ticket_types",
        "tickets",
        "_sandbox",
    }
)


def route_template(method: str, url_or_path: str) -> str:
    """`METHOD /path/{id}`: the route of a request with ids and the query string removed."""
    path = urlsplit(url_or_path).path
    segments = [s for s in path.split("/") if s]
    templated = [s if s in LITERAL_SEGMENTS else "{id}" for s in segments]
    return f"{method.upper()} /" + "/".join(templated)
