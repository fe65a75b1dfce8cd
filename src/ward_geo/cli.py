"""The ``ward-geo`` command line: thin commands over the library.

Exit codes: 0 ok, 1 bad input (any :class:`~ward_geo.errors.WardGeoError`), 2 usage.
Long work shows a rich progress bar; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import functools
import json
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
BoundariesOption = Annotated[
    Path | None,
    typer.Option("--boundaries", "-b", help="Ward boundaries file (default: the store's wards)."),
]


# ---------------------------------------------------------------- foundation: validate, ingest, wards, simulate


# ---------------------------------------------------------------- hotspots


# ---------------------------------------------------------------- maps


# ---------------------------------------------------------------- evaluation: backtest, report


# ---------------------------------------------------------------- patrol


# ---------------------------------------------------------------- service: serve, keys


# ---------------------------------------------------------------- demo


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
