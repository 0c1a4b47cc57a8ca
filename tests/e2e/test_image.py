"""What deploy/Dockerfile's build stage installs runs the whole flow.

There is no container engine here, so the test takes the image's own steps instead: a wheel
of the project (`pip wheel --no-deps .`), installed apart from the source tree, and every
service run from that install. A file the package needs at run time but the wheel leaves out
(a Lua script, a proto stub) fails it, as it would fail the image."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.chaos.harness import make_load, stack

ROOT = Path(__file__).resolve().parents[2]


def test_the_dockerfile_builds_the_package_in_two_steps() -> None:
    steps = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "pip wheel --no-deps --wheel-dir /dist ." in steps
    assert "pip install /dist/shipnotify-*.whl" in steps


async def test_the_wheel_the_image_installs_runs_every_service(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(_install_wheel(tmp_path))}
    (tmp_path / "stack").mkdir()
    parcels = make_load(4, seed=5)
    expected = set().union(*(p.expected()[2] for p in parcels))
    async with stack(tmp_path / "stack") as s:
        s.start_all(env=env)
        await s.ready()
        await s.drive(parcels, over_s=0.5)
        await s.settle(parcels)
        delivered = s.delivered()
    assert delivered == dict.fromkeys(expected, 1)  # every notice, once


def _install_wheel(tmp_path: Path) -> Path:
    src, dist, site = tmp_path / "src", tmp_path / "dist", tmp_path / "site"
    # what the Dockerfile copies, and only that (a build in the tree would leave build/ there)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "services", src / "services", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(dist), str(src)], check=True)
    (wheel,) = dist.glob("shipnotify-*.whl")
    # the dependencies are this venv's; only the package itself comes from the wheel
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    where = subprocess.run(
        [sys.executable, "-c", "import shipnotify; print(shipnotify.__file__)"],
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout  # not the source tree
    return site
