"""Bounded concurrency for fan-out calls (one GET per conversation, per contact, ...)."""

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from intercom_assets.api.client import IntercomClient

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_IN_FLIGHT = 8


@dataclass(frozen=True)
class FanOutResult(Generic[T, R]):
    """The outcome for one input: its `value`, or the `error` its call raised."""

    item: T
    value: R | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> R:
        """The value, or raise the item's error."""
        if self.error is not None:
            raise self.error
        # without an error the call returned `value`, which may itself be None (R may allow it)
        return cast(R, self.value)


def fan_out(
    items: Iterable[T],
    call: Callable[[T], R],
    *,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
) -> Iterator[FanOutResult[T, R]]:
    """Run `call(item)` for every item with at most `max_in_flight` running at once.

    Results are yielded **as they complete** (not in input order); an exception raised by
    one call is returned in its result and does not stop the others. Items are pulled
    from `items` lazily, so a long generator is never materialised. Calls through an
    `IntercomClient` share its connection pool and the app's rate limiter.
    """
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    source = iter(items)
    pending: dict[Future[R], T] = {}
    with ThreadPoolExecutor(
        max_workers=max_in_flight, thread_name_prefix="intercom-fanout"
    ) as pool:
        try:
            for item in source:
                pending[pool.submit(call, item)] = item
                if len(pending) >= max_in_flight:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    item = pending.pop(future)
                    error = future.exception()
                    if error is None:
                        yield FanOutResult(item, future.result())
                    elif isinstance(error, Exception):
                        yield FanOutResult(item, error=error)
                    else:
                        raise error
                for item in source:
                    pending[pool.submit(call, item)] = item
                    if len(pending) >= max_in_flight:
                        break
        finally:
            for future in pending:
                future.cancel()


def get_many(
    client: IntercomClient,
    paths: Iterable[str],
    *,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    params: dict[str, Any] | None = None,
) -> Iterator[FanOutResult[str, dict[str, Any]]]:
    """GET every path (e.g. `/conversations/{id}`) with bounded concurrency, as completed."""
    return fan_out(paths, lambda path: client.get(path, params), max_in_flight=max_in_flight)
