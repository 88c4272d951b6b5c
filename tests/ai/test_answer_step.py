"""The answer step through the production agent (``ml.api.analyze_and_reply``) with the REAL
MiniLM encoder and the shipped answerability model. Where a test needs an LLM that misbehaves
in a precise way it uses ``FakeGenerator`` — plumbing for the *candidate text* only; the
retrieval, grounding and release decisions under test are real."""

from __future__ import annotations

import pytest

from ml import api, demo, services
from ml.backends.generation import FakeGenerator
from ml.models import ArticleStatus, KnowledgeArticle
from ml.serving import get_state
from tests.ai.conftest import conversation, seed_team

BILINGUAL = {"supported_languages": ["en", "zh"], "unsupported_language": "handoff"}


def ask(team, text, **kw):
    return api.analyze_and_reply(tenant_id=team.tenant.pk, conversation=conversation(text, **kw))


def seed_chinese(team):
    for a in demo.DEMO_ARTICLES_ZH:
        services.create_article(actor=team.owner, title=a["title"], body=a["body"], tags=a["tags"],
                                status=ArticleStatus.PUBLISHED, language="zh")


def liar(monkeypatch, reply: str) -> None:
    monkeypatch.setattr("ml.backends.generation.get_generator", lambda kind="local", **opts: FakeGenerator(reply=reply))


def test_chinese_question_gets_the_chinese_article(team_a):
    seed_team(team_a, policy=BILINGUAL)
    seed_chinese(team_a)
    tokens: list[str] = []
    result = api.analyze_and_reply(tenant_id=team_a.tenant.pk, conversation=conversation("我想退货，需要多长时间？"),
                                   on_token=tokens.append)
    assert result["action"] == "answer", result["explanation"]
    returns_zh = KnowledgeArticle.objects.for_tenant(team_a.tenant).get(title="退货和退款")
    assert result["citations"][0]["article_id"] == returns_zh.pk
    assert "30 天" in result["text"]
    assert "".join(tokens) == result["text"]
    assert result["explanation"]["retrieval"]["bm25_weight"] == 20.0  # the Chinese fusion weight


def test_no_article_in_the_visitors_language_hands_off(team_a):
    seed_team(team_a, policy=BILINGUAL)  # English articles only
    result = ask(team_a, "我想退货，需要多长时间？")
    assert result["action"] == "handoff" and result["handoff_reason"] == "unsupported_language", result
    assert result["citations"] == []


def test_question_whose_article_is_missing_abstains(team_a):
    """Shipped answerability model: a nearby-but-wrong article is not used to answer."""
    seed_team(team_a)
    result = ask(team_a, "Can I pay in monthly installments?")
    assert result["action"] != "answer", result["explanation"]
    assert result["citations"] == []
    answerability = result["explanation"]["answerability"]
    assert answerability["answer"] is False and answerability["probability"] is not None


def test_llm_sentences_are_released_only_after_passing_the_checks(team_a, monkeypatch):
    """The LLM runs (the tenant lets it run on every answer here); its second sentence invents a
    price, so only the first is ever sent, and the reply is exactly what was streamed."""
    seed_team(team_a, use_generator=True)
    liar(monkeypatch, "You can return an item within 30 days of delivery. We also refund $99 shipping to everyone.")
    get_state(team_a.tenant.pk).policy["llm_below_relevance"] = 2.0  # the LLM may always try to win
    tokens: list[str] = []
    result = api.analyze_and_reply(tenant_id=team_a.tenant.pk,
                                   conversation=conversation("How long do I have to return an item?"),
                                   on_token=tokens.append)
    assert result["action"] == "answer", result["explanation"]
    assert result["text"] == "You can return an item within 30 days of delivery."
    assert "".join(tokens) == result["text"]
    generated = next(c for c in result["explanation"]["candidates"] if c["kind"] == "generated")
    assert generated["chosen"] and "99" in generated["rejected_sentences"][0]["sentence"]


def test_llm_whose_first_sentence_fails_falls_back_to_the_extractive_answer(team_a, monkeypatch):
    seed_team(team_a, use_generator=True)
    liar(monkeypatch, "Returns are free for 90 days and we guarantee a full refund.")
    get_state(team_a.tenant.pk).policy["llm_below_relevance"] = 2.0
    tokens: list[str] = []
    result = api.analyze_and_reply(tenant_id=team_a.tenant.pk,
                                   conversation=conversation("How long do I have to return an item?"),
                                   on_token=tokens.append)
    assert result["action"] == "answer"
    assert "30 days" in result["text"] and "90" not in "".join(tokens)
    assert "".join(tokens) == result["text"]


@pytest.mark.parametrize("use_generator", [False, True])
def test_extractive_winner_is_sent_without_running_the_llm(team_a, monkeypatch, use_generator):
    seed_team(team_a, use_generator=use_generator)
    calls: list[str] = []

    def counting(kind="local", **opts):
        calls.append(kind)
        return FakeGenerator()

    monkeypatch.setattr("ml.backends.generation.get_generator", counting)
    result = ask(team_a, "How long do I have to return an item?")
    assert result["action"] == "answer" and "30 days" in result["text"]
    assert calls == []  # the extractive sentence answers the question directly: the LLM cannot win


def test_tenant_opted_in_gets_a_model_fitted_from_its_own_knowledge(team_a):
    """Leave-one-article-out over the demo shop's ten article titles (English and Chinese)."""
    seed_team(team_a, policy=BILINGUAL)
    seed_chinese(team_a)
    get_state(team_a.tenant.pk).policy["answerability_from_knowledge"] = True
    result = ask(team_a, "How long do I have to return an item?")
    assert result["action"] == "answer" and "30 days" in result["text"], result["explanation"]
    assert "leave-one-article-out over 10 article titles" in result["explanation"]["answerability"]["model"]
