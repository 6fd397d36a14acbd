"""`GET /companies/{id}/notes` (new in 2.16) answers as the 2.16 description says, unrelaxed,
for every company of a tiny workspace after a few days of new notes; 2.14 is refused."""

from dataclasses import fields, replace

import httpx
import pytest

from intercom_assets.sandbox import Churn, Sandbox
from intercom_assets_tests.sandbox.test_conformance import (
    SPEC_216_FILE,
    SPEC_216_NAME,
    SPEC_FOLDER,
    Collector,
    Spec,
)


@pytest.mark.skipif(SPEC_216_FILE is None, reason=f"no {SPEC_FOLDER / SPEC_216_NAME}")
def test_company_notes_match_the_216_description() -> None:
    assert SPEC_216_FILE is not None
    spec = Spec(SPEC_216_FILE, exceptions=[])
    sb = Sandbox(size="tiny", seed=2)
    quiet = Churn(**{f.name: 0.0 for f in fields(Churn)})
    sb.advance(days=3, churn=replace(quiet, company_note_add=0.3))
    template = "/companies/{company_id}/notes"
    headers = {"Authorization": "Bearer sandbox", "Intercom-Version": "2.16"}
    with httpx.Client(transport=sb.transport(), base_url=sb.base_url, headers=headers) as http:
        c = Collector(http)
        companies = sb.truth()["companies"]
        for company in companies:
            c.call("notes", template, "GET", f"/companies/{company['id']}/notes")
        c.call("notes", template, "GET", "/companies/nope/notes", expect=404)
        old = {"Intercom-Version": "2.14"}
        first = companies[0]["id"]
        c.call("refused", template, "GET", f"/companies/{first}/notes", headers=old, expect=400)
    replies = c.replies["notes"]
    assert sum(len(r.body.get("data", [])) for r in replies) >= len(companies)
    spec.assert_valid(replies)
    refused = c.replies["refused"][0].body
    assert refused["errors"][0]["code"] == "intercom_version_invalid"
