"""The sandbox's ticket endpoints answer as Intercom describes them: every body of
`GET /ticket_states`, `GET /ticket_types`, `POST /tickets/search` and `GET /tickets/{id}`
(every ticket of a tiny workspace, after a day of churn) is valid against the official 2.14
description and against 2.16, unrelaxed, and the 2.14 bodies parse into the official SDK's
models (the SDK is built for 2.14: it types the assignee ids as strings, 2.16 as integers)."""

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
    needs_both_specs,
)

pytestmark = needs_both_specs
VERSIONS = BOTH_VERSIONS


@functools.cache
def collect(version: str) -> dict[str, list[Reply]]:
    sb = Sandbox(size="tiny", seed=3)
    sb.advance(days=1, churn=Churn())
    headers = {"Authorization": "Bearer sandbox", "Intercom-Version": version}
    with httpx.Client(transport=sb.transport(), base_url=sb.base_url, headers=headers) as http:
        c = Collector(http)
        c.call("ticket_states", "/ticket_states", "GET", "/ticket_states")
        c.call("ticket_types", "/ticket_types", "GET", "/ticket_types")
        recent = {"query": {"field": "updated_at", "operator": ">", "value": 0}}
        tickets = c.cursor_walk(
            "tickets_search", "/tickets/search", "POST", "/tickets/search", "tickets", recent
        )
        for ticket in tickets:
            c.call("ticket", "/tickets/{ticket_id}", "GET", f"/tickets/{ticket['id']}")
        c.call("ticket_missing", "/tickets/{ticket_id}", "GET", "/tickets/0", expect=404)
    assert len(tickets) == len(sb.truth()["tickets"])
    return c.replies


@pytest.fixture(scope="module", params=VERSIONS)
def version_replies(request: pytest.FixtureRequest) -> tuple[str, dict[str, list[Reply]]]:
    return request.param, collect(request.param)


def test_ticket_bodies_match_the_official_schema(
    version_replies: tuple[str, dict[str, list[Reply]]],
) -> None:
    version, replies = version_replies
    spec_file = SPEC_FILE if version == "2.14" else SPEC_216_FILE
    assert spec_file is not None
    spec = Spec(spec_file, exceptions=[])
    problems = [
        f"{reply.method} {reply.template} [{reply.status}] {error}"
        for answered in replies.values()
        for reply in answered
        for error in spec.errors(reply)
    ]
    problems = sorted(set(problems))
    assert not problems, f"{len(problems)} schema violations:\n" + "\n".join(problems[:20])
    assert set(replies) == {
        "ticket_states", "ticket_types", "tickets_search", "ticket", "ticket_missing",
    }  # fmt: skip


def test_ticket_bodies_parse_into_the_sdk_models() -> None:
    from intercom import types as t
    from intercom.tickets.types.ticket import Ticket

    replies = collect("2.14")
    models: dict[str, Any] = {
        "ticket_states": t.TicketStateList,
        "ticket_types": t.TicketTypeList,
        "tickets_search": t.TicketList,
        "ticket": Ticket,
    }
    for name, model in models.items():
        for reply in replies[name]:
            model.model_validate(reply.body)
    ticket = replies["ticket"][0].body
    parsed = Ticket.model_validate(ticket)
    assert parsed.ticket_parts is not None and parsed.ticket_parts.ticket_parts
    assert parsed.id == ticket["id"]
