"""Issue 9, item 11 (MEDIUM): LLM output unbounded.

Before the fix (red-team run): an endless OpenAI-compatible stream was handed off by the
respond task after 60 s, but the abandoned thread went on reading (29,170 tokens for
max_tokens 80) until the server stopped; a slow LLM gave the visitor 30-60 s of silence
although the extractive answer was ready in under a second. The client trusted the server
with ``max_tokens`` and had only a per-read timeout, which a server that trickles tokens
never trips.

The LLM here is a real HTTP server on 127.0.0.1 speaking the OpenAI streaming protocol
(endless, slow, or silent after its first token) that records what it sent and when it saw
the connection closed. The agent test runs the production entry point with the REAL MiniLM
encoder; the local-backend test uses the REAL SmolLM2-135M.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chat import tasks as chat_tasks
from ml.backends.generation import GenerationDeadline, OpenAICompatibleGenerator
from tests.ai.conftest import conversation, seed_team

MESSAGES = [{"role": "user", "content": "Say something."}]


class FakeLLMServer:
    """``POST /v1/chat/completions`` streaming forever in one of three modes:
    ``endless`` (as fast as it can), ``slow`` (one token per ``interval`` s) or ``silent``
    (one token, then nothing, holding the connection open)."""

    def __init__(self, mode: str, *, interval: float = 0.25, piece: str = " tok") -> None:
        self.mode, self.interval, self.piece = mode, interval, piece
        self.sent = 0
        self.requests: list[dict[str, Any]] = []
        self.closed = threading.Event()
        self.closed_at: float | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                outer.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    outer._serve(self)
                except OSError:  # BrokenPipe / ConnectionReset: the client closed the stream
                    pass
                outer.closed_at = time.monotonic()
                outer.closed.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _event(self, handler: BaseHTTPRequestHandler) -> None:
        delta = {"choices": [{"delta": {"content": self.piece}}]}
        handler.wfile.write(f"data: {json.dumps(delta)}\n\n".encode())
        handler.wfile.flush()
        self.sent += 1

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        self._event(handler)
        if self.mode == "endless":
            while True:
                self._event(handler)
        handler.connection.settimeout(self.interval)
        while True:  # slow / silent: stop when the client's end of the socket closes
            try:
                if handler.connection.recv(1) == b"":
                    return
            except TimeoutError:
                pass
            if self.mode == "slow":
                self._event(handler)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def llm_server():
    servers: list[FakeLLMServer] = []

    def start(mode: str, **kwargs: Any) -> FakeLLMServer:
        servers.append(FakeLLMServer(mode, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("piece", [" tok", "x" * 1000])
def test_11_reader_stops_at_max_tokens_and_closes_the_stream(llm_server, piece):
    """An endless stream: the reader returns after max_new_tokens (a 1,000-character piece
    counts as many tokens), and the server sees the connection closed. Before the fix the
    reader followed the server for as long as it kept sending."""
    server = llm_server("endless", piece=piece)
    generator = OpenAICompatibleGenerator(server.url, timeout=30)
    started = time.monotonic()
    pieces = list(generator.stream(MESSAGES, max_new_tokens=80, deadline_s=30))
    assert len(pieces) == (80 if piece == " tok" else 2)
    assert time.monotonic() - started < 5
    assert server.closed.wait(5), "the server never saw the connection closed"
    assert server.requests[0]["max_tokens"] == 80


@pytest.mark.parametrize("mode", ["slow", "silent"])
def test_11_reader_stops_at_the_deadline(llm_server, mode):
    """A server that trickles a token every 0.25 s (never tripping a read timeout) or goes
    silent after one token: the reader gives up at the deadline, even inside a blocked
    read, and closes the connection. Before the fix: the slow stream was read to its end,
    the silent one blocked for the full read timeout (30 s here, 60 s in production)."""
    server = llm_server(mode)
    generator = OpenAICompatibleGenerator(server.url, timeout=30)
    pieces: list[str] = []
    started = time.monotonic()
    with pytest.raises(GenerationDeadline):
        for piece in generator.stream(MESSAGES, max_new_tokens=100_000, deadline_s=1.5):
            pieces.append(piece)
    elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 2.5, elapsed
    assert 1 <= len(pieces) <= 8
    assert server.closed.wait(3), "the server never saw the connection closed"
    sent_at_close = server.sent
    time.sleep(0.6)
    assert server.sent == sent_at_close  # nobody is reading any more


@pytest.mark.django_db
def test_11_visitor_gets_the_extractive_answer_when_the_llm_is_silent(team_a, llm_server, settings):
    """Production entry point (the analyzer chat's respond task calls), real MiniLM, the LLM
    forced to run and silent after one token: the LLM's part ends at its 2 s deadline, the
    visitor gets the extractive answer, and the LLM connection is closed. Before the fix: 60 s of
    silence, then a model_error handoff while a thread kept reading."""
    from ml import serving
    from ml.serving import encode, get_state

    server = llm_server("silent")
    settings.KEFU_GENERATOR = "openai"
    settings.KEFU_GENERATOR_URL = server.url
    settings.KEFU_GENERATOR_DEADLINE_S = 2.0
    serving.drop_state()
    seed_team(team_a, use_generator=True, policy={"agent_settings": {"llm_below_relevance": 1.01}})
    analyze = chat_tasks.analyzer()
    # A warm worker: index built, encoder and language detector loaded (a greeting: no LLM).
    get_state(team_a.tenant.pk)
    encode(["warm up"])
    analyze(tenant_id=team_a.tenant.pk, conversation=conversation("Hello"))
    pieces: list[str] = []

    started = time.monotonic()
    result = analyze(tenant_id=team_a.tenant.pk, conversation=conversation("How long does standard shipping take?"),
                     on_token=pieces.append)
    elapsed = time.monotonic() - started
    serving.drop_state()

    explanation = result["explanation"]
    assert result["action"] == "answer", explanation
    extractive = next(c for c in explanation["candidates"] if c["kind"] == "extractive")
    assert result["text"] == extractive["text"] and "".join(pieces) == result["text"]
    assert "deadline" in explanation["generator_error"]
    timings = explanation["timings_ms"]
    assert timings["generation_ms"] < 2000 + 500, timings  # the LLM's share: its deadline
    assert elapsed < 2.0 + 6.0, (elapsed, timings)  # plus MiniLM's work on a shared 2-core machine
    assert server.requests and server.requests[0]["max_tokens"] == 80
    assert server.closed.wait(3), "the LLM connection was left open"


@pytest.mark.slow
def test_11_local_generator_stops_at_max_tokens_and_deadline():
    """REAL SmolLM2-135M: the token cap and the wall-clock cap hold for the local backend
    too (generate() is stopped between tokens, the model lock is free again at once)."""
    from ml.backends.generation import get_generator

    generator: Any = get_generator("local")
    list(generator.stream(MESSAGES, max_new_tokens=2))  # load and warm up
    text = "".join(generator.stream(MESSAGES, max_new_tokens=5, deadline_s=30))
    assert generator.count_tokens(text) <= 6  # 5 tokens, +1 for decoding boundaries

    long_story = [{"role": "user", "content": "Write a very long story about a dragon, at least 2000 words."}]
    started = time.monotonic()
    with pytest.raises(GenerationDeadline):
        for _piece in generator.stream(long_story, max_new_tokens=100_000, deadline_s=1.0):
            pass
    assert time.monotonic() - started < 1.0 + 3.0  # the deadline plus one forward pass on a busy CPU
    assert generator._lock.acquire(timeout=1)  # the generating thread has stopped
    generator._lock.release()
