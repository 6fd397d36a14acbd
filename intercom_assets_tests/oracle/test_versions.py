"""The oracle expects what the loader's API version sent: on 2.16 a contact's `owner_id` is a
string, a conversation's `priority` one of five levels and an unassigned conversation's or
ticket's assignee ids `0` (columns and `_raw`); on 2.14 the truth's records as they are."""

from typing import Any

from intercom_assets.sandbox import Churn, Sandbox
from intercom_assets_tests.oracle import TABLES
from intercom_assets_tests.oracle.columns import expected_rows


def rows(table: str, truth: dict[str, Any], version: str) -> dict[str, dict[str, Any]]:
    expected = expected_rows(TABLES[table], {**truth, "api_version": version})
    return {key[0]: row for key, row in expected.rows.items()}


def test_expected_columns_follow_the_api_version() -> None:
    sb = Sandbox(size="tiny", seed=5)
    sb.advance(days=1, churn=Churn())
    truth = sb.truth()

    old, new = rows("contacts", truth, "2.14"), rows("contacts", truth, "2.16")
    owned = [c for c in truth["contacts"] if c["owner_id"] is not None]
    assert owned and any(c["owner_id"] is None for c in truth["contacts"])
    for contact in truth["contacts"]:
        owner = contact["owner_id"]
        assert old[contact["id"]]["_raw"] == contact
        assert new[contact["id"]]["_raw"]["owner_id"] == (None if owner is None else str(owner))
        assert old[contact["id"]]["owner_id"] == new[contact["id"]]["owner_id"]

    old, new = rows("conversations", truth, "2.14"), rows("conversations", truth, "2.16")
    levels = {"priority": "high", "not_priority": "none"}
    for conversation in truth["conversations"]:
        cid = conversation["id"]
        assert old[cid]["_raw"] == conversation
        assert old[cid]["priority"] == conversation["priority"]
        assert new[cid]["priority"] == new[cid]["_raw"]["priority"]
        assert new[cid]["priority"] == levels[conversation["priority"]]
        for key in ("admin_assignee_id", "team_assignee_id"):
            sent = conversation[key]
            assert old[cid][key] == (None if sent is None else str(sent))
            assert new[cid][key] == ("0" if sent is None else str(sent))
            assert new[cid]["_raw"][key] == (0 if sent is None else sent)
    assert {c["priority"] for c in new.values()} == {"none", "high"}
    assert "0" in {c["team_assignee_id"] for c in new.values()}

    old, new = rows("tickets", truth, "2.14"), rows("tickets", truth, "2.16")
    for ticket in truth["tickets"]:
        tid = ticket["id"]
        assert old[tid]["_raw"] == ticket
        for key in ("admin_assignee_id", "team_assignee_id"):
            assert old[tid][key] == ticket.get(key)
            assert new[tid][key] == ticket.get(key, "0")
            assert new[tid]["_raw"][key] == int(ticket.get(key, "0"))
    assert any("team_assignee_id" not in t for t in truth["tickets"])


def test_expected_columns_have_the_fields_each_version_adds() -> None:
    sb = Sandbox(size="tiny", seed=5)
    sb.advance(days=2, churn=Churn())
    truth = sb.truth()
    companies = truth["conversation_companies"]
    by_version = {v: rows("conversations", truth, v) for v in ("2.14", "2.15", "2.16")}
    for conversation in truth["conversations"]:
        cid, company = conversation["id"], companies[conversation["id"]]
        old, mid, new = (by_version[v][cid] for v in ("2.14", "2.15", "2.16"))
        assert old["company_id"] is None and "company" not in old["_raw"]
        assert mid["company_id"] == new["company_id"] == company
        assert mid["_raw"]["company"] == (company and {"type": "company", "id": company})
        assert mid["priority"] == conversation["priority"]  # 2.16's change is not 2.15's
        assert mid["channel_initial"] is None and new["channel_initial"] == "messenger"
        assert new["external_references"] == [] and new["sales_agent_participated"] is False
    assert {c for c in companies.values()} > {None}

    old, new = rows("tickets", truth, "2.14"), rows("tickets", truth, "2.15")
    newest = rows("tickets", truth, "2.16")
    for ticket in truth["tickets"]:
        tid = ticket["id"]
        assert old[tid]["previous_ticket_state_id"] is None
        assert new[tid]["previous_ticket_state_id"] is None
        assert newest[tid]["previous_ticket_state_id"] == truth["ticket_previous_state_ids"][tid]
