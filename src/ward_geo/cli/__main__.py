"""``python -m ward_geo.cli``: the same command line as ``ward-geo``."""

from ward_geo.cli import main

main()
