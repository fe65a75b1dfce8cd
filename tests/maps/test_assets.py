"""Pinned browser assets: fetched with npm, verified, inlined without any network reference."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ward_geo.errors import ConfigurationError
from ward_geo.maps import assets


def test_manifest_pins_versions_licences_and_integrity() -> None:
    packages = assets.load_manifest()
    names = [p.name for p in packages]
    assert names[0] == "leaflet"
    assert {"leaflet", "leaflet.markercluster", "leaflet.heat", "leaflet.fullscreen"} <= set(names)
    for p in packages:
        assert re.fullmatch(r"\d+\.\d+\.\d+", p.version), p
        assert p.license in {"MIT", "BSD-2-Clause"}
        assert p.integrity.startswith("sha512-") and len(p.integrity) > 80
        assert all(f.kind in {"js", "css", "resource"} for f in p.files)
    # Nothing third-party is committed: only the manifest lives in the package.
    package_dir = Path(assets.__file__).parent
    committed = {p.name for p in package_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert not any(n.endswith((".png", ".svg")) or n.startswith(("leaflet", "MarkerCluster")) for n in committed)


def test_fetch_verifies_and_unpacks_listed_files() -> None:
    folders = assets.fetch_assets()
    for package in assets.load_manifest():
        folder = folders[package.spec]
        for f in package.files:
            assert (folder / f.path).is_file()
        assert (folder / package.license_file).read_text(encoding="utf-8").strip()
        stamp = json.loads((folder / "ward_geo-asset.json").read_text(encoding="utf-8"))
        assert stamp["integrity"] == package.integrity
        # Only the listed files (plus licence and stamp) are unpacked.
        unpacked = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
        assert unpacked == {f.path for f in package.files} | {package.license_file, "ward_geo-asset.json"}


def test_bundle_is_inline_and_offline() -> None:
    bundle = assets.asset_bundle()
    css = "\n".join(text for _, text in bundle.css)
    js = "\n".join(text for _, text in bundle.js)
    # Every url() in the CSS is inlined as data (or is the VML behaviour hack of old IE).
    for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
        assert ref.startswith("data:") or ref.startswith("#default#"), ref
    assert "MarkerClusterGroup" in js and "heatLayer" in js and "Control.FullScreen" in js
    assert "</script" not in js.lower()
    html = bundle.html()
    assert html.count("<script") == len(bundle.js) and html.count("<style") == len(bundle.css)


def test_modified_asset_is_detected(tmp_path: Path) -> None:
    source = assets.assets_dir()
    assets.fetch_assets(source)
    copy = tmp_path / "assets"
    shutil.copytree(source, copy)
    assets.asset_bundle(copy, fetch=False)  # intact copy verifies
    leaflet = next(p for p in assets.load_manifest() if p.name == "leaflet")
    target = copy / leaflet.spec / "dist" / "leaflet.js"
    target.write_text(target.read_text(encoding="utf-8") + "\nwindow.__tampered = 1;\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="missing or modified"):
        assets.asset_bundle(copy, fetch=False)
    # Fetching again restores the verified package.
    assets.fetch_assets(copy)
    assert "__tampered" not in target.read_text(encoding="utf-8")


def test_licence_table_rows() -> None:
    rows = assets.licence_table()
    assert [r["package"] for r in rows] == [p.name for p in assets.load_manifest()]
    assert all(r["license"] and r["files"] and r["integrity"] for r in rows)
