"""The validation report: every rejected, repaired or doubtful row, listed once.

Readers collect every problem in one pass and put it in a :class:`ValidationReport`;
nothing is dropped without an entry. The counts always add up::

    rows_read == rows_accepted + rows_rejected

Row numbers are 1-based positions among the data records: row 1 is the first data row
of a CSV (line 2 when the file has a header line) or the first feature of a vector
layer. ``row`` is ``None`` for problems that concern the whole file (a missing column,
no CRS, ...). ``field`` is the column as named in the input (``Longitude``,
``incident_no``, ``Month``...), ``lon/lat`` style pairs for problems of a point,
``geometry`` for vector features, ``row`` for a malformed CSV record, or the canonical
name (``occurred_at``, ``category``, ``crs``) for file-level problems.

Actions
-------
``rejected``
    The row is not in the output (bad coordinates, unparseable time, duplicate id, ...).
``repaired``
    The row is in the output after a change that the issue describes (comma decimal
    read as a dot, latitude and longitude swapped back, polygon made valid, ...).
``warning``
    The row is in the output unchanged, but something deserves attention (an unknown
    category kept as ``other``, a CRS assumed, ...).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

from rich.console import Console
from rich.table import Table

__all__ = ["Action", "ValidationIssue", "ValidationReport", "ISSUE_FIELDS"]

Action = Literal["rejected", "repaired", "warning"]
ACTIONS: tuple[str, ...] = ("rejected", "repaired", "warning")
#: Column order of an issue in JSON and CSV output.
ISSUE_FIELDS: tuple[str, ...] = ("row", "field", "reason", "action", "value", "source")
_MAX_VALUE_CHARS = 200


def _short(value: object) -> str | None:
    """A printable, bounded copy of an offending value (``None`` stays ``None``)."""
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in the input.

    Attributes
    ----------
    row : int or None
        1-based data row (or feature) number; ``None`` for a file-level problem.
    field : str
        The column or property concerned (``"longitude"``, ``"occurred_at"``, ``"geometry"``...).
    reason : str
        What was wrong and what was expected, in one sentence.
    action : {"rejected", "repaired", "warning"}
        What the reader did with the row.
    value : str or None
        The offending value as found (shortened to 200 characters).
    source : str or None
        The input the row came from (set when reports of several files are merged).
    """

    row: int | None
    field: str
    reason: str
    action: Action = "rejected"
    value: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, not {self.action!r}")
        if self.row is not None:
            object.__setattr__(self, "row", int(self.row))
        object.__setattr__(self, "value", _short(self.value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with the keys of :data:`ISSUE_FIELDS`."""
        return asdict(self)


@dataclass
class ValidationReport:
    """Everything a reader found while turning a file into a canonical table.

    Attributes
    ----------
    source : str
        Name of the input (file name, ``"upload"``, ...).
    rows_read : int
        Data rows (or features) in the input.
    rows_accepted : int
        Rows in the output table.
    rows_rejected : int
        Rows not in the output; each has at least one ``rejected`` issue.
    rows_repaired : int
        Accepted rows that were changed on the way (each has a ``repaired`` issue).
    issues : list of ValidationIssue
        Every problem, in row order (file-level problems first).
    unmapped_categories : dict
        ``{raw value: row count}`` of category values that matched no category.
    outside_wards : int
        Accepted rows whose point lies in no ward (their ``ward_id`` is null).
    duplicates_dropped : int
        Rows rejected as identical copies of another row with the same ``incident_id``.
    crs_in : str or None
        The CRS the input was declared or found in.
    notes : list of str
        File-level remarks (CRS reprojected, columns used, ...).
    """

    source: str = ""
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_repaired: int = 0
    issues: list[ValidationIssue] = field(default_factory=list)
    unmapped_categories: dict[str, int] = field(default_factory=dict)
    outside_wards: int = 0
    duplicates_dropped: int = 0
    crs_in: str | None = None
    notes: list[str] = field(default_factory=list)

    # pandas deep-copies ``DataFrame.attrs`` on most operations; the report is shared
    # instead of copied so that carrying it in ``gdf.attrs`` costs nothing. Use
    # :meth:`copy` for an independent copy.
    def __deepcopy__(self, memo: dict[int, Any]) -> ValidationReport:
        return self

    def copy(self) -> ValidationReport:
        """An independent copy (issues are immutable and shared)."""
        return replace(
            self,
            issues=list(self.issues),
            unmapped_categories=dict(self.unmapped_categories),
            notes=list(self.notes),
        )

    # ------------------------------------------------------------------ building
    def add(
        self,
        row: int | None,
        field: str,
        reason: str,
        action: Action = "rejected",
        value: object = None,
    ) -> ValidationIssue:
        """Append one issue and return it."""
        issue = ValidationIssue(row, field, reason, action, _short(value))
        self.issues.append(issue)
        return issue

    def add_many(
        self,
        rows: Iterable[int],
        field: str,
        reasons: str | Sequence[str],
        action: Action = "rejected",
        values: Iterable[object] | None = None,
    ) -> None:
        """Append one issue per row (``reasons`` one string for all rows or one per row)."""
        rows = list(rows)
        reason_list = [reasons] * len(rows) if isinstance(reasons, str) else list(reasons)
        value_list = list(values) if values is not None else [None] * len(rows)
        if not (len(reason_list) == len(value_list) == len(rows)):
            raise ValueError("rows, reasons and values must have the same length")
        self.issues.extend(
            ValidationIssue(int(r), field, reason, action, _short(v))
            for r, reason, v in zip(rows, reason_list, value_list, strict=True)
        )

    def note(self, text: str) -> None:
        """Record a file-level remark (kept once)."""
        if text not in self.notes:
            self.notes.append(text)

    def sort_issues(self) -> None:
        """Order issues by row (file-level first), keeping insertion order within a row."""
        self.issues.sort(key=lambda i: -1 if i.row is None else i.row)

    # ------------------------------------------------------------------ queries
    @property
    def ok(self) -> bool:
        """True when at least one row was accepted."""
        return self.rows_accepted > 0

    @property
    def is_consistent(self) -> bool:
        """True when ``rows_read == rows_accepted + rows_rejected``."""
        return self.rows_read == self.rows_accepted + self.rows_rejected

    def issues_for(
        self, *, row: int | None = None, field: str | None = None, action: str | None = None
    ) -> list[ValidationIssue]:
        """Issues matching every given criterion."""
        return [
            i
            for i in self.issues
            if (row is None or i.row == row)
            and (field is None or i.field == field)
            and (action is None or i.action == action)
        ]

    def rejected_rows(self) -> list[int]:
        """Sorted row numbers that were rejected."""
        return sorted({i.row for i in self.issues if i.action == "rejected" and i.row is not None})

    def reason_counts(self, action: str | None = "rejected") -> dict[str, int]:
        """``{field: reason-kind: count}`` flattened as ``"field: reason"`` keys.

        Reasons are grouped by their text up to the first ``" ("`` or ``":"``, so
        per-row details (values, row lists) do not split the counts.
        """
        counts: dict[str, int] = {}
        for issue in self.issues:
            if action is not None and issue.action != action:
                continue
            kind = issue.reason.split(" (", 1)[0].split(":", 1)[0].strip()
            key = f"{issue.field}: {kind}"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    # ------------------------------------------------------------------ combining
    def merge(self, other: ValidationReport) -> ValidationReport:
        """A new report adding ``other`` to this one (issues keep their source)."""
        issues = [i if i.source else replace(i, source=self.source or None) for i in self.issues]
        issues += [i if i.source else replace(i, source=other.source or None) for i in other.issues]
        unmapped = dict(self.unmapped_categories)
        for raw, count in other.unmapped_categories.items():
            unmapped[raw] = unmapped.get(raw, 0) + count
        sources = [s for s in (self.source, other.source) if s]
        crs = self.crs_in if self.crs_in == other.crs_in or other.crs_in is None else (
            other.crs_in if self.crs_in is None else f"{self.crs_in}, {other.crs_in}"
        )
        notes = list(self.notes) + [n for n in other.notes if n not in self.notes]
        return ValidationReport(
            source=" + ".join(sources),
            rows_read=self.rows_read + other.rows_read,
            rows_accepted=self.rows_accepted + other.rows_accepted,
            rows_rejected=self.rows_rejected + other.rows_rejected,
            rows_repaired=self.rows_repaired + other.rows_repaired,
            issues=issues,
            unmapped_categories=unmapped,
            outside_wards=self.outside_wards + other.outside_wards,
            duplicates_dropped=self.duplicates_dropped + other.duplicates_dropped,
            crs_in=crs,
            notes=notes,
        )

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (counts, ``issues`` as a list of dicts, notes)."""
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rows_repaired": self.rows_repaired,
            "outside_wards": self.outside_wards,
            "duplicates_dropped": self.duplicates_dropped,
            "unmapped_categories": dict(self.unmapped_categories),
            "crs_in": self.crs_in,
            "notes": list(self.notes),
            "issues": [i.to_dict() for i in self.issues],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as strict JSON (non-ASCII text kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, indent=indent)

    def to_csv(self, path_or_buffer: str | Path | IO[str] | None = None) -> str | None:
        """Write the issues as CSV (columns of :data:`ISSUE_FIELDS`).

        Parameters
        ----------
        path_or_buffer : str, Path, text file object or None
            Where to write; ``None`` returns the CSV text instead.

        Text cells that a spreadsheet would evaluate (starting with ``=``, ``+``, ``-``,
        ``@``, tab or carriage return) get a leading ``'`` (OWASP's rule against CSV
        injection); the row number stays a number.
        """
        from ward_geo.io.writers import neutralise_formula

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(ISSUE_FIELDS)
        for issue in self.issues:
            d = issue.to_dict()
            writer.writerow(["" if d[k] is None else neutralise_formula(d[k]) for k in ISSUE_FIELDS])
        text = buffer.getvalue()
        if path_or_buffer is None:
            return text
        if isinstance(path_or_buffer, (str, Path)):
            Path(path_or_buffer).write_text(text, encoding="utf-8")
        else:
            path_or_buffer.write(text)
        return None

    def summary(self) -> str:
        """One line: the counts."""
        parts = [
            f"{self.source or 'input'}: {self.rows_read} read",
            f"{self.rows_accepted} accepted",
            f"{self.rows_rejected} rejected",
            f"{self.rows_repaired} repaired",
        ]
        if self.duplicates_dropped:
            parts.append(f"{self.duplicates_dropped} duplicates dropped")
        if self.outside_wards:
            parts.append(f"{self.outside_wards} outside every ward")
        if self.unmapped_categories:
            parts.append(f"{sum(self.unmapped_categories.values())} with unknown categories")
        return ", ".join(parts)

    def to_table(self, max_rows: int | None = None) -> Table:
        """A rich table of the issues (at most ``max_rows``; the caption says how many more)."""
        title = self.summary()
        table = Table(title=title, title_justify="left", show_lines=False, expand=False, min_width=min(len(title), 120))
        table.add_column("row", justify="right", style="cyan", no_wrap=True)
        table.add_column("field", style="magenta")
        table.add_column("action")
        table.add_column("reason", overflow="fold")
        table.add_column("value", overflow="fold", style="dim")
        styles = {"rejected": "red", "repaired": "yellow", "warning": "blue"}
        shown = self.issues if max_rows is None else self.issues[:max_rows]
        for issue in shown:
            table.add_row(
                "" if issue.row is None else str(issue.row),
                issue.field,
                f"[{styles[issue.action]}]{issue.action}[/]",
                issue.reason,
                "" if issue.value is None else issue.value,
            )
        captions = list(self.notes)
        if len(shown) < len(self.issues):
            captions.append(f"… {len(self.issues) - len(shown)} more issues (use --json or to_csv for all)")
        if captions:
            table.caption = "\n".join(captions)
            table.caption_justify = "left"
        return table

    def __str__(self) -> str:
        console = Console(width=120, record=True, file=io.StringIO(), color_system=None)
        console.print(self.to_table(max_rows=50))
        return console.export_text().rstrip()
