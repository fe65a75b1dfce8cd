"""Library-wide settings.

All settings are read from environment variables prefixed ``WARD_GEO_`` (the same
names for the library, the CLI and the service), or set in code::

    from ward_geo import settings
    s = settings.get_settings()
    s.data_dir

Settings
--------
data_dir : Path
    ``WARD_GEO_DATA_DIR`` (default ``./data``). Holds the embedded store
    (``ward_geo.sqlite``), generated outputs and caches.
reference_dir : Path or None
    ``WARD_GEO_REFERENCE_DIR``. Folder with the real reference data (``boundaries/``,
    ``streets/``, ``pois/``, ``incidents/``), for the demo and the tests. When unset,
    ``../shared/data`` next to the working directory is used if it exists.
database_url : str or None
    ``WARD_GEO_DATABASE_URL``. ``postgresql://...`` selects the PostGIS store;
    ``sqlite:///path`` or unset selects the embedded SQLite store in ``data_dir``.
timezone : str
    ``WARD_GEO_TIMEZONE`` (default ``Asia/Ho_Chi_Minh``): the zone of naive timestamps.
tile_url : str or None
    ``WARD_GEO_TILE_URL``: a local tile server URL template for maps
    (``http://tiles.local/{z}/{x}/{y}.png``). Unset: maps are offline with a vector basemap.
dask_scheduler : str or None
    ``WARD_GEO_DASK_SCHEDULER``: address of a Dask scheduler; unset starts a LocalCluster.
cache_dir : Path
    ``WARD_GEO_CACHE_DIR`` (default ``<data_dir>/cache``): street graphs and map assets.
threads : int or None
    ``WARD_GEO_THREADS`` (1–64; default: the CPUs of the process, at most 4): threads for
    the array geometry steps that release the GIL (projection, concave hulls, buffers).
    ``1`` runs them in the calling thread.

Reading bounds (every breach is an :class:`~ward_geo.errors.InputError` naming the file)
----------------------------------------------------------------------------------------
read_max_bytes : int
    ``WARD_GEO_READ_MAX_BYTES`` (default 1 GiB, at most 64 GiB): most bytes of a CSV or
    GeoJSON after decompression (``.gz``, ``.zip``, ``.bz2``, ``.xz`` are inflated as a stream).
read_max_line_bytes : int
    ``WARD_GEO_READ_MAX_LINE_BYTES`` (default 1 MiB): longest CSV line.
read_max_field_chars : int
    ``WARD_GEO_READ_MAX_FIELD_CHARS`` (default 65536): longest text value of a cell or property.
read_max_rows : int
    ``WARD_GEO_READ_MAX_ROWS`` (default 20 million): most rows or features of one file.
read_vector_timeout_s : float
    ``WARD_GEO_READ_VECTOR_TIMEOUT_S`` (default 60, at most 3600): wall-clock budget of a
    GeoPackage / SQLite read (run in a child process).
read_vector_memory_bytes : int
    ``WARD_GEO_READ_VECTOR_MEMORY_BYTES`` (default 2 GiB): address-space budget of that child.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "reset_settings", "resolve_timezone", "DEFAULT_TIMEZONE"]

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


class Settings(BaseSettings):
    """ward_geo settings, from ``WARD_GEO_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WARD_GEO_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path("data"))
    reference_dir: Path | None = None
    database_url: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    tile_url: str | None = None
    dask_scheduler: str | None = None
    cache_dir: Path | None = None
    threads: int | None = Field(default=None, ge=1, le=64)
    read_max_bytes: int = Field(default=1024**3, gt=0, le=64 * 1024**3)
    read_max_line_bytes: int = Field(default=1024**2, gt=0, le=1024**3)
    read_max_field_chars: int = Field(default=65536, gt=0, le=64 * 1024**2)
    read_max_rows: int = Field(default=20_000_000, gt=0, le=1_000_000_000)
    read_vector_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    read_vector_memory_bytes: int = Field(default=2 * 1024**3, ge=64 * 1024**2, le=256 * 1024**3)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as 'Asia/Ho_Chi_Minh')") from exc
        return value

    @property
    def store_path(self) -> Path:
        """Path of the embedded SQLite store."""
        url = self.database_url
        if url and url.startswith("sqlite:///"):
            return Path(url[len("sqlite:///") :])
        return self.data_dir / "ward_geo.sqlite"

    @property
    def resolved_cache_dir(self) -> Path:
        """Folder of cached street graphs and tiles (``cache_dir``, else ``<data_dir>/cache``)."""
        return self.cache_dir if self.cache_dir is not None else self.data_dir / "cache"

    @property
    def resolved_reference_dir(self) -> Path | None:
        """The reference-data folder, or None when none is configured or found."""
        if self.reference_dir is not None:
            return self.reference_dir
        guess = Path.cwd().parent / "shared" / "data"
        return guess if guess.is_dir() else None

    def reference_file(self, *parts: str) -> Path:
        """Path of a file in the reference data; raises ConfigurationError when absent."""
        from ward_geo.errors import ConfigurationError

        base = self.resolved_reference_dir
        if base is None:
            raise ConfigurationError(
                "no reference data folder: set WARD_GEO_REFERENCE_DIR to the folder holding "
                "boundaries/, streets/, pois/ and incidents/"
            )
        path = base.joinpath(*parts)
        if not path.exists():
            raise ConfigurationError(f"reference file {path} does not exist (WARD_GEO_REFERENCE_DIR={base})")
        return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment)."""
    return Settings()


def reset_settings() -> None:
    """Forget cached settings so the next :func:`get_settings` re-reads the environment."""
    get_settings.cache_clear()


def resolve_timezone(timezone: str | None = None) -> ZoneInfo:
    """The time zone to read naive times in: ``timezone``, else the configured one.

    Parameters
    ----------
    timezone : str, optional
        An IANA name such as ``"Asia/Ho_Chi_Minh"``; None for ``WARD_GEO_TIMEZONE``
        (default Asia/Ho_Chi_Minh).

    Returns
    -------
    zoneinfo.ZoneInfo
        The zone (its ``key`` is the name).

    Raises
    ------
    ParameterError
        ``timezone`` is not an IANA time zone name.
    """
    from ward_geo.errors import ParameterError

    name = timezone if timezone is not None else get_settings().timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ParameterError(
            f"timezone {name!r} is not an IANA time zone name (for example 'Asia/Ho_Chi_Minh')",
            details={"field": "timezone"},
        ) from exc
