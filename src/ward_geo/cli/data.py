"""Data commands: ``validate``, ``ingest``, ``wards`` and ``simulate``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ward_geo.cli.common import (
    CategoryFieldOption,
    CrsOption,
    ForcedCategoryOption,
    IdFieldOption,
    IncidentFileArgument,
    JsonOption,
    LatOption,
    LonOption,
    ReaderFlags,
    TimeFieldOption,
    TimezoneOption,
    console,
    handle_errors,
    print_json,
    progress,
    split_values,
)
from ward_geo.cli.inputs import check_incidents_suffix, write_incidents_file

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from ward_geo.io.validation import ValidationReport

__all__ = ["validate_command", "ingest_command", "wards_command", "simulate_command"]

_WARD_SORTS = ("ward", "incidents", "density")


@handle_errors
def validate_command(  # noqa: PLR0913 - the parameters are the command's options
    file: IncidentFileArgument,
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
    flags = ReaderFlags(crs, lon, lat, id_field, category_field, time_field, category, timezone)
    report = _validation_report(file, boundaries, flags, as_json=as_json)
    if as_json:
        print_json(report.to_dict())
        return
    console.print(report.to_table(max_rows=max_rows))


def _validation_report(file: Path, boundaries: Path | None, flags: ReaderFlags, *, as_json: bool) -> ValidationReport:
    """The validation report of ``file``; with ``as_json`` an unusable file's report is printed, exit 1."""
    from ward_geo.errors import InputError
    from ward_geo.io.readers import read_boundaries, read_incidents

    try:
        with progress(f"validating {file.name}"):
            wards = read_boundaries(boundaries) if boundaries is not None else None
            _, report = read_incidents(file, boundaries=wards, return_report=True, options=flags.options())
    except InputError as exc:
        if exc.report is None or not as_json:
            raise
        print_json({**exc.report.to_dict(), "error": {"code": exc.code, "message": exc.message}})
        raise typer.Exit(code=1) from None
    return report


@handle_errors
def ingest_command(  # noqa: PLR0913 - the parameters are the command's options
    file: IncidentFileArgument,
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries", "-b",
            help="Ward boundaries file: fills ward_id and is saved in the store (default: the store's wards).",
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
    source: Annotated[
        str | None, typer.Option("--source", help="Source label of the rows (default: the file name).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate FILE and add its accepted rows to the store, in one all-or-nothing batch.

    Idempotent: re-ingesting a file adds nothing (identical rows count as duplicates); a row
    whose id is stored with different content refuses the whole batch. Prints the rows
    added, already stored (duplicates) and rejected by validation (with reasons).
    """
    from ward_geo.io.readers import read_boundaries, read_incidents
    from ward_geo.store import open_store

    flags = ReaderFlags(crs, lon, lat, id_field, category_field, time_field, category, timezone)
    with progress(f"ingesting {file.name}"), open_store() as store:
        wards = read_boundaries(boundaries) if boundaries is not None else store.boundaries()
        incidents, report = read_incidents(
            file, boundaries=wards if len(wards) else None, source=source, return_report=True, options=flags.options()
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


@handle_errors
def wards_command(
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries", "-b", help="List the wards of this boundaries file (not saved) instead of the store's."
        ),
    ] = None,
    load: Annotated[
        Path | None,
        typer.Option(
            "--load", help="Save the wards of this boundaries file in the store (add or replace by ward_id), then list."
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort", help="Order: ward (ward_id), incidents (most first) or density (incidents per km², most first)."
        ),
    ] = "ward",
    as_json: JsonOption = False,
) -> None:
    """Table of wards with area (km², geodesic), population and stored incident counts.

    Lists the store's wards (plus ward ids that stored incidents carry without a stored
    boundary). ``--load FILE`` first saves FILE's wards in the store; ``--boundaries FILE``
    lists FILE's wards with the store's counts without saving them.
    """
    from ward_geo.io.readers import read_boundaries
    from ward_geo.store import open_store

    if sort not in _WARD_SORTS:
        raise typer.BadParameter("expected ward, incidents or density", param_hint="--sort")
    if boundaries is not None and load is not None:
        raise typer.BadParameter("give either --boundaries or --load, not both", param_hint="--load")
    loaded = None
    with progress("reading wards"), open_store() as store:
        if load is not None:
            loaded = store.put_boundaries(read_boundaries(load))
        table = store.ward_counts()
        if boundaries is not None:
            table = _file_ward_counts(read_boundaries(boundaries), table)
    table = _sorted_wards(table, sort)
    if as_json:
        print_json({"wards": _ward_records(table), **({"loaded": loaded} if loaded is not None else {})})
        return
    if loaded is not None:
        console.print(f"{loaded} ward(s) added or changed in the store")
    console.print(_ward_table(table))


def _file_ward_counts(wards: gpd.GeoDataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """The wards of a boundaries file with the store's incident counts (0 where none)."""
    import pandas as pd

    from ward_geo.store import IncidentStore

    rows = IncidentStore.prepare_boundaries(wards).rows
    listed = pd.DataFrame(
        {
            "ward_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "area_km2": [r[4] for r in rows],
            "population": pd.array([r[3] for r in rows], dtype="Int64"),
        }
    )
    counts = stored.set_index("ward_id")["n_incidents"]
    listed["n_incidents"] = listed["ward_id"].map(counts).fillna(0).astype("int64")
    return listed.sort_values("ward_id", ignore_index=True)


def _sorted_wards(table: pd.DataFrame, sort: str) -> pd.DataFrame:
    """``table`` with its density column, in the ``--sort`` order."""
    table["per_km2"] = (table["n_incidents"] / table["area_km2"]).round(2)
    if sort == "incidents":
        return table.sort_values(["n_incidents", "ward_id"], ascending=[False, True], ignore_index=True)
    if sort == "density":
        return table.sort_values(["per_km2", "ward_id"], ascending=[False, True], na_position="last",
                                 ignore_index=True)
    return table


def _ward_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The ward table as JSON records (missing values as null)."""
    import pandas as pd

    return [
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


def _ward_table(table: pd.DataFrame) -> Any:
    """The ward table as a rich table."""
    import pandas as pd
    from rich.table import Table

    out = Table(title=f"{len(table)} wards, {int(table['n_incidents'].sum()):,} incidents")
    out.add_column("ward_id", justify="left")
    out.add_column("name", justify="left")
    for col in ("area km²", "population", "incidents", "per km²"):
        out.add_column(col, justify="right")
    for r in table.itertuples(index=False):
        out.add_row(
            r.ward_id,
            "" if r.name is None or pd.isna(r.name) else r.name,
            "" if pd.isna(r.area_km2) else f"{r.area_km2:.3f}",
            "" if pd.isna(r.population) else f"{int(r.population):,}",
            f"{int(r.n_incidents):,}",
            "" if pd.isna(r.per_km2) else f"{r.per_km2:,.1f}",
        )
    return out


@handle_errors
def simulate_command(  # noqa: PLR0913 - the parameters are the command's options
    wards: Annotated[
        list[str] | None,
        typer.Option("--wards", "-w", help="Ward ids (repeat or comma-separate). Default: the 7 central Hanoi wards."),
    ] = None,
    start: Annotated[str, typer.Option("--start", help="First local date.")] = "2025-01-01",
    end: Annotated[str, typer.Option("--end", help="Day after the last local date.")] = "2026-01-01",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (same seed, same incidents).")] = 0,
    scale: Annotated[
        float, typer.Option("--scale", help="Multiply every incident rate (1.0: ~2,600 per ward-year).")
    ] = 1.0,
    boundaries: Annotated[
        Path | None,
        typer.Option("--boundaries", "-b", help="Ward boundaries file (default: the reference Hanoi wards)."),
    ] = None,
    streets_file: Annotated[
        Path | None,
        typer.Option("--streets", help="OSM XML street file (default: the reference central-Hanoi extract)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE: .parquet (GeoParquet), .geojson or .csv.")
    ] = None,
    ingest: Annotated[
        bool, typer.Option("--ingest", help="Add the incidents (and the boundaries) to the store.")
    ] = False,
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
        check_incidents_suffix(output)
    ward_ids = tuple(split_values(wards) or CENTRAL_WARD_IDS)
    with progress("loading wards and streets"):
        reference = get_settings().reference_file("boundaries", "hanoi_wards_2025.geojson")
        wards_gdf = read_boundaries(boundaries or reference)
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
            summary["output"] = str(write_incidents_file(incidents, output))
    if ingest:
        summary["ingest"] = _ingest_simulated(incidents, wards_gdf)
    if as_json:
        print_json(summary)
        return
    _print_simulated(summary, f"{len(incidents):,} synthetic incidents (seed {seed}, {start} – {end})")


def _ingest_simulated(incidents: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> dict[str, Any]:
    """Store the wards and the simulated incidents; the ingest result as a dict."""
    from ward_geo.store import open_store

    with progress(f"ingesting {len(incidents):,} incidents"), open_store() as store:
        store.put_boundaries(wards)
        result: dict[str, Any] = store.ingest(incidents, source="synthetic").to_dict()
    return result


def _print_simulated(summary: dict[str, Any], title: str) -> None:
    """The simulation summary: incidents per category, where they went, the street attribution."""
    from rich.table import Table

    table = Table(title=title)
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
    console.print(f"streets: {summary['attribution']}", style="dim")
