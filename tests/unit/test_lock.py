"""pdm.lock pins the whole tree that pyproject.toml asks for, with hashes, and no more than the
deployables need goes into production."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PDM = Path(sys.prefix) / "pdm" / "bin" / "pdm"  # the Makefile's


def _check(project: Path) -> subprocess.CompletedProcess[str]:
    assert PDM.is_file(), f"{PDM} is missing (the Makefile installs it)"
    env = {**os.environ, "PDM_CHECK_UPDATE": "false", "PDM_PYTHON": sys.executable}
    argv = [str(PDM), "lock", "--check", "-G", ":all"]
    return subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)


def _lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pdm.lock").read_text(encoding="utf-8"))


def test_the_lock_matches_pyproject() -> None:
    checked = _check(ROOT)
    assert checked.returncode == 0, checked.stderr


def test_a_dependency_the_lock_does_not_know_fails_the_check(tmp_path: Path) -> None:
    shutil.copy2(ROOT / "pdm.lock", tmp_path / "pdm.lock")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    changed = pyproject.replace('"orjson>=3.10",', '"orjson>=3.10",\n    "six>=1.16",')
    assert changed != pyproject
    (tmp_path / "pyproject.toml").write_text(changed, encoding="utf-8")
    checked = _check(tmp_path)
    assert checked.returncode != 0
    assert "doesn't satisfy the project requirements" in checked.stderr


def test_every_locked_file_has_a_hash_and_no_address() -> None:
    text = (ROOT / "pdm.lock").read_text(encoding="utf-8")
    assert "://" not in text
    for package in _lock()["package"]:
        assert package["files"], package["name"]
        for f in package["files"]:
            assert f["hash"].startswith("sha256:"), (package["name"], f)


def test_the_local_stack_s_packages_stay_out_of_production() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {d.split(">")[0].split("[")[0].lower() for d in project["dependencies"]}
    assert {"aiosmtpd", "rich"} <= {
        d.split(">")[0].lower() for d in project["optional-dependencies"]["local"]
    }
    assert not runtime & {"aiosmtpd", "rich", "pytest", "ruff", "mypy", "playwright"}
    production = {p["name"] for p in _lock()["package"] if "default" in p["groups"]}
    assert not production & {"aiosmtpd", "rich", "pytest", "playwright"}
