"""CRS helpers of the readers: parse ``crs=``, label, WGS 84 test, Earth check."""
from __future__ import annotations

from typing import Any

from pyproj import CRS

from ward_geo.errors import InputError, ParameterError


def _resolve_crs(value: Any, what: str = "crs") -> CRS | None:
    if value is None:
        return None
    try:
        return CRS.from_user_input(value)
    except Exception:  # noqa: BLE001 - pyproj raises CRSError and others
        raise ParameterError(
            f"{what}={value!r} is not a known CRS (expected for example 'EPSG:3405' or 4326)"
        ) from None


def _crs_label(crs: CRS | None) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_string()


def _is_wgs84(crs: CRS) -> bool:
    return crs.is_geographic and crs.to_epsg() == 4326 or crs.equals(CRS.from_epsg(4326), ignore_axis_order=True)


def _check_earth_crs(crs: CRS, name: str) -> None:
    """Refuse a CRS that is not of the Earth (a Mars GEOGCS, for example)."""
    try:
        axis = crs.ellipsoid.semi_major_metre if crs.ellipsoid is not None else None
    except Exception:  # noqa: BLE001 - pyproj may not know the datum
        axis = None
    if axis is None or not 6_350_000 <= axis <= 6_400_000:
        label = (crs.name or "unnamed")[:80]
        raise InputError(f"{name}: unknown CRS {label!r}: not a CRS of the Earth (semi-major axis "
                         f"{axis if axis is not None else 'unknown'} m); pass crs= with an EPSG code",
                         details={"field": "crs"})
