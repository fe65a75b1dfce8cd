"""Wait on a condition, never on a fixed time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


def complete_json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of the lines of ``path`` that have been written to their end.

    A writer may be in the middle of a line when a test reads the file: the last line counts
    only once its newline is there, so a half-written entry is never parsed. Lines that are not
    JSON objects (plain-text log lines) are left out.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    entries = []
    for line in text.split("\n")[:-1]:  # the part after the last newline is still being written
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries
