"""The AI agent's turn: the one code path that decides a bot reply.

Called through ``ml.api.analyze_and_reply`` (chat's respond task, the benches and the
tests) with plain data; returns plain data. Order of the decision (first match wins):

  "are you a bot?" > visitor asks for a person > yes/no to an offered person >
  bot turn limit > negative streak > small talk > unsupported language (policy) >
  emotional complaint > escalating intent > pending action parameter > correction of
  the last action's parameter > action for the intent > answer from knowledge
  (``ml.answering.answer.answer_turn``) > clarify once > hand off.

Each bot turn stores what it did as data (``ml.dialogue.state.TurnState``, in the bot
message's explanation under ``state``); the next turn reads that, never earlier reply
text. Thresholds: ``ml.dialogue.settings.AgentSettings`` (overridable per tenant).
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
from ml.dialogue import replies, slots, texts
from ml.dialogue import state as st
from ml.dialogue.intents import cjk_share, lexical_intent
from ml.dialogue.settings import AgentSettings
from ml.dialogue.smalltalk import (
    AFFIRM,
    BOT_QUESTION,
    CJK_CHARS_PER_WORD,
    DENY,
    HELP_REQUEST,
    SmallTalk,
    classify_small_talk,
)
from ml.dialogue.state import TurnState
from ml.serving import IntentPrediction, TenantState, encode, get_state
from ml.text import tokenize

logger = logging.getLogger(__name__)

NO_KNOWLEDGE_IN_LANGUAGE = "no_knowledge_in_language"  # AnswerOutcome.reason
# The word lists' label is a guess: its confidence stays below every model-based threshold.
LEXICON_CONFIDENCE = 0.6
# A slot value given to a pending action keeps the intent that asked, as certain.
KEPT_INTENT_CONFIDENCE = 1.0
EXPLAINED_RESPONSE_KEYS = 20  # action response keys shown in the explanation panel

HUMAN_REQUEST_RE = re.compile(
    r"\b(talk|speak|chat|connect|transfer)\b.{0,25}\b(person|human|agent|someone|somebody|representative|staff|operator|people)\b"
    r"|\b(real|live|actual)\s+(person|human|agent)\b|\bhuman\s+(agent|please)\b|\bagent\s+please\b"
    r"|\brepresentative\b|人工|转人工|真人|客服人员",
    re.I,
)
# A short message that leans on the previous turn ("and to Canada?", "what about express?").
FOLLOW_UP_RE = re.compile(r"^(and|also|what about|how about|but|so|then)\b|^(那|还有|另外)", re.I)
QUESTION_RE = re.compile(r"[?？]|^(how|what|when|where|why|which|who|can|could|do|does|is|are)\b|怎么|什么|吗|多久|哪|几",
                         re.I)
NEGATIVE_WORDS = set(
    "angry furious terrible awful horrible worst useless ridiculous disappointed disappointing unacceptable hate"
    " annoyed annoying frustrated frustrating scam rubbish pathetic disgusted disgusting incompetent broken"
    " waste never again sucks poor bad".split()
)
POSITIVE_WORDS = set("thanks thank great perfect awesome excellent love happy wonderful helpful amazing good".split())


# --- NLU helpers ------------------------------------------------------------------------------------


def detect_language(text: str) -> str:
    from ml.nlu.language import detect_language as _detect

    return _detect(text).code


def sentiment_of(text: str) -> dict[str, Any]:
    """{"label", "score", "negative"}: the sentiment model's label, its probability and the
    negative probability (a lexicon when the model cannot load)."""
    try:
        from ml.nlu.sentiment import predict_sentiment

        result = predict_sentiment(text)
        scores: dict[str, float] = dict(result.get("scores") or {})  # type: ignore[call-overload]
        return {"label": str(result["label"]), "score": round(float(result.get("score", 0.0)), 4),  # type: ignore[arg-type]
                "negative": round(float(scores.get("negative", 0.0)), 4)}
    except Exception:  # noqa: BLE001 - fallback lexicon
        logger.exception("sentiment model failed; using the lexicon")
    toks = tokenize(text, drop_stopwords=False)
    neg = sum(1 for t in toks if t in NEGATIVE_WORDS) + (1 if "!!" in text else 0)
    pos = sum(1 for t in toks if t in POSITIVE_WORDS)
    label = "negative" if neg > pos else "positive" if pos > neg else "neutral"
    return {"label": label, "score": LEXICON_CONFIDENCE,
            "negative": LEXICON_CONFIDENCE if label == "negative" else 0.0}


def reply_language(detected: tuple[str, float], previous: str | None, default: str, settings: AgentSettings) -> str:
    """The language to reply in: the message's, unless it is too short to tell ("ok",
    "1002", "Hello"), then the conversation's (or the tenant's first language)."""
    code, confidence = detected
    fallback = previous or default
    if code == "und" or code == fallback:
        return fallback
    return code if confidence >= settings.language_switch_confidence else fallback


# --- the turn -------------------------------------------------------------------------------------


@dataclass
class Turn:
    """Everything the decision reads about this visitor message."""

    tenant_id: int
    tenant: TenantState
    settings: AgentSettings
    conversation: dict[str, Any]
    message: str
    history: list[dict[str, Any]]
    previous: TurnState | None
    language: str
    sentiment: dict[str, Any]
    small_talk: SmallTalk
    explanation: dict[str, Any]
    timings: dict[str, float]
    text: str = ""  # the message without greetings ("Hi! Where is my order?" -> "Where is my order?")
    intent: IntentPrediction = field(default_factory=lambda: IntentPrediction(None, 0.0, True))
    qvec: np.ndarray | None = None
    on_token: Callable[[str], None] | None = None
    lexical_intent: bool = False  # the intent came from CJK bigrams (ml.dialogue.intents)

    @property
    def confident(self) -> bool:
        return self.intent.name is not None and self.intent.confidence >= self.settings.intent_confidence

    @property
    def acts(self) -> bool:
        """Sure enough of the intent to act on it (action, escalation, topic switch)."""
        needed = self.settings.cjk_intent_min_overlap if self.lexical_intent else self.settings.action_intent_confidence
        return self.intent.name is not None and self.intent.confidence >= needed

    @property
    def intent_similarity(self) -> float | None:
        """Cosine of the message to the nearest example of its intent, when the model says."""
        top = self.intent.candidates[0] if self.intent.candidates else {}
        return float(top["similarity"]) if top.get("name") == self.intent.name and "similarity" in top else None


@dataclass
class Reply:
    """A decided bot turn: what the visitor reads and the state the next turn reads."""

    kind: str
    text: str
    why: str
    reason: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    action: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    awaiting: str | None = None
    asks: int = 0
    topic: str = ""
    streamed: bool = False  # the answer step already sent the text to on_token


def _history(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    turns = list(conversation.get("turns") or [])
    current = str(conversation.get("message", {}).get("text", ""))
    if turns and turns[-1].get("role") == "visitor" and turns[-1].get("text") == current:
        turns = turns[:-1]
    return turns


def _negative_streak(turn: Turn) -> int:
    streak = 1 if turn.sentiment["label"] == "negative" else 0
    if streak:
        for past in reversed(turn.history):
            if past.get("role") != "visitor":
                continue
            label = past.get("sentiment") or sentiment_of(str(past.get("text", "")))["label"]
            if label != "negative":
                break
            streak += 1
    return streak


def _start(tenant_id: int, conversation: dict[str, Any], timings: dict[str, float], t0: float) -> Turn:
    tenant = get_state(tenant_id)
    timings["state_ms"] = (time.perf_counter() - t0) * 1000
    settings = AgentSettings.from_policy(tenant.policy)
    message = str(conversation.get("message", {}).get("text", "")).strip()
    history = _history(conversation)
    t = time.perf_counter()
    from ml.nlu.language import detect_language as _detect

    detected = _detect(message)
    supported = list(tenant.policy.get("supported_languages") or ["en"])
    language = reply_language(detected, st.conversation_language(history), supported[0], settings)
    explanation: dict[str, Any] = {"language": language, "detected_language": list(detected),
                                   "sources": [], "candidates": [], "timings_ms": timings}
    small_talk = classify_small_talk(message, max_words=settings.small_talk_max_words)
    turn = Turn(tenant_id=tenant_id, tenant=tenant, settings=settings, conversation=conversation, message=message, history=history,
                previous=st.previous_state(history), language=language, sentiment=sentiment_of(message),
                small_talk=small_talk, explanation=explanation, timings=timings, text=small_talk.remainder or message)
    explanation["sentiment"] = turn.sentiment
    explanation["previous_state"] = turn.previous.to_dict() if turn.previous else None
    timings["nlu_ms"] = (time.perf_counter() - t) * 1000
    return turn


def _predict_intent(turn: Turn) -> None:
    t = time.perf_counter()
    turn.qvec = encode([turn.text])[0]
    if cjk_share(turn.text) >= turn.settings.cjk_script_share:
        turn.lexical_intent = True
        turn.intent = lexical_intent(turn.text, tenant_id=turn.tenant_id, key=turn.tenant.key,
                                     min_overlap=turn.settings.cjk_intent_min_overlap)
    else:
        turn.intent = turn.tenant.intent_model.predict(turn.text, turn.qvec)
    turn.timings["intent_ms"] = (time.perf_counter() - t) * 1000
    turn.explanation["intent"] = {"name": turn.intent.name, "confidence": turn.intent.confidence,
                                  "out_of_scope": turn.intent.out_of_scope, "candidates": turn.intent.candidates,
                                  "threshold": turn.settings.intent_confidence,
                                  "source": "cjk_bigrams" if turn.lexical_intent else "model"}


def analyze(*, tenant_id: int, conversation: dict[str, Any],
            on_token: Callable[[str], None] | None = None) -> dict[str, Any]:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    turn = _start(tenant_id, conversation, timings, t0)
    turn.on_token = on_token
    reply = _decide(turn)
    return _finish(turn, reply, t0, on_token)


def _finish(turn: Turn, reply: Reply, t0: float, on_token: Callable[[str], None] | None) -> dict[str, Any]:
    wire = st.WIRE_ACTION[reply.kind]
    reason = reply.reason if wire == "handoff" else None
    if wire == "handoff" and not reply.text:
        reply.text = texts.handoff(reply.reason or "low_confidence", turn.language)
    state = TurnState(kind=reply.kind, language=turn.language, intent=turn.intent.name if turn.confident else None,
                      article_ids=[int(c["article_id"]) for c in reply.citations if "article_id" in c],
                      action=reply.action, slots=reply.slots, awaiting=reply.awaiting, asks=reply.asks,
                      reason=reply.reason, topic=reply.topic)
    turn.explanation["decision"] = {"action": wire, "kind": reply.kind, "reason": reply.reason, "why": reply.why}
    turn.explanation["state"] = state.to_dict()
    turn.timings["total_ms"] = (time.perf_counter() - t0) * 1000
    for k in turn.timings:
        turn.timings[k] = round(turn.timings[k], 1)
    if on_token and reply.text and not reply.streamed:
        for i, piece in enumerate(reply.text.split(" ")):
            on_token(piece if i == 0 else " " + piece)
    intent_info = {"name": turn.intent.name, "confidence": turn.intent.confidence,
                   "out_of_scope": turn.intent.out_of_scope}
    sentiment = {"label": turn.sentiment["label"], "score": turn.sentiment["score"]}
    return {"action": wire, "kind": reply.kind, "text": reply.text, "handoff_reason": reason,
            "intent": intent_info, "sentiment": sentiment, "language": turn.language,
            "citations": reply.citations, "explanation": turn.explanation}


def _handoff(reason: str, why: str, text: str = "") -> Reply:
    return Reply(st.HANDOFF, text, why, reason=reason)


def _decide(turn: Turn) -> Reply:
    """The policy, in order (see the module docstring); each step returns a Reply or None."""
    for step in (_conversation_rules, _small_talk_and_language, _complaint_and_escalation,
                 _pending_action, _intent_action):
        reply = step(turn)
        if reply is not None:
            return reply
    return _answer(turn)


def _conversation_rules(turn: Turn) -> Reply | None:
    from ml.answering.policy import is_human_request

    settings, previous, kind = turn.settings, turn.previous, turn.small_talk.kind
    if kind == BOT_QUESTION:  # "are you a bot?" is a question, not a request for a person
        return Reply(st.SMALL_TALK, texts.small_talk(kind, turn.language), "The visitor asked if this is a bot.",
                     reason=kind)
    if is_human_request(turn.message) or HUMAN_REQUEST_RE.search(turn.message):
        return _handoff("visitor_request", "The visitor asked for a person.")
    if previous is not None and previous.kind == st.ACKNOWLEDGE and kind in (AFFIRM, DENY):
        if kind == AFFIRM:
            return _handoff("visitor_request", "The visitor accepted the offer of a person.")
        return Reply(st.SMALL_TALK, texts.small_talk(kind, turn.language), "The visitor declined a person.",
                     reason=kind)
    if int(turn.conversation.get("bot_turns") or 0) >= settings.max_bot_turns:
        return _handoff("max_bot_turns", f"The bot already replied {settings.max_bot_turns} times.")
    streak = _negative_streak(turn)
    turn.explanation["negative_streak"] = streak
    if streak >= settings.negative_streak:
        return _handoff("negative_sentiment", f"{streak} negative visitor messages in a row.")
    return None


def _small_talk_and_language(turn: Turn) -> Reply | None:
    kind = turn.small_talk.kind
    if kind == HELP_REQUEST:
        return Reply(st.CLARIFY, texts.small_talk(kind, turn.language), "A request for help with no detail yet.",
                     reason=kind)
    if kind is not None:
        return Reply(st.SMALL_TALK, texts.small_talk(kind, turn.language), f"Small talk ({kind}).", reason=kind)
    policy = turn.tenant.policy
    supported = list(policy.get("supported_languages") or ["en"])
    if turn.language not in supported and policy.get("unsupported_language") == "handoff":
        return _handoff("unsupported_language", f"Language {turn.language} is not enabled in the AI policy.",
                        texts.no_articles_in_language(turn.language))
    return None


def _complaint_and_escalation(turn: Turn) -> Reply | None:
    _predict_intent(turn)
    settings = turn.settings
    if turn.acts and turn.tenant.intents.get(str(turn.intent.name), {}).get("escalates"):
        return _handoff("escalating_intent", f"Intent {turn.intent.name} always goes to a human.")
    complaint = (turn.sentiment["label"] == "negative"
                 and float(turn.sentiment.get("negative", 0.0)) >= settings.complaint_negative_probability)
    turn.explanation["complaint"] = complaint
    if complaint:
        turn.previous = None  # never continue an earlier action (no cached result for a complaint)
        if not QUESTION_RE.search(turn.message):
            if settings.complaint_action == "handoff":
                return _handoff("negative_sentiment", "An emotional complaint; the policy hands these off.")
            return Reply(st.ACKNOWLEDGE, texts.acknowledge_complaint(turn.language),
                         "An emotional complaint: acknowledged, a person offered.", reason="complaint")
    return None


# --- actions ---------------------------------------------------------------------------------------


def _spec(turn: Turn, name: str | None) -> action_mod.ActionSpec | None:
    return next((s for s in turn.tenant.actions if s.name == name), None)


def _pending_action(turn: Turn) -> Reply | None:
    """A reply to "what is your order number?" fills that slot of THAT action; a correction
    ("no, I meant 1003") replaces the value the last action used."""
    previous = turn.previous
    if previous is None or previous.action is None:
        return None
    spec = _spec(turn, previous.action)
    if spec is None:
        return None
    if previous.kind == st.ASK_SLOT:
        param = slots.parameter(spec, previous.awaiting)
        value = slots.value_in(param, turn.message) if param else None
        switched = turn.acts and turn.intent.name != previous.intent
        if value is None and (switched or _standalone_question(turn)):
            return None  # a new question: the pending action is dropped
        if value is None:
            if previous.asks >= turn.settings.slot_asks:
                return _handoff("missing_parameter", f"Still no {previous.awaiting} after asking {previous.asks} times.")
            prompt = _prompt(turn, spec, param or {})
            return Reply(st.ASK_SLOT, texts.ask_again(prompt, turn.language), f"Still waiting for {previous.awaiting}.",
                         action=spec.name, slots=previous.slots, awaiting=previous.awaiting, asks=previous.asks + 1)
        turn.intent = IntentPrediction(previous.intent, KEPT_INTENT_CONFIDENCE, False) if previous.intent else turn.intent
        return _run_action(turn, spec, {**previous.slots, str(previous.awaiting): value})
    if previous.kind == st.ACTION_RESULT:
        found = slots.values_in(spec, turn.message)
        bare = any(slots.is_bare_value(turn.message, v) for v in found.values())
        if found and (slots.is_correction(turn.message) or bare):
            turn.intent = IntentPrediction(previous.intent, KEPT_INTENT_CONFIDENCE, False) if previous.intent else turn.intent
            return _run_action(turn, spec, {**previous.slots, **found}, why="A correction of the last lookup.")
    return None


def _standalone_question(turn: Turn) -> bool:
    words = len(turn.text.split()) if cjk_share(turn.text) < turn.settings.cjk_script_share else len(turn.text) // CJK_CHARS_PER_WORD
    return bool(QUESTION_RE.search(turn.text)) and words >= turn.settings.standalone_min_words


def _intent_action(turn: Turn) -> Reply | None:
    if not turn.acts:
        return None
    specs = turn.tenant.actions_by_intent.get(str(turn.intent.name), [])
    if not specs:
        return None
    values = slots.values_in(specs[0], turn.message)
    similarity = turn.intent_similarity
    if slots.missing_parameters(specs[0], values) and similarity is not None \
            and similarity < turn.settings.ask_slot_min_similarity:
        # Unlike every example of the intent: if the knowledge base answers it, that wins.
        answered = _answer(turn)
        if answered.kind == st.ANSWER:
            return answered
    return _run_action(turn, specs[0], values)


def _prompt(turn: Turn, spec: action_mod.ActionSpec, param: dict[str, Any]) -> str:
    """The tenant's own prompt in the tenant's language, else the bot's translated one."""
    supported = list(turn.tenant.policy.get("supported_languages") or ["en"])
    if param.get("prompt") and turn.language == supported[0]:
        return str(param["prompt"])
    name = str(param.get("name", "value"))
    return texts.ask_parameter(str(param.get("type", "string")), name.replace("_", " "), turn.language)


def _run_action(turn: Turn, spec: action_mod.ActionSpec, values: dict[str, str], why: str = "") -> Reply:
    identity = action_mod.verified_identity(turn.conversation.get("visitor"))
    missing = slots.missing_parameters(spec, values)
    record: dict[str, Any] = {"name": spec.name, "parameters": values, "missing": [p.get("name") for p in missing],
                              "identity_verified": bool(identity)}
    turn.explanation["action"] = record
    previous = turn.previous
    asked_sign_in = previous is not None and previous.reason == action_mod.SIGN_IN_REASON
    gate = action_mod.identity_gate(spec, identity=identity, language=turn.language,
                                    last_bot_text=action_mod.sign_in_text(turn.language) if asked_sign_in else None)
    if gate.decision != "call":  # never called for a visitor the site did not vouch for
        reason_why = f"Action {spec.name} is only for signed-in (verified) visitors."
        if gate.decision == "handoff":
            return _handoff(action_mod.SIGN_IN_REASON, reason_why)
        return Reply(st.CLARIFY, gate.text, reason_why, reason=action_mod.SIGN_IN_REASON, action=spec.name,
                     slots=values)
    if missing:
        name = str(missing[0].get("name"))
        return Reply(st.ASK_SLOT, _prompt(turn, spec, missing[0]), f"Action {spec.name} needs {name}.",
                     action=spec.name, slots=values, awaiting=name, asks=1)
    if spec.needs_approval or not spec.read_only:
        return _handoff("needs_approval", f"Action {spec.name} needs a person's approval.")
    return _call(turn, spec, values, identity, record, why)


def _call(turn: Turn, spec: action_mod.ActionSpec, values: dict[str, str], identity: dict[str, str],
          record: dict[str, Any], why: str) -> Reply:
    t = time.perf_counter()
    try:
        data = action_mod.call_action(spec, values=values, identity=identity)
    except action_mod.ActionError as exc:
        record["error"] = {"code": exc.code, "message": str(exc)}
        record["ms"] = round((time.perf_counter() - t) * 1000, 1)
        if exc.code == "not_found" and values:
            name = next(iter(values))
            return Reply(st.ASK_SLOT, texts.not_found(values[name], turn.language), f"Action {spec.name} found nothing.",
                         action=spec.name, slots={k: v for k, v in values.items() if k != name}, awaiting=name,
                         asks=1, reason="not_found")
        return _handoff("action_failed", f"Action {spec.name} failed: {exc.code}.")
    record["ms"] = round((time.perf_counter() - t) * 1000, 1)
    record["response_keys"] = sorted(data.keys())[:EXPLAINED_RESPONSE_KEYS]
    supported = list(turn.tenant.policy.get("supported_languages") or ["en"])
    text = replies.render_action_reply(spec, values, data, language=turn.language, template_language=supported[0])
    return Reply(st.ACTION_RESULT, text, why or f"Answered from action {spec.name}.", action=spec.name, slots=values)


# --- answers ---------------------------------------------------------------------------------------


def _query(turn: Turn) -> tuple[str, np.ndarray]:
    """The retrieval query: the message on its own, or (when the settings say so) a short
    follow-up joined with the topic of the previous answer."""
    assert turn.qvec is not None
    previous = turn.previous
    follow_up = (turn.settings.rewrite_follow_ups and previous is not None and previous.kind == st.ANSWER
                 and previous.topic and not turn.confident
                 and len(turn.text.split()) <= turn.settings.follow_up_max_words
                 and bool(FOLLOW_UP_RE.search(turn.text)))
    if not follow_up or previous is None:
        return turn.text, turn.qvec
    query = f"{previous.topic} {turn.text}"
    return query, encode([query])[0]


def _answer(turn: Turn) -> Reply:
    tenant, previous = turn.tenant, turn.previous
    query, qvec = _query(turn)
    turn.explanation["query"] = query
    supported = list(tenant.policy.get("supported_languages") or ["en"])
    outcome = answer_turn(state=tenant, query=query, qvec=qvec, language=turn.language,
                          language_ok=turn.language in supported, intent_confidence=turn.intent.confidence,
                          explanation=turn.explanation, timings=turn.timings, on_token=turn.on_token)
    if outcome.answered:
        return Reply(st.ANSWER, outcome.text, outcome.why, citations=outcome.citations, topic=query,
                     streamed=outcome.streamed)
    if outcome.reason == NO_KNOWLEDGE_IN_LANGUAGE:
        return _handoff("unsupported_language", outcome.why, texts.no_articles_in_language(turn.language))
    clarified = previous is not None and previous.kind == st.CLARIFY and previous.reason == "no_answer"
    if clarified and previous is not None and previous.asks >= turn.settings.clarify_limit:
        oos = turn.intent.out_of_scope and tenant.policy.get("handoff_on_out_of_scope", True)
        return _handoff("out_of_scope" if oos else "low_confidence", outcome.why + " Already asked to clarify.")
    asks = previous.asks + 1 if clarified and previous is not None else 1
    return Reply(st.CLARIFY, texts.clarify(turn.language), outcome.why, reason="no_answer", asks=asks, topic=query)
