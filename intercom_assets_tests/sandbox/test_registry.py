"""A resource added from outside the sandbox: one module (here, this test) and one list entry.

`Widgets` is a toy windowed resource: generated per size, searchable by `updated_at` through
`POST /widgets/search`, readable at `GET /widgets/{id}`, changed by churn, reported by the change
log and the truth. Nothing in `intercom_assets/sandbox` knows it.
"""

from typing import Any

import httpx
import pytest

from intercom_assets.sandbox import DEFAULT_RESOURCES, Sandbox
from intercom_assets_tests.widgets import DAY, WIDGETS_PER_SIZE, WidgetChurn, Widgets


def window(client: httpx.Client, after: int, before: int) -> list[dict]:
    """Every widget with after < updated_at < before, following the search cursor."""
    query = {"operator": "AND", "value": [
        {"field": "updated_at", "operator": ">", "value": after},
        {"field": "updated_at", "operator": "<", "value": before},
    ]}  # fmt: skip
    found: list[dict] = []
    pagination: dict[str, Any] = {"per_page": 7}
    for _ in range(1_000):
        body = {"query": query, "sort": {"field": "updated_at", "order": "ascending"}}
        page = client.post("/widgets/search", json={**body, "pagination": pagination})
        page.raise_for_status()
        found.extend(page.json()["data"])
        nxt = page.json()["pages"].get("next")
        if not nxt:
            return found
        pagination["starting_after"] = nxt["starting_after"]
    raise AssertionError("the widget search did not end")


@pytest.fixture
def widget_sb() -> Sandbox:
    return Sandbox(size="tiny", seed=3, resources=[*DEFAULT_RESOURCES, Widgets])


def test_a_toy_resource_is_generated_served_and_in_the_truth(widget_sb: Sandbox):
    truth = widget_sb.truth()
    plain = Sandbox(size="tiny", seed=3).truth()
    assert len(truth["widgets"]) == WIDGETS_PER_SIZE["tiny"]
    assert {k: v for k, v in truth.items() if k != "widgets"} == plain  # the rest is untouched
    with widget_sb.client() as client:
        first = truth["widgets"][0]
        assert client.get(f"/widgets/{first['id']}").json() == first
        assert client.get("/widgets/nope").status_code == 404
        assert widget_sb.request_counts()["GET /widgets/{id}"] == 2


def test_a_toy_resource_is_searched_by_updated_at_window(widget_sb: Sandbox):
    truth = widget_sb.truth()["widgets"]
    after, before = widget_sb.now - 60 * DAY, widget_sb.now - 5 * DAY
    expected = sorted(
        (w for w in truth if after < w["updated_at"] < before),
        key=lambda w: (w["updated_at"], w["id"]),
    )
    assert 0 < len(expected) < len(truth)
    with widget_sb.client() as client:
        assert window(client, after, before) == expected
        bad = {"query": {"field": "colour", "operator": "=", "value": "red"}}
        answer = client.post("/widgets/search", json=bad)
        assert answer.status_code == 400
        assert "not a searchable widget field" in answer.json()["errors"][0]["message"]


def test_a_toy_resource_churns_and_the_change_log_and_truth_follow(widget_sb: Sandbox):
    before = {w["id"]: w for w in widget_sb.truth()["widgets"]}
    log = widget_sb.advance(days=1)
    assert log.counts["widgets_updated"] > 0
    assert "contacts_updated" in log.counts  # the built-in kinds still churn
    truth = {w["id"]: w for w in widget_sb.truth()["widgets"]}
    assert set(log.ids["widgets_created"]) == truth.keys() - before.keys()
    for widget_id in log.ids["widgets_updated"]:
        assert log.start < truth[widget_id]["updated_at"] <= log.end
    with widget_sb.client() as client:
        moved = {w["id"] for w in window(client, log.start, log.end + 1)}
    assert moved == set(log.ids["widgets_updated"]) | set(log.ids["widgets_created"])


def test_a_toy_resources_rates_come_from_a_churn_subclass(widget_sb: Sandbox):
    still = widget_sb.advance(days=2, churn=WidgetChurn(widget_update=0.0, widget_create=0.0))
    assert still.counts["widgets_updated"] == still.counts["widgets_created"] == 0
    busy = widget_sb.advance(days=1, churn=WidgetChurn(widget_update=2.0))
    assert busy.counts["widgets_updated"] > WIDGETS_PER_SIZE["tiny"]


def test_the_default_sandbox_has_no_toy_resource_and_routes_cannot_clash():
    sb = Sandbox(size="tiny")
    assert "widgets" not in sb.truth()
    with sb.client() as client:
        assert client.post("/widgets/search", json={}).status_code == 404
    with pytest.raises(ValueError, match="serve POST /widgets/search"):
        Sandbox(size="tiny", resources=[*DEFAULT_RESOURCES, Widgets, Widgets])
