"""The company scroll: one open scroll per workspace, idle expiry, an empty last page."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Scroll:
    """One open scroll: a snapshot of company ids and how far the client got."""

    param: str
    company_ids: list[str]
    position: int = 0
    pages_served: int = 0
    last_used: float = 0.0
    finished: bool = field(default=False)


class ScrollRegistry:
    """Holds the workspace's single scroll; expiry is measured in real (wall-clock) seconds."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float]) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self.current: Scroll | None = None

    def active(self) -> Scroll | None:
        """The open scroll, after dropping it if it sat idle too long."""
        scroll = self.current
        if scroll is not None and self._clock() - scroll.last_used > self.idle_seconds:
            self.current = None
        return self.current

    def open(self, company_ids: list[str]) -> Scroll:
        self.current = Scroll(uuid.uuid4().hex, company_ids, last_used=self._clock())
        return self.current

    def touch(self, scroll: Scroll) -> None:
        scroll.last_used = self._clock()

    def close(self) -> None:
        self.current = None
