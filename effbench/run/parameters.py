"""A model's parameter count (for ACU): given in the config, else read from a local model's safetensors headers."""

from __future__ import annotations

import math
import struct
from pathlib import Path

from effbench.structured import load_json

HEADER_LIMIT = 100_000_000  # bytes: a safetensors header is JSON of the tensors' names, types and shapes


def model_parameters(model: str, given: float | None = None, revision: str | None = None) -> float | None:
    """Billions of parameters: `given` (a config's `parameters=`), else counted from the weights of the model's folder,
    or of its copy in the Hugging Face cache (where vLLM downloaded it); None where neither holds safetensors files
    (a server's model, a hub model not downloaded here)."""
    if given is not None:
        return given
    counted = counted_parameters(Path(model))
    if not counted and (cached := _cached(model, revision)) is not None:
        counted = counted_parameters(cached)
    return counted / 1e9 if counted else None


def _cached(model: str, revision: str | None) -> Path | None:
    """The model's snapshot in the Hugging Face cache, found without going online; None where it is not there."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, revision=revision, local_files_only=True))
    except Exception:  # not cached, not a hub name: nothing to count
        return None


def counted_parameters(folder: Path) -> int | None:
    """The elements of every tensor in the folder's `*.safetensors` files, from their headers alone (no weights read)."""
    try:
        files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
        return sum(_tensor_elements(path) for path in files) or None
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None


def _tensor_elements(path: Path) -> int:
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        if size > HEADER_LIMIT:
            raise ValueError(f"{path} has no safetensors header")
        header = load_json(handle.read(size))
    return sum(math.prod(entry["shape"]) for name, entry in header.items() if name != "__metadata__")
