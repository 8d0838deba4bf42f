"""One sample of a shard: KEY.<extension> holds the data, KEY.json describes it.

KEY.json holds everything needed to use the data and to trace it: the profile reference, the
geometry, the source, its SHA-256 and size, the label, and for tensor profiles how the array
is stored and how it is normalised at load. A shard is self-describing: a run can rebuild its
journal from the shard alone."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from imagescaler.imaging.profiles import TensorOutput

CLASSES = "classes.json"  # {"label": index}, beside the index of a run whose items have labels
SHARD_NAME = re.compile(r"^shard-(\d{6})\.tar$")
LEVELS = "levels"  # uint8, in the profile's layout; normalised when loaded
TENSOR = "tensor"  # the finished tensor, as preprocess() returns it
STORAGE = (LEVELS, TENSOR)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SampleRecord:
    """What KEY.json holds."""

    key: str
    profile: str  # the reference: name@version#hash
    geometry: dict[str, Any]
    source: str
    sha256: str  # of the source's bytes
    source_bytes: int
    output: str  # "3x640x640 float32", "1024x768 jpg"
    label: str | None = None
    tensor: dict[str, Any] | None = None  # tensor_spec(): storage and normalisation

    def to_json(self) -> bytes:
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps(fields, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> SampleRecord:
        return cls.from_fields(json.loads(data))

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> SampleRecord:
        """Unknown fields are left out: a newer writer may add some."""
        return cls(**{name: fields[name] for name in cls.__dataclass_fields__ if name in fields})


def tensor_spec(output: TensorOutput, stored: str) -> dict[str, Any]:
    """How a tensor is stored ("levels" or "tensor") and the profile's output parameters."""
    return {"stored": stored, **output.model_dump(mode="json")}


def spec_output(spec: dict[str, Any]) -> TensorOutput:
    return TensorOutput.model_validate({k: v for k, v in spec.items() if k != "stored"})


def check_key(key: str) -> str:
    """The key, if it is a safe archive member name for WebDataset; ValueError saying why not.

    A key is a relative path: no leading /, no `..` or empty part, no control character, and
    no dot in its last part (WebDataset reads the first dot of a name as its extension)."""
    if not key:
        raise ValueError("a key cannot be empty")
    if _CONTROL.search(key):
        raise ValueError(f"the key {key!r} has a control character")
    if key.startswith("/") or "\\" in key:
        raise ValueError(f"the key {key!r} must be a relative path with / separators")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"the key {key!r} has an empty, . or .. part: it would leave the archive")
    if "." in parts[-1]:
        raise ValueError(
            f"the key {key!r} has a dot in its name: WebDataset would read the rest as the "
            "extension"
        )
    return key


def split_member(name: str) -> tuple[str, str]:
    """An archive member name as WebDataset reads it: (key, extension), split at the first
    dot of the last path part."""
    folder, _, base = name.rpartition("/")
    stem, _, extension = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), extension
