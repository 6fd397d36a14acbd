"""Long-running commands stop on Ctrl-C and on SIGTERM, whatever their parent left them.

A process inherits ignored signals from its parent: a shell's background job starts with
SIGINT ignored, and some process managers and test runners leave SIGTERM ignored, so a server
that keeps the default handlers would ignore `kill` and `Popen.terminate()`.
"""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM raise `KeyboardInterrupt` in the main thread (so
    `finally` blocks and context managers clean up); the previous handlers come back after."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
