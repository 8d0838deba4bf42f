"""Existing clients keep working: a client generated from the verbatim original contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from imagescaler.grpc_runtime.server import RunningServer
from tests.support.images import open_bytes
from tests.support.paths import ROOT, SHARED_IMAGES

ORIGINAL = Path(__file__).parent / "original_client"


def compile_descriptor(proto_dir: Path, name: str, out: Path) -> descriptor_pb2.FileDescriptorProto:
    include = str(Path(protoc.__file__).parent / "_proto")
    assert (
        protoc.main(
            ["protoc", f"-I{proto_dir}", f"-I{include}", f"--descriptor_set_out={out}", name]
        )
        == 0
    )
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return descriptor_set.file[0]


def test_our_contract_is_wire_identical_to_the_original(tmp_path: Path) -> None:
    original = compile_descriptor(ORIGINAL, "imagescaler.proto", tmp_path / "original.pb")
    ours = compile_descriptor(ROOT / "proto", "imagescaler.proto", tmp_path / "ours.pb")
    assert ours.package == original.package == "imagescaler"
    assert ours.service == original.service
    assert ours.message_type == original.message_type


@pytest.fixture(scope="module")
def original_stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("original_stubs")
    include = str(Path(protoc.__file__).parent / "_proto")
    args = [
        "protoc",
        f"-I{ORIGINAL}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        "imagescaler.proto",
    ]
    assert protoc.main(args) == 0
    return out


def call_with_original_client(
    stubs: Path, port: int, kind: str, value: str, out: Path
) -> subprocess.CompletedProcess[str]:
    # A separate process: the original descriptors must not meet ours in one descriptor pool.
    return subprocess.run(
        [
            sys.executable,
            str(ORIGINAL / "call_server.py"),
            str(stubs),
            f"127.0.0.1:{port}",
            kind,
            value,
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=stubs,
    )


def test_original_client_scales_a_photo(
    original_stubs: Path, api: RunningServer, tmp_path: Path
) -> None:
    out = tmp_path / "out.jpg"
    result = call_with_original_client(
        original_stubs, api.port, "--file", str(SHARED_IMAGES / "hotdog_1400x1316.jpg"), out
    )
    assert result.returncode == 0, result.stdout + result.stderr
    image = open_bytes(out.read_bytes())
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (1024, 768))


def test_original_client_sees_a_clear_error(
    original_stubs: Path, api: RunningServer, tmp_path: Path
) -> None:
    result = call_with_original_client(
        original_stubs, api.port, "--url", "http://127.0.0.1/a.jpg", tmp_path / "out.jpg"
    )
    assert result.returncode == 1
    assert result.stdout.startswith("PERMISSION_DENIED") and "loopback" in result.stdout
