"""Year-on-year figures (exact test) and the ward report on simulated wards."""

import pandas as pd
import pytest

from ward_geo.errors import NotFoundError, ParameterError
from ward_geo.report import default_period, ward_report, year_on_year


def _frame(rows):
    return pd.DataFrame(rows, columns=["ward_id", "category", "occurred_at"]).assign(
        occurred_at=lambda d: pd.to_datetime(d["occurred_at"], utc=True)
    )


def test_year_on_year_counts_change_and_exact_test():
    rows = [("w1", "theft", "2025-03-01")] * 76 + [("w1", "theft", "2024-03-01")] * 100
    rows += [("w1", "drugs", "2025-02-01")] * 3 + [("w2", "drugs", "2023-02-01")] * 9  # outside both periods
    table = year_on_year(_frame(rows), since="2025-01-01", until="2025-07-01")
    theft = table[(table.ward_id == "w1") & (table.category == "theft")].iloc[0]
    assert (theft.current, theft.previous, theft.change) == (76, 100, -24)
    assert theft.change_pct == pytest.approx(-24.0)  # "down 24% on last year"
    from scipy.stats import binomtest

    assert theft.p_value == pytest.approx(binomtest(76, 176, 0.5).pvalue)
    assert not theft.significant  # 76 vs 100 is within chance at 5%
    drugs = table[table.category == "drugs"].iloc[0]
    assert drugs.previous == 0 and pd.isna(drugs.change_pct)
    assert "w2" not in set(table.ward_id)


def test_year_on_year_significant_drop():
    rows = [("w", "theft", "2025-05-05")] * 20 + [("w", "theft", "2024-05-05")] * 60
    row = year_on_year(_frame(rows), since="2025-01-01", until="2026-01-01").iloc[0]
    assert row.significant and row.p_value < 0.001


def test_period_validation():
    with pytest.raises(ParameterError, match="not after"):
        year_on_year(_frame([]), since="2025-02-01", until="2025-01-01")
    since, until = default_period(pd.Series(pd.to_datetime(["2025-03-15", "2025-11-20"], utc=True)), months=12)
    assert since == pd.Timestamp("2024-12-01", tz="UTC") and until == pd.Timestamp("2025-12-01", tz="UTC")


@pytest.fixture(scope="module")
def simulated_ward(hanoi_boundaries_path):
    from ward_geo.io.readers import read_boundaries
    from ward_geo.synth import simulate

    bounds = read_boundaries(hanoi_boundaries_path)
    inc = simulate(bounds, ward_ids=["phuong-cua-nam"], start="2024-01-01", end="2026-01-01", seed=3, scale=0.6)
    return inc, bounds


def test_ward_report_on_simulated_ward(simulated_ward, tmp_path):
    inc, bounds = simulated_ward
    inc = inc.copy()
    inc.loc[inc.index[0], "description"] = "<script>window.__x=1</script>"
    report = ward_report("phuong-cua-nam", inc, bounds)
    assert report.ward_name == "Phường Cửa Nam"
    assert report.since == pd.Timestamp("2025-01-01", tz="UTC")
    total = report.figures[["current", "previous"]].sum()
    mine = inc[inc.ward_id == "phuong-cua-nam"]
    t = pd.to_datetime(mine.occurred_at, utc=True)
    assert total.current == int(((t >= "2025-01-01") & (t < "2026-01-01")).sum())
    assert total.previous == int(((t >= "2024-01-01") & (t < "2025-01-01")).sum())
    assert len(report.hotspots) > 0
    assert set(report.hotspots["trend"]) <= {
        "new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating",
        "historical", "no_pattern",
    }
    assert report.accuracy is not None and report.accuracy["hotspot_set_id"].startswith("hs-")
    if report.accuracy.get("folds"):
        assert 0 <= report.accuracy["hit_rate_median"] <= 1
    md, page = report.save(tmp_path)
    text = md.read_text(encoding="utf-8")
    assert "Ma túy" in text and "on last year" in text
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html


def test_ward_report_escapes_ward_name(simulated_ward):
    inc, bounds = simulated_ward
    bounds = bounds.copy()
    bounds.loc[bounds.ward_id == "phuong-cua-nam", "name"] = "<img src=x onerror=alert(1)>"
    page = ward_report("phuong-cua-nam", inc, bounds).to_html()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_ward_report_unknown_ward(simulated_ward):
    inc, bounds = simulated_ward
    with pytest.raises(NotFoundError, match="nope"):
        ward_report("nope", inc, bounds)
