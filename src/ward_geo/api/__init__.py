"""The HTTP service: OGC API – Features plus patrol-planning endpoints over the store.

``create_app(settings=None)`` builds the FastAPI application; ``ward-geo serve`` runs it
with uvicorn. See :mod:`ward_geo.api.app` (wiring and errors), :mod:`ward_geo.api.config`
(settings), :mod:`ward_geo.api.keys` (API keys) and :mod:`ward_geo.api.routes`.
"""

from ward_geo.api.app import create_app

__all__ = ["create_app"]
