"""Collect every problem of an input, then raise once.

Checks of tables and parameters in ward_geo never stop at the first fault: a user fixing a
file wants the whole list. :class:`Problems` is the one helper for that pattern (as osmnx's
validation does): add each problem with the row, the field and what was expected, then call
:meth:`Problems.raise_if_any` with the error type to raise.

Examples
--------
>>> from ward_geo.errors import InputError
>>> problems = Problems("incidents")
>>> problems.add("must be a Point", field="geometry", row=3)
>>> problems.add("has no CRS; declare one", field="crs")
>>> len(problems)
2
>>> problems.message()
'incidents: row 3, field geometry: must be a Point; field crs: has no CRS; declare one'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from ward_geo.errors import InputError, WardGeoError

__all__ = ["Problem", "Problems", "rows_text"]

#: At most this many problems are spelled out in a message (all are counted).
MAX_LISTED = 20
#: At most this many problems are kept in an error's details.
MAX_DETAILS = 200


@dataclass(frozen=True)
class Problem:
    """One fault of an input.

    Attributes
    ----------
    reason : str
        What is wrong and what was expected ("must be a Point", "expected one of ...").
    field : str or None
        The column or parameter concerned; None for the input as a whole.
    row : int or None
        The row (as the caller numbers rows: 1-based data rows of a file, or 0-based
        positions of a frame, said in the error's text); None for a file- or
        parameter-level problem.
    value : str or None
        The offending value as text, when showing it helps.
    """

    reason: str
    field: str | None = None
    row: int | None = None
    value: str | None = None

    def text(self) -> str:
        """The problem as one phrase: ``row 3, field geometry: must be a Point``."""
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field}")
        shown = "" if self.value is None else f" (got {self.value!r})"
        return f"{', '.join(where)}: {self.reason}{shown}" if where else f"{self.reason}{shown}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as plain JSON data (``row``, ``field``, ``reason``, ``value``)."""
        return {"row": self.row, "field": self.field, "reason": self.reason, "value": self.value}


class Problems:
    """An ordered collection of :class:`Problem` to raise as one error.

    Parameters
    ----------
    subject : str, default ""
        What is being checked ("incidents", "boundaries", "parameters"); it begins the
        message.
    """

    def __init__(self, subject: str = "") -> None:
        self.subject = subject
        self._items: list[Problem] = []
        self._uncounted = 0

    def add(self, reason: str, *, field: str | None = None, row: int | None = None, value: object = None) -> None:
        """Record one problem.

        Parameters
        ----------
        reason : str
            What is wrong and what was expected.
        field : str, optional
            The column or parameter concerned.
        row : int, optional
            The row concerned.
        value : object, optional
            The offending value (shown as text, at most 80 characters).
        """
        shown = None if value is None else _short(value)
        self._items.append(Problem(reason, field, row, shown))

    def add_rows(self, rows: Iterable[int], reason: str, *, field: str | None = None, limit: int = MAX_DETAILS) -> None:
        """Record the same problem for many rows (at most ``limit`` kept, all counted).

        Parameters
        ----------
        rows : iterable of int
            The rows concerned.
        reason : str
            What is wrong with each of them.
        field : str, optional
            The column concerned.
        limit : int, default MAX_DETAILS
            How many rows to keep as separate problems; the rest are counted only.
        """
        count = 0
        for row in rows:
            if count < limit:
                self._items.append(Problem(reason, field, int(row)))
            else:
                self._uncounted += 1
            count += 1

    def extend(self, other: Problems) -> None:
        """Append the problems of ``other``."""
        self._items.extend(other._items)
        self._uncounted += other._uncounted

    def __len__(self) -> int:
        return len(self._items) + self._uncounted

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._items)

    @property
    def reasons(self) -> list[str]:
        """Each kept problem as one phrase."""
        return [p.text() for p in self._items]

    def message(self) -> str:
        """One message listing the problems (the first :data:`MAX_LISTED`, then a count)."""
        texts = self.reasons[:MAX_LISTED]
        more = len(self) - len(texts)
        body = "; ".join(texts) + (f"; and {more} more" if more > 0 else "")
        return f"{self.subject}: {body}" if self.subject else body

    def details(self) -> dict[str, Any]:
        """The problems as plain data for an error's ``details``."""
        return {"problems": [p.to_dict() for p in self._items[:MAX_DETAILS]], "problem_count": len(self)}

    def raise_if_any(self, error: type[WardGeoError] = InputError, **details: Any) -> None:
        """Raise ``error`` listing every problem, when there is at least one.

        Parameters
        ----------
        error : type of WardGeoError, default InputError
            The error to raise (its HTTP status goes with it).
        **details
            More entries for the error's ``details``.

        Raises
        ------
        WardGeoError
            ``error``, with :meth:`message` and :meth:`details`.
        """
        if self:
            self.throw(error, **details)

    def throw(self, error: type[WardGeoError] = InputError, **details: Any) -> NoReturn:
        """Raise ``error`` listing the problems (whether or not there are any)."""
        raise error(self.message(), details={**self.details(), **details})


def rows_text(rows: Sequence[int] | NDArray[np.integer[Any]], limit: int = 10) -> str:
    """Rows as a short list for a message: ``"3, 7, 9, ..."``."""
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (", ..." if len(rows) > limit else "")


def _short(value: object, limit: int = 80) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
