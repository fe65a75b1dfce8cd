"""The ``ward-geo`` command line: thin commands over the library.

Exit codes: 0 ok, 1 bad input (any :class:`~ward_geo.errors.WardGeoError`), 2 usage.
Long work shows a rich progress bar; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ward_geo.errors import WardGeoError

app = typer.Typer(
    name="ward-geo",
    help="Crime and disorder hotspot analysis and patrol planning for ward-level police.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn WardGeoError into a message on stderr and exit code 1 (JSON with ``--json``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WardGeoError as exc:
            if kwargs.get("as_json"):
                print(json.dumps(exc.to_dict(), ensure_ascii=False, allow_nan=False, default=str))
            else:
                err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
                report = getattr(exc, "report", None)
                if report is not None:
                    err_console.print(report.to_table(max_rows=50))
            raise typer.Exit(code=1) from None
        except MemoryError:
            err_console.print("[bold red]error:[/] out of memory while working on the input; "
                              "hint: split the file or lower WARD_GEO_READ_MAX_BYTES", highlight=False)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Callable[[float], None]]:
    """A rich progress bar (transient, on stderr); yields ``advance(n)``."""
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
        yield lambda n=1: bar.advance(task, n)


def print_json(payload: Any) -> None:
    """Print ``payload`` as strict JSON (NaN refused, non-ASCII kept)."""
    print(json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str, indent=2))


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
# reader options shared by the commands that read an incident file (validate, ingest)
CrsOption = Annotated[str | None, typer.Option("--crs", help="CRS of the coordinates, e.g. EPSG:3405 (default degrees).")]
LonOption = Annotated[str | None, typer.Option("--lon", help="Longitude (x) column.")]
LatOption = Annotated[str | None, typer.Option("--lat", help="Latitude (y) column.")]
IdFieldOption = Annotated[str | None, typer.Option("--id-field", help="Incident id column.")]
CategoryFieldOption = Annotated[str | None, typer.Option("--category-field", help="Category column.")]
TimeFieldOption = Annotated[str | None, typer.Option("--time-field", help="Time column.")]
ForcedCategoryOption = Annotated[str | None, typer.Option("--category", help="Give every row this category code.")]
TimezoneOption = Annotated[str | None, typer.Option("--timezone", help="Zone of naive times (default setting).")]
BoundariesOption = Annotated[
    Path | None,
    typer.Option("--boundaries", "-b", help="Ward boundaries file (default: the store's wards)."),
]


# ---------------------------------------------------------------- foundation: validate, ingest, wards, simulate
@app.command("validate")
@handle_errors
def validate_command(
    file: Annotated[Path, typer.Argument(help="Incident file: CSV (.csv.gz), GeoJSON, GeoPackage, Shapefile, GeoParquet.")],
    boundaries: Annotated[
        Path | None, typer.Option("--boundaries", "-b", help="Ward boundaries: fills ward_id, detects swapped lat/lon.")
    ] = None,
    crs: CrsOption = None,
    lon: LonOption = None,
    lat: LatOption = None,
    id_field: IdFieldOption = None,
    category_field: CategoryFieldOption = None,
    time_field: TimeFieldOption = None,
    category: ForcedCategoryOption = None,
    timezone: TimezoneOption = None,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Issues shown in the table.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Validate an incident file and print the report (exit 0: rows accepted, 1: unusable)."""
    from ward_geo.errors import InputError
    from ward_geo.io.readers import read_boundaries, read_incidents

    try:
        with progress(f"validating {file.name}"):
            wards = read_boundaries(boundaries) if boundaries is not None else None
            _, report = read_incidents(
                file, boundaries=wards, crs=crs, lon=lon, lat=lat, id_field=id_field, category_field=category_field,
                time_field=time_field, category=category, timezone=timezone, return_report=True,
            )
    except InputError as exc:
        if exc.report is None or not as_json:
            raise
        print_json({**exc.report.to_dict(), "error": {"code": exc.code, "message": exc.message}})
        raise typer.Exit(code=1) from None
    if as_json:
        print_json(report.to_dict())
        return
    console.print(report.to_table(max_rows=max_rows))


@app.command("ingest")
@handle_errors
def ingest_command(
    file: Annotated[Path, typer.Argument(help="Incident file: CSV (.csv.gz), GeoJSON, GeoPackage, Shapefile, GeoParquet.")],
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries", "-b", help="Ward boundaries file: fills ward_id and is saved in the store (default: the store's wards)."
        ),
    ] = None,
    crs: CrsOption = None,
    lon: LonOption = None,
    lat: LatOption = None,
    id_field: IdFieldOption = None,
    category_field: CategoryFieldOption = None,
    time_field: TimeFieldOption = None,
    category: ForcedCategoryOption = None,
    timezone: TimezoneOption = None,
    source: Annotated[str | None, typer.Option("--source", help="Source label of the rows (default: the file name).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate FILE and add its accepted rows to the store, in one all-or-nothing batch.

    Idempotent: re-ingesting a file adds nothing (identical rows count as duplicates); a row
    whose id is stored with different content refuses the whole batch. Prints the rows
    added, already stored (duplicates) and rejected by validation (with reasons).
    """
    from ward_geo.io.readers import read_boundaries, read_incidents
    from ward_geo.store import open_store

    with progress(f"ingesting {file.name}"), open_store() as store:
        wards = read_boundaries(boundaries) if boundaries is not None else store.boundaries()
        incidents, report = read_incidents(
            file, boundaries=wards if len(wards) else None, crs=crs, lon=lon, lat=lat, id_field=id_field,
            category_field=category_field, time_field=time_field, category=category, timezone=timezone,
            source=source, return_report=True,
        )
        result = store.ingest(incidents, source=source or file.name)
        if boundaries is not None:
            store.put_boundaries(wards)
        total = store.count()
    payload = {
        "file": str(file),
        "rows_read": report.rows_read,
        "added": result.added,
        "duplicates": result.duplicates,
        "rejected": report.rows_rejected,
        "repaired": report.rows_repaired,
        "outside_wards": report.outside_wards,
        "batch_id": result.batch_id,
        "store_total": total,
        "report": report.to_dict(),
    }
    if as_json:
        print_json(payload)
        return
    console.print(
        f"{file.name}: {report.rows_read:,} rows read, [bold green]{result.added:,} added[/], "
        f"{result.duplicates:,} already stored, [bold]{report.rows_rejected:,} rejected[/], "
        f"{report.rows_repaired:,} repaired; the store now holds {total:,} incidents (batch {result.batch_id})",
        highlight=False,
    )
    if report.issues:
        console.print(report.to_table(max_rows=20))


@app.command("wards")
@handle_errors
def wards_command(
    boundaries: Annotated[
        Path | None,
        typer.Option("--boundaries", "-b", help="List the wards of this boundaries file (not saved) instead of the store's."),
    ] = None,
    load: Annotated[
        Path | None,
        typer.Option("--load", help="Save the wards of this boundaries file in the store (add or replace by ward_id), then list."),
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", help="Order: ward (ward_id), incidents (most first) or density (incidents per km², most first).")
    ] = "ward",
    as_json: JsonOption = False,
) -> None:
    """Table of wards with area (km², geodesic), population and stored incident counts.

    Lists the store's wards (plus ward ids that stored incidents carry without a stored
    boundary). ``--load FILE`` first saves FILE's wards in the store; ``--boundaries FILE``
    lists FILE's wards with the store's counts without saving them.
    """
    import pandas as pd

    from ward_geo.io.readers import read_boundaries
    from ward_geo.store import IncidentStore, open_store

    if sort not in ("ward", "incidents", "density"):
        raise typer.BadParameter("expected ward, incidents or density", param_hint="--sort")
    if boundaries is not None and load is not None:
        raise typer.BadParameter("give either --boundaries or --load, not both", param_hint="--load")
    loaded = None
    with progress("reading wards"), open_store() as store:
        if load is not None:
            loaded = store.put_boundaries(read_boundaries(load))
        table = store.ward_counts()
        if boundaries is not None:
            wards = read_boundaries(boundaries)
            rows = IncidentStore.prepare_boundaries(wards).rows
            listed = pd.DataFrame(
                {
                    "ward_id": [r[0] for r in rows],
                    "name": [r[1] for r in rows],
                    "area_km2": [r[4] for r in rows],
                    "population": pd.array([r[3] for r in rows], dtype="Int64"),
                }
            )
            counts = table.set_index("ward_id")["n_incidents"]
            listed["n_incidents"] = listed["ward_id"].map(counts).fillna(0).astype("int64")
            table = listed.sort_values("ward_id", ignore_index=True)
    table["per_km2"] = (table["n_incidents"] / table["area_km2"]).round(2)
    if sort == "incidents":
        table = table.sort_values(["n_incidents", "ward_id"], ascending=[False, True], ignore_index=True)
    elif sort == "density":
        table = table.sort_values(["per_km2", "ward_id"], ascending=[False, True], na_position="last", ignore_index=True)
    if as_json:
        records = [
            {
                "ward_id": r.ward_id,
                "name": r.name,
                "area_km2": None if pd.isna(r.area_km2) else round(float(r.area_km2), 4),
                "population": None if pd.isna(r.population) else int(r.population),
                "n_incidents": int(r.n_incidents),
                "per_km2": None if pd.isna(r.per_km2) else float(r.per_km2),
            }
            for r in table.itertuples(index=False)
        ]
        print_json({"wards": records, **({"loaded": loaded} if loaded is not None else {})})
        return
    from rich.table import Table

    out = Table(title=f"{len(table)} wards, {int(table['n_incidents'].sum()):,} incidents")
    for col, justify in (("ward_id", "left"), ("name", "left"), ("area km²", "right"), ("population", "right"),
                         ("incidents", "right"), ("per km²", "right")):
        out.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in table.itertuples(index=False):
        out.add_row(
            r.ward_id,
            "" if r.name is None or pd.isna(r.name) else r.name,
            "" if pd.isna(r.area_km2) else f"{r.area_km2:.3f}",
            "" if pd.isna(r.population) else f"{int(r.population):,}",
            f"{int(r.n_incidents):,}",
            "" if pd.isna(r.per_km2) else f"{r.per_km2:,.1f}",
        )
    if loaded is not None:
        console.print(f"{loaded} ward(s) added or changed in the store")
    console.print(out)


def _write_incidents_file(incidents: Any, path: Path) -> Path:
    """Write incidents by file suffix: GeoParquet, GeoJSON or CSV (lon/lat columns)."""
    from ward_geo.io.writers import write_geojson, write_geoparquet

    name = _check_incidents_suffix(path).name.lower()
    if name.endswith((".parquet", ".geoparquet")):
        return write_geoparquet(incidents, path)
    if name.endswith((".geojson", ".json")):
        return write_geojson(incidents, path)
    if name.endswith((".csv", ".csv.gz")):
        frame = incidents.drop(columns="geometry")
        frame.insert(len(frame.columns), "lon", incidents.geometry.x.round(7))
        frame.insert(len(frame.columns), "lat", incidents.geometry.y.round(7))
        frame["occurred_at"] = incidents["occurred_at"].map(lambda t: t.isoformat())
        path.parent.mkdir(parents=True, exist_ok=True)
        from ward_geo.io.writers import csv_safe_frame

        csv_safe_frame(frame).to_csv(path, index=False, encoding="utf-8")
    return path


def _check_incidents_suffix(path: Path) -> Path:
    if not path.name.lower().endswith((".parquet", ".geoparquet", ".geojson", ".json", ".csv", ".csv.gz")):
        raise typer.BadParameter(
            f"cannot tell the format of {path.name!r}: use .parquet, .geojson, .json, .csv or .csv.gz",
            param_hint="--output",
        )
    return path


@app.command("simulate")
@handle_errors
def simulate_command(
    wards: Annotated[
        list[str] | None,
        typer.Option("--wards", "-w", help="Ward ids (repeat or comma-separate). Default: the 7 central Hanoi wards."),
    ] = None,
    start: Annotated[str, typer.Option("--start", help="First local date.")] = "2025-01-01",
    end: Annotated[str, typer.Option("--end", help="Day after the last local date.")] = "2026-01-01",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (same seed, same incidents).")] = 0,
    scale: Annotated[float, typer.Option("--scale", help="Multiply every incident rate (1.0: ~2,600 per ward-year).")] = 1.0,
    boundaries: Annotated[
        Path | None,
        typer.Option("--boundaries", "-b", help="Ward boundaries file (default: the reference Hanoi wards)."),
    ] = None,
    streets_file: Annotated[
        Path | None, typer.Option("--streets", help="OSM XML street file (default: the reference central-Hanoi extract).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE: .parquet (GeoParquet), .geojson or .csv.")
    ] = None,
    ingest: Annotated[bool, typer.Option("--ingest", help="Add the incidents (and the boundaries) to the store.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Simulate realistic synthetic incidents on the real street network (source = "synthetic")."""
    from ward_geo.io.readers import read_boundaries
    from ward_geo.settings import get_settings
    from ward_geo.streets import OSM_ATTRIBUTION, load_street_graph
    from ward_geo.synth import CENTRAL_WARD_IDS, simulate

    if output is None and not ingest:
        raise typer.BadParameter("say where the incidents go: --output FILE, --ingest, or both", param_hint="--output")
    if output is not None:
        _check_incidents_suffix(output)
    ward_ids = tuple(w.strip() for item in (wards or []) for w in item.split(",") if w.strip()) or CENTRAL_WARD_IDS
    with progress("loading wards and streets"):
        wards_gdf = read_boundaries(boundaries or get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson"))
        graph = load_street_graph(streets_file)
    with progress(f"simulating {len(ward_ids)} ward(s) from {start} to {end}"):
        incidents = simulate(wards_gdf, ward_ids=ward_ids, start=start, end=end, seed=seed, graph=graph, scale=scale)
    summary: dict[str, Any] = {
        "rows": len(incidents),
        "source": "synthetic",
        "seed": seed,
        "wards": list(ward_ids),
        "start": start,
        "end": end,
        "by_category": {k: int(v) for k, v in incidents["category"].value_counts().items()},
        "by_ward": {k: int(v) for k, v in incidents["ward_id"].value_counts().items()},
        "clusters": len(incidents.attrs.get("synthetic_clusters", [])),
        "attribution": OSM_ATTRIBUTION,
    }
    if output is not None:
        with progress(f"writing {output.name}"):
            summary["output"] = str(_write_incidents_file(incidents, output))
    if ingest:
        from ward_geo.store import open_store

        with progress(f"ingesting {len(incidents):,} incidents"), open_store() as store:
            store.put_boundaries(wards_gdf)
            summary["ingest"] = store.ingest(incidents, source="synthetic").to_dict()
    if as_json:
        print_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"{len(incidents):,} synthetic incidents (seed {seed}, {start} – {end})")
    table.add_column("category")
    table.add_column("incidents", justify="right")
    for code, count in summary["by_category"].items():
        table.add_row(code, f"{count:,}")
    console.print(table)
    if "output" in summary:
        console.print(f"written to {summary['output']}")
    if "ingest" in summary:
        res = summary["ingest"]
        console.print(f"store: {res['added']:,} added, {res['duplicates']:,} already stored (batch {res['batch_id']})")
    console.print(f"streets: {OSM_ATTRIBUTION}", style="dim")


# ---------------------------------------------------------------- hotspots


def _split_values(values: list[str] | None) -> list[str] | None:
    """Repeated and comma-separated option values as one list (None when empty)."""
    out = [v.strip() for item in (values or []) for v in item.split(",") if v.strip()]
    return out or None


def _hotspot_table(spots: Any, *, top: int) -> Any:
    from rich.table import Table

    table = Table(title=f"{len(spots)} hotspot(s), ranked")
    for name, justify in (
        ("rank", "right"), ("priority", "left"), ("name", "left"), ("hotspot_id", "left"), ("incidents", "right"),
        ("forecast", "right"), ("area ha", "right"), ("main category", "left"),
        ("wards (share)", "left"), ("last seen", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    colours = {"high": "bold red", "medium": "yellow", "low": "dim"}
    for row in spots.head(top).itertuples(index=False):
        wards = ", ".join(f"{w} ({s:.0%})" for w, s in list(row.ward_shares.items())[:3]) or "–"
        seen = f"{row.last_seen:%Y-%m-%d}" if row.last_seen is not None and row.last_seen == row.last_seen else "–"
        table.add_row(
            str(row.rank), f"[{colours.get(row.priority, '')}]{row.priority}[/]", str(row.name), row.hotspot_id,
            f"{row.n_incidents:,}", f"{row.forecast_incidents:,.1f} ({row.forecast_low:.0f}–{row.forecast_high:.0f})",
            f"{row.area_m2 / 1e4:,.2f}",
            str(row.dominant_category or "–"), wards, seen,
        )
    return table


def _ward_set(ward: str, from_file: bool, frame: Any, bounds: Any) -> Any:
    """The ward's hotspot set: the store's (kept there) or, for a file, computed the same way."""
    from ward_geo.workflows import compute_hotspot_set, ward_hotspot_set

    if not from_file:
        from ward_geo.store import open_store

        with open_store() as store:
            if len(store.boundaries([ward])):
                return ward_hotspot_set(store, ward)
    mine = frame[frame["ward_id"] == ward] if "ward_id" in frame.columns else frame
    return compute_hotspot_set(mine, bounds, [ward])


def _hotspot_sets(frame: Any, bounds: Any, store: Any, wards: list[str] | None, *, method: str,
                  categories: list[str] | None, since: str | None, until: str | None, options: dict[str, Any],
                  trend: bool) -> Any:
    """The hotspot sets the command shows: the store's per-ward sets, or one set of a file."""
    import geopandas as gpd
    import pandas as pd

    from ward_geo.workflows import compute_hotspot_set, ward_hotspot_set

    if store is None:
        return compute_hotspot_set(frame, bounds, wards, method=method, categories=categories, since=since,
                                   until=until, params=options or None, trends=trend).hotspots
    if wards is None:
        counts = store.ward_counts()
        wards = [str(w) for w in counts.loc[(counts["n_incidents"] > 0) & counts["name"].notna(), "ward_id"]]
    tables = [ward_hotspot_set(store, w, method=method, categories=categories, since=since, until=until,
                               params=options or None).hotspots for w in wards]
    if len(tables) == 1:
        return tables[0]
    if not tables:
        from ward_geo.analysis.hotspots.table import empty_table

        return empty_table(method)
    out = gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=tables[0].crs)
    out.attrs = {"params": {"method": method, "ward_ids": wards, "hotspot_sets":
                            [t["hotspot_set_id"].iloc[0] for t in tables if len(t)]}}
    return out


@app.command("hotspots")
@handle_errors
def hotspots_command(
    incidents: Annotated[Path | None, typer.Argument(help="Incident file; omitted: the store.")] = None,
    boundaries: BoundariesOption = None,
    method: Annotated[
        str, typer.Option("--method", "-m", help="auto (default: chosen by backtest), dbscan, hdbscan, stdbscan, "
                                                 "kde, gistar, recency or counts.")
    ] = "auto",
    category: Annotated[
        list[str] | None, typer.Option("--category", "-c", help="Category code(s) (repeat or comma-separate).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="First date/time kept (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Date/time after the last one kept (exclusive).")] = None,
    eps: Annotated[float | None, typer.Option("--eps", help="Neighbourhood radius in metres (default: from data).")] = None,
    min_samples: Annotated[
        int | None, typer.Option("--min-samples", help="Core-point threshold (default: from data).")
    ] = None,
    ward: Annotated[list[str] | None, typer.Option("--ward", "-w", help="ward_id(s) to keep (repeat or comma-separate).")] = None,
    per_category: Annotated[bool, typer.Option("--per-category", help="Cluster each category on its own.")] = False,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Zone of naive times and of peak hours (default setting).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write hotspots: .geojson/.json (RFC 7946) or .parquet.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows shown in the table.")] = 20,
    trend: Annotated[
        bool, typer.Option("--trend/--no-trend", help="Class each hotspot's trend over the whole history.")
    ] = True,
    tune: Annotated[
        bool, typer.Option("--tune", help="Same as --method auto (kept for older scripts).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Find ranked hotspots in an incident file (or the store's hotspot sets) and write them as GeoJSON or GeoParquet."""
    from ward_geo.io.readers import read_boundaries, read_incidents
    from ward_geo.io.writers import json_safe, write_geojson, write_geoparquet

    if output is not None and not output.name.lower().endswith((".geojson", ".json", ".parquet", ".geoparquet")):
        raise typer.BadParameter(
            f"cannot tell the format of {output.name!r}: use .geojson, .json or .parquet", param_hint="--output"
        )
    wards = _split_values(ward)
    cats = _split_values(category)
    extra: dict[str, Any] = {"timezone": timezone} if timezone else {}
    with progress("loading incidents"):
        bounds = read_boundaries(boundaries) if boundaries is not None else None
        if incidents is not None:
            frame = read_incidents(incidents, boundaries=bounds, timezone=timezone)
            store = None
        else:
            from ward_geo.store import open_store

            frame = None
            store = open_store()
    try:
        note = " – the first Gi* run of a process compiles esda's kernels" if method == "gistar" else ""
        options: dict[str, Any] = {**extra}
        if eps is not None:
            options["eps"] = eps
        if min_samples is not None:
            options["min_samples"] = min_samples
        if per_category:
            options["per_category"] = True
        with progress(f"finding hotspots ({method}){note}"):
            spots = _hotspot_sets(frame, bounds, store, wards, method="auto" if tune else method, categories=cats,
                                  since=since, until=until, options=options, trend=trend)
    finally:
        if store is not None:
            store.close()
    written = None
    if output is not None:
        with progress(f"writing {output.name}"):
            name = output.name.lower()
            written = str(
                write_geoparquet(spots, output) if name.endswith((".parquet", ".geoparquet")) else write_geojson(spots, output)
            )
    params = spots.attrs.get("params", {})
    if as_json:
        rows = spots.drop(columns=["geometry", "member_ids"]).head(top)
        print_json(
            {"hotspots": int(len(spots)), "output": written, "params": json_safe(params),
             "top": json_safe(rows.to_dict(orient="records"))}
        )
        return
    console.print(_hotspot_table(spots, top=top))
    if params.get("reason"):
        console.print(f"parameters: {params['reason']}", style="dim", highlight=False)
    console.print(f"priority rule: {params.get('priority_rule', '')}", style="dim", highlight=False)
    if params.get("note"):
        console.print(params["note"], style="yellow", highlight=False)
    if written:
        console.print(f"written to {written}", highlight=False)


# ---------------------------------------------------------------- maps
assets_app = typer.Typer(help="Browser assets (Leaflet and plugins) inlined into offline maps.", no_args_is_help=True)
app.add_typer(assets_app, name="assets")


@assets_app.command("fetch")
@handle_errors
def assets_fetch_command(
    force: Annotated[bool, typer.Option("--force", help="Download again even when present and verified.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Fetch the pinned packages with `npm pack`, verify their integrity, unpack the files used."""
    from ward_geo.maps.assets import fetch_assets

    with progress("fetching map assets"):
        folders = fetch_assets(force=force)
    if as_json:
        print_json({spec: str(path) for spec, path in folders.items()})
        return
    for spec, path in folders.items():
        console.print(f"{spec}: {path}", highlight=False)


@assets_app.command("list")
@handle_errors
def assets_list_command(as_json: JsonOption = False) -> None:
    """List the pinned asset packages, their licences and the files used."""
    from rich.table import Table

    from ward_geo.maps.assets import licence_table

    rows = licence_table()
    if as_json:
        print_json(rows)
        return
    table = Table("package", "version", "licence", "files")
    for row in rows:
        table.add_row(row["package"], row["version"], row["license"], ", ".join(row["files"]))
    console.print(table)


def _ward_boundaries(boundaries: Path | None) -> Any:
    """Boundaries from a file, else the store's, else the reference Hanoi wards."""
    from ward_geo.io.readers import read_boundaries
    from ward_geo.store import open_store

    if boundaries is not None:
        return read_boundaries(boundaries)
    with open_store() as store:
        bounds = store.boundaries()
    if len(bounds) == 0:
        from ward_geo.settings import get_settings

        bounds = read_boundaries(get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson"))
    return bounds


def _map_inputs(incidents: Path | None, boundaries: Path | None) -> tuple[Any, Any]:
    """Boundaries (file, else the store's, else the reference wards) and incidents (file or store).

    All incidents are loaded even for a ward map: hotspots are found city-wide (so clusters
    across a ward border keep their shape) and the map keeps the ward's own.
    """
    from ward_geo.io.readers import read_incidents
    from ward_geo.store import open_store

    bounds = _ward_boundaries(boundaries)
    if incidents is not None:
        return read_incidents(incidents, boundaries=bounds), bounds
    with open_store() as store:
        frame = store.query()
    return frame, bounds


def _read_hotspots(path: Path) -> Any:
    import geopandas as gpd

    from ward_geo.errors import InputError

    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(f"cannot read hotspots file {path}: {exc}") from exc


def _read_patrol(path: Path) -> Any:
    from ward_geo.errors import InputError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read patrol plan {path}: expected GeoJSON ({exc})") from exc


@app.command("map")
@handle_errors
def map_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write, e.g. maps/phuong-hoan-kiem.html.")],
    incidents: Annotated[Path | None, typer.Argument(help="Incident file; omitted: the store.")] = None,
    boundaries: BoundariesOption = None,
    ward: Annotated[str | None, typer.Option("--ward", "-w", help="ward_id for a ward map; omitted: city overview.")] = None,
    hotspots: Annotated[Path | None, typer.Option("--hotspots", help="Hotspots GeoJSON (default: computed).")] = None,
    patrol: Annotated[Path | None, typer.Option("--patrol", help="Patrol plan GeoJSON (from `ward-geo patrol`).")] = None,
    streets: Annotated[Path | None, typer.Option("--streets", help="OSM XML street file (default: shared extract).")] = None,
    no_streets: Annotated[bool, typer.Option("--no-streets", help="No street vector basemap.")] = False,
    offline: Annotated[
        bool | None,
        typer.Option("--offline/--online", help="Self-contained, no network (default unless WARD_GEO_TILE_URL is set)."),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Labels: vi or en.")] = "vi",
    as_json: JsonOption = False,
) -> None:
    """Write an interactive map (ward map with --ward, else a city overview) as one HTML file."""
    from ward_geo.errors import ParameterError
    from ward_geo.maps import city_map, save_map, ward_map

    if lang not in ("vi", "en"):
        raise ParameterError(f"--lang must be vi or en, got {lang!r}")
    if output.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"--output must end in .html, got {str(output)!r}")
    with progress("loading incidents"):
        frame, bounds = _map_inputs(incidents, boundaries)
    if hotspots is not None:
        spots = _read_hotspots(hotspots)
    elif len(frame):
        with progress("the hotspot sets of the wards"):
            if ward:
                spots = _ward_set(ward, incidents is not None, frame, bounds).hotspots
            else:
                spots = _hotspot_sets(frame, bounds, None, None, method="auto", categories=None, since=None,
                                      until=None, options={}, trend=True)
    else:
        spots = None
    plan = _read_patrol(patrol) if patrol is not None else None
    edges = None
    if not no_streets:
        from ward_geo.streets import load_street_graph, street_edges

        with progress("loading streets"):
            edges = street_edges(load_street_graph(streets))
    with progress("drawing the map"):
        if ward:
            m = ward_map(frame, bounds, ward, hotspots=spots, patrol=plan, streets=edges, offline=offline, lang=lang)
        else:
            m = city_map(frame, bounds, hotspots=spots, patrol=plan, streets=edges, offline=offline, lang=lang)
        path = save_map(m, output)
    if ward and spots is not None and len(spots):
        from ward_geo.maps.builder import hotspots_in_ward

        spots = hotspots_in_ward(spots, m.ward_geo_ward_id)
    if ward and len(frame):
        frame = frame[frame["ward_id"] == m.ward_geo_ward_id]
    info = {
        "output": str(path),
        "bytes": path.stat().st_size,
        "incidents": int(len(frame)),
        "hotspots": int(len(spots)) if spots is not None else 0,
        "offline": bool(getattr(m, "ward_geo_offline", False)),
    }
    if as_json:
        print_json(info)
    else:
        console.print(
            f"wrote {info['output']} ({info['bytes'] / 1e6:.1f} MB, {info['incidents']} incidents, "
            f"{info['hotspots']} hotspots, {'offline' if info['offline'] else 'online'})",
            highlight=False,
        )



# ---------------------------------------------------------------- evaluation: backtest, report


def _load_incidents(incidents: Path | list[Path] | None, bounds: Any, timezone: str | None = None) -> Any:
    """Incidents from one or more files (ward join with ``bounds``), or the store when None."""
    import pandas as pd

    from ward_geo.io.readers import read_incidents

    paths = [incidents] if isinstance(incidents, Path) else list(incidents or [])
    if not paths:
        from ward_geo.store import open_store

        with open_store() as store:
            return store.query()
    kwargs: dict[str, Any] = {"boundaries": bounds}
    if timezone:
        kwargs["timezone"] = timezone
    frames = [read_incidents(path, **kwargs) for path in paths]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    duplicated = frame["incident_id"].duplicated()
    if duplicated.any():
        raise WardGeoError(
            f"{int(duplicated.sum())} incident ids occur in more than one file "
            f"(first: {frame.loc[duplicated, 'incident_id'].iloc[0]!r}); give each incident once"
        )
    return frame


@app.command("backtest")
@handle_errors
def backtest_command(
    incidents: Annotated[list[Path], typer.Argument(help="Incident file(s) (any supported format).")],
    boundaries: BoundariesOption = None,
    ward: Annotated[list[str] | None, typer.Option("--ward", "-w", help="Study ward_id(s) (default: wards with incidents).")] = None,
    train: Annotated[str, typer.Option(help="Training window, e.g. 12M, 26W, 365D.")] = "12M",
    test: Annotated[str, typer.Option(help="Test window, e.g. 1M.")] = "1M",
    step: Annotated[str | None, typer.Option(help="Step between folds (default: the test window).")] = None,
    method: Annotated[
        list[str] | None, typer.Option("--method", help="Hotspot methods to compare (repeatable; default: auto's candidates).")
    ] = None,
    share: Annotated[list[float] | None, typer.Option("--share", help="Shares of the study area, 0-1 (repeatable; default 0.01 and 0.05).")] = None,
    max_folds: Annotated[int | None, typer.Option(help="Keep only the most recent folds.")] = 6,
    timezone: Annotated[str | None, typer.Option(help="Zone of naive timestamps in the file.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of median PAI per method and baseline here.")] = None,
) -> None:
    """Rolling-origin backtest of the delivered hotspots beside prior counts, last period and a KDE map."""
    from rich.table import Table

    from ward_geo.analysis.evaluation import AUTO_CANDIDATES, DELIVERED_SHARES, backtest
    from ward_geo.io.readers import read_boundaries

    bounds = read_boundaries(boundaries) if boundaries is not None else None
    frame = _load_incidents(incidents, bounds, timezone)
    methods = list(method) if method else list(AUTO_CANDIDATES)
    shares = tuple(share) if share else DELIVERED_SHARES
    with progress("backtest folds") as advance:
        result = backtest(
            frame, bounds, ward_ids=_split_values(ward), methods=methods, train=train, test=test, step=step,
            shares=shares, max_folds=max_folds, timezone=timezone, on_fold=lambda done, total: advance(1),
        )
    n_folds = result.folds["fold"].nunique() if len(result.folds) else 0
    table = Table(title=f"Delivered hotspots vs baselines at equal area ({n_folds} folds, study area "
                        f"{result.study_area_m2 / 1e6:,.2f} km², baseline cells {result.cell_size:g} m)")
    for col in ("method", "share", "folds", "hit rate", "PAI", "PAI IQR", "prior counts", "last period",
                "KDE map", "× prior counts (90 %)", "PEI"):
        table.add_column(col, justify="left" if col == "method" else "right")

    def f(v: float, pattern: str = "{:.2f}") -> str:
        return "n/a" if v != v else pattern.format(v)

    for r in result.summary.sort_values(["share", "ratio_to_counts"], ascending=[True, False]).itertuples(index=False):
        table.add_row(r.method, f"{r.share:.0%}", str(r.folds), f(r.hit_rate_median, "{:.1%}"), f(r.pai_median),
                      f"{f(r.pai_q25)}–{f(r.pai_q75)}", f(r.prior_counts_pai_median), f(r.last_period_pai_median),
                      f(r.kde_map_pai_median), f"{f(r.ratio_to_counts)} ({f(r.ratio_low)}–{f(r.ratio_high)})",
                      f(r.pei_median))
    console.print(table)
    for note in result.notes:
        err_console.print(f"warning: {note}", style="yellow")
    for item in result.skipped:
        err_console.print(f"skipped fold {item['fold']} ({item['origin']}): {item['reason']}")
    if json_path is not None:
        result.to_json(json_path)
        console.print(f"wrote {json_path}")
    if plot is not None:
        result.plot(plot)
        console.print(f"wrote {plot}")


@app.command("report")
@handle_errors
def report_command(
    ward: Annotated[str, typer.Argument(help="ward_id, e.g. phuong-ba-dinh.")],
    incidents: Annotated[Path | None, typer.Argument(help="Incident file; omitted: the store.")] = None,
    boundaries: BoundariesOption = None,
    since: Annotated[str | None, typer.Option(help="Period start (date).")] = None,
    until: Annotated[str | None, typer.Option(help="Period end, exclusive (date).")] = None,
    months: Annotated[int, typer.Option(min=1, max=120, help="Period length when not given.")] = 12,
    lang: Annotated[str, typer.Option(help="Label language: vi or en.")] = "vi",
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for <ward>.md and <ward>.html.")] = Path("reports"),
) -> None:
    """Year-on-year figures, top hotspots with their trend, and map accuracy for one ward."""
    from ward_geo.report import ward_report

    bounds = _ward_boundaries(boundaries)
    frame = _load_incidents(incidents, bounds)
    with progress(f"report {ward}"):
        hotspot_set = _ward_set(ward, incidents is not None, frame, bounds)
        report = ward_report(ward, frame, bounds, since=since, until=until, months=months, lang=lang,
                             hotspot_set=hotspot_set)
    md, page = report.save(output)
    console.print(report.to_markdown(), markup=False, highlight=False)
    console.print(f"wrote {md} and {page}")



# ---------------------------------------------------------------- patrol


def _patrol_inputs(ward: str, incidents: Path | None, boundaries: Path | None) -> tuple[Any, Any]:
    """Boundaries (file, else the store's, else the reference wards) and incidents (file or store)."""
    from ward_geo.io.readers import read_incidents
    from ward_geo.store import open_store

    bounds = _ward_boundaries(boundaries)
    if incidents is not None:
        return read_incidents(incidents, boundaries=bounds), bounds
    from ward_geo.planning.risk import ward_geometry

    minx, miny, maxx, maxy = ward_geometry(bounds, ward).bounds
    pad = 0.003  # about 300 m: incidents just outside the ward still count
    with open_store() as store:
        frame = store.query(bbox=(minx - pad, miny - pad, maxx + pad, maxy + pad))
    return frame, bounds


def _parse_station(value: str | None) -> tuple[float, float] | None:
    from ward_geo.errors import ParameterError

    if value is None:
        return None
    try:
        lon, lat = (float(v) for v in value.split(","))
    except ValueError:
        raise ParameterError(f"--station must be 'lon,lat' in degrees, e.g. 105.8520,21.0285; got {value!r}") from None
    return lon, lat


@app.command("patrol")
@handle_errors
def patrol_command(
    ward: Annotated[str, typer.Option("--ward", "-w", help="ward_id, e.g. phuong-hoan-kiem.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Plan GeoJSON; the schedule goes beside it (.md).")],
    incidents: Annotated[Path | None, typer.Argument(help="Incident file; omitted: the store.")] = None,
    boundaries: BoundariesOption = None,
    shift_start: Annotated[str, typer.Option("--shift-start", help="Local start, HH:MM.")] = "08:00",
    shift_end: Annotated[str, typer.Option("--shift-end", help="Local end, HH:MM (before start: next day).")] = "16:00",
    date: Annotated[str | None, typer.Option("--date", help="Shift date YYYY-MM-DD (its weekday filters the risk).")] = None,
    weekday: Annotated[str | None, typer.Option("--weekday", help="Only this weekday's incidents (0-6 or name).")] = None,
    units: Annotated[int, typer.Option("--units", "-n", min=1, max=50, help="Patrol units.")] = 1,
    mode: Annotated[str, typer.Option("--mode", help="foot, motorbike or car.")] = "foot",
    streets: Annotated[Path | None, typer.Option("--streets", help="OSM XML street file (default: shared extract).")] = None,
    no_streets: Annotated[bool, typer.Option("--no-streets", help="Straight-line travel, no street network.")] = False,
    station: Annotated[str | None, typer.Option("--station", help="Start/end point 'lon,lat' (default: ward centre).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the stop order.")] = 0,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="Router time limit, seconds.")] = 5.0,
    evaluate: Annotated[bool, typer.Option("--evaluate", help="Score a plan made without the last weeks on them.")] = False,
    holdout_weeks: Annotated[int, typer.Option("--holdout-weeks", min=1, help="Weeks held out by --evaluate.")] = 8,
    radius: Annotated[float, typer.Option("--radius", min=1, help="Hit radius of --evaluate, metres.")] = 100.0,
    lang: Annotated[str, typer.Option("--lang", help="Schedule language: vi or en.")] = "vi",
    as_json: JsonOption = False,
) -> None:
    """Plan patrol routes for a shift: hotspot stops, Koper dwell times, routes on the streets."""
    from rich.table import Table

    from ward_geo.errors import ParameterError
    from ward_geo.planning import evaluate_patrol, plan_patrol

    if streets is not None and no_streets:
        raise ParameterError("give --streets or --no-streets, not both")
    if lang not in {"vi", "en"}:
        raise ParameterError(f"--lang must be vi or en; got {lang!r}")
    frame, bounds = _patrol_inputs(ward, incidents, boundaries)
    kwargs: dict[str, Any] = {
        "shift_start": shift_start, "shift_end": shift_end, "date": date, "weekday": weekday, "units": units,
        "mode": mode, "graph": False if no_streets else streets, "start_point": _parse_station(station),
        "seed": seed, "time_limit_s": time_limit,
    }
    with progress(f"hotspots of {ward}"):
        hotspot_set = _ward_set(ward, incidents is not None, frame, bounds)
    with progress(f"planning {ward}"):
        plan = plan_patrol(frame, bounds, ward, hotspots=hotspot_set.hotspots, **kwargs)
        geo, md = plan.write(output, lang=lang)
    scored = None
    if evaluate:
        with progress("evaluating on held-out weeks"):
            scored = evaluate_patrol(frame, bounds, ward, holdout_weeks=holdout_weeks, radius_m=radius, **kwargs)
    s = plan.summary
    if as_json:
        payload: dict[str, Any] = {"geojson": str(geo), "schedule": str(md), "summary": s}
        if scored is not None:
            payload["evaluation"] = scored.to_dict()
        print_json(payload)
        return
    table = Table(title=f"Patrol plan {ward}, {plan.shift.label()}, {units} unit(s) on {mode}")
    for col in ("unit", "stops", "distance km", "travel min", "dwell min", "back at"):
        table.add_column(col, justify="right")
    for u in plan.units:
        table.add_row(str(u.unit), str(len(u.stops)), f"{u.distance_m / 1000:.2f}", f"{u.travel_s / 60:.0f}",
                      f"{u.dwell_s / 60:.0f}", f"{u.back_at:%H:%M}")
    console.print(table)
    console.print(f"travel: {s['network']}", highlight=False, markup=False)
    console.print(f"hotspots {s['hotspots']}, visited {s['hotspots_visited']}; share of the shift's risk covered "
                  f"{s['risk_covered_share']:.0%}", highlight=False)
    for u in s["unreachable"]:
        err_console.print(f"unreachable hotspot {u['hotspot_id']}: {u['reason']}", highlight=False, markup=False)
    if s["dropped"]:
        err_console.print(f"{len(s['dropped'])} visit(s) left out (listed in {md.name})", highlight=False)
    for note in s["notes"]:
        err_console.print(f"note: {note}", highlight=False, markup=False)
    if scored is not None:
        e = scored.to_dict()
        ev = Table(title=f"Held-out {holdout_weeks} weeks from {scored.cutoff:%Y-%m-%d}: {e['n_test']} shift incidents, "
                         f"hits within {radius:g} m of {e['stops']} stops")
        for col in ("stops at", "share hit", "share per patrol-hour"):
            ev.add_column(col, justify="left" if col == "stops at" else "right")
        ev.add_row("plan (hotspots)", f"{e['plan_share']:.1%}", f"{e['plan_share_per_patrol_hour']:.4f}")
        ev.add_row("baseline (busiest segments)", f"{e['baseline_share']:.1%}", f"{e['baseline_share_per_patrol_hour']:.4f}")
        console.print(ev)
        ratio = "n/a" if e["ratio"] is None else f"{e['ratio']:.2f}"
        console.print(f"plan / baseline: {ratio} ({e['baseline']})", highlight=False)
    console.print(f"wrote {geo} and {md}", highlight=False)


# ---------------------------------------------------------------- service: serve, keys
keys_app = typer.Typer(help="Manage API keys of the service (stored as hashes only).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _key_store() -> Any:
    from ward_geo.api.config import load_api_settings
    from ward_geo.api.keys import KeyStore

    return KeyStore(load_api_settings().resolved_api_keys_file)


@keys_app.command("create")
@handle_errors
def keys_create(
    role: Annotated[str, typer.Option("--role", help="viewer | analyst | admin")],
    label: Annotated[str, typer.Option("--label", help="Who or what uses the key.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    key, record = _key_store().create(role, label=label)
    if as_json:
        print_json({"key": key, **record.public()})
    else:
        err_console.print(f"created key {record.key_id} with role {record.role}; it is shown only once:")
        print(key)


@keys_app.command("list")
@handle_errors
def keys_list(as_json: JsonOption = False) -> None:
    """List API keys (ids, roles, labels; never the keys)."""
    records = [k.public() for k in _key_store().list()]
    if as_json:
        print_json(records)
        return
    from rich.table import Table

    table = Table("key id", "role", "label", "created", "revoked")
    for r in records:
        table.add_row(str(r["key_id"]), str(r["role"]), str(r["label"]), str(r["created_at"]), str(r["revoked_at"] or ""))
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id from `ward-geo keys list`.")], as_json: JsonOption = False) -> None:
    """Revoke an API key; requests with it get 401 at once."""
    record = _key_store().revoke(key_id)
    if as_json:
        print_json(record.public())
    else:
        console.print(f"revoked key {record.key_id} ({record.role})")


@app.command("serve")
@handle_errors
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Interface (default WARD_GEO_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default WARD_GEO_PORT or 8000).")] = None,
) -> None:
    """Run the HTTP service (OGC API – Features, hotspots, maps, patrol plans, ingest)."""
    import uvicorn

    os.umask(0o077)  # every file the service creates (store, keys, spooled uploads) is private to its user

    from ward_geo.api.app import create_app
    from ward_geo.api.config import load_api_settings

    settings = load_api_settings(host=host, port=port)
    api = create_app(settings)
    # worker threads (computations, pages) hand the interpreter lock back to the event loop
    # after at most 1 ms instead of 5 ms: cached answers wait less behind CPU-bound work
    sys.setswitchinterval(0.001)
    err_console.print(f"serving on http://{settings.host}:{settings.port}/ (data: {settings.data_dir})")
    uvicorn.run(api, host=settings.host, port=settings.port, log_config=None, access_log=False, server_header=False)


# ---------------------------------------------------------------- demo


@app.command("demo")
@handle_errors
def demo_command(
    seed: Annotated[int, typer.Option(help="Simulation and routing seed.")] = 0,
    maps_dir: Annotated[Path, typer.Option("--maps", help="Folder for the HTML maps.")] = Path("maps"),
) -> None:
    """Run the main job on the embedded store: simulate + ingest the central Hanoi wards,
    write hotspot GeoJSON, a patrol plan, maps and a report."""
    from rich.table import Table

    from ward_geo.demo import run_demo

    with progress("demo") as advance:
        def on_step(text: str) -> None:
            err_console.print(f"[dim]·[/] {text}", highlight=False)
            advance(1)

        result = run_demo(seed=seed, maps_dir=maps_dir, on_step=on_step)
    console.print(f"store: {result.ingested:,} incidents added, {result.duplicates:,} already there")
    table = Table(title="Central wards (hotspots of the last 12 months)")
    for col in ("ward", "name", "incidents", "hotspots", "high priority"):
        table.add_column(col, justify="right" if col in {"incidents", "hotspots", "high priority"} else "left")
    for row in result.wards:
        table.add_row(row["ward_id"], row["name"], f"{row['incidents']:,}", str(row["hotspots"]), str(row["high_priority"]))
    console.print(table)
    s = result.patrol_summary
    if s:
        console.print(
            f"patrol plan {s.get('ward_id')}: {s.get('units')} units ({s.get('mode')}), "
            f"{s.get('stops')} stops at {s.get('hotspots_visited')} hotspots, "
            f"{s.get('distance_m', 0) / 1000:.1f} km, {s.get('dwell_minutes', 0):.0f} min on station, "
            f"{100 * s.get('risk_covered_share', 0):.0f}% of the shift's risk covered; {s.get('network')}",
            highlight=False,
        )
    for path in result.files:
        console.print(f"wrote {path}", highlight=False)



def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
