"""Errors a person fixes, said in one to three lines: what went wrong and what to set.

`explain(exc)` turns a configuration error, a refused token, an unreachable database or
Intercom, a locked DuckDB file, a privilege the database user lacks or a `Refusal` (a
partition range outside the partitions, a schema the demo did not create) into such a
message, or returns None for anything else (a bug or an outage: there the traceback is what
helps). The CLI prints the message instead of a traceback (`--debug` shows it); a Dagster
step raises it as its failure's description while the traceback stays in the run's logs.

A message never holds a secret: the secret values of the resources the environment configures
(`resources.resolved_secrets`), those the caller names and any password among them are cut out.
"""

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from intercom_assets.api import IntercomAuthError, IntercomPlanError, IntercomTransportError
from intercom_assets.resources import resolved_secrets
from intercom_assets.settings import (
    ACCESS_TOKEN,
    BASE_URL,
    DATABASE_URL,
    REGION,
    SettingError,
)
from intercom_assets.streams import ParentsNotLoadedError
from intercom_assets.warehouse import WarehouseLockedError

MAX_LINES = 3
_UNRESOLVED = re.compile(r"failed to resolve host '([^']*)'")
"""psycopg's message for a host name that does not resolve."""


class Refusal(RuntimeError):
    """Something the project refuses to do (a partition range outside the partitions, a
    schema the demo did not create); the message says why and what to do instead."""


def explain(exc: BaseException, *, secrets: Iterable[str] = ()) -> str | None:
    """One to three lines for an error a person can fix, or None.

    The error's causes are searched too (a Dagster failure wraps the original error).
    `secrets` are cut out of the message besides those of the environment's resources.
    """
    for error in _chain(exc):
        message = _explain_one(error)
        if message is not None:
            return redact(message, [*secrets, *resolved_secrets()])
    return None


def _explain_one(exc: BaseException) -> str | None:
    if isinstance(exc, SettingError | Refusal | ParentsNotLoadedError):
        return _first_lines(str(exc))
    if isinstance(exc, IntercomAuthError):
        return (
            f"Intercom refused the access token: {_first_lines(str(exc), 1)}\n"
            f"set {ACCESS_TOKEN.variable} to a valid access token of the workspace"
            f" (and {REGION.variable} or {BASE_URL.variable} to its API host)"
        )
    if isinstance(exc, IntercomPlanError):
        return f"the workspace's Intercom plan does not include this API: {_first_lines(str(exc))}"
    if isinstance(exc, IntercomTransportError):
        return (
            f"cannot reach Intercom: {_first_lines(str(exc), 1)}\n"
            f"check {REGION.variable} or {BASE_URL.variable} and the network"
        )
    if isinstance(exc, WarehouseLockedError):
        return (
            f"{_first_lines(str(exc), 1)}\n"
            "another process holds the DuckDB file: wait for it, or use PostgreSQL"
            f" ({DATABASE_URL.variable}=postgresql://...)"
        )
    unresolved = _unresolved_database_host(exc)
    if unresolved is not None:
        return (
            f"cannot resolve database host {unresolved!r}: check the database URL"
            f" ({DATABASE_URL.variable}, or the demo's --database)"
        )
    if is_privilege_error(exc):
        return (
            f"the database user lacks a privilege: {_first_lines(str(exc), 1)}\n"
            "grant it USAGE and CREATE on the warehouse schema, or CREATE on the database"
            " (docs/operations.md: The warehouse user and its privileges)"
        )
    if _is_postgres_connection_error(exc):
        reason = _first_lines(str(exc), 1).removeprefix("connection failed: ")
        return (
            f"cannot connect to PostgreSQL: {reason.replace('FATAL:  ', '')}\n"
            f"check the database URL ({DATABASE_URL.variable}, or the demo's --database)"
            " and that the server is running"
        )
    return None


def _unresolved_database_host(exc: BaseException) -> str | None:
    """The host of a PostgreSQL connection that failed because its name does not resolve."""
    if not _is_postgres_error(exc):
        return None
    found = _UNRESOLVED.search(str(exc))
    return found.group(1) if found else None


def _is_postgres_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.OperationalError)


def is_privilege_error(exc: BaseException) -> bool:
    """Whether `exc` (or one of its causes) is PostgreSQL's refusal of a privilege the
    database user lacks: a grant fixes it, a retry does not."""
    try:
        from psycopg.errors import InsufficientPrivilege
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return any(isinstance(error, InsufficientPrivilege) for error in _chain(exc))


def _is_postgres_connection_error(exc: BaseException) -> bool:
    return _is_postgres_error(exc) and "connect" in str(exc).lower()


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and its causes (explicit or implicit), outermost first, each once."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and not any(current is s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _first_lines(text: str, limit: int = MAX_LINES) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[:limit])


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` without the secrets (longest first) and without URL passwords among them."""
    values = set()
    for secret in secrets:
        if not secret:
            continue
        values.add(secret)
        password = _password(secret)
        if password:
            values.add(password)
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password if "://" in url else None
    except ValueError:
        return None
