"""Seeded simulation of realistic ward incidents, and large point sets for benchmarks.

There is no open Vietnamese incident data, so the demo and many tests use incidents that
:func:`simulate` places on the real street network (OpenStreetMap, see
:mod:`ward_geo.streets`) inside real ward boundaries. Every simulated row has
``source == "synthetic"``; nothing simulated should ever be presented as real.

How incidents are placed (one street network, one ``numpy`` generator seeded by ``seed``):

* **traffic accidents** and **traffic violations** cluster at busy intersections (nodes
  where three or more streets meet on primary/secondary/tertiary roads), peaking at the
  rush hours 7–9 and 17–19 on weekdays;
* **parking violations** and **sidewalk encroachment** lie along streets near markets and
  offices (bus stops named after markets, hospitals, ministries, schools, banks,
  shopping centres, and the old-quarter "Phố Hàng …" streets), by day;
* **drug points** lie in alleys (streets named "Ngõ"/"Ngách"/"Hẻm", and short dead ends of
  residential, service and footway segments), at night;
* **thefts** and **robberies** lie near bus stops, by day and evening (robbery later);
* **burglary**, **illegal lending** and **fire hazards** lie in residential streets;
  **assault** and **public order** near activity centres in the evening, more at weekends;
* every category also has background noise along its kind of street.

Part of each category comes from clusters (a few per ward and category) with a life
cycle: ``persistent`` all period, ``emerging`` (starts part-way, ramps up over about a
month) or ``fading`` (ramps down to nothing part-way), so trend analysis has something to
find. The clusters are recorded in ``result.attrs["synthetic_clusters"]``. Points are
snapped to the nearest street centreline and jittered a few metres off it.

For clustering and distributed benchmarks, :func:`simulate_large` draws millions of
points with city-like structure (many dense clusters of varied size and shape over a
denser centre and sparse background) in projected metres, :func:`iter_large_chunks`
yields the same in chunks, and :func:`write_large_geoparquet` writes them as a
partitioned GeoParquet incident table.

The package: :mod:`~ward_geo.synth.profiles` (how each category is simulated: rates,
places, hours, weekdays, life cycles), :mod:`~ward_geo.synth.places` (street classes,
anchors, snapping), :mod:`~ward_geo.synth.incidents` (:func:`simulate`) and
:mod:`~ward_geo.synth.large` (large point sets).

Street and bus-stop data: © OpenStreetMap contributors (ODbL 1.0).
"""

from ward_geo.synth.incidents import simulate
from ward_geo.synth.large import (
    DEFAULT_LARGE_BOUNDS,
    LARGE_CRS,
    iter_large_chunks,
    simulate_large,
    write_large_geoparquet,
)
from ward_geo.synth.profiles import CENTRAL_WARD_IDS, SYNTHETIC_SOURCE

__all__ = [
    "CENTRAL_WARD_IDS",
    "SYNTHETIC_SOURCE",
    "LARGE_CRS",
    "DEFAULT_LARGE_BOUNDS",
    "simulate",
    "simulate_large",
    "iter_large_chunks",
    "write_large_geoparquet",
]
