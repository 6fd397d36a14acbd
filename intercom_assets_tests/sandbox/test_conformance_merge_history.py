"""Merge history (new in 2.16) answers as the 2.16 description says, unrelaxed: the
`merge_history` array that `include_merge_history=true` adds to users on `GET /contacts` and
`GET /contacts/{id}`, and every page of `GET /contacts/{id}/merge_history`, for a tiny workspace
after a few days of lead merges; both tell what the truth's `contact_merges` holds, and 2.14
knows neither."""

from dataclasses import fields, replace
from typing import Any

import httpx
import pytest

from intercom_assets.sandbox import Churn, Sandbox
from intercom_assets_tests.sandbox.test_conformance import (
    SPEC_216_FILE,
    SPEC_216_NAME,
    SPEC_FOLDER,
    Collector,
    Reply,
    Spec,
)

EMBEDDED = "#/components/schemas/contact/properties/merge_history"
"""The `merge_history` property of the 2.16 `contact` schema (the rest of a 2.16 contact is
test_conformance_versions.py's)."""
TEMPLATE = "/contacts/{id}/merge_history"
HEADERS = {"Authorization": "Bearer sandbox", "Intercom-Version": "2.16"}


def expected_history(truth: dict[str, Any], target: str) -> list[dict[str, Any]]:
    """The items the truth says were merged into `target`, newest first."""
    items = [
        {
            "type": "merge_history",
            "source_contact_id": source,
            "source_contact_role": merge["source_contact_role"],
            "merged_at": merge["merged_at"],
        }
        for source, merge in truth["contact_merges"].items()
        if merge["target_id"] == target
    ]
    return sorted(items, key=lambda i: (i["merged_at"], i["source_contact_id"]), reverse=True)


def as_216(contact: dict[str, Any]) -> dict[str, Any]:
    """A truth contact (2.14 shape) as 2.16 sends it: `owner_id` a string."""
    owner = contact["owner_id"]
    return {**contact, "owner_id": None if owner is None else str(owner)}


def walk(c: Collector, contact_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a contact's merge history, following `next_cursor`."""
    url = f"/contacts/{contact_id}/merge_history"
    items: list[dict[str, Any]] = []
    page = c.call("pages", TEMPLATE, "GET", url, params=params)
    items += page["data"]
    while page["has_more"]:
        page = c.call(
            "pages", TEMPLATE, "GET", url, params={**params, "cursor": page["next_cursor"]}
        )
        items += page["data"]
    assert "next_cursor" not in page
    return items


@pytest.mark.skipif(SPEC_216_FILE is None, reason=f"no {SPEC_FOLDER / SPEC_216_NAME}")
def test_merge_history_matches_the_216_description_and_the_truth() -> None:
    assert SPEC_216_FILE is not None
    spec = Spec(SPEC_216_FILE, exceptions=[])
    sb = Sandbox(size="tiny", seed=2)
    quiet = Churn(**{f.name: 0.0 for f in fields(Churn)})
    sb.advance(days=4, churn=replace(quiet, lead_merge=0.5))
    truth = sb.truth()
    contacts = {c["id"]: c for c in truth["contacts"]}
    targets = {m["target_id"] for m in truth["contact_merges"].values()}
    busiest = max(targets, key=lambda t: len(expected_history(truth, t)))
    assert len(expected_history(truth, busiest)) >= 2  # so that paging has pages
    lead = next(c["id"] for c in truth["contacts"] if c["role"] == "lead")
    embedded: list[Reply] = []
    with httpx.Client(transport=sb.transport(), base_url=sb.base_url, headers=HEADERS) as http:
        c = Collector(http)
        listed: list[dict[str, Any]] = []
        params: dict[str, Any] = {"include_merge_history": "true", "per_page": 25}
        while True:
            page = c.call("list", "/contacts", "GET", "/contacts", params=params)
            listed += page["data"]
            if not page["pages"].get("next"):
                break
            params["starting_after"] = page["pages"]["next"]["starting_after"]
        assert {x["id"] for x in listed} == set(contacts)
        for contact in listed:
            if contact["role"] != "user":
                assert "merge_history" not in contact
                continue
            assert contact.pop("merge_history") == expected_history(truth, contact["id"])
            assert contact == as_216(contacts[contact["id"]])  # otherwise as GET returns it
            embedded.append(
                Reply("/contacts", "GET", "", 200, expected_history(truth, contact["id"]), EMBEDDED)
            )
        one = c.call("get", "/contacts/{contact_id}", "GET", f"/contacts/{busiest}",
                     params={"include_merge_history": "true"})  # fmt: skip
        assert one["merge_history"] == expected_history(truth, busiest)
        embedded.append(Reply("/contacts/{id}", "GET", "", 200, one["merge_history"], EMBEDDED))

        for target in sorted(targets & set(contacts)):
            assert walk(c, target) == expected_history(truth, target)
        assert walk(c, busiest, per_page=1) == expected_history(truth, busiest)
        assert walk(c, busiest, per_page=1, order="asc") == expected_history(truth, busiest)[::-1]
        assert walk(c, busiest, per_page=150, order="desc") == expected_history(truth, busiest)
        quiet_user = next(
            i for i, x in contacts.items() if x["role"] == "user" and i not in targets
        )
        assert walk(c, quiet_user) == []
        merged_away = next(iter(truth["contact_merges"]))
        for gone in (lead, merged_away, "nope"):
            c.call("pages", TEMPLATE, "GET", f"/contacts/{gone}/merge_history", expect=404)
        url = f"/contacts/{busiest}/merge_history"
        for params in ({"per_page": 151}, {"per_page": 0}, {"order": "up"}, {"cursor": "x"}):
            c.call("bad", TEMPLATE, "GET", url, params=params, expect=400)
        old = {"Intercom-Version": "2.14"}
        c.call("refused", TEMPLATE, "GET", url, headers=old, expect=400)
        plain = http.get("/contacts/" + busiest, params={"include_merge_history": "true"},
                         headers=old).json()  # fmt: skip
        assert "merge_history" not in plain  # 2.14 does not know the parameter
    replies = [*c.replies["pages"], *c.replies["bad"], *embedded]
    assert sum(len(r.body.get("data", [])) for r in c.replies["pages"]) >= len(targets)
    spec.assert_valid(replies)
    refused = c.replies["refused"][0].body
    assert refused["errors"][0]["code"] == "intercom_version_invalid"
