"""Companies with their tags and segments: the full `GET /companies/scroll` on every run.

The scroll (`CompanyScroll`) yields every company once, however often a fault makes it
start a new pass; batches are written as they come, then companies missing from the
complete walk are soft-deleted (`DELETE /companies/{id}` archives a company).
"""

from intercom_assets.api import CompanyScroll

from .base import LiveCount, Stream, StreamContext, StreamReport
from .shape import FLOAT, INT, JSON, TIMESTAMP, Link, Shape, field, ids_at
from .sync import Run, concat_ids

SHAPE = Shape(
    "companies",
    (
        field("id", nullable=False),
        field("type"),
        field("company_id"),
        field("app_id"),
        field("name"),
        field("plan_id", path="plan.id"),
        field("plan_name", path="plan.name"),
        field("remote_created_at", TIMESTAMP),
        field("created_at", TIMESTAMP),
        field("updated_at", TIMESTAMP),
        field("last_request_at", TIMESTAMP),
        field("size", INT),
        field("website"),
        field("industry"),
        field("monthly_spend", FLOAT),
        field("session_count", INT),
        field("user_count", INT),
        field("custom_attributes", JSON),
    ),
    links=(
        Link("company_tags", "company_id", "tag_id", ids_at("tags.tags")),
        Link("company_segments", "company_id", "segment_id", ids_at("segments.segments")),
    ),
)


LIVE_COUNT = LiveCount(
    "companies",
    "/companies",
    positive_column="user_count",
    counts="companies with users only (user_count > 0)",
)


class CompaniesStream(Stream):
    """Every company through the scroll, every run (see the module doc)."""

    def run(self, ctx: StreamContext) -> StreamReport:
        ctx.warehouse.migrate(self.tables)
        run = Run(ctx, self.name)
        scroll = CompanyScroll(ctx.client)
        written = [run.write_records(SHAPE, batch) for batch in run.raw_batches(scroll)]
        run.soft_delete_missing("companies", concat_ids(written, self.tables[0]))
        run.note("scroll_restarts", scroll.restarts)
        run.note("scroll_pages_skipped", scroll.pages_skipped)
        return run.finish()


STREAM = CompaniesStream(
    name="companies",
    description="Intercom companies with tags and segments, full scroll",
    tables=SHAPE.specs(),
    deps=("tags", "segments", "admins", "teams", "data_attributes"),
    references={
        "company_tags": {"company_id": "companies", "tag_id": "tags"},
        "company_segments": {"company_id": "companies", "segment_id": "segments"},
    },
    live_count=LIVE_COUNT,
)
