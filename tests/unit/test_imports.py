"""The import contract (pyproject.toml, [tool.importlinter]): no deployable imports another,
no package imports from a layer above its own. Checked by import-linter on this tree, and
shown to fail on a copy of it given one forbidden import."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def lint(cwd: Path, package_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_dir)}
    return subprocess.run(
        [LINT, "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_the_contract() -> None:
    done = lint(ROOT, ROOT / "services")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        # a deployable importing another's module
        ("status_api/app.py", "from shipnotify.notifier import worker"),
        # a shared package importing a deployable
        ("i18n/labels.py", "from shipnotify.status_api import page"),
        # a lower layer importing a higher one: the store must not know Kafka
        ("store/intact.py", "from shipnotify import kafka"),
        # the pure model importing the settings
        ("model/status.py", "from shipnotify import config"),
        # the safe-target rules, which every layer may use, use no layer but the lowest
        ("targets.py", "from shipnotify.store import keys"),
    ],
)
def test_a_forbidden_import_breaks_it(tmp_path: Path, module: str, line: str) -> None:
    shutil.copytree(
        ROOT / "services" / "shipnotify",
        tmp_path / "services" / "shipnotify",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    changed = tmp_path / "services" / "shipnotify" / module
    text = changed.read_text()
    changed.write_text(text.replace("\nfrom ", f"\n{line}  # noqa\nfrom ", 1))
    done = lint(tmp_path, tmp_path / "services")
    assert done.returncode == 1, done.stdout
    importer = "shipnotify." + module.removesuffix(".py").replace("/", ".")
    assert "1 broken" in done.stdout
    assert importer in done.stdout, done.stdout


# -- the map: every folder's README says what it may import, and it is true ----------------

PACKAGE = ROOT / "services" / "shipnotify"


def code_folders() -> list[Path]:
    return sorted(
        d
        for d in [PACKAGE, *PACKAGE.rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
    )


def declared(folder: Path) -> set[str]:
    lines = (folder / "README.md").read_text().splitlines()
    (line,) = [x for x in lines if x.startswith("May import:")]
    names = line.removeprefix("May import:").split("(")[0].strip().rstrip(".")
    return set() if names == "nothing" else {n.strip() for n in names.split(",")}


@functools.cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("shipnotify", cache_dir=None)


def imported(folder: Path) -> set[str]:
    """The top-level parts of shipnotify that the folder's modules import (its own aside)."""
    own = "shipnotify." + folder.name
    return {
        target.split(".")[1]
        for module in graph().find_descendants(own) | {own}
        for target in graph().find_modules_directly_imported_by(module)
        if target.startswith("shipnotify.") and target.split(".")[1] != folder.name
    }


def test_every_folder_of_code_has_a_readme() -> None:
    missing = [str(d.relative_to(ROOT)) for d in code_folders() if not (d / "README.md").is_file()]
    assert missing == []


@pytest.mark.parametrize(
    "folder", [d for d in code_folders() if d.parent == PACKAGE and d.name != "v1"], ids=str
)
def test_each_folder_imports_only_what_its_readme_says(folder: Path) -> None:
    assert imported(folder) - {"v1"} <= declared(folder), folder / "README.md"


def test_the_readme_check_sees_imports() -> None:
    assert {"store", "web", "config"} <= imported(PACKAGE / "hooks")
    assert declared(PACKAGE / "model") == {"v1"}
