"""Validation and selection of a hotspot request: every problem collected, raised once.

:func:`parse_request` checks the method, its options, the filters and the window and returns a
:class:`HotspotRequest`; :func:`select_incidents` loads (from a GeoDataFrame or a store),
checks, filters and orders the incidents the request names.

``method="auto"`` with ``eps`` or ``min_samples``
    means DBSCAN: explicit DBSCAN parameters name the method.

Default analysis window
    When neither ``since`` nor ``until`` is given and ``window`` is set (default ``"12M"``), the
    window ends at the end of the local day of the latest selected incident (never after the
    end of today) and starts ``window`` before; ``window=None`` keeps every incident. The window
    is the training period of the forecast and is recorded in ``attrs["params"]``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ward_geo import schema
from ward_geo.analysis.hotspots.forecast import HORIZONS
from ward_geo.analysis.hotspots.registry import METHODS, REGISTRY, Method
from ward_geo.categories import CATEGORIES, CATEGORY_CODES
from ward_geo.errors import InputError, ParameterError
from ward_geo.parallel import cost_slices, map_in_threads, thread_count
from ward_geo.schema import WGS84

if TYPE_CHECKING:  # pragma: no cover
    from pyproj import CRS

    from ward_geo.store.base import IncidentStore

__all__ = [
    "HotspotRequest",
    "parse_request",
    "select_incidents",
    "local_zone",
    "parse_time",
    "check_incidents",
    "filter_incidents",
    "canonical_order",
    "metric_xy",
    "incident_weights",
    "category_codes",
    "study_wards",
    "study_area",
    "DEFAULT_WINDOW",
    "COMMON_OPTIONS",
]

DEFAULT_WINDOW = "12M"
#: Options every method accepts.
COMMON_OPTIONS = frozenset({"timezone", "horizon", "half_life_days", "window", "max_area_share"})


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def local_zone(timezone: str | None) -> str:
    """The IANA zone to use: ``timezone``, else the configured one (checked)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ward_geo.settings import get_settings

    zone = timezone or get_settings().timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ParameterError(
            f"timezone {zone!r} is not an IANA time zone name (for example 'Asia/Ho_Chi_Minh')"
        ) from exc
    return zone


def parse_time(value: object, name: str, zone: str, problems: list[str]) -> pd.Timestamp | None:
    """A UTC timestamp from a date-like value (naive values are in ``zone``); problems appended."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        problems.append(f"{name}={value!r} is not a date or timestamp (expected ISO 8601, e.g. 2025-01-31)")
        return None
    if ts is pd.NaT:
        problems.append(f"{name} is empty (NaT); expected a date or timestamp")
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(zone)
    return ts.tz_convert("UTC")


def _validate_categories(categories: object, problems: list[str]) -> list[str] | None:
    if categories is None:
        return None
    if isinstance(categories, str):
        categories = [categories]
    if not isinstance(categories, Iterable):
        problems.append(f"categories must be a category code or a list of codes, got {categories!r}")
        return None
    cats = [str(c) for c in categories]
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        problems.append(
            f"unknown category code(s) {', '.join(map(repr, unknown))} (known: {', '.join(CATEGORY_CODES)})"
        )
    if not cats:
        problems.append("categories is an empty list; omit it to use every category")
    return sorted(set(cats), key=CATEGORY_CODES.index) if not unknown else None


def _validate_ward_ids(ward_ids: object, problems: list[str]) -> list[str] | None:
    if ward_ids is None:
        return None
    if isinstance(ward_ids, str):
        return [ward_ids]
    if not isinstance(ward_ids, Iterable):
        problems.append(f"ward_ids must be a ward id or a list of ids, got {ward_ids!r}")
        return None
    out = [str(w) for w in ward_ids]
    if not out:
        problems.append("ward_ids is an empty list; omit it to use every ward")
    return out


def _positive(params: dict[str, Any], key: str, unit: str, problems: list[str]) -> None:
    if key in params and params[key] is not None:
        v = params[key]
        if not _is_number(v) or not math.isfinite(float(v)) or float(v) <= 0:
            problems.append(f"{key} must be a positive number of {unit}, got {v!r}")


def _fraction(params: dict[str, Any], key: str, problems: list[str], *, closed: bool = False) -> None:
    if key in params and params[key] is not None:
        v = params[key]
        ok = _is_number(v) and (0.0 <= float(v) <= 1.0 if closed else 0.0 < float(v) < 1.0)
        if not ok:
            bounds = "between 0 and 1" if closed else "strictly between 0 and 1"
            problems.append(f"{key} must be {bounds}, got {v!r}")


def _allowed_options(method: object, params: dict[str, Any],
                     problems: list[str]) -> tuple[frozenset[str], Method | None]:
    """The options ``method`` accepts and its registry entry (``None`` for ``auto`` or unknown)."""
    if method not in METHODS:
        problems.append(f"method {method!r} is unknown (expected one of {', '.join(METHODS)})")
        return frozenset(params), None
    if method == "auto":
        return COMMON_OPTIONS | {"buffer_m", "concave_ratio", "max_across_m"}, None
    entry = REGISTRY[str(method)]
    return entry.options | COMMON_OPTIONS, entry


def _check_unknown_options(method: object, params: dict[str, Any], allowed: frozenset[str],
                           problems: list[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        problems.append(
            f"parameter(s) {', '.join(unknown)} do not apply to method {method!r} "
            f"(accepted: {', '.join(sorted(allowed))})"
        )


def _check_dbscan_arguments(method: object, entry: Method | None, eps: object, min_samples: object,
                            problems: list[str]) -> None:
    if eps is not None:
        if method == "auto" or (entry is not None and not entry.uses_eps):
            problems.append(f"eps does not apply to method {method!r}")
        elif not _is_number(eps) or not math.isfinite(float(eps)) or float(eps) <= 0:  # type: ignore[arg-type]
            problems.append(f"eps must be a positive distance in metres, got {eps!r}")
    if min_samples is not None:
        if method == "auto" or (entry is not None and not entry.uses_min_samples):
            problems.append(f"min_samples does not apply to method {method!r}")
        elif isinstance(min_samples, bool) or not isinstance(min_samples, numbers.Integral) or int(min_samples) < 1:
            problems.append(f"min_samples must be an integer >= 1, got {min_samples!r}")


def _check_numeric_options(params: dict[str, Any], problems: list[str]) -> None:
    for key in ("buffer_m", "bandwidth", "cell_size", "max_across_m"):
        _positive(params, key, "metres", problems)
    _positive(params, "eps_time", "hours", problems)
    _positive(params, "half_life_days", "days", problems)
    if params.get("cluster_selection_epsilon") not in (None, 0, 0.0):
        _positive(params, "cluster_selection_epsilon", "metres", problems)
    _fraction(params, "concave_ratio", problems, closed=True)
    for key in ("quantile", "alpha", "share", "max_area_share"):
        _fraction(params, key, problems)
    for key in ("min_cluster_size", "min_incidents", "permutations", "seed"):
        if key in params and params[key] is not None:
            v = params[key]
            lowest = {"permutations": 0, "seed": 0, "min_cluster_size": 2}.get(key, 1)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) < lowest:
                problems.append(f"{key} must be an integer >= {lowest}, got {v!r}")


def _check_choice_options(params: dict[str, Any], problems: list[str]) -> None:
    for key in ("cold", "weighted"):
        if key in params and not isinstance(params[key], bool | np.bool_):
            problems.append(f"{key} must be true or false, got {params[key]!r}")
    if "timezone" in params and params["timezone"] is not None and not isinstance(params["timezone"], str):
        problems.append(f"timezone must be an IANA zone name, got {params['timezone']!r}")
    if "horizon" in params and params["horizon"] not in HORIZONS:
        problems.append(f"horizon must be one of {', '.join(HORIZONS)}, got {params['horizon']!r}")
    if params.get("window") is not None:
        try:
            _window_offset(params["window"])
        except ParameterError as exc:
            problems.append(exc.message)


def _validate_params(method: object, eps: object, min_samples: object, params: dict[str, Any],
                     problems: list[str]) -> None:
    allowed, entry = _allowed_options(method, params, problems)
    _check_unknown_options(method, params, allowed, problems)
    _check_dbscan_arguments(method, entry, eps, min_samples, problems)
    _check_numeric_options(params, problems)
    _check_choice_options(params, problems)


def _window_offset(text: object) -> pd.DateOffset:
    import re

    m = re.fullmatch(r"\s*(\d+)\s*([DWMY])\s*", str(text).upper()) if isinstance(text, str) else None
    if not m or int(m.group(1)) == 0:
        raise ParameterError(f"window must be like '12M', '26W', '90D' or '1Y', got {text!r}")
    n, unit = int(m.group(1)), m.group(2)
    return {"D": pd.DateOffset(days=n), "W": pd.DateOffset(weeks=n), "M": pd.DateOffset(months=n),
            "Y": pd.DateOffset(years=n)}[unit]


@dataclass
class HotspotRequest:
    """A validated hotspot request (method ``auto`` still to be resolved)."""

    method: str
    eps: float | None
    min_samples: int | None
    options: dict[str, Any]
    categories: list[str] | None
    ward_ids: list[str] | None
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    timezone: str
    per_category: bool
    horizon: str = "month"
    window: str | None = DEFAULT_WINDOW
    window_rule: str = field(default="given")

    def method_options(self) -> dict[str, Any]:
        """Options passed to the method itself (without the common ones)."""
        return {k: v for k, v in self.options.items() if k not in COMMON_OPTIONS}


class RequestScope(TypedDict):
    """The keywords of :func:`parse_request` that choose what is analysed (all required)."""

    categories: object
    since: object
    until: object
    ward_ids: object
    per_category: object
    boundaries: object


def parse_request(
    method: object,
    eps: object,
    min_samples: object,
    params: dict[str, Any],
    **scope: Unpack[RequestScope],
) -> HotspotRequest:
    """Check a hotspot request; every problem is listed in one :class:`ParameterError`.

    The keywords ``categories``, ``since``, ``until``, ``ward_ids``, ``per_category`` and
    ``boundaries`` (see :class:`RequestScope`) are all required.
    """
    categories, since, until = scope["categories"], scope["since"], scope["until"]
    ward_ids, per_category, boundaries = scope["ward_ids"], scope["per_category"], scope["boundaries"]
    problems: list[str] = []
    if method == "auto" and (eps is not None or min_samples is not None):
        method = "dbscan"  # explicit DBSCAN parameters name the method
    _validate_params(method, eps, min_samples, params, problems)
    zone = "UTC"
    try:
        zone = local_zone(params.get("timezone"))
    except ParameterError as exc:
        problems.append(exc.message)
    cats = _validate_categories(categories, problems)
    wards = _validate_ward_ids(ward_ids, problems)
    since_ts = parse_time(since, "since", zone, problems)
    until_ts = parse_time(until, "until", zone, problems)
    if since_ts is not None and until_ts is not None and since_ts >= until_ts:
        problems.append(f"since ({since_ts.isoformat()}) must be before until ({until_ts.isoformat()})")
    if not isinstance(per_category, bool):
        problems.append(f"per_category must be true or false, got {per_category!r}")
    bad_boundaries = not isinstance(boundaries, gpd.GeoDataFrame) or "ward_id" not in boundaries.columns
    if boundaries is not None and bad_boundaries:
        problems.append(
            "boundaries must be a GeoDataFrame with a 'ward_id' column (read them with ward_geo.read_boundaries)"
        )
    if problems:
        raise ParameterError("invalid hotspot parameters: " + "; ".join(problems), details={"problems": problems})
    window = params.get("window", DEFAULT_WINDOW)
    return HotspotRequest(
        method=str(method), eps=None if eps is None else float(eps),  # type: ignore[arg-type]
        min_samples=None if min_samples is None else int(min_samples),  # type: ignore[call-overload]
        options=dict(params), categories=cats, ward_ids=wards, since=since_ts, until=until_ts,
        timezone=zone, per_category=bool(per_category), horizon=str(params.get("horizon", "month")),
        window=window,
    )


def default_window(times: pd.Series, request: HotspotRequest) -> tuple[pd.Timestamp | None, pd.Timestamp | None, str]:
    """The analysis window of a request (see the module notes) and how it was chosen."""
    if request.since is not None or request.until is not None:
        return request.since, request.until, "given"
    if request.window is None:
        return None, None, "all incidents (window=None)"
    t = pd.to_datetime(times, utc=True).dropna()
    if t.empty:
        return None, None, "no incident times"
    zone = request.timezone
    today_end = (pd.Timestamp.now(tz=zone).normalize() + pd.Timedelta(days=1)).tz_convert("UTC")
    last_day_end = (t.max().tz_convert(zone).normalize() + pd.Timedelta(days=1)).tz_convert("UTC")
    until = min(last_day_end, today_end)
    since = (until.tz_convert(zone) - _window_offset(request.window)).tz_convert("UTC")
    return since, until, (f"the {request.window} ending at the end of the day of the latest incident "
                          f"({until.tz_convert(zone).date().isoformat()}, {zone})")


#: Columns find_hotspots reads besides the geometry.
_ANALYSED_COLUMNS = ("incident_id", "category", "occurred_at")


def check_incidents(gdf: gpd.GeoDataFrame) -> None:
    """Raise :class:`InputError` naming the rows and field when the incidents are unusable.

    The checks are :func:`ward_geo.schema.check_incidents` (the one validator of the canonical
    incident table) on the columns the analysis reads, without reprojection.
    """
    schema.check_incidents(gdf, required=_ANALYSED_COLUMNS, to_wgs84=False)


def filter_incidents(gdf: gpd.GeoDataFrame, categories: list[str] | None, since: pd.Timestamp | None,
                     until: pd.Timestamp | None, ward_ids: list[str] | None) -> gpd.GeoDataFrame:
    """Rows with a listed category, ``since <= occurred_at < until`` and a listed ward."""
    keep = np.ones(len(gdf), dtype=bool)
    if categories is not None:
        keep &= gdf["category"].isin(categories).to_numpy()
    if since is not None or until is not None:
        t = pd.to_datetime(gdf["occurred_at"], utc=True)
        if since is not None:
            keep &= (t >= since).to_numpy(dtype=bool, na_value=False)
        if until is not None:
            keep &= (t < until).to_numpy(dtype=bool, na_value=False)
    if ward_ids is not None:
        if len(gdf) and ("ward_id" not in gdf.columns or gdf["ward_id"].isna().all()):
            raise InputError(
                "incidents have no ward_id values to filter by ward: give boundaries (or read the "
                "incidents with boundaries=...) so each incident gets its ward"
            )
        keep &= gdf["ward_id"].isin(ward_ids).to_numpy(dtype=bool)
    if keep.all():
        return gdf
    return gdf.iloc[np.flatnonzero(keep)]


def canonical_order(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows sorted by ``incident_id``: results never depend on the input's row order.

    DBSCAN gives a border point to the first cluster (in row order) that reaches it, and
    HDBSCAN breaks ties by row order too; clustering in id order makes the members, and so the
    hotspot ids, the same for any order of the same incidents.
    """
    import pyarrow.compute as pc

    text = id_text(gdf["incident_id"])
    if strictly_increasing(text):
        return gdf
    return gdf.iloc[np.asarray(pc.sort_indices(text))]


def id_text(ids: pd.Series) -> Any:
    """Incident ids as an Arrow ``large_string`` array (text as ``str(id)``)."""
    import pyarrow as pa

    if not (pd.api.types.is_string_dtype(ids.dtype) and ids.dtype != object):
        ids = ids.astype(str)
    return pa.array(ids, type=pa.large_string(), from_pandas=True)


def strictly_increasing(text: Any) -> bool:
    """Whether an Arrow string array is in strictly increasing (byte) order: ids in canonical order."""
    import pyarrow.compute as pc

    return len(text) < 2 or bool(pc.all(pc.less(text[:-1], text[1:])).as_py())


def select_incidents(
    request: HotspotRequest,
    incidents: gpd.GeoDataFrame | None,
    store: IncidentStore | None,
    boundaries: gpd.GeoDataFrame | None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None, int]:
    """Select the checked, filtered incidents of a request in canonical order.

    Returns them with the boundaries and the number of input rows (the default window is
    applied later, by :func:`default_window`).
    """
    if incidents is not None:
        if not isinstance(incidents, gpd.GeoDataFrame):
            raise InputError(f"incidents must be a GeoDataFrame, got {type(incidents).__name__}")
        gdf = incidents
    else:
        if store is None:
            raise InputError(
                "give incidents or store=: find_hotspots reads a store only when it is passed one "
                "(ward_geo.workflows.store_hotspots reads the configured store)"
            )
        gdf = store.query(ward_ids=request.ward_ids, categories=request.categories,
                          since=request.since, until=request.until)
        if boundaries is None:
            stored = store.boundaries()
            boundaries = stored if len(stored) else None
    check_incidents(gdf)
    if gdf.attrs:  # the reader's report rides in attrs; pandas would deep-copy it on every access
        gdf = gdf.copy(deep=False)
        gdf.attrs = {}
    n_input = len(gdf)
    if request.ward_ids is not None and boundaries is not None and len(gdf) and (
        "ward_id" not in gdf.columns or gdf["ward_id"].isna().all()
    ):
        from ward_geo.io.readers import assign_wards

        gdf = assign_wards(gdf, boundaries)
    gdf = filter_incidents(gdf, request.categories, request.since, request.until, request.ward_ids)
    return canonical_order(gdf), boundaries, n_input


#: Fewest points for which the projection runs on several threads.
_THREADED_POINTS = 100_000


@lru_cache(maxsize=16)
def _transformer(source_wkt: str, target_wkt: str) -> Any:
    """A cached pyproj transformer (building one costs tens of milliseconds)."""
    from pyproj import Transformer

    return Transformer.from_crs(source_wkt, target_wkt, always_xy=True)


def metric_xy(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, CRS]:
    """Point coordinates in the metric CRS :func:`ward_geo.projection.to_metric` would choose."""
    from ward_geo.projection import metric_crs_for, metric_crs_for_bounds

    xy = shapely.get_coordinates(gdf.geometry.values)
    if len(xy) and gdf.crs is not None and gdf.crs.equals(WGS84):  # lon/lat already: the extent of xy
        crs = metric_crs_for_bounds((float(xy[:, 0].min()), float(xy[:, 1].min()),
                                     float(xy[:, 0].max()), float(xy[:, 1].max())))
    else:
        crs = metric_crs_for(gdf)
    transformer = _transformer(gdf.crs.to_wkt(), crs.to_wkt())
    out = np.empty_like(xy, dtype=np.float64)
    parts = thread_count() if len(xy) >= _THREADED_POINTS else 1

    def project(rows: slice) -> None:
        # pyproj transformers are thread-safe and PROJ releases the GIL: chunks run in parallel
        out[rows, 0], out[rows, 1] = transformer.transform(xy[rows, 0], xy[rows, 1])

    map_in_threads(project, cost_slices(np.ones(len(xy)), parts))
    return out, crs


def transform_geometries(geoms: np.ndarray, source: CRS | str, target: CRS | str) -> np.ndarray:
    """``geoms`` (shapely, in ``source``) in ``target``, as ``GeoSeries.to_crs`` gives them.

    Geometries are projected in chunks of similar coordinate counts on the GEOS/PROJ threads
    (:mod:`ward_geo.parallel`); each chunk is independent, so the result is the same.
    """
    from pyproj import CRS

    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0 or CRS.from_user_input(source).equals(CRS.from_user_input(target)):
        return geoms.copy()
    transformer = _transformer(CRS.from_user_input(source).to_wkt(), CRS.from_user_input(target).to_wkt())

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    sizes = shapely.get_num_coordinates(geoms)
    parts = thread_count() if int(sizes.sum()) >= _THREADED_POINTS else 1
    chunks = map_in_threads(lambda rows: shapely.transform(geoms[rows], project), cost_slices(sizes, parts))
    return np.asarray(np.concatenate(chunks), dtype=object)


def category_codes(series: pd.Series, fill: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes and their values for a text column (missing -> ``fill``)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = [str(u) for u in uniques]
    if (codes < 0).any():
        if fill in values:
            codes = np.where(codes < 0, values.index(fill), codes)
        else:
            codes = np.where(codes < 0, len(values), codes)
            values.append(fill)
    return np.asarray(codes, dtype=np.int64), values


def incident_weights(gdf: gpd.GeoDataFrame, cat_codes: tuple[np.ndarray, list[str]] | None = None) -> np.ndarray:
    """``category weight × severity`` per incident (severity 1 when missing or negative)."""
    codes, values = cat_codes if cat_codes is not None else category_codes(gdf["category"], "other")
    table = np.array([CATEGORIES[v].weight if v in CATEGORIES else 1.0 for v in values] or [1.0])
    cat_w = table[codes]
    if "severity" in gdf.columns:
        sev = pd.to_numeric(gdf["severity"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        sev = np.where(np.isfinite(sev) & (sev >= 0), sev, 1.0)
    else:
        sev = 1.0
    weights: np.ndarray = (cat_w * sev).astype(np.float64)
    return weights


def study_wards(boundaries_m: gpd.GeoDataFrame | None, X: np.ndarray,
                ward_ids: Sequence[str] | None) -> gpd.GeoDataFrame | None:
    """The wards analysed: those asked for, else those containing at least one incident."""
    if boundaries_m is None or len(boundaries_m) == 0:
        return None
    if ward_ids is not None:
        chosen = boundaries_m[boundaries_m["ward_id"].astype(str).isin(ward_ids)]
        return chosen if len(chosen) else None
    tree = shapely.STRtree(np.asarray(boundaries_m.geometry.values, dtype=object))
    _pts, wards = tree.query(shapely.points(X), predicate="within")
    if len(wards) == 0:
        return None
    return boundaries_m.iloc[np.unique(wards)]


def study_area(wards_m: gpd.GeoDataFrame | None, X: np.ndarray) -> Any:
    """Union of the study wards, else the incidents' convex hull buffered by 200 m."""
    if wards_m is not None:
        area = shapely.union_all(wards_m.geometry.values)
        if not area.is_empty and area.area > 0:
            return area
    return shapely.buffer(_convex_hull(X), 200.0)


def _convex_hull(X: np.ndarray) -> Any:
    """Convex hull of many points: Qhull's vertices, GEOS for the degenerate cases (a line, a point)."""
    if len(X) >= 3:
        from scipy.spatial import ConvexHull, QhullError

        try:
            hull = ConvexHull(X)
        except QhullError:  # fewer than three distinct positions, or all on one line
            pass
        else:
            return shapely.Polygon(X[hull.vertices])
    return shapely.convex_hull(shapely.multipoints(X))
