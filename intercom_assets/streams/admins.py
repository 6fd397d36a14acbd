"""Admins (teammates): `GET /admins?display_avatar=true`, a full snapshot; removed admins are
soft-deleted. The avatar is an object (`{type, image_url}`); its URL is `avatar_image_url`."""

from intercom_assets.api import IntercomClient, Page, iter_cursor_pages

from .shape import BOOL, JSON, Shape, field
from .sync import SnapshotStream

SHAPE = Shape(
    "admins",
    (
        field("id", nullable=False),
        field("type"),
        field("name"),
        field("email"),
        field("job_title"),
        field("away_mode_enabled", BOOL),
        field("away_mode_reassign", BOOL),
        field("away_status_reason_id"),
        field("has_inbox_seat", BOOL),
        field("team_ids", JSON),
        field("avatar_image_url", path="avatar.image_url"),
        field("team_priority_level", JSON),
        field("role_id", path="role.id"),  # 2.16, when the admin has a role
        field("role_name", path="role.name"),
    ),
)


def fetch(client: IntercomClient) -> list[Page]:
    params = {"display_avatar": "true"}
    return list(
        iter_cursor_pages(client, "/admins", params=params, per_page=None, items_key="admins")
    )


STREAM = SnapshotStream("admins", "Intercom admins (teammates), full snapshot", SHAPE, fetch)
