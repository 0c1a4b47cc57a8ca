"""The checked-in protobuf code is what proto/generate.sh makes from the .proto files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    subprocess.run(
        ["bash", str(ROOT / "proto" / "generate.sh"), str(tmp_path)], check=True, env=env
    )
    checked_in = ROOT / "services" / "shipnotify" / "v1"
    made = sorted(p.name for p in (tmp_path / "shipnotify" / "v1").iterdir())
    assert made == sorted(p.name for p in checked_in.glob("*_pb2.py*"))
    assert "shipment_events_pb2.py" in made
    for name in made:
        assert (tmp_path / "shipnotify" / "v1" / name).read_text() == (
            checked_in / name
        ).read_text(), f"{name} is stale: run proto/generate.sh"
