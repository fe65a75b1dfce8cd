"""The ``demo`` command: the main job end to end on the embedded store (``make demo``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ward_geo.cli.common import console, err_console, handle_errors, progress

if TYPE_CHECKING:
    from ward_geo.demo import DemoResult

__all__ = ["demo_command"]


@handle_errors
def demo_command(
    seed: Annotated[int, typer.Option(help="Simulation and routing seed.")] = 0,
    maps_dir: Annotated[Path, typer.Option("--maps", help="Folder for the HTML maps.")] = Path("maps"),
) -> None:
    """Run the main job on the embedded store: simulate, ingest, hotspots, plan, maps, report.

    Simulates and ingests the central Hanoi wards, then writes hotspot GeoJSON, a patrol
    plan, maps and a report.
    """
    from ward_geo.demo import run_demo

    with progress("demo") as advance:
        def on_step(text: str) -> None:
            err_console.print(f"[dim]·[/] {text}", highlight=False)
            advance(1)

        result = run_demo(seed=seed, maps_dir=maps_dir, on_step=on_step)
    _print_demo(result)


def _print_demo(result: DemoResult) -> None:
    """What the demo stored, the central wards' hotspots, the patrol plan and the files written."""
    from rich.table import Table

    console.print(f"store: {result.ingested:,} incidents added, {result.duplicates:,} already there")
    table = Table(title="Central wards (hotspots of the last 12 months)")
    for col in ("ward", "name", "incidents", "hotspots", "high priority"):
        table.add_column(col, justify="right" if col in {"incidents", "hotspots", "high priority"} else "left")
    for row in result.wards:
        table.add_row(row["ward_id"], row["name"], f"{row['incidents']:,}", str(row["hotspots"]),
                      str(row["high_priority"]))
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
