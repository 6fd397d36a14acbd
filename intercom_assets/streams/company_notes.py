"""Company notes (API version 2.16 on): `GET /companies/{id}/notes` for every live company.

A note does not move its company's `updated_at` and nothing lists notes across companies, so
the one exact path is each company's list, every run: one request per live company (notes
come 50 a page, newest first; a company rarely has more). Each company's notes are replaced
as a set (`company_notes`, a child table of `companies`). On versions before 2.16 the endpoint
does not exist: the run asks nothing and notes `api_version`.
"""

from .children import ChildTable, listed_per_parent
from .companies import SHAPE as COMPANIES
from .shape import AUTHOR, TIMESTAMP, field
from .sync import Run
from .versions import V2_16, at_least

NOTE_FIELDS = (
    field("id", nullable=False),
    field("company_id", nullable=False),
    field("type"),
    field("created_at", TIMESTAMP),
    *AUTHOR,
    field("body"),
)
NOTE_TABLE = ChildTable.of("company_notes", "company_id", NOTE_FIELDS)
"""A child table of `companies`: each company's notes are replaced as a set."""
NOTES = NOTE_TABLE.spec


def live_companies(run: Run) -> list[str]:
    """Every live company, on 2.16 and later; none before (the endpoint does not exist)."""
    if not at_least(run.client.api_version, V2_16):
        run.note("api_version", f"{run.client.api_version}: no company notes before 2.16")
        return []
    return sorted(run.warehouse.live_ids("companies").to_list())


STREAM = listed_per_parent(
    name="company_notes",
    description=(
        "Notes on every live company: API version 2.16 on; on 2.14 the table stays empty"
        " (Intercom lists company notes from 2.16: set INTERCOM_API_VERSION=2.16)"
    ),
    table=NOTE_TABLE,
    parent=COMPANIES.specs()[0],
    path="/companies/{id}/notes",
    todo=live_companies,
    deps=("companies",),
)
