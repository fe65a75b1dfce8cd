"""The ``ward-geo`` command line: thin commands over the library.

One module per group of commands: :mod:`~ward_geo.cli.data` (validate, ingest, wards,
simulate), :mod:`~ward_geo.cli.analysis` (hotspots, backtest), :mod:`~ward_geo.cli.products`
(map, report, patrol, assets), :mod:`~ward_geo.cli.service` (serve, keys) and
:mod:`~ward_geo.cli.demo`; :mod:`~ward_geo.cli.common` holds the app, the one-line error
handling, progress bars and the option types they share, :mod:`~ward_geo.cli.inputs` the
inputs they share. The commands are registered here, in the order ``ward-geo --help``
lists them.

Exit codes: 0 ok, 1 bad input (any :class:`~ward_geo.errors.WardGeoError`), 2 usage.
Long work shows a rich progress bar; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

from ward_geo.cli import analysis, data, demo, products, service
from ward_geo.cli.common import app, console, err_console, handle_errors, print_json, progress
from ward_geo.cli.inputs import write_incidents_file

__all__ = ["app", "main", "console", "err_console", "handle_errors", "print_json", "progress"]

app.command("validate")(data.validate_command)
app.command("ingest")(data.ingest_command)
app.command("wards")(data.wards_command)
app.command("simulate")(data.simulate_command)
app.command("hotspots")(analysis.hotspots_command)
app.command("map")(products.map_command)
app.command("backtest")(analysis.backtest_command)
app.command("report")(products.report_command)
app.command("patrol")(products.patrol_command)
app.command("serve")(service.serve_command)
app.command("demo")(demo.demo_command)
app.add_typer(products.assets_app, name="assets")
app.add_typer(service.keys_app, name="keys")

#: the former name of :func:`ward_geo.cli.inputs.write_incidents_file`, kept for its callers
_write_incidents_file = write_incidents_file


def main() -> None:  # pragma: no cover - console entry point
    """Run the command line (``ward-geo``)."""
    app()
