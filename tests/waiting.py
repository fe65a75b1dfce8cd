"""Wait on a condition, never on a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.02) -> T:
    """Call ``condition`` until it returns a truthy value and return that value.

    Raises
    ------
    AssertionError
        The condition stayed false for ``timeout`` seconds (the last value is in the message).
    """
    deadline = time.monotonic() + timeout
    value = condition()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout:g} s (last value {value!r})")
        time.sleep(interval)
        value = condition()
    return value
