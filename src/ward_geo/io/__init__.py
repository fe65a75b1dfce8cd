"""Readers, writers and validation: files in, canonical tables out."""

from ward_geo.io.options import ReaderOptions

__all__ = ["ReaderOptions"]
