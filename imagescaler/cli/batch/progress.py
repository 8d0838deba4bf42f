"""The run's progress bar (tqdm: items/s, ETA, failures; silent unless on a terminal) and
its closing summary."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from imagescaler.cli.batch.command import Plan


class Progress:
    def __init__(self, total: int) -> None:
        self._bar = tqdm(
            total=total, unit="img", desc="batch", disable=not sys.stderr.isatty(), smoothing=0.1
        )

    def advance(self, failed: int) -> None:
        self._bar.update(1)
        if failed:
            self._bar.set_postfix(failed=failed, refresh=False)

    def close(self) -> None:
        self._bar.close()


def summary_table(
    plan: Plan, counts: Counter[str], failed: int, seconds: float, interrupted: bool
) -> str:
    worked = counts["written"] + counts["failed"]
    rate = f"{worked / seconds:.1f} images/s" if seconds > 0 and worked else ""
    earlier = counts["failed before"]
    rows = [
        ("items", len(plan.items), "images in the source"),
        ("written", counts["written"], f"this run, in {counts['shards']} new shards"),
        ("skipped", counts["skipped"], "written before (same bytes, same profile)"),
        (
            "failed",
            failed,
            ((f"{earlier} as before; " if earlier else "") + "see errors.jsonl") if failed else "",
        ),
        ("seconds", f"{seconds:.1f}", rate),
    ]
    if plan.left_out:
        kinds = ", ".join(f"{n} {suffix}" for suffix, n in sorted(plan.left_out.items()))
        rows.append(("left out", sum(plan.left_out.values()), f"not images: {kinds}"))
    state = "stopped: finished work kept, rerun to resume" if interrupted else "done"
    lines = [f"{state}: {plan.output.where} ({plan.reference})"]
    lines += [f"  {name:<8} {value!s:>8}  {note}".rstrip() for name, value, note in rows]
    return "\n".join(lines)
