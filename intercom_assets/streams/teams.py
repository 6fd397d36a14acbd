"""Teams and their members: `GET /teams`, a full snapshot (`teams`, `team_admins`)."""

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages

from .shape import INT, JSON, Link, Shape, field, values_at
from .sync import SnapshotStream

SHAPE = Shape(
    "teams",
    (
        field("id", nullable=False),
        field("type"),
        field("name"),
        field("admin_ids", JSON),
        field("admin_priority_level", JSON),
        field("assignment_limit", INT),
        field("distribution_method"),
    ),
    links=(Link("team_admins", "team_id", "admin_id", values_at("admin_ids")),),
)


def fetch(client: IntercomClient) -> list[Page]:
    return list(iter_cursor_pages(client, "/teams", per_page=None, items_key="teams"))


STREAM = SnapshotStream("teams", "Intercom teams and their admins, full snapshot", SHAPE, fetch)
