"""What deploy/Dockerfile's build stage installs runs the whole flow, and nothing more.

There is no container engine here, so the test takes the image's own steps instead: the
production requirements written out of pdm.lock and installed with their hashes checked into
a fresh venv, then a wheel of the project (`pip wheel --no-deps .`), installed apart from the
source tree; every service runs from that venv. A file the package needs at run time but the
wheel leaves out (a Lua script, a proto stub), or a package the services import but the
runtime dependencies leave out, fails it, as it would fail the image."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.chaos.harness import make_load, stack

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PDM = Path(sys.prefix) / "pdm" / "bin" / "pdm"  # the Makefile's
LOCAL_ONLY = ("aiosmtpd", "rich")  # the local extra


def test_the_dockerfile_installs_the_lock_then_the_package() -> None:
    steps = DOCKERFILE.read_text(encoding="utf-8")
    export = steps.index("pdm export --prod -o /tmp/requirements.txt")
    locked = steps.index("pip install --require-hashes --no-deps -r /tmp/requirements.txt")
    wheel = steps.index("pip wheel --no-deps --wheel-dir /dist .")
    assert export < locked < wheel < steps.index("pip install --no-deps /dist/shipnotify-*.whl")


def test_the_dockerfile_and_the_makefile_install_the_same_pdm() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (pins,) = re.findall(r"^PDM_PINS\s*:=\s*(.+)$", makefile, re.MULTILINE)
    (installed,) = re.findall(r"/opt/pdm/bin/pip install (.+?) \\", DOCKERFILE.read_text())
    assert shlex.split(installed) == pins.split()


async def test_the_image_s_install_runs_every_service_without_the_local_extra(
    tmp_path: Path,
) -> None:
    python = _install_as_the_image_does(tmp_path)
    _check_the_local_extra_is_absent(python)
    (tmp_path / "stack").mkdir()
    parcels = make_load(4, seed=5)
    expected = set().union(*(p.expected()[2] for p in parcels))
    async with stack(tmp_path / "stack") as s:
        s.services.python = python
        s.start_all()
        await s.ready()
        await s.drive(parcels, over_s=0.5)
        await s.settle(parcels)
        delivered = s.delivered()
    assert delivered == dict.fromkeys(expected, 1)  # every notice, once


def _install_as_the_image_does(tmp_path: Path) -> str:
    """The build stage's steps; returns the venv's python."""
    assert PDM.is_file(), f"{PDM} is missing (the Makefile installs it)"
    src, dist, venv = tmp_path / "src", tmp_path / "dist", tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    requirements = tmp_path / "requirements.txt"
    subprocess.run(
        [str(PDM), "export", "--prod", "-o", str(requirements)],
        cwd=ROOT,
        env={**os.environ, "PDM_CHECK_UPDATE": "false", "PDM_PYTHON": python},
        check=True,
    )
    # this venv's pip works on that one; no bytecode: it would take as long as the rest
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "install", "--require-hashes", "--no-deps", "--no-compile", "-r", requirements],
        check=True,
    )
    # what the Dockerfile copies, and only that (a build in the tree would leave build/ there)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "services", src / "services", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(dist), str(src)], check=True)
    (wheel,) = dist.glob("shipnotify-*.whl")
    subprocess.run([*pip, "install", "--no-deps", str(wheel)], check=True)
    checked = subprocess.run([*pip, "check"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout  # the lock's runtime set is complete
    where = subprocess.run(
        [python, "-c", "import shipnotify; print(shipnotify.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the source tree
    return python


def _check_the_local_extra_is_absent(python: str) -> None:
    for name in LOCAL_ONLY:
        absent = subprocess.run([python, "-c", f"import {name}"], capture_output=True)
        assert absent.returncode != 0, f"{name} is in the image"
    dev = subprocess.run([python, "-m", "shipnotify", "dev"], capture_output=True, text=True)
    assert dev.returncode == 2
    assert "needs the local extra (aiosmtpd, rich missing)" in dev.stderr
