"""Column discovery: the known names of each field and the category mapping."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ward_geo.categories import normalize_term
from ward_geo.errors import InputError
from ward_geo.io.row_checks import _Ledger

LON_NAMES: tuple[str, ...] = ("longitude", "lon", "lng", "long", "kinh do", "x")
LAT_NAMES: tuple[str, ...] = ("latitude", "lat", "vi do", "y")
ID_NAMES: tuple[str, ...] = (
    "incident id", "crime id", "uid", "incident no", "incident number", "id", "ma vu viec",
)
CATEGORY_NAMES: tuple[str, ...] = (
    "category", "crime type", "offense type", "offense", "offence", "offence type", "loai",
    "loai vu viec", "type",
)
TIME_NAMES: tuple[str, ...] = (
    "occurred at", "date time", "datetime", "offense date", "incident date", "month", "date",
    "time", "timestamp", "thoi gian", "ngay",
)
SEVERITY_NAMES: tuple[str, ...] = ("severity", "muc do")
DESCRIPTION_NAMES: tuple[str, ...] = ("description", "mo ta", "noi dung", "details", "narrative", "location")
WARD_ID_NAMES: tuple[str, ...] = ("ward id",)
WARD_NAME_NAMES: tuple[str, ...] = ("name", "ten", "ten phuong", "ten xa", "ward name", "ward", "name vi")
WARD_NAME_EN_NAMES: tuple[str, ...] = ("name en", "name english", "english name")
POPULATION_NAMES: tuple[str, ...] = ("population", "dan so", "pop")


def find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first column whose normalised name is one of ``candidates`` (in their order)."""
    normalised: dict[str, str] = {}
    for col in columns:
        normalised.setdefault(normalize_term(col), col)
    for cand in candidates:
        hit = normalised.get(normalize_term(cand))
        if hit is not None:
            return hit
    return None


def _explicit_column(table: pd.DataFrame, name: str | None, what: str) -> str | None:
    if name is None:
        return None
    if name in table.columns:
        return name
    hit = find_column(list(table.columns), [name])
    if hit is None:
        raise InputError(
            f"{what} column {name!r} not found; the columns are: {', '.join(map(str, table.columns))}"
        )
    return hit


def _as_text(series: pd.Series) -> pd.Series:
    """Strings (stripped) with None for missing/empty; integral floats lose their '.0'."""
    s = series.reset_index(drop=True)
    if pd.api.types.is_float_dtype(s.dtype):
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
        integral = np.isfinite(arr) & (np.floor(arr) == arr)
        out = pd.Series([None] * len(arr), dtype=object)
        out[integral] = arr[integral].astype(np.int64).astype(str)
        out[~integral & ~np.isnan(arr)] = arr[~integral & ~np.isnan(arr)].astype(str)
        return out
    if isinstance(s.dtype, pd.StringDtype):
        text = s.str.strip()
    else:
        text = s.astype(object).where(s.notna(), None).astype("string").str.strip()
    out = text.to_numpy(dtype=object, na_value=None)
    out[out == ""] = None
    return pd.Series(out, dtype=object)


@dataclass
class _Columns:
    lon: str | None
    lat: str | None
    id: str | None
    category: str | None
    time: str
    severity: str | None
    description: str | None


def _pick_columns(table: pd.DataFrame, ledger: _Ledger, *, lon: str | None, lat: str | None,
                  id_field: str | None, category_field: str | None, time_field: str | None) -> _Columns:
    """Explicit column names (which must exist), else the first known name found."""
    columns = list(table.columns)

    def pick(explicit: str | None, what: str, names: Sequence[str]) -> str | None:
        found = _explicit_column(table, explicit, what)
        return found if explicit is not None else find_column(columns, names)

    time_col = pick(time_field, "time", TIME_NAMES)
    if time_col is None:
        raise ledger.file_error(
            "occurred_at", f"no time column found (looked for {', '.join(TIME_NAMES)}); name it with time_field=",
            f"no time column found among {', '.join(map(str, columns)) or 'no columns'}; pass time_field= to name it",
        )
    return _Columns(
        lon=_explicit_column(table, lon, "longitude"),
        lat=_explicit_column(table, lat, "latitude"),
        id=pick(id_field, "id", ID_NAMES),
        category=pick(category_field, "category", CATEGORY_NAMES),
        time=time_col,
        severity=find_column(columns, SEVERITY_NAMES),
        description=find_column(columns, DESCRIPTION_NAMES),
    )


def _map_categories(raw: np.ndarray, category: str | None, category_map: Mapping[str, str] | None,
                    has_column: bool, ledger: _Ledger) -> tuple[np.ndarray, np.ndarray]:
    """Category codes per row and the mask of rows whose value is unknown (kept as ``other``)."""
    from ward_geo.categories import map_category

    n = len(raw)
    if category is not None:
        ledger.report.note(f"every row given category '{category}'")
        return np.full(n, category, dtype=object), np.zeros(n, dtype=bool)
    if not has_column:
        ledger.report.add(None, "category", "no category column found; every row is 'other' "
                          "(pass category= or category_field=)", "warning")
        return np.full(n, "other", dtype=object), np.zeros(n, dtype=bool)
    lookup = {u: map_category(u, category_map) for u in pd.unique(pd.Series(raw, dtype=object).dropna())}
    codes = np.asarray([lookup.get(v) if v is not None else None for v in raw], dtype=object)
    unmapped = codes == None  # noqa: E711
    codes[unmapped] = "other"
    return codes, unmapped


def _report_unmapped(raw: np.ndarray, mask: np.ndarray, field: str, ledger: _Ledger) -> None:
    """One warning per distinct unknown category value (at its first row) and the counts."""
    if not mask.any():
        return
    values = pd.Series(raw[mask], dtype=object).fillna("")
    first_rows = pd.Series(ledger.rows[mask]).groupby(values.to_numpy()).min()
    for raw_value, count in values.value_counts(sort=True).items():
        label = raw_value if raw_value != "" else "(empty)"
        ledger.report.unmapped_categories[label] = int(count)
        ledger.report.add(int(first_rows[raw_value]), field,
                          f"unknown category '{label}' ({int(count)} rows) kept as 'other'; map it with category_map=",
                          "warning", raw_value or None)
