"""Product commands: ``map``, ``report``, ``patrol`` and the ``assets`` group of offline maps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ward_geo.cli.common import (
    BoundariesOption,
    IncidentsArgument,
    JsonOption,
    LangOption,
    StreetsOption,
    console,
    err_console,
    handle_errors,
    print_json,
    progress,
)
from ward_geo.cli.inputs import (
    hotspot_sets,
    load_incidents,
    map_inputs,
    parse_station,
    patrol_inputs,
    read_hotspots,
    read_patrol,
    ward_boundaries,
    ward_set,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from ward_geo.planning import PatrolEvaluation, PatrolPlan

__all__ = ["map_command", "report_command", "patrol_command", "assets_app"]

_LANGS = ("vi", "en")


# ---------------------------------------------------------------- map
@handle_errors
def map_command(  # noqa: PLR0913 - the parameters are the command's options
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML file to write, e.g. maps/phuong-hoan-kiem.html.")
    ],
    incidents: IncidentsArgument = None,
    boundaries: BoundariesOption = None,
    ward: Annotated[
        str | None, typer.Option("--ward", "-w", help="ward_id for a ward map; omitted: city overview.")
    ] = None,
    hotspots: Annotated[Path | None, typer.Option("--hotspots", help="Hotspots GeoJSON (default: computed).")] = None,
    patrol: Annotated[
        Path | None, typer.Option("--patrol", help="Patrol plan GeoJSON (from `ward-geo patrol`).")
    ] = None,
    streets: StreetsOption = None,
    no_streets: Annotated[bool, typer.Option("--no-streets", help="No street vector basemap.")] = False,
    offline: Annotated[
        bool | None,
        typer.Option(
            "--offline/--online", help="Self-contained, no network (default unless WARD_GEO_TILE_URL is set)."
        ),
    ] = None,
    lang: LangOption = "vi",
    as_json: JsonOption = False,
) -> None:
    """Write an interactive map (ward map with --ward, else a city overview) as one HTML file."""
    from ward_geo.errors import ParameterError
    from ward_geo.maps import city_map, save_map, ward_map

    if lang not in _LANGS:
        raise ParameterError(f"--lang must be vi or en, got {lang!r}")
    if output.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"--output must end in .html, got {str(output)!r}")
    with progress("loading incidents"):
        frame, bounds = map_inputs(incidents, boundaries)
    spots = _map_hotspots(hotspots, ward, incidents is not None, frame, bounds)
    plan = read_patrol(patrol) if patrol is not None else None
    edges = None if no_streets else _street_edges(streets)
    with progress("drawing the map"):
        layers: dict[str, Any] = {"hotspots": spots, "patrol": plan, "streets": edges, "offline": offline, "lang": lang}
        m = ward_map(frame, bounds, ward, **layers) if ward else city_map(frame, bounds, **layers)
        path = save_map(m, output)
    if ward:
        # the ward the map shows (a ward named in Vietnamese resolves to its ward_id)
        shown: str = getattr(m, "ward_geo_ward_id", None) or ward
        spots, frame = _in_ward(spots, frame, shown)
    info: dict[str, Any] = {
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


def _map_hotspots(hotspots: Path | None, ward: str | None, from_file: bool, frame: gpd.GeoDataFrame,
                  bounds: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The hotspots drawn: a hotspots file, else the ward's (or every ward's) set; None without incidents."""
    if hotspots is not None:
        return read_hotspots(hotspots)
    if not len(frame):
        return None
    with progress("the hotspot sets of the wards"):
        if ward:
            return ward_set(ward, from_file, frame, bounds).hotspots
        return hotspot_sets(frame, bounds, None, None, selection={"method": "auto"}, trend=True)


def _street_edges(streets: Path | None) -> gpd.GeoDataFrame:
    """The street segments of the vector basemap."""
    from ward_geo.streets import load_street_graph, street_edges

    with progress("loading streets"):
        return street_edges(load_street_graph(streets))


def _in_ward(spots: gpd.GeoDataFrame | None, frame: gpd.GeoDataFrame,
             ward_id: str) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame]:
    """The hotspots and incidents a ward map shows (those of ``ward_id``)."""
    if spots is not None and len(spots):
        from ward_geo.maps.builder import hotspots_in_ward

        spots = hotspots_in_ward(spots, ward_id)
    if len(frame):
        frame = frame[frame["ward_id"] == ward_id]
    return spots, frame


# ---------------------------------------------------------------- report
@handle_errors
def report_command(  # noqa: PLR0913 - the parameters are the command's options
    ward: Annotated[str, typer.Argument(help="ward_id, e.g. phuong-ba-dinh.")],
    incidents: IncidentsArgument = None,
    boundaries: BoundariesOption = None,
    since: Annotated[str | None, typer.Option(help="Period start (date).")] = None,
    until: Annotated[str | None, typer.Option(help="Period end, exclusive (date).")] = None,
    months: Annotated[int, typer.Option(min=1, max=120, help="Period length when not given.")] = 12,
    lang: Annotated[str, typer.Option(help="Label language: vi or en.")] = "vi",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for <ward>.md and <ward>.html.")
    ] = Path("reports"),
) -> None:
    """Year-on-year figures, top hotspots with their trend, and map accuracy for one ward."""
    from ward_geo.report import ward_report

    bounds = ward_boundaries(boundaries)
    frame = load_incidents(incidents, bounds)
    with progress(f"report {ward}"):
        hotspot_set = ward_set(ward, incidents is not None, frame, bounds)
        report = ward_report(ward, frame, bounds, since=since, until=until, months=months, lang=lang,
                             hotspot_set=hotspot_set)
    md, page = report.save(output)
    console.print(report.to_markdown(), markup=False, highlight=False)
    console.print(f"wrote {md} and {page}")


# ---------------------------------------------------------------- patrol
@handle_errors
def patrol_command(  # noqa: PLR0913 - the parameters are the command's options
    ward: Annotated[str, typer.Option("--ward", "-w", help="ward_id, e.g. phuong-hoan-kiem.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Plan GeoJSON; the schedule goes beside it (.md).")],
    incidents: IncidentsArgument = None,
    boundaries: BoundariesOption = None,
    shift_start: Annotated[str, typer.Option("--shift-start", help="Local start, HH:MM.")] = "08:00",
    shift_end: Annotated[str, typer.Option("--shift-end", help="Local end, HH:MM (before start: next day).")] = "16:00",
    date: Annotated[
        str | None, typer.Option("--date", help="Shift date YYYY-MM-DD (its weekday filters the risk).")
    ] = None,
    weekday: Annotated[
        str | None, typer.Option("--weekday", help="Only this weekday's incidents (0-6 or name).")
    ] = None,
    units: Annotated[int, typer.Option("--units", "-n", min=1, max=50, help="Patrol units.")] = 1,
    mode: Annotated[str, typer.Option("--mode", help="foot, motorbike or car.")] = "foot",
    streets: StreetsOption = None,
    no_streets: Annotated[bool, typer.Option("--no-streets", help="Straight-line travel, no street network.")] = False,
    station: Annotated[
        str | None, typer.Option("--station", help="Start/end point 'lon,lat' (default: ward centre).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the stop order.")] = 0,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="Router time limit, seconds.")] = 5.0,
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Score a plan made without the last weeks on them.")
    ] = False,
    holdout_weeks: Annotated[int, typer.Option("--holdout-weeks", min=1, help="Weeks held out by --evaluate.")] = 8,
    radius: Annotated[float, typer.Option("--radius", min=1, help="Hit radius of --evaluate, metres.")] = 100.0,
    lang: Annotated[str, typer.Option("--lang", help="Schedule language: vi or en.")] = "vi",
    as_json: JsonOption = False,
) -> None:
    """Plan patrol routes for a shift: hotspot stops, Koper dwell times, routes on the streets."""
    from ward_geo.errors import ParameterError
    from ward_geo.planning import evaluate_patrol, plan_patrol

    if streets is not None and no_streets:
        raise ParameterError("give --streets or --no-streets, not both")
    if lang not in _LANGS:
        raise ParameterError(f"--lang must be vi or en; got {lang!r}")
    frame, bounds = patrol_inputs(ward, incidents, boundaries)
    shift: dict[str, Any] = {
        "shift_start": shift_start, "shift_end": shift_end, "date": date, "weekday": weekday, "units": units,
        "mode": mode, "graph": False if no_streets else streets, "start_point": parse_station(station),
        "seed": seed, "time_limit_s": time_limit,
    }
    with progress(f"hotspots of {ward}"):
        hotspot_set = ward_set(ward, incidents is not None, frame, bounds)
    with progress(f"planning {ward}"):
        plan = plan_patrol(frame, bounds, ward, hotspots=hotspot_set.hotspots, **shift)
        geo, md = plan.write(output, lang=lang)
    scored = None
    if evaluate:
        with progress("evaluating on held-out weeks"):
            scored = evaluate_patrol(frame, bounds, ward, holdout_weeks=holdout_weeks, radius_m=radius, **shift)
    if as_json:
        payload: dict[str, Any] = {"geojson": str(geo), "schedule": str(md), "summary": plan.summary}
        if scored is not None:
            payload["evaluation"] = scored.to_dict()
        print_json(payload)
        return
    _print_plan(plan, f"Patrol plan {ward}, {plan.shift.label()}, {units} unit(s) on {mode}", md)
    if scored is not None:
        _print_evaluation(scored, holdout_weeks=holdout_weeks, radius=radius)
    console.print(f"wrote {geo} and {md}", highlight=False)


def _print_plan(plan: PatrolPlan, title: str, schedule: Path) -> None:
    """The units' routes as a table, then coverage, unreachable hotspots, dropped visits and notes."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("unit", "stops", "distance km", "travel min", "dwell min", "back at"):
        table.add_column(col, justify="right")
    for u in plan.units:
        table.add_row(str(u.unit), str(len(u.stops)), f"{u.distance_m / 1000:.2f}", f"{u.travel_s / 60:.0f}",
                      f"{u.dwell_s / 60:.0f}", f"{u.back_at:%H:%M}")
    console.print(table)
    s = plan.summary
    console.print(f"travel: {s['network']}", highlight=False, markup=False)
    console.print(f"hotspots {s['hotspots']}, visited {s['hotspots_visited']}; share of the shift's risk covered "
                  f"{s['risk_covered_share']:.0%}", highlight=False)
    for u in s["unreachable"]:
        err_console.print(f"unreachable hotspot {u['hotspot_id']}: {u['reason']}", highlight=False, markup=False)
    if s["dropped"]:
        err_console.print(f"{len(s['dropped'])} visit(s) left out (listed in {schedule.name})", highlight=False)
    for note in s["notes"]:
        err_console.print(f"note: {note}", highlight=False, markup=False)


def _print_evaluation(scored: PatrolEvaluation, *, holdout_weeks: int, radius: float) -> None:
    """The held-out evaluation of a plan beside its baseline (``--evaluate``)."""
    from rich.table import Table

    e = scored.to_dict()
    ev = Table(title=f"Held-out {holdout_weeks} weeks from {scored.cutoff:%Y-%m-%d}: {e['n_test']} shift incidents, "
                     f"hits within {radius:g} m of {e['stops']} stops")
    for col in ("stops at", "share hit", "share per patrol-hour"):
        ev.add_column(col, justify="left" if col == "stops at" else "right")
    ev.add_row("plan (hotspots)", f"{e['plan_share']:.1%}", f"{e['plan_share_per_patrol_hour']:.4f}")
    ev.add_row("baseline (busiest segments)", f"{e['baseline_share']:.1%}",
               f"{e['baseline_share_per_patrol_hour']:.4f}")
    console.print(ev)
    ratio = "n/a" if e["ratio"] is None else f"{e['ratio']:.2f}"
    console.print(f"plan / baseline: {ratio} ({e['baseline']})", highlight=False)


# ---------------------------------------------------------------- assets
assets_app = typer.Typer(help="Browser assets (Leaflet and plugins) inlined into offline maps.", no_args_is_help=True)


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
