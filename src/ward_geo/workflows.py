"""The one place that composes the store and the analysis: hotspot sets every face reads.

A **hotspot set** is defined by (the wards, the analysis window, the method and its
parameters, the data version). :func:`ward_hotspot_set` computes it once with
:func:`ward_geo.analysis.hotspots.find_hotspots` (default ``method="auto"``, the default window:
12 months ending at the end of the day of the ward's latest incident, forecast for the next
month), adds trend classes and street names, and keeps it in the store with its definition.
The CLI, the service, the ward map, the patrol planner and the report all call it, so they
show the same hotspots: the same ids, ranks, names and numbers. New data in the ward gives a
new data version (:meth:`~ward_geo.store.base.IncidentStore.scope_version`) and so a new set;
data elsewhere does not.

Set id
    ``"hs-<12 hex>"``: a SHA-1 of the definition key and the data version.
Names
    :func:`ward_geo.analysis.naming.place_names` on the central-Hanoi street file and bus
    stops of the reference folder when they are there; otherwise coordinates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from ward_geo.errors import NotFoundError
from ward_geo.io.writers import json_safe

if TYPE_CHECKING:  # pragma: no cover
    from ward_geo.store.base import IncidentStore

__all__ = ["HotspotSet", "DEFAULT_METHOD", "set_definition", "compute_hotspot_set", "ward_hotspot_set",
           "name_hotspots", "reference_streets", "store_hotspots"]

DEFAULT_METHOD = "auto"
#: Version of the rules that build a set; part of every key, so a new rule gives new sets.
RULES_VERSION = "2"


@dataclass(frozen=True)
class HotspotSet:
    """A hotspot table with its identity: set id, definition and data version."""

    set_id: str
    key: str
    data_version: str
    definition: dict[str, Any]
    hotspots: gpd.GeoDataFrame
    created_at: pd.Timestamp
    from_store: bool = False

    @property
    def ward_ids(self) -> list[str]:
        """The wards of the set's definition."""
        return list(self.definition.get("ward_ids") or [])

    def summary(self) -> dict[str, Any]:
        """Identity and selection of the set, for JSON outputs and logs."""
        params = self.hotspots.attrs.get("params", {}) if hasattr(self.hotspots, "attrs") else {}
        selection = params.get("selection") or {}
        return {
            "hotspot_set_id": self.set_id, "data_version": self.data_version,
            "created_at": self.created_at.isoformat(), "ward_ids": self.ward_ids,
            "method": params.get("method"), "requested_method": self.definition.get("method"),
            "since": params.get("since"), "until": params.get("until"),
            "horizon": params.get("horizon"), "selection_reason": selection.get("reason"),
            "n_hotspots": int(len(self.hotspots)),
        }


def set_definition(ward_ids: Sequence[str], *, method: str = DEFAULT_METHOD, categories: Sequence[str] | None = None,
                   since: object = None, until: object = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The definition of a hotspot set (without its data version), JSON-safe and canonical."""
    definition: dict[str, Any] = json_safe({
        "rules": RULES_VERSION, "ward_ids": sorted(str(w) for w in ward_ids), "method": method,
        "categories": sorted(categories) if categories is not None else None,
        "since": None if since is None else str(since), "until": None if until is None else str(until),
        "params": dict(sorted((params or {}).items())),
    })
    return definition


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def _definition_key(definition: dict[str, Any]) -> str:
    return _digest(json.dumps(definition, sort_keys=True, ensure_ascii=False))


def _content_version(incidents: gpd.GeoDataFrame) -> str:
    """Data version of an in-memory table: a hash of its ids, times and positions."""
    if len(incidents) == 0:
        return "empty"
    frame = pd.DataFrame({
        "id": incidents["incident_id"].astype(str).to_numpy(),
        "t": pd.to_datetime(incidents["occurred_at"], utc=True).astype(str).to_numpy(),
        "wkb": incidents.geometry.to_wkb(hex=True).to_numpy(),
    }).sort_values("id")
    return hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()[:16]


@lru_cache(maxsize=1)
def reference_streets() -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """Named street lines and bus stops of the reference folder (``(None, None)`` when absent)."""
    from ward_geo.errors import WardGeoError

    try:
        from ward_geo.settings import get_settings
        from ward_geo.streets import load_street_graph, street_edges

        edges = street_edges(load_street_graph())
        edges = edges[edges["name"].notna()][["name", "geometry"]].reset_index(drop=True)
        stops = None
        try:
            path = get_settings().reference_file("pois", "hanoi_bus_stops.geojson")
            stops = gpd.read_file(path)
            stops = stops[stops["name"].notna()][["name", "geometry"]].reset_index(drop=True)
        except (WardGeoError, OSError, KeyError, ValueError):
            stops = None
        return edges, stops
    except (WardGeoError, OSError, ImportError, ValueError):
        return None, None


def name_hotspots(hotspots: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None = None, *,
                  streets: gpd.GeoDataFrame | None = None, landmarks: gpd.GeoDataFrame | None = None,
                  lang: str = "vi") -> gpd.GeoDataFrame:
    """Fill the ``name`` column from the street network (the reference streets by default).

    Names are unique within the table; without streets covering a hotspot they fall back to a
    nearby bus stop or to coordinates (see :func:`ward_geo.analysis.naming.place_names`).
    """
    from ward_geo.analysis.naming import place_names

    if len(hotspots) == 0:
        return hotspots
    if streets is None:
        streets, default_stops = reference_streets()
        landmarks = landmarks if landmarks is not None else default_stops
    if streets is None or len(streets) == 0:
        return hotspots
    points = None
    if incidents is not None and "member_ids" in hotspots.columns and len(incidents):
        by_id = incidents.set_index(incidents["incident_id"].astype(str)).geometry
        points = [gpd.GeoSeries(by_id.reindex([str(m) for m in ms]).dropna().values, crs=incidents.crs)
                  for ms in hotspots["member_ids"]]
    out = hotspots.copy()
    out["name"] = place_names(out.geometry, streets, points=points, landmarks=landmarks, lang=lang)
    out.attrs = dict(hotspots.attrs)
    return out


def compute_hotspot_set(  # noqa: PLR0913 - public; keywords mirror find_hotspots (documented contract)
    incidents: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None,
    ward_ids: Sequence[str] | None,
    *,
    method: str = DEFAULT_METHOD,
    categories: Sequence[str] | None = None,
    since: object = None,
    until: object = None,
    params: dict[str, Any] | None = None,
    data_version: str | None = None,
    trends: bool = True,
    names: bool = True,
) -> HotspotSet:
    """Compute a hotspot set from a GeoDataFrame (no store): hotspots, trends and names.

    Parameters
    ----------
    incidents, boundaries : GeoDataFrame
        Canonical incidents and wards.
    ward_ids : sequence of str, optional
        The study wards (``None``: the wards holding incidents).
    method, categories, since, until, params
        As :func:`ward_geo.analysis.hotspots.find_hotspots`.
    data_version : str, optional
        Version of the data (default: a hash of the incidents' ids, times and positions).
    trends, names : bool, default True
        Add trend classes and street names.

    Returns
    -------
    HotspotSet
    """
    from ward_geo.analysis.hotspots import find_hotspots

    wards = sorted(str(w) for w in ward_ids) if ward_ids is not None else []
    definition = set_definition(wards, method=method, categories=categories, since=since, until=until,
                                params=params)
    key = _definition_key(definition)
    version = data_version or _content_version(incidents)
    found = find_hotspots(incidents, boundaries, method, categories, since, until,
                          ward_ids=wards or None, **(params or {}))
    if trends and len(found):
        from ward_geo.analysis.trends import classify_trends

        study = boundaries[boundaries["ward_id"].isin(wards)] if boundaries is not None and wards else boundaries
        attrs = dict(found.attrs)
        found = classify_trends(found, incidents, study)
        found.attrs = {**attrs, **found.attrs}
    if names:
        found = name_hotspots(found, incidents)
    set_id = f"hs-{_digest(key, version)}"
    found = found.copy()
    found.insert(0, "hotspot_set_id", set_id)
    found.attrs = {**found.attrs, "hotspot_set": {"hotspot_set_id": set_id, "data_version": version,
                                                  "definition": definition}}
    return HotspotSet(set_id, key, version, definition, found, pd.Timestamp.now(tz="UTC"))


def ward_hotspot_set(
    store: IncidentStore,
    ward_ids: str | Sequence[str],
    *,
    method: str = DEFAULT_METHOD,
    categories: Sequence[str] | None = None,
    since: object = None,
    until: object = None,
    params: dict[str, Any] | None = None,
    refresh: bool = False,
) -> HotspotSet:
    """Return the hotspot set of wards in a store.

    It is read when the store has it for the current data, else computed and kept (see the
    module notes).

    Parameters
    ----------
    store : IncidentStore
    ward_ids : str or sequence of str
        The wards (each must have a boundary in the store).
    method, categories, since, until, params
        As :func:`ward_geo.analysis.hotspots.find_hotspots`; the defaults are the same on
        every face.
    refresh : bool, default False
        Compute again even when a stored set matches.

    Returns
    -------
    HotspotSet

    Raises
    ------
    NotFoundError
        A ward has no boundary in the store.
    """
    from ward_geo.store.base import HotspotSetRecord

    wards = [ward_ids] if isinstance(ward_ids, str) else [str(w) for w in ward_ids]
    boundaries = store.boundaries(wards)
    missing = sorted(set(wards) - set(boundaries["ward_id"].astype(str))) if len(boundaries) else sorted(wards)
    if missing:
        raise NotFoundError(f"no ward boundary for {', '.join(map(repr, missing))} in the store "
                            "(load the boundaries with `ward-geo ingest-boundaries` or store.put_boundaries)")
    definition = set_definition(wards, method=method, categories=categories, since=since, until=until,
                                params=params)
    key = _definition_key(definition)
    version = store.scope_version(sorted(wards), categories=list(categories) if categories else None)
    if not refresh:
        stored = store.find_hotspot_set(key, version)
        if stored is not None:
            return HotspotSet(stored.set_id, stored.key, stored.data_version, dict(stored.definition),
                              stored.hotspots, stored.created_at, from_store=True)
    incidents = store.query(ward_ids=wards, categories=list(categories) if categories else None)
    computed = compute_hotspot_set(incidents, boundaries, wards, method=method, categories=categories,
                                   since=since, until=until, params=params, data_version=version)
    record = HotspotSetRecord(
        set_id=computed.set_id, key=key, data_version=version, definition=definition,
        created_at=computed.created_at, ward_ids=tuple(sorted(wards)), hotspots=computed.hotspots,
        attrs=json_safe(computed.hotspots.attrs),
    )
    store.put_hotspot_set(record)
    return HotspotSet(computed.set_id, key, version, definition, computed.hotspots, computed.created_at)


def store_hotspots(store: IncidentStore | None = None, **kwargs: Any) -> gpd.GeoDataFrame:
    """:func:`~ward_geo.analysis.hotspots.find_hotspots` on the incidents of a store.

    Parameters
    ----------
    store : IncidentStore, optional
        The store to read; ``None`` opens the configured one (``ward_geo.store.open_store``)
        for the call.
    **kwargs
        Any keyword of ``find_hotspots`` but ``incidents`` and ``store``; the filters
        (wards, categories, window) are pushed down to the store's query.

    Returns
    -------
    GeoDataFrame
        The hotspot table ``find_hotspots`` returns.
    """
    from ward_geo.analysis.hotspots import find_hotspots
    from ward_geo.store import open_store

    if store is not None:
        return find_hotspots(store=store, **kwargs)
    with open_store() as opened:
        return find_hotspots(store=opened, **kwargs)
