"""Child process of :func:`ward_geo.io.bounded.read_vector_sandboxed` (not a public module).

Usage: ``python -m ward_geo.io._vector_child SOURCE OUT LAYER LAYER_KIND``. Sets its own
address-space limit first (``WARD_GEO_CHILD_MEMORY_BYTES``), then reads the layer with
pyogrio and writes ``(meta, wkb geometries, columns)`` to ``OUT``.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys


def main(argv: list[str]) -> int:
    source, out, layer_text, layer_kind = argv
    budget = int(os.environ.get("WARD_GEO_CHILD_MEMORY_BYTES", "0"))
    if budget > 0:
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    for heavy in ("geopandas", "pandas", "shapely", "pyarrow", "matplotlib"):
        sys.modules.setdefault(heavy, None)  # type: ignore[arg-type]  # raw reads need none of them
    import pyogrio

    layer: str | int | None = None
    if layer_text:
        layer = int(layer_text) if layer_kind == "int" else layer_text
    meta, _fids, geometry, fields = pyogrio.raw.read(source, layer=layer, datetime_as_string=True)
    columns = {str(name): values for name, values in zip(meta["fields"], fields, strict=True)}
    with open(out, "wb") as fh:
        pickle.dump(({"crs": meta.get("crs")}, geometry, columns), fh, protocol=pickle.HIGHEST_PROTOCOL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
