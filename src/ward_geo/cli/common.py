"""What every ``ward-geo`` command shares: the app, the consoles, errors, progress, options.

Exit codes: 0 ok, 1 bad input (any :class:`~ward_geo.errors.WardGeoError`), 2 usage.
Long work shows a rich progress bar; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ward_geo.errors import WardGeoError
from ward_geo.io.options import ReaderOptions

__all__ = [
    "app",
    "console",
    "err_console",
    "handle_errors",
    "progress",
    "print_json",
    "split_values",
    "ReaderFlags",
]

app = typer.Typer(
    name="ward-geo",
    help="Crime and disorder hotspot analysis and patrol planning for ward-level police.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def _print_error(exc: WardGeoError, *, as_json: bool) -> None:
    """Print ``exc`` as one JSON object (``--json``) or one line plus its validation table."""
    if as_json:
        print(json.dumps(exc.to_dict(), ensure_ascii=False, allow_nan=False, default=str))
        return
    err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    report = getattr(exc, "report", None)
    if report is not None:
        err_console.print(report.to_table(max_rows=50))


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a WardGeoError into one message on stderr and exit code 1 (JSON with ``--json``).

    Parameters
    ----------
    func : callable
        A command function; its ``as_json`` keyword, when true, selects the JSON form.

    Returns
    -------
    callable
        ``func`` wrapped; the signature typer reads is kept (``functools.wraps``).
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except WardGeoError as exc:
            _print_error(exc, as_json=bool(kwargs.get("as_json")))
            raise typer.Exit(code=1) from None
        except MemoryError:
            err_console.print("[bold red]error:[/] out of memory while working on the input; "
                              "hint: split the file or lower WARD_GEO_READ_MAX_BYTES", highlight=False)
            raise typer.Exit(code=1) from None

    return wrapper


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Callable[[float], None]]:
    """A rich progress bar (transient, on stderr).

    Parameters
    ----------
    description : str
        Text beside the bar.
    total : float, optional
        Number of steps (a spinner without a count when omitted).

    Yields
    ------
    callable
        ``advance(n=1)``: move the bar on by ``n`` steps.
    """
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}" if total else ""),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: float = 1) -> None:
            bar.advance(task, n)

        yield advance


def print_json(payload: Any) -> None:
    """Print ``payload`` as strict JSON (NaN refused, non-ASCII kept)."""
    print(json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str, indent=2))


def split_values(values: list[str] | None) -> list[str] | None:
    """Repeated and comma-separated option values as one list (None when empty)."""
    out = [v.strip() for item in (values or []) for v in item.split(",") if v.strip()]
    return out or None


# ---------------------------------------------------------------- option types shared by several commands
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
BoundariesOption = Annotated[
    Path | None,
    typer.Option("--boundaries", "-b", help="Ward boundaries file (default: the store's wards)."),
]
IncidentsArgument = Annotated[Path | None, typer.Argument(help="Incident file; omitted: the store.")]
IncidentFileArgument = Annotated[
    Path, typer.Argument(help="Incident file: CSV (.csv.gz), GeoJSON, GeoPackage, Shapefile, GeoParquet.")
]
LangOption = Annotated[str, typer.Option("--lang", help="Labels: vi or en.")]
StreetsOption = Annotated[Path | None, typer.Option("--streets", help="OSM XML street file (default: shared extract).")]
# reader options shared by the commands that read an incident file (validate, ingest)
CrsOption = Annotated[
    str | None, typer.Option("--crs", help="CRS of the coordinates, e.g. EPSG:3405 (default degrees).")
]
LonOption = Annotated[str | None, typer.Option("--lon", help="Longitude (x) column.")]
LatOption = Annotated[str | None, typer.Option("--lat", help="Latitude (y) column.")]
IdFieldOption = Annotated[str | None, typer.Option("--id-field", help="Incident id column.")]
CategoryFieldOption = Annotated[str | None, typer.Option("--category-field", help="Category column.")]
TimeFieldOption = Annotated[str | None, typer.Option("--time-field", help="Time column.")]
ForcedCategoryOption = Annotated[str | None, typer.Option("--category", help="Give every row this category code.")]
TimezoneOption = Annotated[str | None, typer.Option("--timezone", help="Zone of naive times (default setting).")]


@dataclass(frozen=True)
class ReaderFlags:
    """The reader options given on the command line (``--crs``, ``--lon`` ... ``--timezone``).

    Attributes
    ----------
    crs, lon, lat, id_field, category_field, time_field, category, timezone : str, optional
        As the keywords of :func:`ward_geo.io.readers.read_incidents` of the same names.
    """

    crs: str | None = None
    lon: str | None = None
    lat: str | None = None
    id_field: str | None = None
    category_field: str | None = None
    time_field: str | None = None
    category: str | None = None
    timezone: str | None = None

    def options(self) -> ReaderOptions:
        """The reader options these flags stand for (the same object the library and the API use)."""
        return ReaderOptions(
            crs=self.crs, lon=self.lon, lat=self.lat, id_field=self.id_field, category_field=self.category_field,
            time_field=self.time_field, category=self.category, timezone=self.timezone,
        )
