"""The AI agent's turn: NLU -> policy -> (action | grounded answer | clarify | handoff).

Called through ``ml.services.analyze_and_reply`` with plain data; returns plain data.
Order of the policy (first match wins), each with a reason code:
  visitor_request > max_bot_turns > negative_sentiment > escalating_intent >
  unsupported_language (when the policy says hand off) > action (answer / ask for a
  parameter) > grounded answer > clarify once > handoff (out_of_scope | low_confidence).
No answer is given unless a candidate is supported by the tenant's evidence sentence by
sentence, with every number in it present in the evidence.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml import actions as action_mod
from ml.answering.answer import answer_turn
from ml.serving import TenantState, encode, get_state
from ml.text import tokenize

logger = logging.getLogger(__name__)

CLARIFY_TEXT = "I'm not sure I understood. Could you tell me a bit more about what you need?"
HANDOFF_TEXTS = {
    "visitor_request": "Sure — I'm connecting you with a member of our team. Someone will be with you shortly.",
    "max_bot_turns": "Let me bring in a member of our team to help you further.",
    "negative_sentiment": "I'm sorry about this. I'm passing you to a member of our team who can help.",
    "escalating_intent": "This is something a member of our team should handle — I'm connecting you now.",
    "out_of_scope": "I can't answer that myself, so I'm passing you to a member of our team.",
    "low_confidence": "I don't want to guess, so I'm passing you to a member of our team.",
    "unsupported_language": "I'm connecting you with a member of our team who can help you.",
    "action_failed": "I couldn't look that up right now, so I'm passing you to a member of our team.",
    "needs_approval": "A member of our team needs to approve this, so I'm connecting you now.",
    "identity_required": "For your security, a member of our team will help you with this.",
    "missing_parameter": "I'm passing you to a member of our team who can look into this with you.",
    "model_error": "Sorry, I'm having trouble right now. A member of our team will take over.",
}

HUMAN_REQUEST_RE = re.compile(
    r"\b(talk|speak|chat|connect|transfer)\b.{0,25}\b(person|human|agent|someone|somebody|representative|staff|operator|people)\b"
    r"|\b(real|live|actual)\s+(person|human|agent)\b|\bhuman\s+(agent|please)\b|\bagent\s+please\b"
    r"|\brepresentative\b|人工|转人工|真人|客服人员",
    re.I,
)
NEGATIVE_WORDS = set(
    "angry furious terrible awful horrible worst useless ridiculous disappointed disappointing unacceptable hate"
    " annoyed annoying frustrated frustrating scam rubbish pathetic disgusted disgusting incompetent broken"
    " waste never again sucks poor bad".split()
)
POSITIVE_WORDS = set("thanks thank great perfect awesome excellent love happy wonderful helpful amazing good".split())


@dataclass
class Turn:
    text: str
    tokens: list[str] = field(default_factory=list)


# --- NLU helpers (helper's ml.nlu modules when present, small fallbacks otherwise) --------------


def detect_language(text: str) -> str:
    try:
        from ml.nlu.language import detect_language as _detect

        result = _detect(text)
        return str(result[0] if isinstance(result, tuple) else result)
    except Exception:  # noqa: BLE001 - fallback below
        pass
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "und"
    cjk = sum(1 for c in letters if "\u4e00" <= c <= "\u9fff")
    if cjk / len(letters) > 0.3:
        return "zh"
    ascii_letters = sum(1 for c in letters if c.isascii())
    return "en" if ascii_letters / len(letters) > 0.9 else "und"


def sentiment_of(text: str) -> dict[str, Any]:
    try:
        from ml.nlu.sentiment import predict_sentiment

        result = predict_sentiment(text)
        if isinstance(result, dict):
            return {"label": str(result["label"]), "score": round(float(result.get("score", 0.0)), 4)}  # type: ignore[arg-type]
        return {"label": str(result[0]), "score": float(result[1])}
    except Exception:  # noqa: BLE001 - fallback lexicon
        pass
    toks = tokenize(text, drop_stopwords=False)
    neg = sum(1 for t in toks if t in NEGATIVE_WORDS) + (1 if "!!" in text else 0)
    pos = sum(1 for t in toks if t in POSITIVE_WORDS)
    if neg > pos:
        return {"label": "negative", "score": round(min(1.0, 0.6 + 0.15 * (neg - pos)), 3)}
    if pos > neg:
        return {"label": "positive", "score": round(min(1.0, 0.6 + 0.15 * (pos - neg)), 3)}
    return {"label": "neutral", "score": 0.6}


# --- the turn -------------------------------------------------------------------------------------


def _visitor_texts(conversation: dict[str, Any]) -> list[str]:
    """Visitor texts, newest first, including the current message."""
    texts = [str(conversation.get("message", {}).get("text", ""))]
    turns = list(conversation.get("turns") or [])
    if turns and turns[-1].get("role") == "visitor" and turns[-1].get("text") == texts[0]:
        turns = turns[:-1]
    texts += [str(t.get("text", "")) for t in reversed(turns) if t.get("role") == "visitor"]
    return texts


def _history(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    turns = list(conversation.get("turns") or [])
    current = str(conversation.get("message", {}).get("text", ""))
    if turns and turns[-1].get("role") == "visitor" and turns[-1].get("text") == current:
        turns = turns[:-1]
    return turns


FOLLOW_UP_RE = re.compile(r"^(and|also|what about|how about|but|so|then|ok(ay)?,?)\b|\b(it|that|this|those|them|one)\b", re.I)


def standalone_question(message: str, history: list[dict[str, Any]]) -> str:
    """A follow-up ("and for electronics?") is joined with the previous visitor question."""
    previous = next((t["text"] for t in reversed(history) if t.get("role") == "visitor"), None)
    if previous and (len(tokenize(message)) <= 3 or FOLLOW_UP_RE.search(message)) and len(message) < 80:
        return f"{previous} {message}"
    return message


def analyze(*, tenant_id: int, conversation: dict[str, Any],
            on_token: Callable[[str], None] | None = None) -> dict[str, Any]:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    state = get_state(tenant_id)
    timings["state_ms"] = (time.perf_counter() - t0) * 1000
    policy = state.policy
    message = str(conversation.get("message", {}).get("text", "")).strip()
    history = _history(conversation)

    t = time.perf_counter()
    language = detect_language(message)
    sentiment = sentiment_of(message)
    query = standalone_question(message, history)
    if query == message:
        qvec = encode([query])[0]
        intent = state.intent_model.predict(query, qvec)
    else:
        # Looks like a follow-up; but a message that is clear on its own ("Where is my
        # order 1001?" after a returns question) keeps its own meaning.
        own_vec, joined_vec = encode([message, query])
        own = state.intent_model.predict(message, own_vec)
        if own.name is not None and not own.out_of_scope and own.confidence >= float(policy["confidence_threshold"]):
            query, qvec, intent = message, own_vec, own
        else:
            qvec, intent = joined_vec, state.intent_model.predict(query, joined_vec)
    timings["nlu_ms"] = (time.perf_counter() - t) * 1000
    intent_info = {"name": intent.name, "confidence": intent.confidence, "out_of_scope": intent.out_of_scope}
    confident = intent.name is not None and intent.confidence >= float(policy["confidence_threshold"])

    explanation: dict[str, Any] = {
        "intent": {**intent_info, "candidates": intent.candidates, "threshold": policy["confidence_threshold"]},
        "sentiment": sentiment,
        "language": language,
        "query": query,
        "sources": [],
        "candidates": [],
        "timings_ms": timings,
    }

    def finish(action: str, text: str, reason: str | None, why: str,
               citations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        if action == "handoff" and reason and not text:
            text = HANDOFF_TEXTS.get(reason, HANDOFF_TEXTS["low_confidence"])
        explanation["decision"] = {"action": action, "reason": reason, "why": why}
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        for k in timings:
            timings[k] = round(timings[k], 1)
        if on_token and text:
            for i, piece in enumerate(text.split(" ")):
                on_token(piece if i == 0 else " " + piece)
        return {"action": action, "text": text, "handoff_reason": reason if action == "handoff" else None,
                "intent": intent_info, "sentiment": sentiment, "language": language,
                "citations": citations or [], "explanation": explanation}

    # 1. explicit request for a human
    from ml.answering.policy import is_human_request

    if is_human_request(message) or HUMAN_REQUEST_RE.search(message):
        return finish("handoff", "", "visitor_request", "The visitor asked for a person.")
    # 2. bot turn limit
    if int(conversation.get("bot_turns") or 0) >= int(policy["max_bot_turns"]):
        return finish("handoff", "", "max_bot_turns", f"The bot already replied {policy['max_bot_turns']} times.")
    # 3. negative streak
    streak = 1 if sentiment["label"] == "negative" else 0
    if streak:
        for turn in reversed(history):
            if turn.get("role") != "visitor":
                continue
            label = turn.get("sentiment") or sentiment_of(str(turn.get("text", "")))["label"]
            if label != "negative":
                break
            streak += 1
    explanation["negative_streak"] = streak
    if streak >= int(policy["negative_streak"]):
        return finish("handoff", "", "negative_sentiment", f"{streak} negative visitor messages in a row.")
    # 4. escalating intent
    if confident and state.intents.get(str(intent.name), {}).get("escalates"):
        return finish("handoff", "", "escalating_intent", f"Intent {intent.name} always goes to a human.")
    # 5. language
    supported = policy["supported_languages"] or ["en"]
    language_ok = language in supported or language == "und"
    if not language_ok and policy["unsupported_language"] == "handoff":
        return finish("handoff", "", "unsupported_language", f"Language {language} is not supported by the models.")
    # 6. actions: triggered by the intent, or continuing after the bot asked for a parameter
    result = _try_actions(state, conversation, history, intent.name if confident else None, explanation, finish)
    if result is not None:
        return result
    # 7. grounded answer from the knowledge base
    return _answer(state, conversation, history, message, query, qvec, language_ok, intent,
                   explanation, timings, finish)


def _try_actions(state: TenantState, conversation: dict[str, Any], history: list[dict[str, Any]],
                 intent_name: str | None, explanation: dict[str, Any], finish: Callable[..., dict[str, Any]]
                 ) -> dict[str, Any] | None:
    specs = list(state.actions_by_intent.get(intent_name, [])) if intent_name else []
    last_bot = next((t for t in reversed(history) if t.get("role") in ("bot", "agent")), None)
    asked_before = False
    if not specs and last_bot and last_bot.get("role") == "bot":
        for spec in state.actions:
            if any(action_mod.prompt_for(p) == last_bot.get("text") for p in spec.parameters):
                specs, asked_before = [spec], True
                break
    if not specs:
        return None
    spec = specs[0]
    texts = _visitor_texts(conversation)
    values, missing = action_mod.extract_parameters(spec, texts)
    identity = action_mod.verified_identity(conversation.get("visitor"))
    record: dict[str, Any] = {"name": spec.name, "parameters": values,
                              "missing": [p.get("name") for p in missing],
                              "identity_verified": bool(identity)}
    explanation["action"] = record
    if missing:
        prompt = action_mod.prompt_for(missing[0])
        if asked_before and last_bot and last_bot.get("text") == prompt:
            return finish("handoff", "", "missing_parameter", f"Still missing {missing[0].get('name')} after asking.")
        return finish("clarify", prompt, None, f"Action {spec.name} needs {missing[0].get('name')}.")
    if spec.needs_approval or not spec.read_only:
        return finish("handoff", "", "needs_approval", f"Action {spec.name} needs a person's approval.")
    t = time.perf_counter()
    try:
        data = action_mod.call_action(spec, values=values, identity=identity)
    except action_mod.ActionError as exc:
        record["error"] = {"code": exc.code, "message": str(exc)}
        record["ms"] = round((time.perf_counter() - t) * 1000, 1)
        if exc.code == "not_found":
            names = ", ".join(p.replace("_", " ") for p in values) or "details"
            return finish("clarify", f"I couldn't find anything for that {names}. Could you check it and send it again?",
                          None, f"Action {spec.name} found nothing.")
        return finish("handoff", "", "action_failed", f"Action {spec.name} failed: {exc.code}.")
    record["ms"] = round((time.perf_counter() - t) * 1000, 1)
    record["response_keys"] = sorted(data.keys())[:20]
    text = action_mod.render_reply(spec, values, data)
    return finish("answer", text, None, f"Answered from action {spec.name}.")


def _answer(state: TenantState, conversation: dict[str, Any], history: list[dict[str, Any]], message: str,
            query: str, qvec: np.ndarray, language_ok: bool, intent: Any, explanation: dict[str, Any],
            timings: dict[str, float], finish: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    policy = state.policy
    last_bot = next((t for t in reversed(history) if t.get("role") in ("bot", "agent")), None)
    clarified_before = bool(last_bot and last_bot.get("role") == "bot" and last_bot.get("text") == CLARIFY_TEXT)
    outcome = answer_turn(state=state, query=query, qvec=qvec, language_ok=language_ok,
                          explanation=explanation, timings=timings)
    if outcome.answered:
        return finish("answer", outcome.text, None, outcome.why, outcome.citations)
    if clarified_before:
        reason = "out_of_scope" if intent.out_of_scope and policy["handoff_on_out_of_scope"] else "low_confidence"
        return finish("handoff", "", reason, outcome.why + " Already asked to clarify once.")
    return finish("clarify", CLARIFY_TEXT, None, outcome.why)
