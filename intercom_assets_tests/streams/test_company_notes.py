"""Company notes (2.16): every live company's notes, one request each; nothing before 2.16."""

from dataclasses import fields, replace

from intercom_assets.sandbox import Churn
from intercom_assets_tests.oracle import assert_matches_truth
from intercom_assets_tests.streams.conftest import Harness
from intercom_assets_tests.streams.test_deleted_conversations import client_on

NOTES_ONLY = replace(Churn(**{f.name: 0.0 for f in fields(Churn)}), company_delete=0.05)


def test_on_216_every_live_companys_notes_load_exactly(harness: Harness) -> None:
    client = client_on(harness, "2.16")
    harness.run("companies", client=client)
    harness.sb.reset_request_counts()
    report = harness.run("company_notes", client=client)
    truth = {**harness.sb.truth(), "api_version": "2.16"}
    companies = len(truth["companies"])
    assert harness.sb.request_counts()["GET /companies/{id}/notes"] == companies
    assert report.pages == companies
    assert report.fetched == sum(len(n) for n in truth["company_notes"].values()) > 0
    assert_matches_truth(harness.warehouse, truth, streams=("company_notes",))

    # a day of new notes (no company moves) and deleted companies
    log = harness.sb.advance(days=3, churn=replace(NOTES_ONLY, company_note_add=0.2))
    assert log.ids["company_notes_added"] and log.ids["companies_deleted"]
    harness.run("companies", client=client)
    harness.run("company_notes", client=client)
    truth = {**harness.sb.truth(), "api_version": "2.16"}
    assert_matches_truth(harness.warehouse, truth, streams=("company_notes",))


def test_before_216_nothing_is_asked(harness: Harness) -> None:
    client = client_on(harness, "2.14")
    harness.run("companies", client=client)
    harness.sb.reset_request_counts()
    report = harness.run("company_notes", client=client)
    assert harness.sb.request_counts().get("GET /companies/{id}/notes", 0) == 0
    assert report.extra["api_version"].startswith("2.14")
    assert harness.warehouse.table("company_notes").height == 0
    assert_matches_truth(harness.warehouse, harness.sb.truth(), streams=("company_notes",))
