"""WebDataset shards of preprocessed samples: the sample layout (`layout`), a writer that never
leaves half a shard (`writer`), a reader (`reader`), and the training loader (`loader`).

    from imagescaler.shards import ShardDataset
    for sample in ShardDataset("out/shard-*.tar", profile="yolo-640"):
        sample.array, sample.geometry, sample.label, sample.key
"""

from __future__ import annotations

from typing import Any

__all__ = ["ProfileMismatch", "ShardDataset", "TrainingSample", "collate", "decode_sample"]


def __getattr__(name: str) -> Any:
    # The loader imports torch where it is installed: only when the loader is asked for, so
    # that the batch command, which writes shards, never pays for it.
    if name in __all__:
        from imagescaler.shards import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
