"""Third-party browser assets (Leaflet and plugins) for self-contained maps.

The assets are not part of the repository. The committed manifest ``assets.json`` pins each
npm package (name, version, the integrity hash published by the registry, licence and the
files used). :func:`fetch_assets` runs ``npm pack NAME@VERSION`` for every package, checks
the tarball's SHA-512 against the manifest, and extracts only the listed files (and the
licence) into ``<settings.resolved_cache_dir>/assets/NAME@VERSION/``. Maps then inline them:
JavaScript and CSS as text, images and fonts referenced from CSS as ``data:`` URIs, so the
written HTML needs no network at all.

``ward-geo assets fetch`` runs :func:`fetch_assets`; a map build fetches missing assets
automatically when ``npm`` is available.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from ward_geo.errors import ConfigurationError

__all__ = [
    "AssetFile",
    "AssetPackage",
    "load_manifest",
    "assets_dir",
    "fetch_assets",
    "asset_bundle",
    "licence_table",
]

_STAMP = "ward_geo-asset.json"
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


@dataclass(frozen=True)
class AssetFile:
    """One file used from a package: ``path`` inside the package, ``kind`` js|css|resource."""

    path: str
    kind: str


@dataclass(frozen=True)
class AssetPackage:
    """One pinned npm package of the manifest."""

    name: str
    version: str
    license: str
    license_file: str
    homepage: str
    integrity: str
    files: tuple[AssetFile, ...]

    @property
    def spec(self) -> str:
        """``name@version`` as given to ``npm pack``."""
        return f"{self.name}@{self.version}"


def load_manifest() -> tuple[AssetPackage, ...]:
    """Read the committed asset manifest (``ward_geo/maps/assets.json``).

    Returns
    -------
    tuple of AssetPackage
        In inclusion order (Leaflet first, plugins after).
    """
    text = resources.files("ward_geo.maps").joinpath("assets.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    packages = []
    for entry in raw["packages"]:
        files = tuple(AssetFile(f["path"], f["kind"]) for f in entry["files"])
        packages.append(
            AssetPackage(
                name=entry["name"],
                version=entry["version"],
                license=entry["license"],
                license_file=entry["license_file"],
                homepage=entry.get("homepage", ""),
                integrity=entry["integrity"],
                files=files,
            )
        )
    return tuple(packages)


def assets_dir(base: Path | None = None) -> Path:
    """Folder holding the fetched assets (``<cache_dir>/assets`` unless ``base`` is given)."""
    if base is not None:
        return Path(base)
    from ward_geo.settings import get_settings

    return get_settings().resolved_cache_dir / "assets"


def _package_dir(base: Path, package: AssetPackage) -> Path:
    return base / package.spec


def _sha512_integrity(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_complete(base: Path, package: AssetPackage) -> bool:
    folder = _package_dir(base, package)
    stamp = folder / _STAMP
    if not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    if recorded.get("integrity") != package.integrity:
        return False
    hashes = recorded.get("sha256", {})
    for name in [f.path for f in package.files] + [package.license_file]:
        path = folder / name
        if not path.is_file() or hashes.get(name) != _sha256(path):
            return False
    return True


def _npm_pack(package: AssetPackage, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigurationError(
            f"map assets missing and npm not found: install Node.js/npm and run `ward-geo assets fetch` "
            f"(needs {package.spec}), or copy a fetched assets folder into {assets_dir()}"
        )
    try:
        proc = subprocess.run(
            [npm, "pack", package.spec, "--json", "--pack-destination", str(workdir)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ConfigurationError(f"`npm pack {package.spec}` timed out after 300 s") from exc
    if proc.returncode != 0:
        raise ConfigurationError(f"`npm pack {package.spec}` failed: {proc.stderr.strip()[-800:]}")
    try:
        info = json.loads(proc.stdout)[0]
    except (json.JSONDecodeError, IndexError, KeyError) as exc:
        raise ConfigurationError(f"`npm pack {package.spec}` printed unexpected output: {proc.stdout[:300]!r}") from exc
    if info.get("version") != package.version or info.get("name") != package.name:
        raise ConfigurationError(
            f"npm returned {info.get('name')}@{info.get('version')}, expected the pinned {package.spec}"
        )
    if info.get("integrity") != package.integrity:
        raise ConfigurationError(
            f"integrity of {package.spec} reported by npm ({info.get('integrity')}) differs from the manifest"
        )
    tarball = workdir / str(info["filename"])
    actual = _sha512_integrity(tarball)
    if actual != package.integrity:
        raise ConfigurationError(f"tarball of {package.spec} has integrity {actual}, manifest says {package.integrity}")
    return tarball


def _extract(tarball: Path, package: AssetPackage, target: Path) -> None:
    wanted = {f"package/{f.path}": f.path for f in package.files}
    wanted[f"package/{package.license_file}"] = package.license_file
    tmp = target.with_name(target.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    found: set[str] = set()
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            rel = wanted.get(member.name)
            if rel is None or not member.isfile():
                continue
            # Only names from the manifest are written, so no path can escape the target.
            dest = tmp.joinpath(*PurePosixPath(rel).parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                continue
            dest.write_bytes(source.read())
            found.add(rel)
    missing = sorted(set(wanted.values()) - found)
    if missing:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConfigurationError(f"{package.spec} tarball lacks files listed in the manifest: {missing}")
    stamp = {
        "package": package.name,
        "version": package.version,
        "integrity": package.integrity,
        "license": package.license,
        "sha256": {rel: _sha256(tmp / rel) for rel in sorted(found)},
    }
    (tmp / _STAMP).write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)


def fetch_assets(base: Path | None = None, *, force: bool = False) -> dict[str, Path]:
    """Download (``npm pack``), verify and unpack every pinned asset package.

    Parameters
    ----------
    base : Path, optional
        Destination folder; default ``<settings.resolved_cache_dir>/assets``.
    force : bool, default False
        Re-download packages that are already present and verified.

    Returns
    -------
    dict
        ``{"name@version": folder}`` for every package of the manifest.

    Raises
    ------
    ConfigurationError
        When npm is missing or fails, or a tarball's integrity differs from the manifest.
    """
    root = assets_dir(base)
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for package in load_manifest():
        folder = _package_dir(root, package)
        if force or not _is_complete(root, package):
            with tempfile.TemporaryDirectory(prefix="ward_geo_npm_") as tmp:
                tarball = _npm_pack(package, Path(tmp))
                _extract(tarball, package, folder)
        out[package.spec] = folder
    _bundle_cached.cache_clear()
    return out


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".svg":
        mime = "image/svg+xml"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _inline_css(css: str, folder: Path, css_path: str, package: AssetPackage) -> str:
    """Replace relative ``url(...)`` references with ``data:`` URIs of the listed resources."""
    listed = {f.path for f in package.files}
    base = PurePosixPath(css_path).parent

    def replace(match: re.Match[str]) -> str:
        ref = match.group(2).strip()
        if ref.startswith(("data:", "#")):
            return match.group(0)
        if re.match(r"^[a-z][a-z0-9+.-]*:", ref, re.I) or ref.startswith("//"):
            raise ConfigurationError(f"{package.spec}/{css_path} references an external URL {ref!r}")
        rel = str(PurePosixPath(*(base / ref).parts))
        parts: list[str] = []
        for part in PurePosixPath(rel).parts:
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        rel = "/".join(parts)
        if rel not in listed:
            raise ConfigurationError(f"{package.spec}/{css_path} needs {rel!r}, which the manifest does not list")
        return f'url("{_data_uri(folder / rel)}")'

    return _CSS_URL.sub(replace, css)


@dataclass(frozen=True)
class AssetBundle:
    """Inlined asset text: ``css`` and ``js`` are lists of (label, text) in manifest order."""

    css: tuple[tuple[str, str], ...]
    js: tuple[tuple[str, str], ...]

    def html(self) -> str:
        """``<style>`` and ``<script>`` elements with the assets inlined."""
        chunks = []
        for label, text in self.css:
            chunks.append(f"<style data-asset=\"{label}\">\n{text}\n</style>")
        for label, text in self.js:
            chunks.append(f"<script data-asset=\"{label}\">\n{text}\n</script>")
        return "\n".join(chunks)


def _script_safe(text: str) -> str:
    # A literal "</script" would end the inline element early; JS allows "<\/" anywhere.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)


@lru_cache(maxsize=4)
def _bundle_cached(root: str) -> AssetBundle:
    base = Path(root)
    css: list[tuple[str, str]] = []
    js: list[tuple[str, str]] = []
    for package in load_manifest():
        folder = _package_dir(base, package)
        for f in package.files:
            label = f"{package.spec}/{f.path}"
            text = (folder / f.path).read_text(encoding="utf-8") if f.kind != "resource" else ""
            if f.kind == "css":
                if "</style" in text.lower():
                    raise ConfigurationError(f"{label} contains '</style', which cannot be inlined")
                css.append((label, _inline_css(text, folder, f.path, package)))
            elif f.kind == "js":
                js.append((label, _script_safe(text)))
    return AssetBundle(css=tuple(css), js=tuple(js))


def asset_bundle(base: Path | None = None, *, fetch: bool = True) -> AssetBundle:
    """The inlined Leaflet/plugin assets, fetching them first when missing.

    Parameters
    ----------
    base : Path, optional
        Asset folder (default ``<cache_dir>/assets``).
    fetch : bool, default True
        Run :func:`fetch_assets` for missing or modified packages; when False, raise instead.
    """
    root = assets_dir(base)
    stale = [p for p in load_manifest() if not _is_complete(root, p)]
    if stale:
        if not fetch:
            names = ", ".join(p.spec for p in stale)
            raise ConfigurationError(f"map assets missing or modified in {root}: {names}; run `ward-geo assets fetch`")
        fetch_assets(root)
    return _bundle_cached(str(root.resolve()))


def licence_table() -> list[dict[str, Any]]:
    """Rows (package, version, licence, files, integrity) for documentation."""
    return [
        {
            "package": p.name,
            "version": p.version,
            "license": p.license,
            "files": [f.path for f in p.files],
            "integrity": p.integrity,
            "homepage": p.homepage,
        }
        for p in load_manifest()
    ]
