"""The committed stubs in grpc_stubs/ are exactly what the .proto files generate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def test_stubs_match_the_proto_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_stubs.py"), "--out", str(tmp_path)],
        check=True,
    )
    fresh = {p.name: p.read_bytes() for p in (tmp_path / "grpc_stubs").iterdir()}
    committed = {
        p.name: p.read_bytes()
        for p in (ROOT / "grpc_stubs").iterdir()
        if p.suffix in (".py", ".pyi") and p.name != "__init__.py"
    }
    assert fresh.keys() == committed.keys()
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"run `make proto`: {stale} differ from what proto/ generates"
