"""How a stream step fails: retried with backoff when transient, at once when not.

Every stream asset carries `STREAM_RETRY_POLICY`, so a transient failure (the database or
Intercom unreachable, 5xx or 429 after the client's own retries, a locked DuckDB file) is
retried by Dagster with exponential backoff. A permanent one (Intercom refuses the token or
the plan, a request Intercom calls invalid, bad configuration, a partition range outside the
partitions or reversed, a stored column of another type, a batch that does not fit its table)
is raised as `dg.Failure(allow_retries=False)` with a short message: retrying cannot help. A
transient one a person may have to fix (the database or Intercom unreachable) is retried as a
`dg.Failure` carrying the short message of `intercom_assets.problems`.
"""

from collections.abc import Sequence

import dagster as dg

from intercom_assets.api import (
    IntercomAuthError,
    IntercomBadRequest,
    IntercomPlanError,
    IntercomScrollExists,
    IntercomWindowFieldError,
)
from intercom_assets.api.errors import request_path
from intercom_assets.problems import Refusal, explain, is_privilege_error
from intercom_assets.settings import ACCESS_TOKEN, SettingError
from intercom_assets.streams import ParentsNotLoadedError
from intercom_assets.streams.shape import ShapeError
from intercom_assets.warehouse import (
    LayoutVersionError,
    SchemaMismatchError,
    WarehouseInputError,
)

STREAM_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""Transient failures: retried after about 30 s, 60 s and 120 s (each +-jitter), so a database
restart or a network blip of a few minutes heals without a person. Writes are idempotent (a
batch is committed with its progress in one transaction), so a retry redoes at most one batch.
"""

PERMANENT_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (IntercomAuthError, f"Intercom refused the access token ({ACCESS_TOKEN.variable})"),
    (IntercomPlanError, "the workspace's Intercom plan does not include this API"),
    (IntercomBadRequest, "Intercom rejected a request as invalid"),
    (IntercomWindowFieldError, "Intercom returned a record that no window can place"),
    (ShapeError, "Intercom returned a record that does not fit its declared columns"),
    (SettingError, "bad configuration"),
    (Refusal, "refused"),
    (SchemaMismatchError, "a stored column does not match its table spec"),
    (LayoutVersionError, "the warehouse schema was written by another layout"),
    (WarehouseInputError, "a batch does not fit its table"),
    (ParentsNotLoadedError, "its parents are not loaded yet"),
)
"""Errors that a retry cannot heal, with the words that start their failure message."""


def permission_failure(
    exc: BaseException, stream_name: str, kept: Sequence[str]
) -> dg.Failure | None:
    """A `dg.Failure` (not retried) naming the stream and the app permission it needs, when
    Intercom refused one of the stream's requests with 403, or with 401 although the token
    works for `GET /me` (every run asks `GET /me` before a stream's first request, so a
    refusal of any other path is one the token is not allowed, not a bad token); else None.
    """
    if not isinstance(exc, IntercomAuthError) or exc.status not in (401, 403):
        return None
    path = request_path(exc.path)
    if path == "/me":
        return None  # the token itself is refused: `permanent_failure` says so
    although = " although the token works for GET /me" if exc.status == 401 else ""
    permission = exc.permission
    grant = (
        f"give the app the '{permission}' permission"
        if permission is not None
        else f"give the app a permission that covers {exc.method} {path}"
    )
    streams = f"streams: [{', '.join(kept)}]" if kept else "streams: the others"
    return dg.Failure(
        description=(
            f"the access token may not read {stream_name} (Intercom answered {exc.status}"
            f" on {exc.method} {path}{although}): {grant}, or leave the stream out"
            f" ({streams}); not retried: {exc}"
        ),
        metadata={"error": type(exc).__name__, "retried": False, "permission": permission},
        allow_retries=False,
    )


def permanent_failure(exc: BaseException) -> dg.Failure | None:
    """A `dg.Failure` that is not retried for an error a retry cannot heal, else None.

    `IntercomScrollExists` (another companies scroll is open) is a 400 that passes: it is
    transient. Everything else not listed in `PERMANENT_ERRORS` is treated as transient.
    """
    if isinstance(exc, IntercomScrollExists):
        return None
    if is_privilege_error(exc):
        return dg.Failure(
            description=f"{explain(exc)}; not retried",
            metadata={"error": type(exc).__name__, "retried": False},
            allow_retries=False,
        )
    for kind, what in PERMANENT_ERRORS:
        if isinstance(exc, kind):
            return dg.Failure(
                description=f"{what}; not retried: {exc}",
                metadata={"error": type(exc).__name__, "retried": False},
                allow_retries=False,
            )
    return None


def transient_failure(exc: BaseException, *, last_try: bool = False) -> dg.Failure | None:
    """A `dg.Failure` whose description is the short message for an error a person may have
    to fix (an unreachable database or Intercom), else None; the traceback stays in the
    step's log. It is retried unless this was the `last_try` (then the step's failure shows
    the message rather than "Exceeded max_retries")."""
    message = explain(exc)
    if message is None:
        return None
    return dg.Failure(
        description=message,
        metadata={"error": type(exc).__name__, "retried": not last_try},
        allow_retries=not last_try,
    )
