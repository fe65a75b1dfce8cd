"""Analysis commands: ``hotspots`` (ranked hotspots of a file or the store) and ``backtest``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ward_geo.cli.common import (
    BoundariesOption,
    IncidentsArgument,
    JsonOption,
    console,
    err_console,
    handle_errors,
    print_json,
    progress,
    split_values,
)
from ward_geo.cli.inputs import hotspot_sets, load_incidents, read_incident_file

if TYPE_CHECKING:
    import geopandas as gpd
    from rich.table import Table

    from ward_geo.analysis.evaluation import BacktestResult

__all__ = ["hotspots_command", "backtest_command"]

_HOTSPOT_SUFFIXES = (".geojson", ".json", ".parquet", ".geoparquet")


@handle_errors
def hotspots_command(  # noqa: PLR0913 - the parameters are the command's options
    incidents: IncidentsArgument = None,
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
    eps: Annotated[
        float | None, typer.Option("--eps", help="Neighbourhood radius in metres (default: from data).")
    ] = None,
    min_samples: Annotated[
        int | None, typer.Option("--min-samples", help="Core-point threshold (default: from data).")
    ] = None,
    ward: Annotated[
        list[str] | None, typer.Option("--ward", "-w", help="ward_id(s) to keep (repeat or comma-separate).")
    ] = None,
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
    """Find ranked hotspots in an incident file (or the store's hotspot sets); write them as GeoJSON or GeoParquet."""
    if output is not None and not output.name.lower().endswith(_HOTSPOT_SUFFIXES):
        raise typer.BadParameter(
            f"cannot tell the format of {output.name!r}: use .geojson, .json or .parquet", param_hint="--output"
        )
    params: dict[str, Any] = {"timezone": timezone} if timezone else {}
    if eps is not None:
        params["eps"] = eps
    if min_samples is not None:
        params["min_samples"] = min_samples
    if per_category:
        params["per_category"] = True
    selection = {"method": "auto" if tune else method, "categories": split_values(category), "since": since,
                 "until": until, "params": params}
    spots = _find_hotspots(incidents, boundaries, split_values(ward), selection, timezone=timezone, trend=trend)
    written = _write_hotspots(spots, output) if output is not None else None
    if as_json:
        _print_hotspots_json(spots, written, top=top)
        return
    params_used = spots.attrs.get("params", {})
    console.print(_hotspot_table(spots, top=top))
    if params_used.get("reason"):
        console.print(f"parameters: {params_used['reason']}", style="dim", highlight=False)
    console.print(f"priority rule: {params_used.get('priority_rule', '')}", style="dim", highlight=False)
    if params_used.get("note"):
        console.print(params_used["note"], style="yellow", highlight=False)
    if written:
        console.print(f"written to {written}", highlight=False)


def _find_hotspots(incidents: Path | None, boundaries: Path | None, wards: list[str] | None,
                   selection: dict[str, Any], *, timezone: str | None, trend: bool) -> gpd.GeoDataFrame:
    """The hotspots of an incident file, or of the store's per-ward hotspot sets."""
    from ward_geo.io.readers import read_boundaries

    store = None
    with progress("loading incidents"):
        bounds = read_boundaries(boundaries) if boundaries is not None else None
        if incidents is not None:
            frame = read_incident_file(incidents, boundaries=bounds, timezone=timezone)
        else:
            from ward_geo.store import open_store

            frame = None
            store = open_store()
    try:
        method = selection["method"]
        note = " – the first Gi* run of a process compiles esda's kernels" if method == "gistar" else ""
        with progress(f"finding hotspots ({method}){note}"):
            return hotspot_sets(frame, bounds, store, wards, selection=selection, trend=trend)
    finally:
        if store is not None:
            store.close()


def _write_hotspots(spots: gpd.GeoDataFrame, output: Path) -> str:
    """Write ``spots`` as GeoParquet or RFC 7946 GeoJSON by suffix; the path written."""
    from ward_geo.io.writers import write_geojson, write_geoparquet

    with progress(f"writing {output.name}"):
        if output.name.lower().endswith((".parquet", ".geoparquet")):
            return str(write_geoparquet(spots, output))
        return str(write_geojson(spots, output))


def _print_hotspots_json(spots: gpd.GeoDataFrame, written: str | None, *, top: int) -> None:
    """The hotspot count, the file written, the parameters and the ``top`` rows as JSON."""
    from ward_geo.jsonsafe import json_safe

    rows = spots.drop(columns=["geometry", "member_ids"]).head(top)
    print_json(
        {"hotspots": int(len(spots)), "output": written, "params": json_safe(spots.attrs.get("params", {})),
         "top": json_safe(rows.to_dict(orient="records"))}
    )


def _hotspot_table(spots: gpd.GeoDataFrame, *, top: int) -> Table:
    """The ``top`` ranked hotspots as a rich table."""
    from rich.table import Table

    table = Table(title=f"{len(spots)} hotspot(s), ranked")
    for name in ("rank", "priority", "name", "hotspot_id", "incidents", "forecast", "area ha", "main category",
                 "wards (share)", "last seen"):
        table.add_column(name, justify="right" if name in {"rank", "incidents", "forecast", "area ha"} else "left")
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


@handle_errors
def backtest_command(  # noqa: PLR0913 - the parameters are the command's options
    incidents: Annotated[list[Path], typer.Argument(help="Incident file(s) (any supported format).")],
    boundaries: BoundariesOption = None,
    ward: Annotated[
        list[str] | None, typer.Option("--ward", "-w", help="Study ward_id(s) (default: wards with incidents).")
    ] = None,
    train: Annotated[str, typer.Option(help="Training window, e.g. 12M, 26W, 365D.")] = "12M",
    test: Annotated[str, typer.Option(help="Test window, e.g. 1M.")] = "1M",
    step: Annotated[str | None, typer.Option(help="Step between folds (default: the test window).")] = None,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", help="Hotspot methods to compare (repeatable; default: auto's candidates)."),
    ] = None,
    share: Annotated[
        list[float] | None,
        typer.Option("--share", help="Shares of the study area, 0-1 (repeatable; default 0.01 and 0.05)."),
    ] = None,
    max_folds: Annotated[int | None, typer.Option(help="Keep only the most recent folds.")] = 6,
    timezone: Annotated[str | None, typer.Option(help="Zone of naive timestamps in the file.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of median PAI per method and baseline here.")] = None,
) -> None:
    """Rolling-origin backtest of the delivered hotspots beside prior counts, last period and a KDE map."""
    from ward_geo.analysis.evaluation import AUTO_CANDIDATES, DELIVERED_SHARES, backtest
    from ward_geo.io.readers import read_boundaries

    bounds = read_boundaries(boundaries) if boundaries is not None else None
    frame = load_incidents(incidents, bounds, timezone)
    with progress("backtest folds") as advance:
        result = backtest(
            frame, bounds, ward_ids=split_values(ward), methods=list(method) if method else list(AUTO_CANDIDATES),
            train=train, test=test, step=step, shares=tuple(share) if share else DELIVERED_SHARES,
            max_folds=max_folds, timezone=timezone, on_fold=lambda done, total: advance(1),
        )
    console.print(_backtest_table(result))
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


def _backtest_table(result: BacktestResult) -> Table:
    """The backtest summary, one row per method and share, as a rich table."""
    from rich.table import Table

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
    return table
