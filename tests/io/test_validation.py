"""ValidationReport: counts, JSON, CSV, rich table, merge."""

from __future__ import annotations

import copy
import csv
import io
import json

import pandas as pd
import pytest
from rich.console import Console

from ward_geo.io.readers import validate_incidents
from ward_geo.io.validation import ISSUE_FIELDS, ValidationIssue, ValidationReport


def _report() -> ValidationReport:
    frame = pd.DataFrame(
        {
            "id": ["r1", "r2", "r3", "r4"],
            "category": ["theft", "mystery", "theft", "theft"],
            "occurred_at": ["2025-03-01", "2025-03-01", "garbage", "2025-03-01"],
            "lon": ["105,85", "105.85", "105.85", "<script>"],
            "lat": ["21.03", "21.03", "21.03", "21.03"],
        }
    )
    return validate_incidents(frame, source="demo.csv", return_report=True)[1]


def test_counts_and_issue_kinds():
    report = _report()
    assert (report.rows_read, report.rows_accepted, report.rows_rejected, report.rows_repaired) == (4, 2, 2, 1)
    assert report.is_consistent and report.ok
    assert [(i.row, i.field, i.action) for i in report.issues] == [
        (1, "lon", "repaired"),
        (2, "category", "warning"),
        (3, "occurred_at", "rejected"),
        (4, "lon", "rejected"),
    ]
    assert report.rejected_rows() == [3, 4]
    assert report.unmapped_categories == {"mystery": 1}
    assert report.reason_counts() == {"lon: longitude is not a number": 1, "occurred_at: unparseable time": 1}


def test_to_dict_and_json_are_strict():
    report = _report()
    body = json.loads(report.to_json())
    assert body == report.to_dict()
    assert {"rows_read", "rows_accepted", "rows_rejected", "rows_repaired", "issues"} <= set(body)
    assert body["issues"][3] == {
        "row": 4, "field": "lon", "reason": "longitude is not a number (expected decimal degrees such as 105.8412)",
        "action": "rejected", "value": "<script>", "source": None,
    }


def test_to_csv_path_buffer_and_text(tmp_path):
    report = _report()
    path = tmp_path / "issues.csv"
    report.to_csv(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert tuple(rows[0]) == ISSUE_FIELDS
    assert [r["row"] for r in rows] == ["1", "2", "3", "4"]
    buffer = io.StringIO()
    report.to_csv(buffer)
    assert buffer.getvalue() == path.read_text(encoding="utf-8") == report.to_csv()


def test_table_and_str():
    report = _report()
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(report.to_table(max_rows=2))
    text = console.export_text()
    assert "demo.csv: 4 read, 2 accepted, 2 rejected, 1 repaired" in text
    assert "… 2 more issues" in text
    assert "longitude is not a number" in str(report)


def test_merge_adds_counts_and_keeps_sources():
    a = _report()
    b = ValidationReport(source="other.csv", rows_read=3, rows_accepted=2, rows_rejected=1,
                         issues=[ValidationIssue(2, "lat", "missing latitude")], unmapped_categories={"mystery": 4})
    merged = a.merge(b)
    assert (merged.rows_read, merged.rows_accepted, merged.rows_rejected) == (7, 4, 3)
    assert merged.is_consistent
    assert merged.unmapped_categories == {"mystery": 5}
    assert merged.source == "demo.csv + other.csv"
    assert [i.source for i in merged.issues] == ["demo.csv"] * 4 + ["other.csv"]
    assert a.rows_read == 4  # merge returns a new report


def test_issue_checks_action_and_shortens_values():
    with pytest.raises(ValueError, match="action"):
        ValidationIssue(1, "lon", "bad", "ignored")  # type: ignore[arg-type]
    issue = ValidationIssue(1, "description", "long", "warning", "x" * 500)
    assert len(issue.value) == 200


def test_report_travels_in_attrs_without_copies():
    gdf = validate_incidents(pd.DataFrame({"id": ["a"], "category": ["theft"], "occurred_at": ["2025-01-01"],
                                           "lon": [105.85], "lat": [21.03]}))
    report = gdf.attrs["validation_report"]
    assert gdf.copy().attrs["validation_report"] is report
    assert copy.deepcopy(report) is report
    independent = report.copy()
    independent.notes.append("x")
    assert "x" not in report.notes
