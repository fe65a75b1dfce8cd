"""Durable incident stores behind one interface.

:func:`open_store` picks the implementation from the settings: the embedded
:class:`~ward_geo.store.sqlite.SQLiteStore` at ``settings.store_path`` by default, or
:class:`~ward_geo.store.postgis.PostGISStore` when ``WARD_GEO_DATABASE_URL`` starts with
``postgresql://`` (or ``postgres://``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ward_geo.errors import ConfigurationError
from ward_geo.store.base import HotspotSetRecord, IncidentStore, IngestResult

if TYPE_CHECKING:  # pragma: no cover
    from ward_geo.settings import Settings

__all__ = ["HotspotSetRecord", "IncidentStore", "IngestResult", "open_store"]


def open_store(settings: Settings | None = None) -> IncidentStore:
    """Open the configured incident store.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`ward_geo.settings.get_settings`.

    Returns
    -------
    IncidentStore
        A :class:`SQLiteStore` on ``settings.store_path`` (created when absent), or a
        :class:`PostGISStore` for a ``postgresql://`` database URL.

    Raises
    ------
    ConfigurationError
        ``WARD_GEO_DATABASE_URL`` has a scheme ward_geo does not know.
    StoreError
        The store cannot be opened.
    """
    if settings is None:
        from ward_geo.settings import get_settings

        settings = get_settings()
    url = settings.database_url
    if url and url.startswith(("postgresql://", "postgres://")):
        from ward_geo.store.postgis import PostGISStore

        return PostGISStore(url)
    if url and not url.startswith("sqlite:///"):
        scheme = url.split(":", 1)[0]
        raise ConfigurationError(
            f"WARD_GEO_DATABASE_URL has the unsupported scheme {scheme!r}: expected postgresql://... "
            "for PostGIS or sqlite:///path for an embedded store (unset: the store in WARD_GEO_DATA_DIR)"
        )
    from ward_geo.store.sqlite import SQLiteStore

    return SQLiteStore(settings.store_path)
