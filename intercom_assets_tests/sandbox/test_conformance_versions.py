"""Contacts and conversations answer in the shape of the version asked for: every body of
`GET /contacts`, `POST /contacts/search`, `GET /contacts/{id}`, `GET /companies/{id}/contacts`,
`GET /conversations`, `POST /conversations/search` and `GET /conversations/{id}` (every record
of a tiny workspace after a day of churn) is valid against the 2.14 description when read with
2.14 and against the 2.16 description when read with 2.16, and every record equals the truth's
(which keeps the 2.14 shape) with 2.16's documented breaking changes applied by hand:
`owner_id` a string, the five-level `priority`, `0` for no assignee."""

import functools
from typing import Any

import httpx
import pytest

from intercom_assets.sandbox import Churn, Sandbox
from intercom_assets_tests.sandbox.test_conformance import (
    BOTH_VERSIONS,
    SPEC_216_FILE,
    SPEC_FILE,
    Collector,
    Reply,
    Spec,
    _node,
    needs_both_specs,
)

pytestmark = needs_both_specs
VERSIONS = BOTH_VERSIONS
EMPTY_EMAIL = {"format": None, "anyOf": [{"format": "email"}, {"enum": [""]}]}
EXCEPTIONS: dict[str, list[tuple[str, dict[str, Any], str]]] = {
    version: [
        (
            f"components/schemas/{schema}/properties/email",
            EMPTY_EMAIL,
            'an author without an email address (a lead, a bot) comes with `email: ""`',
        )
        for schema in (
            ("conversation_part_author",)
            if version == "2.14"
            else ("conversation_part_author", "conversation_source_author")
        )
    ]
    for version in VERSIONS
}
EXCEPTIONS["2.16"] += [
    (
        f"components/schemas/{schema}/properties/{name}",
        {
            "$ref": None,
            "anyOf": [{"$ref": f"#/components/schemas/{name}"}, {"enum": [None], "nullable": True}],
        },
        "`nullable: true` stands beside the `$ref`, where OpenAPI 3.0 ignores it: null (no"
        " company, no sales agent) is what the description says",
    )
    for schema in ("conversation", "conversation_list_item")
    for name in ("company", "sales_agent")
]
"""The relaxations of each description these bodies need (2.16 names the source's author
`conversation_source_author`; 2.14 uses `conversation_part_author` for both)."""

PRIORITY_216 = {"not_priority": "none", "priority": "high"}
"""2.14's priority flag as 2.16's level (docs/sandbox.md: unflagged is 2.16's `none`, the
flag is taken to be `high`)."""


def expected(
    kind: str, record: dict[str, Any], version: str, truth: dict[str, Any]
) -> dict[str, Any]:
    """A truth record as `version` must send it: 2.15 adds a conversation's `company`, 2.16
    the breaking changes and the conversation fields it adds (docs/sandbox.md)."""
    if version == "2.14":
        return record
    out = dict(record)
    if kind == "conversations":
        company = truth["conversation_companies"][record["id"]]
        out["company"] = None if company is None else {"type": "company", "id": company}
    if version == "2.15":
        return out
    if kind == "contacts" and out["owner_id"] is not None:
        out["owner_id"] = str(out["owner_id"])
    if kind == "conversations":
        out["priority"] = PRIORITY_216[out["priority"]]
        for key in ("admin_assignee_id", "team_assignee_id"):
            out[key] = 0 if out[key] is None else out[key]
        out["channel"] = {"initial": "messenger", "current": "messenger"}
        out["external_references"] = []
        out["sales_agent_participated"] = False
        out["sales_agent"] = None
    return out


@functools.cache
def collect(version: str) -> tuple[dict[str, list[Reply]], dict[str, Any]]:
    sb = Sandbox(size="tiny", seed=3)
    sb.advance(days=1, churn=Churn())
    headers = {"Authorization": "Bearer sandbox", "Intercom-Version": version}
    with httpx.Client(transport=sb.transport(), base_url=sb.base_url, headers=headers) as http:
        c = Collector(http)
        contacts = c.contacts()
        for contact in contacts:
            c.call("contact", "/contacts/{contact_id}", "GET", f"/contacts/{contact['id']}")
        for company_id in sorted({i for c in contacts for i in _company_ids(c)})[:5]:
            url = f"/companies/{company_id}/contacts"
            c.call("company_contacts", "/companies/{company_id}/contacts", "GET", url)
        c.conversations()
    return c.replies, sb.truth()


def _company_ids(contact: dict[str, Any]) -> list[str]:
    return [item["id"] for item in contact["companies"]["data"]]


def records_of(name: str, reply: Reply) -> list[dict[str, Any]]:
    """The contacts or conversations one reply carries."""
    if name in ("contact", "conversation"):
        return [reply.body]
    return list(reply.body["conversations" if name.startswith("conv") else "data"])


@pytest.fixture(scope="module", params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_bodies_match_the_versions_description(version: str) -> None:
    replies, _ = collect(version)
    spec_file = SPEC_FILE if version == "2.14" else SPEC_216_FILE
    assert spec_file is not None
    spec = Spec(spec_file, exceptions=EXCEPTIONS[version])
    spec.assert_valid(reply for answered in replies.values() for reply in answered)
    assert set(replies) == {
        "contacts_list", "contacts_search", "contact", "company_contacts",
        "conversations_list", "conversations_search", "conversation",
    }  # fmt: skip


def test_records_are_the_truth_in_the_versions_shape(version: str) -> None:
    replies, truth = collect(version)
    wanted = {
        kind: {r["id"]: expected(kind, r, version, truth) for r in truth[kind]}
        for kind in ("contacts", "conversations")
    }
    seen = {"contacts": 0, "conversations": 0}
    for name, answered in replies.items():
        kind = "conversations" if name.startswith("conv") else "contacts"
        for reply in answered:
            for record in records_of(name, reply):
                sent = {k: v for k, v in record.items() if k != "conversation_parts"}
                assert sent == wanted[kind][record["id"]], (version, name, record["id"])
                seen[kind] += 1
    assert seen["contacts"] >= 3 * len(truth["contacts"])
    assert seen["conversations"] == 3 * len(truth["conversations"])
    conversations = [r for a in replies["conversation"] for r in records_of("conversation", a)]
    if version == "2.16":
        assert {type(c["owner_id"]) for c in truth["contacts"]} >= {int}
        assert {c["priority"] for c in conversations} == {"none", "high"}
        assert 0 in {c["admin_assignee_id"] for c in conversations}
        assert 0 in {c["team_assignee_id"] for c in conversations}
    else:
        assert {c["priority"] for c in conversations} == {"priority", "not_priority"}
        assert None in {c["team_assignee_id"] for c in conversations}


def test_the_216_exceptions_are_needed() -> None:
    """Each relaxation must be one the unpatched description really lacks."""
    import yaml

    for version, spec_file in (("2.14", SPEC_FILE), ("2.16", SPEC_216_FILE)):
        assert spec_file is not None
        with spec_file.open("rb") as handle:
            raw = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        for schema_path, patch, reason in EXCEPTIONS[version]:
            node = _node(raw, schema_path)
            assert any(node.get(k) != v for k, v in patch.items()), (schema_path, reason)


def test_215_sends_the_conversations_company_and_nothing_of_216() -> None:
    replies, truth = collect("2.15")
    companies = truth["conversation_companies"]
    assert set(companies) == {c["id"] for c in truth["conversations"]}
    assert None in companies.values() and {type(c) for c in companies.values()} == {str, type(None)}
    wanted = {r["id"]: expected("conversations", r, "2.15", truth) for r in truth["conversations"]}
    seen = 0
    for name, answered in replies.items():
        if not name.startswith("conv"):
            continue
        for reply in answered:
            for record in records_of(name, reply):
                sent = {k: v for k, v in record.items() if k != "conversation_parts"}
                assert sent == wanted[record["id"]], (name, record["id"])
                assert record["priority"] in ("priority", "not_priority")  # 2.16's change
                assert "channel" not in record
                seen += 1
    assert seen == 3 * len(truth["conversations"])


def test_216_sends_a_tickets_previous_state() -> None:
    sb = Sandbox(size="tiny", seed=3)
    sb.advance(days=2, churn=Churn())
    truth = sb.truth()
    previous = truth["ticket_previous_state_ids"]
    assert {type(p) for p in previous.values()} == {str, type(None)}  # some tickets moved
    with httpx.Client(transport=sb.transport(), base_url=sb.base_url) as http:
        for ticket in truth["tickets"]:
            bodies = {
                version: http.get(
                    f"/tickets/{ticket['id']}",
                    headers={"Authorization": "Bearer sandbox", "Intercom-Version": version},
                ).json()
                for version in ("2.14", "2.15", "2.16", "Preview")
            }
            assert "previous_ticket_state_id" not in bodies["2.14"]
            assert "previous_ticket_state_id" not in bodies["2.15"]
            assert bodies["2.16"]["previous_ticket_state_id"] == previous[ticket["id"]]
            assert bodies["Preview"]["previous_ticket_state_id"] == previous[ticket["id"]]
