"""Interrupting real `imagescaler batch` runs at random moments, with another process loading
the CPU: SIGINT and SIGTERM (once: stop taking work and complete the open shard; twice: stop
at once) and SIGKILL. After every interrupt, every shard is a whole tar, every journalled item
reads back; the last rerun completes the set with no item lost and none twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.preprocess import preprocess
from imagescaler.shards import ShardDataset
from tests.support.images import encode, open_bytes, shared_image
from tests.support.local_system import IMAGESCALER
from tests.support.shards import assert_consistent
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ROUNDS = 30  # interrupts per signal kind
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 JPEGs cropped from a photo, 240-720 px wide, in two class folders."""
    folder = tmp_path_factory.mktemp("photos")
    photo = open_bytes(shared_image("bird_1920x1080.jpg"))
    chooser = random.Random(7)
    for number in range(60):
        width = chooser.randint(240, 720)
        left, top = chooser.randint(0, 1920 - width), chooser.randint(0, 1080 - width * 3 // 4)
        crop = photo.crop((left, top, left + width, top + width * 3 // 4))
        target = folder / ("odd" if number % 2 else "even") / f"{number:03d}.jpg"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(encode(crop, "JPEG", quality=85))
    return folder


@pytest.fixture(scope="module")
def busy_cpu() -> Iterator[None]:
    """Another process keeps one core busy throughout."""
    with subprocess.Popen([sys.executable, "-c", "while True: pass"]) as spinner:
        yield
        spinner.kill()


def moment(out: Path, chooser: random.Random) -> tuple[str, int]:
    """A random moment of the next run, as a condition on what it will have written."""
    kind = chooser.choice(["journal lines", "open shard bytes", "shards"])
    if kind == "journal lines":
        return kind, written(out, kind) + chooser.randint(1, 12)
    if kind == "open shard bytes":
        return kind, chooser.randint(1, 6_000_000)
    return kind, written(out, kind) + chooser.randint(1, 3)


def size(path: Path) -> int:
    """0 for a file renamed or removed since it was listed."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def written(out: Path, kind: str) -> int:
    if kind == "journal lines":
        journal = out / "progress.jsonl"
        return journal.read_bytes().count(b"\n") if journal.exists() else 0
    if kind == "open shard bytes":
        return max((size(p) for p in out.glob("shard-*.tar.tmp")), default=0)
    return len(list(out.glob("shard-*.tar")))


EXPECTED = {f"{'odd' if n % 2 else 'even'}/{n:03d}_jpg" for n in range(60)}


@pytest.mark.usefixtures("busy_cpu")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=str)
def test_interrupts_at_random_moments_lose_nothing(
    photos: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    chooser = random.Random(int(stop))
    outs = [tmp_path / "out-0"]
    endings: Counter[int] = Counter()
    for round_ in range(ROUNDS):
        out = outs[-1]
        kind, value = moment(out, chooser)
        twice = stop != signal.SIGKILL and chooser.random() < 0.5
        run, errors = interrupt(
            random_arguments(photos, out, chooser), out, kind, value, stop=stop, twice=twice
        )
        what = f"round {round_}: {stop.name}{' twice' if twice else ''} at {kind} {value}"
        # -stop: the signal came while Python was still starting, before the run began.
        assert run.returncode in (EXIT[stop], -stop, 0), f"{what}: {run.returncode} {errors}"
        assert run.returncode == -stop or "Traceback" not in errors, f"{what}: {errors}"
        if set(assert_consistent(out)) == EXPECTED:
            outs.append(tmp_path / f"out-{len(outs)}")  # complete: the next rounds start afresh
        endings[run.returncode] += 1
    print(f"{stop.name}: exit statuses {dict(endings)}, {len(outs)} output folders")
    assert endings[EXIT[stop]] >= ROUNDS // 2, "most interrupts must land in a running batch"
    for out in outs:
        final = batch_to_the_end(photos, out)
        assert final.returncode == 0, final.stdout + final.stderr
        assert set(assert_consistent(out)) == EXPECTED
        assert not list(out.glob("*.tmp"))
    profile = BUILTIN_PROFILES["yolo-640"]
    for sample in list(ShardDataset(str(outs[0] / "shard-*.tar"), profile))[::7]:
        reference = preprocess((photos / sample.key.replace("_jpg", ".jpg")).read_bytes(), profile)
        assert np.array_equal(sample.array, reference.array), sample.key
        assert sample.label == sample.key.split("/")[0]


def interrupt(
    args: list[str], out: Path, kind: str, value: int, *, stop: signal.Signals, twice: bool
) -> tuple[subprocess.Popen[str], str]:
    """Start a batch run, signal it once the moment comes (or it ended first), let it end."""
    with subprocess.Popen(
        [*IMAGESCALER, "batch", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as run:
        moment_came = lambda: run.poll() is not None or written(out, kind) >= value  # noqa: E731
        wait_until(moment_came, 120, f"{kind} {value}")
        run.send_signal(stop)
        if twice:
            run.send_signal(stop)
        _, errors = run.communicate(timeout=120)
    return run, errors


def random_arguments(photos: Path, out: Path, chooser: random.Random) -> list[str]:
    return [str(photos), "--profile", "yolo-640", "--out", str(out), "--local",
            "--labels-from-folders", "--shard-size", str(chooser.randint(2, 6)),
            "--shard-bytes", f"{chooser.randint(2, 12)}MB",
            "--store", chooser.choice(["levels", "tensor"])]  # fmt: skip


def batch_to_the_end(photos: Path, out: Path) -> subprocess.CompletedProcess[str]:
    args = [str(photos), "--profile", "yolo-640", "--out", str(out), "--local"]
    return subprocess.run(
        [*IMAGESCALER, "batch", *args, "--labels-from-folders"],
        capture_output=True,
        text=True,
        check=False,
    )
