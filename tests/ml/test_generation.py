"""Generators: SSE parsing and fake (plumbing); real SmolLM2 load + stream (slow)."""

from __future__ import annotations

import pytest

from ml.backends.generation import GenerationError, get_generator, parse_sse_chat_stream


def test_sse_parsing():
    lines = [": keep-alive", 'data: {"choices":[{"delta":{"role":"assistant"}}]}',
             'data: {"choices":[{"delta":{"content":"Hel"}}]}', "",
             'data: {"choices":[{"delta":{"content":"lo"}}]}', "data: [DONE]",
             'data: {"choices":[{"delta":{"content":"ignored"}}]}']
    assert "".join(parse_sse_chat_stream(iter(lines))) == "Hello"
    with pytest.raises(GenerationError):
        list(parse_sse_chat_stream(iter(['data: {"error": "overloaded"}'])))


def test_factory_rejects_unknown_kind():
    with pytest.raises(ValueError):
        get_generator("nope")
    assert get_generator("fake", reply="hi").generate([]) == "hi"


def test_openai_generator_against_mock_transport(monkeypatch):
    """Plumbing: the HTTP generator streams SSE through httpx (mock transport, no network)."""
    import httpx

    from ml.backends import generation

    body = ('data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
            'data: {"choices":[{"delta":{"content":" there"}}]}\n\ndata: [DONE]\n\n')

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/completions"
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    real_client = httpx.Client
    monkeypatch.setattr(httpx, "Client", lambda **kw: real_client(transport=httpx.MockTransport(handler), **kw))
    g = generation.OpenAICompatibleGenerator("http://llm.local/v1", model="m")
    assert list(g.stream([{"role": "user", "content": "x"}])) == ["Hi", " there"]


@pytest.mark.slow
def test_real_smollm2_loads_and_streams(smollm):
    """Real SmolLM2-135M (converted once into KEFU_MODEL_CACHE, then read from there)."""
    pieces = list(smollm.stream([{"role": "user", "content": "Say hello."}], max_new_tokens=12))
    assert len(pieces) >= 2 and "".join(pieces).strip()
