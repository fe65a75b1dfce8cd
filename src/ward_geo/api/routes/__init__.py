"""Thin HTTP routes; the work is in :mod:`ward_geo.api.services` and the library."""
