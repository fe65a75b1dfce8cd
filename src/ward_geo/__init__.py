"""ward_geo: crime and disorder hotspot analysis and patrol planning for ward-level police.

Public names are re-exported here and imported lazily, so ``import ward_geo`` is cheap
and the CLI starts fast; each name comes from the module that owns it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # model
    "WardGeoError": "ward_geo.errors",
    "InputError": "ward_geo.errors",
    "ParameterError": "ward_geo.errors",
    "NotFoundError": "ward_geo.errors",
    "ConfigurationError": "ward_geo.errors",
    "StoreError": "ward_geo.errors",
    "CATEGORIES": "ward_geo.categories",
    "Category": "ward_geo.categories",
    "map_category": "ward_geo.categories",
    "INCIDENT_COLUMNS": "ward_geo.schema",
    "BOUNDARY_COLUMNS": "ward_geo.schema",
    "Settings": "ward_geo.settings",
    "get_settings": "ward_geo.settings",
    # io
    "read_boundaries": "ward_geo.io.readers",
    "read_incidents": "ward_geo.io.readers",
    "assign_wards": "ward_geo.io.readers",
    "validate_incidents": "ward_geo.io.readers",
    "ReaderOptions": "ward_geo.io.options",
    "ValidationReport": "ward_geo.io.validation",
    "ValidationIssue": "ward_geo.io.validation",
    "to_geojson": "ward_geo.io.writers",
    "write_geojson": "ward_geo.io.writers",
    "write_geoparquet": "ward_geo.io.writers",
    "read_geoparquet": "ward_geo.io.writers",
    "geojson_dumps": "ward_geo.io.writers",
    "to_metric": "ward_geo.projection",
    "metric_crs_for": "ward_geo.projection",
    "simulate": "ward_geo.synth",
    "load_street_graph": "ward_geo.streets",
    "street_edges": "ward_geo.streets",
    "street_nodes": "ward_geo.streets",
    "read_bus_stops": "ward_geo.streets",
    "OSM_ATTRIBUTION": "ward_geo.streets",
    "CENTRAL_WARD_IDS": "ward_geo.synth",
    "simulate_large": "ward_geo.synth",
    "write_large_geoparquet": "ward_geo.synth",
    # store
    "IncidentStore": "ward_geo.store.base",
    "IngestResult": "ward_geo.store.base",
    "SQLiteStore": "ward_geo.store.sqlite",
    "PostGISStore": "ward_geo.store.postgis",
    "open_store": "ward_geo.store",
    # analysis
    "DBSCAN": "ward_geo.cluster",
    "HDBSCAN": "ward_geo.cluster",
    "STDBSCAN": "ward_geo.cluster",
    "DistributedDBSCAN": "ward_geo.cluster",
    "dask_dbscan": "ward_geo.analysis.distributed",
    "find_hotspots_dask": "ward_geo.analysis.distributed",
    "DBSCANParams": "ward_geo.cluster",
    "suggest_dbscan_params": "ward_geo.cluster",
    "find_hotspots": "ward_geo.analysis.hotspots",
    "hotspot_members": "ward_geo.analysis.hotspots",
    "evaluation": "ward_geo.analysis.evaluation",
    "backtest": "ward_geo.analysis.evaluation",
    "classify_trends": "ward_geo.analysis.trends",
    # products
    "ward_map": "ward_geo.maps",
    "city_map": "ward_geo.maps",
    "save_map": "ward_geo.maps",
    "plan_patrol": "ward_geo.planning",
    "PatrolOptions": "ward_geo.planning",
    "MapOptions": "ward_geo.maps",
    "check_incidents": "ward_geo.schema",
    "check_boundaries": "ward_geo.schema",
    "resolve_ward_ids": "ward_geo.wards",
    "create_app": "ward_geo.api.app",
    "PatrolPlan": "ward_geo.planning",
    "evaluate_patrol": "ward_geo.planning",
    "ward_report": "ward_geo.report",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'ward_geo' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
