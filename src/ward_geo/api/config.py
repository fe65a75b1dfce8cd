"""Settings of the HTTP service.

:class:`ApiSettings` extends the library :class:`~ward_geo.settings.Settings` (same
``WARD_GEO_`` environment variables, so the service finds the same store as the CLI)
with the service's own options. Unsafe combinations are refused with a message that
names the setting and says what to change:

``WARD_GEO_HOST`` (default ``127.0.0.1``)
    Interface to bind. Binding anything but a loopback address requires at least one
    active API key (``ward-geo keys create``), see :func:`check_deployment`.
``WARD_GEO_PORT`` (default ``8000``)
``WARD_GEO_MAX_UPLOAD_BYTES`` (default 64 MiB, at most 4 GiB)
    Largest accepted ``POST /incidents`` body; larger bodies get 413 while streaming.
``WARD_GEO_MAX_JSON_BYTES`` (default 64 KiB)
    Largest accepted body of every other request.
``WARD_GEO_CORS_ORIGINS`` (default empty: CORS off)
    Comma-separated list of origins (``https://planner.example``) allowed to call the
    service from a browser. ``*`` is accepted only without credentials.
``WARD_GEO_CORS_ALLOW_CREDENTIALS`` (default false)
``WARD_GEO_API_KEYS_FILE`` (default ``<data_dir>/api_keys.json``)
    Where API key hashes are stored (never the keys themselves).
``WARD_GEO_HOTSPOT_CACHE_SIZE`` / ``WARD_GEO_MAP_CACHE_SIZE`` / ``WARD_GEO_PLAN_CACHE_SIZE``
    Number of cached responses kept per kind (least recently used dropped first).
``WARD_GEO_COMPUTE_THREADS`` (default 2)
    How many CPU-bound computations (hotspots, maps, plans) run at the same time.
``WARD_GEO_LOG_LEVEL`` (default ``info``)
``WARD_GEO_VIEWER_MIN_INCIDENTS`` (default 5, at least 5)
    Viewers never see a hotspot or a count describing fewer incidents
    (:mod:`ward_geo.analysis.hotspots.disclosure`).
``WARD_GEO_VIEWER_GRID_M`` (default 50)
    Viewers' hotspot polygons are unions of grid cells of this size (metres, EPSG:3405).
``WARD_GEO_COMPUTE_QUEUE_SIZE`` (default 16) / ``WARD_GEO_COMPUTE_RESERVED`` (default 4)
    Cold computations admitted at once (running or waiting), and how many of those slots
    only analyst and admin keys may take; beyond that 503 with ``Retry-After``.
``WARD_GEO_COMPUTE_PER_KEY`` (default 2)
    Cold computations one API key may have admitted at once.
``WARD_GEO_RETRY_AFTER_S`` (default 2)
    ``Retry-After`` of a 503 from a full compute queue.
``WARD_GEO_VERSION_CHECK_S`` (default 1)
    Longest time the service goes without asking the store whether data changed (an
    ingest through this service is seen at once).
``WARD_GEO_SERVE_STALE`` (default true)
    After new data, keep answering from the previous cached result (``X-Data-Freshness:
    stale``) while one background computation makes the new one.
``WARD_GEO_REFRESH_INTERVAL_S`` (default 60 s, at most 3600)
    Shortest time between the starts of two background refreshes of one answer: a steady
    trickle of ingests into a ward is folded into one recomputation per interval instead of
    keeping the cores busy (answers are at most about this much plus one computation behind).
``WARD_GEO_WORKER_PROCESS`` (default true)
    Validate uploads and build incident pages in a separate worker process, so that they do
    not hold the interpreter lock that the cached answers need.
``WARD_GEO_BODY_IDLE_TIMEOUT`` (default 30 s, at most 600 s)
    Longest wait for the next chunk of a request body; a slower client gets 408.
``WARD_GEO_BODY_TOTAL_TIMEOUT`` (default 600 s, at most 3600 s)
    Longest time to receive a whole request body; a slower client gets 408.
``WARD_GEO_STORE_CHECK_INTERVAL`` (default 2 s, at most 60 s)
    How often the service checks that the SQLite store file is still the one it opened
    (besides before every write and on ``/readyz``).
``WARD_GEO_UPLOAD_GDAL_FORMATS`` (default empty: off)
    Comma-separated GDAL formats that ``POST /incidents`` also accepts: ``gpkg``
    (``application/geopackage+sqlite3``) and/or ``zip`` (a zipped shapefile,
    ``application/zip``). They are read in a child process with GDAL's network and virtual
    file systems off, within the ``WARD_GEO_READ_VECTOR_*`` budgets. GeoJSON and CSV are
    always read by the project's own parsers, never by GDAL.
``WARD_GEO_SPOOL_DIR`` (default ``<data_dir>/tmp``)
    Where upload bodies are spooled (files 0600, removed after each request; the folder
    is emptied when the service starts). A full disk there answers 507.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from ward_geo.errors import ConfigurationError
from ward_geo.settings import Settings

__all__ = ["ApiSettings", "check_deployment", "is_loopback_host"]

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
_MAX_UPLOAD_CEILING = 4 * 1024**3
#: GDAL formats that WARD_GEO_UPLOAD_GDAL_FORMATS may enable for uploads.
UPLOAD_GDAL_FORMATS = ("gpkg", "zip")


def is_loopback_host(host: str) -> bool:
    """True when ``host`` names only the local machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ApiSettings(Settings):
    """Settings of ``ward-geo serve`` and :func:`ward_geo.api.app.create_app`."""

    model_config = SettingsConfigDict(env_prefix="WARD_GEO_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_upload_bytes: int = Field(default=64 * 1024**2, gt=0)
    max_json_bytes: int = Field(default=64 * 1024, gt=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    api_keys_file: Path | None = None
    hotspot_cache_size: int = Field(default=256, ge=0)
    map_cache_size: int = Field(default=16, ge=0)
    plan_cache_size: int = Field(default=64, ge=0)
    compute_threads: int = Field(default=2, ge=1, le=64)
    log_level: str = "info"
    viewer_min_incidents: int = Field(default=5, ge=5, le=10_000)
    viewer_grid_m: float = Field(default=50.0, ge=10.0, le=5_000.0)
    compute_queue_size: int = Field(default=16, ge=1, le=4096)
    compute_reserved: int = Field(default=4, ge=0, le=4096)
    compute_per_key: int = Field(default=2, ge=1, le=4096)
    retry_after_s: int = Field(default=2, ge=1, le=3600)
    version_check_s: float = Field(default=1.0, ge=0.0, le=60.0)
    serve_stale: bool = True
    refresh_interval_s: float = Field(default=60.0, ge=0.0, le=3600.0)
    worker_process: bool = True
    body_idle_timeout: float = Field(default=30.0, gt=0, le=600)
    body_total_timeout: float = Field(default=600.0, gt=0, le=3600)
    store_check_interval: float = Field(default=2.0, gt=0, le=60)
    upload_gdal_formats: Annotated[list[str], NoDecode] = Field(default_factory=list)
    spool_dir: Path | None = None

    @field_validator("upload_gdal_formats", mode="before")
    @classmethod
    def _split_formats(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip().lower() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            unknown = [v for v in value if v not in UPLOAD_GDAL_FORMATS]
            if unknown:
                raise ValueError(f"WARD_GEO_UPLOAD_GDAL_FORMATS: unknown format(s) {', '.join(map(str, unknown))}; "
                                 f"expected some of {', '.join(UPLOAD_GDAL_FORMATS)}")
        return value

    @property
    def resolved_spool_dir(self) -> Path:
        """Folder of spooled upload bodies."""
        return self.spool_dir if self.spool_dir is not None else self.data_dir / "tmp"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _valid_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(
                    f"WARD_GEO_CORS_ORIGINS: {origin!r} is not an origin; expected scheme://host[:port] "
                    "without a path, for example https://planner.example"
                )
        return value

    @field_validator("log_level")
    @classmethod
    def _valid_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("WARD_GEO_LOG_LEVEL must be one of debug, info, warning, error")
        return value

    @field_validator("max_upload_bytes")
    @classmethod
    def _bounded_upload(cls, value: int) -> int:
        if value > _MAX_UPLOAD_CEILING:
            raise ValueError(
                f"WARD_GEO_MAX_UPLOAD_BYTES={value} exceeds the ceiling of {_MAX_UPLOAD_CEILING} bytes; "
                "split large imports into several requests or use `ward-geo ingest`"
            )
        return value

    @model_validator(mode="after")
    def _reserved_below_capacity(self) -> ApiSettings:
        if self.compute_reserved >= self.compute_queue_size:
            raise ValueError(
                f"WARD_GEO_COMPUTE_RESERVED={self.compute_reserved} must be smaller than "
                f"WARD_GEO_COMPUTE_QUEUE_SIZE={self.compute_queue_size} (viewers need at least one slot)"
            )
        return self

    @model_validator(mode="after")
    def _safe_cors(self) -> ApiSettings:
        if "*" in self.cors_origins and self.cors_allow_credentials:
            raise ValueError(
                "unsafe configuration: WARD_GEO_CORS_ORIGINS='*' together with "
                "WARD_GEO_CORS_ALLOW_CREDENTIALS=true would let any web site call the service with a "
                "user's credentials; list the allowed origins explicitly or turn credentials off"
            )
        return self

    @property
    def resolved_api_keys_file(self) -> Path:
        """Path of the API key store."""
        return self.api_keys_file if self.api_keys_file is not None else self.data_dir / "api_keys.json"


def check_deployment(settings: ApiSettings, *, active_keys: int) -> None:
    """Refuse configurations that are unsafe to serve; raise ConfigurationError saying why.

    Parameters
    ----------
    settings : ApiSettings
        The service settings.
    active_keys : int
        Number of API keys that are not revoked.

    Raises
    ------
    ConfigurationError
        When the service would listen on a non-loopback interface without any API key
        (every request would be refused and the operator has most likely forgotten to
        provision keys), or when the key file is readable or writable by other users.
    """
    if not is_loopback_host(settings.host) and active_keys == 0:
        raise ConfigurationError(
            f"unsafe configuration: WARD_GEO_HOST={settings.host} exposes the service beyond this machine "
            "but no API key exists; create one with `ward-geo keys create --role admin` first, or bind "
            "127.0.0.1"
        )
    path = settings.resolved_api_keys_file
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o022:
            raise ConfigurationError(
                f"unsafe configuration: the API key file {path} is writable by other users "
                f"(mode {mode:o}); run `chmod 600 {path}`"
            )


def load_api_settings(**overrides: Any) -> ApiSettings:
    """Read :class:`ApiSettings` from the environment (plus ``overrides``).

    Raises
    ------
    ConfigurationError
        With every invalid or unsafe setting named, instead of pydantic's ValidationError.
    """
    from pydantic import ValidationError

    try:
        return ApiSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        reasons = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            reasons.append(f"{'WARD_GEO_' + where.upper() + ': ' if where else ''}{msg}")
        raise ConfigurationError("; ".join(reasons), details={"errors": reasons}) from None
