"""The outcome of the Dask DBSCAN: labelled rows kept on the workers, and their summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ward_geo.analysis.dask_partitions import _ROW_MASK, ROW_BITS
from ward_geo.categories import CATEGORY_CODES

__all__ = ["DaskDBSCANResult"]


@dataclass
class DaskDBSCANResult:
    """Outcome of :func:`dask_dbscan`: labelled rows on the workers plus summaries.

    Attributes
    ----------
    labelled : dask.dataframe.DataFrame
        One row per selected incident (persisted on the workers): ``gid``, metric ``x``,
        ``y``, ``score`` (category weight x severity), ``ward`` (index into
        ``ward_ids``, -1 none), ``cat`` (index into ``CATEGORY_CODES``, -1 other),
        ``t`` (UTC), ``label`` (-1 noise) and ``core``.
    partition_sizes : ndarray of int64
        Selected rows per input partition; the union's row ``offsets[p] + r`` has
        ``gid = p << 40 | r``.
    n, n_clusters, n_core : int
    eps, min_samples : float, int
    crs : pyproj.CRS
        Metric CRS of ``x``/``y``.
    ward_ids : list of str
    n_tiles, n_groups : int
        Occupied tiles, and tile groups (Dask tasks per step).
    tile_side : float
        Metres.
    halo_fraction : float
        Halo rows per own row.
    timings_s : dict
        Wall-clock seconds per step.
    """

    labelled: Any
    partition_sizes: np.ndarray
    n: int
    n_clusters: int
    n_core: int
    eps: float
    min_samples: float
    crs: Any
    ward_ids: list[str]
    n_tiles: int
    n_groups: int
    tile_side: float
    halo_fraction: float
    timings_s: dict[str, float]
    client: Any = field(repr=False, default=None)
    _futures: Any = field(repr=False, default=None)

    def _ordered(self, columns: list[str]) -> pd.DataFrame:
        parts = self.labelled[["gid", *columns]].compute()
        gid = parts["gid"].to_numpy()
        offsets = np.concatenate([[0], np.cumsum(self.partition_sizes)])
        pos = offsets[gid >> ROW_BITS] + (gid & _ROW_MASK)
        out = parts.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)
        return out

    def labels(self) -> np.ndarray:
        """Cluster label of every row of the union, in its row order (gathered on the driver)."""
        labels: np.ndarray = self._ordered(["label"])["label"].to_numpy(dtype=np.int64)
        return labels

    def labels_and_core(self) -> tuple[np.ndarray, np.ndarray]:
        """``labels`` and the sorted indices of the core points (like ``core_sample_indices_``)."""
        frame = self._ordered(["label", "core"])
        return frame["label"].to_numpy(dtype=np.int64), np.flatnonzero(frame["core"].to_numpy(dtype=bool))

    def cluster_stats(self) -> pd.DataFrame:
        """Per-cluster statistics computed on the workers (Dask group-by).

        Columns: ``label``, ``n_incidents``, ``n_core``, ``weighted_score``, ``x_min``,
        ``y_min``, ``x_max``, ``y_max``, ``x_mean``, ``y_mean`` (metric CRS), ``first_seen``,
        ``last_seen`` (UTC), sorted by label.
        """
        members = self.labelled[self.labelled["label"] >= 0]
        agg = members.groupby("label").agg(
            n_incidents=("gid", "count"),
            n_core=("core", "sum"),
            weighted_score=("score", "sum"),
            x_min=("x", "min"),
            y_min=("y", "min"),
            x_max=("x", "max"),
            y_max=("y", "max"),
            x_mean=("x", "mean"),
            y_mean=("y", "mean"),
            first_seen=("t", "min"),
            last_seen=("t", "max"),
        ).compute()
        agg = agg.sort_index().reset_index()
        agg["n_core"] = agg["n_core"].astype(np.int64)
        for col in ("first_seen", "last_seen"):
            agg[col] = pd.to_datetime(agg[col]).dt.tz_localize("UTC")
        return agg

    def ward_cluster_counts(self) -> pd.DataFrame:
        """Incidents per (ward, cluster) (Dask group-by): ``ward_id``, ``label``, ``n``."""
        members = self.labelled[self.labelled["label"] >= 0]
        counts = members.groupby(["ward", "label"]).size().compute()
        frame = counts.rename("n").reset_index()
        frame["ward_id"] = self._ward_names(frame["ward"].to_numpy())
        frame = frame.sort_values(["ward_id", "n", "label"], ascending=[True, False, True], na_position="last")
        return frame[["ward_id", "label", "n"]].reset_index(drop=True)

    def ward_stats(self) -> pd.DataFrame:
        """Per-ward hotspot statistics computed on the workers (Dask group-bys).

        Columns: ``ward_id`` (``None`` for incidents in no ward), ``n_incidents``,
        ``n_hotspot_incidents``, ``hotspot_share``, ``n_hotspots`` (clusters with members
        in the ward), ``top_hotspot`` (label with most members there, ties: smaller
        label), ``top_hotspot_n``, ``category_counts`` (``{category: n}`` of the
        incidents in hotspots, largest first), sorted by ``n_hotspot_incidents``.
        """
        from dask.base import compute

        frame = self.labelled
        in_hot = frame["label"] >= 0
        totals, hot, cats = compute(  # type: ignore[no-untyped-call]
            frame.groupby("ward").size(),
            frame[in_hot].groupby(["ward", "label"]).size(),
            frame[in_hot].groupby(["ward", "cat"]).size(),
        )
        totals = totals.sort_index()
        out = pd.DataFrame({"ward": totals.index.to_numpy(), "n_incidents": totals.to_numpy(dtype=np.int64)})
        hot = hot.rename("n").reset_index().sort_values(["ward", "n", "label"], ascending=[True, False, True])
        per = hot.groupby("ward").agg(
            n_hotspot_incidents=("n", "sum"), n_hotspots=("label", "nunique"),
            top_hotspot=("label", "first"), top_hotspot_n=("n", "first"),
        )
        out = out.merge(per, left_on="ward", right_index=True, how="left")
        for col in ("n_hotspot_incidents", "n_hotspots", "top_hotspot_n"):
            out[col] = out[col].fillna(0).astype(np.int64)
        out["top_hotspot"] = out["top_hotspot"].astype("Int64")
        out["hotspot_share"] = np.round(out["n_hotspot_incidents"] / out["n_incidents"].clip(lower=1), 6)
        cats = cats.rename("n").reset_index()
        names = np.array([*CATEGORY_CODES, "other"], dtype=object)
        cats["name"] = names[np.where(cats["cat"] >= 0, cats["cat"], len(CATEGORY_CODES))]
        cats = cats.sort_values(["ward", "n", "cat"], ascending=[True, False, True])
        cat_map = {int(w): {str(k): int(v) for k, v in zip(g["name"], g["n"], strict=True)}
                   for w, g in cats.groupby("ward")}
        out["category_counts"] = [cat_map.get(int(w), {}) for w in out["ward"]]
        out.insert(0, "ward_id", self._ward_names(out["ward"].to_numpy()))
        out = out.drop(columns="ward").sort_values(
            ["n_hotspot_incidents", "ward_id"], ascending=[False, True], na_position="last"
        )
        cols = ["ward_id", "n_incidents", "n_hotspot_incidents", "hotspot_share", "n_hotspots",
                "top_hotspot", "top_hotspot_n", "category_counts"]
        return out[cols].reset_index(drop=True)

    def _ward_names(self, codes: np.ndarray) -> list[str | None]:
        names = self.ward_ids
        return [names[int(c)] if 0 <= int(c) < len(names) else None for c in codes]

    def release(self) -> None:
        """Drop the persisted rows from the workers."""
        self.labelled = None
        self._futures = None
