"""Search windows return exactly the records updated inside [start, end), around day boundaries
of a non-UTC workspace, including records the search index had not caught up with before."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from intercom_assets.api import (
    CONTACT_SEARCH,
    CONVERSATION_SEARCH,
    IntercomClient,
    IntercomProtocolError,
    IntercomWindowFieldError,
    RateLimiter,
    SearchSemantics,
    SearchWindow,
)
from intercom_assets.sandbox import Sandbox
from intercom_assets_tests.api.conftest import MakeClient, quiet_churn

NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")
LAG = 300


def inside(records: list[dict], start: datetime, end: datetime) -> list[str]:
    lo, hi = start.timestamp(), end.timestamp()
    return sorted(r["id"] for r in records if lo <= r["updated_at"] < hi)


def touch_at(sb: Sandbox, second: int, **rates: float) -> None:
    """Advance quietly to `second - 1`, then let churn update records at exactly `second`."""
    if sb.now < second - 1:
        sb.advance(seconds=second - 1 - sb.now, churn=quiet_churn())
    sb.advance(seconds=1, churn=quiet_churn(**rates))


@pytest.fixture
def midnight_workspace() -> tuple[Sandbox, datetime]:
    """Contacts updated at 23:59:59 and 00:00:00 New York time, not yet searchable (lag).
    One per test: a test advances its clock (a shared one made a test's result depend on
    which test ran before it on the same worker)."""
    sb = Sandbox(size="tiny", seed=4, timezone="America/New_York", search_lag_seconds=LAG)
    midnight = datetime(2026, 1, 3, tzinfo=NEW_YORK)
    per_second = 4 * 86_400 / len(sb.truth()["contacts"])  # about 4 contacts per second
    touch_at(sb, int(midnight.timestamp()) - 1, contact_update=per_second)
    touch_at(sb, int(midnight.timestamp()), contact_update=per_second)
    return sb, midnight


def test_contact_windows_around_midnight_with_index_lag(
    midnight_workspace: tuple[Sandbox, datetime], make_client: MakeClient
):
    sb, midnight = midnight_workspace
    client = make_client(sb)
    tz = client.me().timezone
    contacts = sb.truth()["contacts"]
    last_second = inside(contacts, midnight - timedelta(seconds=1), midnight)
    first_second = inside(contacts, midnight, midnight + timedelta(seconds=1))
    assert last_second and first_second  # records sit on both sides of the boundary

    evening = (midnight - timedelta(hours=6), midnight)
    night = (midnight, midnight + timedelta(hours=6))

    def run(start: datetime, end: datetime, **kwargs: object) -> list[str]:
        window = SearchWindow(client, CONTACT_SEARCH, start, end, workspace_timezone=tz, **kwargs)
        found = [r["id"] for r in window]
        assert window.pages >= 1 and window.kept == len(found) <= window.scanned
        return sorted(found)

    # The previous run, right at midnight: the last updates are not searchable yet.
    early = run(*evening)
    assert not set(last_second) & set(early)
    assert set(early) < set(inside(contacts, *evening))

    sb.advance(seconds=2 * LAG, churn=quiet_churn())
    assert run(*evening) == inside(contacts, *evening)
    assert run(*night) == inside(contacts, *night)
    assert run(midnight - timedelta(seconds=1), midnight) == last_second
    assert run(midnight, midnight + timedelta(seconds=1)) == first_second
    # A window spelled in another zone, or with the workspace zone unknown, is widened: same rows.
    utc_evening = tuple(t.astimezone(UTC) for t in evening)
    assert run(*utc_evening, caller_timezone="UTC") == inside(contacts, *evening)
    unknown = SearchWindow(client, CONTACT_SEARCH, *evening)
    assert sorted(r["id"] for r in unknown) == inside(contacts, *evening)


def test_a_mid_day_window_keeps_exact_seconds(
    midnight_workspace: tuple[Sandbox, datetime], make_client: MakeClient
):
    """Intercom matches days, so a window from 18:00 must not start at the next day."""
    sb, midnight = midnight_workspace
    sb.advance(seconds=2 * LAG, churn=quiet_churn())  # every update searchable
    client = make_client(sb)
    contacts = sb.truth()["contacts"]
    for start, end in [
        (midnight - timedelta(hours=6), midnight + timedelta(minutes=1)),
        (midnight - timedelta(days=5, hours=3), midnight - timedelta(days=1, hours=7)),
    ]:
        window = SearchWindow(client, CONTACT_SEARCH, start, end, workspace_timezone=NEW_YORK)
        assert sorted(r["id"] for r in window) == inside(contacts, start, end)
    assert inside(contacts, midnight - timedelta(days=5, hours=3), midnight - timedelta(days=1))


def test_contact_filters_cover_whole_local_days():
    start = datetime(2026, 1, 2, 18, 30, tzinfo=NEW_YORK)
    end = datetime(2026, 1, 3, 0, 0, tzinfo=NEW_YORK)
    after, before = CONTACT_SEARCH.window_filters(
        start, end, workspace_timezone="America/New_York", caller_timezone="America/New_York"
    )
    assert after["operator"] == ">" and before["operator"] == "<"
    # `>` some instant on Jan 1 (local) matches from Jan 2 00:00; `<` some instant on Jan 3
    # matches until the end of Jan 2, the day of the window's last second.
    assert datetime.fromtimestamp(after["value"], NEW_YORK).date().isoformat() == "2026-01-01"
    assert datetime.fromtimestamp(before["value"], NEW_YORK).date().isoformat() == "2026-01-03"
    wide_after, wide_before = CONTACT_SEARCH.window_filters(start, end, workspace_timezone=None)
    assert wide_after["value"] < after["value"] and wide_before["value"] > before["value"]


def test_conversation_windows_are_exact_to_the_second(make_client: MakeClient):
    sb = Sandbox(size="tiny", seed=5, timezone="Asia/Kolkata")
    t = sb.now + 3_600
    per_second = 3 * 86_400 / len(sb.truth()["conversations"])
    for second in (t - 1, t, t + 1):
        touch_at(sb, second, conversation_update=per_second)
    conversations = sb.truth()["conversations"]
    client = make_client(sb)
    start = datetime.fromtimestamp(t, UTC)
    for lo, hi in [(start, start + timedelta(seconds=1)), (start - timedelta(seconds=1), start)]:
        window = SearchWindow(client, CONVERSATION_SEARCH, lo, hi)
        found = sorted(r["id"] for r in window)
        assert found == inside(conversations, lo, hi) and found
        assert window.scanned == len(found)  # the server already filtered to the second


def test_windows_need_aware_datetimes(sandbox: Sandbox, make_client: MakeClient):
    with pytest.raises(ValueError, match="timezone-aware"):
        SearchWindow(
            make_client(sandbox), CONTACT_SEARCH, datetime(2026, 1, 1), datetime(2026, 1, 2)
        )


class AlterFirstSearchRecord(httpx.BaseTransport):
    """The sandbox's own transport; the first record of each search page gets `field` replaced
    by `value` (or removed, for `REMOVE`) on its way to the client."""

    REMOVE = object()

    def __init__(self, sb: Sandbox, field: str, value: object = REMOVE) -> None:
        self.inner = sb.transport()
        self.field, self.value = field, value
        self.altered: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/search") or response.status_code != 200:
            return response
        body = orjson.loads(response.read())
        records = body.get("data") or body.get("conversations")
        if records:
            if self.value is self.REMOVE:
                del records[0][self.field]
            else:
                records[0][self.field] = self.value
            self.altered.append(records[0]["id"])
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(200, headers=headers, content=orjson.dumps(body), request=request)


@pytest.mark.parametrize(
    ("search", "value", "shown"),
    [
        (CONTACT_SEARCH, AlterFirstSearchRecord.REMOVE, "None"),
        (CONTACT_SEARCH, None, "None"),
        (CONVERSATION_SEARCH, "2026-01-01", "'2026-01-01'"),
        (CONVERSATION_SEARCH, True, "True"),
    ],
)
def test_a_record_without_a_numeric_window_field_is_an_error(
    sandbox: Sandbox, search: SearchSemantics, value: object, shown: str
):
    transport = AlterFirstSearchRecord(sandbox, "updated_at", value)
    client = IntercomClient(
        sandbox.token, base_url=sandbox.base_url, transport=transport, limiter=RateLimiter()
    )
    start = datetime.fromtimestamp(0, UTC)
    with client, pytest.raises(IntercomWindowFieldError) as info:
        list(SearchWindow(client, search, start, datetime.fromtimestamp(sandbox.now, UTC)))
    name = search.record_name
    assert str(info.value) == (
        f"POST {search.path} returned {name} {transport.altered[0]} without a numeric"
        f" updated_at (got {shown}): cannot place it in a window"
    )
    assert info.value.record_id == transport.altered[0] and info.value.field == "updated_at"
    assert isinstance(info.value, IntercomProtocolError)
    assert client.snapshot()["requests"] == 1  # raised on the first page, not retried


def test_a_new_search_is_one_more_value(sandbox: Sandbox, make_client: MakeClient):
    """Windows on `created_at`, day-granular for contacts and exact for conversations."""
    client = make_client(sandbox)
    tz = client.me().timezone
    searches = {
        "contacts": SearchSemantics("/contacts/search", "day", field="created_at"),
        "conversations": SearchSemantics("/conversations/search", "second", field="created_at"),
    }
    for resource, search in searches.items():
        records = sandbox.truth()[resource]
        stamps = sorted(r["created_at"] for r in records)
        lo, hi = (datetime.fromtimestamp(stamps[len(stamps) * k // 4], UTC) for k in (1, 3))
        window = SearchWindow(client, search, lo, hi, workspace_timezone=tz, per_page=20)
        expected = [r["id"] for r in records if lo.timestamp() <= r["created_at"] < hi.timestamp()]
        assert sorted(r["id"] for r in window) == sorted(expected) and expected
        assert {f["field"] for f in window.query["value"]} == {"created_at"}


def test_semantics_are_checked():
    with pytest.raises(ValueError, match="granularity"):
        SearchSemantics("/tickets/search", "minute")  # type: ignore[arg-type]
    assert SearchSemantics("/tickets/search", "second").record_name == "ticket"
