"""Intercom REST client: auth, version, regions, pagination, rate limit, retries.

Knows nothing of Dagster or databases. See docs/api-client.md.
"""

from intercom_assets.api.auth import BearerAuth
from intercom_assets.api.client import USER_AGENT, IntercomClient, Workspace
from intercom_assets.api.config import (
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_API_VERSION,
    DEFAULT_TIMEOUT,
    REGION_BASE_URLS,
    RetryPolicy,
)
from intercom_assets.api.errors import (
    IntercomAuthError,
    IntercomBadRequest,
    IntercomConflict,
    IntercomError,
    IntercomGone,
    IntercomNotFound,
    IntercomPlanError,
    IntercomProtocolError,
    IntercomRateLimited,
    IntercomScrollExists,
    IntercomServerError,
    IntercomTransportError,
    IntercomWindowFieldError,
)
from intercom_assets.api.fanout import FanOutResult, fan_out, get_many
from intercom_assets.api.pages import (
    EventsWalk,
    Page,
    iter_cursor_pages,
    iter_numbered_pages,
    iter_search_pages,
)
from intercom_assets.api.ratelimit import RateLimiter, limiter_for
from intercom_assets.api.scroll import CompanyScroll, IntercomScrollBusy
from intercom_assets.api.search import (
    CONTACT_SEARCH,
    CONVERSATION_SEARCH,
    SearchSemantics,
    SearchWindow,
)

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "CONTACT_SEARCH",
    "CONVERSATION_SEARCH",
    "DEFAULT_API_VERSION",
    "DEFAULT_TIMEOUT",
    "REGION_BASE_URLS",
    "USER_AGENT",
    "BearerAuth",
    "CompanyScroll",
    "EventsWalk",
    "FanOutResult",
    "IntercomAuthError",
    "IntercomBadRequest",
    "IntercomClient",
    "IntercomConflict",
    "IntercomError",
    "IntercomGone",
    "IntercomNotFound",
    "IntercomPlanError",
    "IntercomProtocolError",
    "IntercomRateLimited",
    "IntercomScrollBusy",
    "IntercomScrollExists",
    "IntercomServerError",
    "IntercomTransportError",
    "IntercomWindowFieldError",
    "Page",
    "RateLimiter",
    "RetryPolicy",
    "SearchSemantics",
    "SearchWindow",
    "Workspace",
    "fan_out",
    "get_many",
    "iter_cursor_pages",
    "iter_numbered_pages",
    "iter_search_pages",
    "limiter_for",
]
