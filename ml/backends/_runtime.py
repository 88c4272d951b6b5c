"""Shared runtime settings for torch-backed models (threads, device, offline mode)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")

_lock = threading.Lock()
_configured = False


def force_offline() -> None:
    """Never let transformers/huggingface_hub reach the network for weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def torch_threads() -> int:
    """Threads for torch from ``KEFU_TORCH_THREADS`` (default: all visible cores).

    Pinning matters: torch sharing cores with another busy process is 25-75x slower.
    """
    raw = os.environ.get("KEFU_TORCH_THREADS", "").strip()
    if raw:
        try:
            n = int(raw)
        except ValueError as exc:  # fail loudly on bad settings
            raise ValueError(f"KEFU_TORCH_THREADS must be an integer, got {raw!r}") from exc
        if n < 1:
            raise ValueError(f"KEFU_TORCH_THREADS must be >= 1, got {n}")
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def configure_torch() -> None:
    """Apply thread pinning once per process (idempotent, thread-safe)."""
    global _configured
    with _lock:
        if _configured:
            return
        force_offline()
        import torch

        torch.set_num_threads(torch_threads())
        _configured = True


def pick_device(preferred: str | None = None) -> str:
    """``KEFU_DEVICE`` / explicit choice, else CUDA when available, else CPU."""
    import torch

    choice = preferred or os.environ.get("KEFU_DEVICE", "").strip() or None
    if choice:
        return choice
    return "cuda" if torch.cuda.is_available() else "cpu"


class ProcessWide(Generic[_T]):
    """One `factory()` result per process, built on the first `get()` (double-checked
    locking: threads that race on the first call build it once)."""

    def __init__(self, factory: Callable[[], _T]) -> None:
        self._factory = factory
        self._value: _T | None = None
        self._lock = threading.Lock()

    def get(self) -> _T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
        return self._value
