"""The main job end to end on the embedded store: what ``make demo`` / ``ward-geo demo`` runs.

1. Read the 2025 Hanoi ward boundaries from the reference data and store them.
2. Simulate two years of incidents for the central wards on the real street network
   (``source = "synthetic"``) and ingest them (idempotent: a second run adds nothing).
3. For each central ward: hotspots of the last twelve months, classified by trend over the
   whole history, written as RFC 7946 GeoJSON.
4. A patrol plan (GeoJSON + Markdown schedule) for one ward's evening shift.
5. An offline map per central ward (the patrol layer on the patrolled ward) and a city
   overview, written as self-contained HTML into ``maps/``.
6. The year-on-year report of the patrolled ward (Markdown + HTML).

Every file written is listed in the returned :class:`DemoResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from ward_geo.settings import Settings, get_settings

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DemoResult", "run_demo", "DEMO_PATROL_WARD"]

#: The ward that gets a patrol plan and a report in the demo.
DEMO_PATROL_WARD = "phuong-hoan-kiem"


@dataclass
class DemoResult:
    """What the demo did: counts per ward and the files it wrote."""

    ingested: int
    duplicates: int
    wards: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    patrol_summary: dict[str, Any] = field(default_factory=dict)


def run_demo(  # noqa: PLR0913 - public; its keywords are the documented demo options
    *,
    settings: Settings | None = None,
    maps_dir: str | Path = "maps",
    out_dir: str | Path | None = None,
    ward_ids: Sequence[str] | None = None,
    patrol_ward: str = DEMO_PATROL_WARD,
    start: str = "2024-01-01",
    end: str = "2026-01-01",
    seed: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the whole chain on the embedded default store (see the module docstring).

    Parameters
    ----------
    settings : Settings, optional
        Default :func:`~ward_geo.settings.get_settings` (``WARD_GEO_DATA_DIR``, ``WARD_GEO_REFERENCE_DIR``).
    maps_dir : path
        Folder for the HTML maps (default ``maps/``).
    out_dir : path, optional
        Folder for hotspot GeoJSON, the patrol plan and the report (default ``<data_dir>/out``).
    ward_ids : sequence of str, optional
        Wards to simulate and map (default :data:`ward_geo.synth.CENTRAL_WARD_IDS`).
    patrol_ward : str
        Ward that gets the patrol plan and the report.
    start, end : str
        Simulated period (two years by default, so the report can compare with a year earlier).
    seed : int
        Simulation and routing seed.
    on_step : callable, optional
        Called with a short description before each step (progress display).
    """
    from ward_geo.io.readers import read_boundaries
    from ward_geo.io.writers import write_geojson
    from ward_geo.maps import city_map, save_map, ward_map
    from ward_geo.planning import plan_patrol
    from ward_geo.report import ward_report
    from ward_geo.store import open_store
    from ward_geo.streets import load_street_graph
    from ward_geo.synth import CENTRAL_WARD_IDS, simulate
    from ward_geo.workflows import ward_hotspot_set

    settings = settings or get_settings()
    step = on_step or (lambda _text: None)
    wards = list(ward_ids or CENTRAL_WARD_IDS)
    if patrol_ward not in wards:
        wards.append(patrol_ward)
    maps_dir = Path(maps_dir)
    out = Path(out_dir) if out_dir is not None else settings.data_dir / "out"
    for sub in ("hotspots", "patrol", "reports"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    maps_dir.mkdir(parents=True, exist_ok=True)

    step("reading the Hanoi ward boundaries")
    boundaries = cast("gpd.GeoDataFrame",
                      read_boundaries(settings.reference_file("boundaries", "hanoi_wards_2025.geojson")))
    step("loading the central-Hanoi street network")
    graph = load_street_graph()
    step(f"simulating {start} – {end} for {len(wards)} wards")
    simulated = simulate(boundaries, ward_ids=wards, start=start, end=end, seed=seed, graph=graph)

    with open_store(settings) as store:
        store.put_boundaries(boundaries)
        step(f"ingesting {len(simulated):,} incidents into the store")
        ingest = store.ingest(simulated, source="synthetic")
        incidents = store.query(ward_ids=wards)
        result = DemoResult(ingested=ingest.added, duplicates=ingest.duplicates)
        # one hotspot set per ward, kept in the store: the map, the patrol plan, the report and
        # the service all show these hotspots (same ids, ranks and names)
        sets: dict[str, Any] = {}
        for ward_id in wards:
            step(f"hotspots for {ward_id}")
            sets[ward_id] = ward_hotspot_set(store, ward_id)
    hotspots_by_ward: dict[str, Any] = {}
    for ward_id in wards:
        found = sets[ward_id].hotspots
        mine = incidents[incidents["ward_id"] == ward_id]
        ward = boundaries[boundaries["ward_id"] == ward_id]
        hotspots_by_ward[ward_id] = found
        path = write_geojson(found, out / "hotspots" / f"{ward_id}.geojson")
        result.files.append(Path(path))
        result.wards.append(
            {"ward_id": ward_id, "name": str(ward["name"].iloc[0]), "incidents": int(len(mine)),
             "hotspots": int(len(found)),
             "high_priority": int((found["priority"] == "high").sum()) if len(found) else 0,
             "hotspot_set_id": sets[ward_id].set_id,
             "method": (found.attrs.get("params") or {}).get("method")}
        )

    step(f"patrol plan for {patrol_ward} (18:00–02:00, 3 units on motorbikes)")
    plan = plan_patrol(
        incidents, boundaries, patrol_ward, shift_start="18:00", shift_end="02:00", units=3,
        mode="motorbike", graph=graph, seed=seed, hotspots=hotspots_by_ward[patrol_ward],
    )
    geojson_path, schedule_path = plan.write(out / "patrol" / f"{patrol_ward}.geojson")
    result.files += [Path(geojson_path), Path(schedule_path)]
    result.patrol_summary = dict(plan.summary)

    for ward_id in wards:
        step(f"map of {ward_id}")
        m = ward_map(
            incidents[incidents["ward_id"] == ward_id], boundaries, ward_id,
            hotspots=hotspots_by_ward[ward_id], patrol=plan if ward_id == patrol_ward else None, streets=graph,
        )
        result.files.append(save_map(m, maps_dir / f"{ward_id}.html"))
    step("city overview map")
    all_hotspots = pd.concat([h for h in hotspots_by_ward.values() if len(h)], ignore_index=True)
    overview = city_map(incidents, boundaries, ward_ids=wards, hotspots=all_hotspots, streets=graph)
    result.files.append(save_map(overview, maps_dir / "hanoi_overview.html"))

    step(f"report for {patrol_ward}")
    report = ward_report(patrol_ward, incidents, boundaries, hotspot_set=sets[patrol_ward])
    result.files += list(report.save(out / "reports"))
    return result
