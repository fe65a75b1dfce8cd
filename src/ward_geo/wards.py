"""One way to name a ward: by its id or by its Vietnamese name.

Users type a ward as its id (``phuong-hoan-kiem``), its name (``Phường Hoàn Kiếm``,
in NFC or NFD, any case) or a name without diacritics (``Phuong Hoan Kiem``). Every face
(library, CLI, service, maps) resolves what was typed to ward ids with
:func:`resolve_ward_ids`, so the same text means the same ward everywhere, and unknown
text is an error that says what is known rather than an empty result.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import geopandas as gpd

from ward_geo.errors import NotFoundError, ParameterError
from ward_geo.schema import nfc, slugify

__all__ = ["resolve_ward_ids", "ward_lookup"]


def ward_lookup(boundaries: gpd.GeoDataFrame) -> dict[str, str]:
    """Map every accepted spelling (id, id slug, name slug) to its ward id.

    Parameters
    ----------
    boundaries : GeoDataFrame
        Ward boundaries with ``ward_id`` and (optionally) ``name`` columns.

    Returns
    -------
    dict of str to str
        Exact ids first; slugs of ids and names after, never overriding an id.
    """
    lookup: dict[str, str] = {}
    ids = [str(w) for w in boundaries["ward_id"].tolist()]
    names = boundaries["name"].tolist() if "name" in boundaries.columns else [None] * len(ids)
    for ward_id in ids:
        lookup[ward_id] = ward_id
    for ward_id, name in zip(ids, names, strict=True):
        lookup.setdefault(slugify(ward_id), ward_id)
        if isinstance(name, str) and name.strip():
            lookup.setdefault(slugify(name), ward_id)
    return lookup


def resolve_ward_ids(boundaries: gpd.GeoDataFrame, wards: str | Iterable[str]) -> list[str]:
    """The ward ids meant by ``wards`` (ids or names), in the order given, without repeats.

    Parameters
    ----------
    boundaries : GeoDataFrame
        The known wards (``ward_id``, ``name``).
    wards : str or iterable of str
        One ward or several, each an id or a name (diacritics and case optional).

    Returns
    -------
    list of str
        Ward ids of ``boundaries``.

    Raises
    ------
    ParameterError
        ``wards`` is empty or not text.
    NotFoundError
        Some text names no known ward; the message lists every unknown one with the
        closest known names.
    """
    items = [wards] if isinstance(wards, str) else list(wards)
    if not items:
        raise ParameterError("no ward given; omit the ward filter to use every ward", details={"field": "ward_ids"})
    bad_types = [w for w in items if not isinstance(w, str)]
    if bad_types:
        raise ParameterError(f"ward ids must be text, got {bad_types[:5]!r}", details={"field": "ward_ids"})
    lookup = ward_lookup(boundaries)
    found: list[str] = []
    unknown: list[str] = []
    for text in items:
        key = str(nfc(text)).strip()
        ward_id = lookup.get(key) or lookup.get(slugify(key))
        if ward_id is None:
            unknown.append(text)
        elif ward_id not in found:
            found.append(ward_id)
    if unknown:
        raise NotFoundError(_unknown_message(unknown, boundaries, lookup),
                            details={"field": "ward_ids", "unknown": unknown[:50]})
    return found


def _unknown_message(unknown: list[str], boundaries: gpd.GeoDataFrame, lookup: dict[str, str]) -> str:
    names = dict(zip(boundaries["ward_id"].astype(str),
                     boundaries["name"] if "name" in boundaries.columns else boundaries["ward_id"], strict=True))
    parts = []
    for text in unknown[:10]:
        close = difflib.get_close_matches(slugify(str(text)) or str(text), list(lookup), n=6, cutoff=0.6)
        hint = list(dict.fromkeys(f"{names.get(lookup[c], lookup[c])} ({lookup[c]})" for c in close))[:3]
        parts.append(f"{text!r}" + (f" (did you mean {', '.join(hint)}?)" if hint else ""))
    more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
    return (f"unknown ward(s) {', '.join(parts)}{more}: expected a ward id or name of the boundaries "
            f"({len(names)} wards, e.g. {', '.join(list(names)[:3])})")
