"""Service commands: ``serve`` (the HTTP service) and the ``keys`` group (API keys)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ward_geo.cli.common import JsonOption, console, err_console, handle_errors, print_json

if TYPE_CHECKING:
    from ward_geo.api.keys import KeyStore

__all__ = ["serve_command", "keys_app"]

keys_app = typer.Typer(help="Manage API keys of the service (stored as hashes only).", no_args_is_help=True)


def _key_store() -> KeyStore:
    """The key store of the configured service."""
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
        table.add_row(str(r["key_id"]), str(r["role"]), str(r["label"]), str(r["created_at"]),
                      str(r["revoked_at"] or ""))
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id from `ward-geo keys list`.")], as_json: JsonOption = False
) -> None:
    """Revoke an API key; requests with it get 401 at once."""
    record = _key_store().revoke(key_id)
    if as_json:
        print_json(record.public())
    else:
        console.print(f"revoked key {record.key_id} ({record.role})")


@handle_errors
def serve_command(
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
