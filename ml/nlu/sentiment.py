"""Visitor-message sentiment (negative / neutral / positive) without any licensed data.

Shippable by construction: the only "training data" are the seed sentences below,
written for this project. A message is scored two ways and the scores are blended:
- prototypes: mean of the top-3 MiniLM cosine similarities to each class's seeds,
  turned into probabilities by a softmax (temperature ``TAU``);
- lexical cues: a small negation-aware lexicon, profanity, anger markers ("!!!",
  SHOUTING, repeated "?"), thanks/praise, and Chinese equivalents.

Evaluated (never trained or tuned) on the Twitter US Airline set (CC BY-NC-SA): see
``python -m ml.bench.sentiment``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ml.backends._runtime import ProcessWide

LABELS = ("negative", "neutral", "positive")
TAU = 0.05
LEXICAL_WEIGHT = 0.6

SEEDS: dict[str, list[str]] = {
    "negative": [
        "This is terrible service.", "I am really angry about this.", "You people are useless.",
        "I've been waiting for hours and nobody helps me.", "My order still hasn't arrived and I'm fed up.",
        "This is the worst experience I've ever had.", "I want a refund, this product is broken.",
        "Why is this so hard? Nothing works.", "I'm very disappointed with your company.",
        "You charged me twice and I'm furious.", "Stop wasting my time.", "This is a joke.",
        "Your app keeps crashing, it's ridiculous.", "I've asked three times and still no answer!",
        "Horrible customer support.", "I'm going to cancel my account because of this.",
        "The delivery was late again, unacceptable.", "I feel cheated.", "This is a scam.",
        "Nobody is answering my emails, I'm so frustrated.", "Your staff was rude to me.",
        "My flight was cancelled and you didn't even tell me.", "Lost my luggage, thanks for nothing.",
        "I can't believe how bad this is.", "The card got declined again, so annoying.",
        "I hate this new update.", "Worst bank ever.", "Still broken after a week.",
        "I'm sick of this.", "What a mess.", "It doesn't work at all.", "Are you kidding me?",
        "太差了，我很生气。", "你们的服务太烂了。", "等了好久都没人理我。", "我要投诉！",
    ],
    "neutral": [
        "How do I reset my password?", "What are your opening hours?", "Can I change my delivery address?",
        "I would like to know the status of my order.", "Where can I find my invoice?",
        "Do you ship to Canada?", "My order number is 12345.", "Is there a fee for international transfers?",
        "I need to update my email address.", "Can you tell me how to cancel a subscription?",
        "What documents do I need to open an account?", "When will my card arrive?",
        "I'm flying to Boston tomorrow.", "Please send me the link.", "How long does a refund take?",
        "Which plan includes support?", "I have a question about my bill.", "Can I pay by bank transfer?",
        "My name is Anna.", "The account is under my husband's name.", "Is the store open on Sunday?",
        "I'd like to book a table for two.", "What is the baggage allowance?", "Ok.", "Yes, that one.",
        "I'm checking on a booking.", "Do you have this in blue?", "Let me check and get back to you.",
        "我想查询一下订单状态。", "请问营业时间是几点？", "怎么修改密码？",
    ],
    "positive": [
        "Thank you so much, that was really helpful!", "Great service, I'm very happy.",
        "Perfect, that solved my problem.", "You guys are awesome.", "Thanks, have a nice day!",
        "I love the new app.", "That was quick, thanks!", "Excellent support, really appreciate it.",
        "Everything works now, thank you.", "Best customer service I've had.", "Amazing, thanks a lot!",
        "The delivery came early, very pleased.", "Wonderful experience with your team.",
        "Thanks for sorting this out so fast.", "Great job!", "I'm impressed, well done.",
        "The crew was lovely and the flight was smooth.", "Much appreciated.", "Brilliant, cheers!",
        "So glad I chose you.", "That's exactly what I needed, thanks.", "Super helpful, thank you!",
        "谢谢，非常有帮助！", "服务很好，很满意。", "太棒了，谢谢你们。",
    ],
}

_NEG_WORDS = set("""bad terrible horrible awful worst useless rude angry furious annoyed annoying
frustrated frustrating disappointed disappointing unacceptable ridiculous broken late delayed delay
cancelled canceled lost stuck waiting wait never nobody refund complaint complain scam cheated
hate sucks sucked poor fail failed failure wrong error problem issue issues stranded missed
hold rebook incompetent pathetic disgusting joke unhelpful slow charged overcharged denied
declined fraud stolen upset sick tired fed crash crashed crashes mess nightmare""".split())
_POS_WORDS = set("""thanks thank thx great awesome amazing excellent love loved lovely perfect
wonderful fantastic helpful appreciate appreciated happy glad pleased nice good best brilliant
smooth quick fast friendly kind impressed superb cheers yay fabulous""".split())
_PROFANITY = set("""fuck fucking fucked shit shitty crap damn wtf bullshit ass asshole bloody
hell idiot idiots stupid morons moron""".split())
_NEGATORS = set("not no never don't doesn't didn't isn't wasn't aren't can't cannot won't hardly".split())
_ZH_NEG = ("差", "烂", "生气", "投诉", "垃圾", "失望", "骗", "慢", "退款", "没人", "不满", "气死")
_ZH_POS = ("谢谢", "感谢", "满意", "很好", "太棒", "不错", "好评", "帮助")
_WORD = re.compile(r"[a-z']+")


class TextEncoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


@dataclass(frozen=True)
class Sentiment:
    label: str
    scores: dict[str, float]  # probabilities for negative/neutral/positive
    score: float              # positive - negative, in [-1, 1]


def lexical_scores(text: str) -> np.ndarray:
    """Evidence counts (neg, neu, pos) from cue words, with negation flipping polarity."""
    low = text.lower().replace("’", "'")
    words = _WORD.findall(low)
    neg = pos = 0.0
    for i, w in enumerate(words):
        negated = any(p in _NEGATORS for p in words[max(0, i - 3):i])
        if w in _PROFANITY:
            neg += 1.5
        elif w in _NEG_WORDS:
            if negated:
                pos += 0.3
            else:
                neg += 1.0
        elif w in _POS_WORDS:
            if negated:
                neg += 1.0
            else:
                pos += 1.0
    neg += sum(1.0 for c in _ZH_NEG if c in text)
    pos += sum(1.0 for c in _ZH_POS if c in text)
    if "!!" in text or "??" in text or "?!" in text:
        neg += 0.5
    caps = [w for w in re.findall(r"\b[A-Z]{3,}\b", text) if w not in {"USA", "ATM", "PIN", "FAQ"}]
    if len(caps) >= 2:
        neg += 0.5
    # Sarcastic thanks ("thanks for nothing") is common in complaints.
    if re.search(r"thanks? (you )?for nothing|great,? (another|now)|just great", low):
        neg += 2.0
        pos = max(0.0, pos - 1.0)
    neu = 1.0 if neg == 0 and pos == 0 else 0.0
    return np.array([neg, neu, pos], dtype=np.float32)


class SentimentClassifier:
    """Prototype + lexicon sentiment model over the shared MiniLM encoder."""

    def __init__(self, encoder: TextEncoder | None = None, *, tau: float = TAU,
                 lexical_weight: float = LEXICAL_WEIGHT) -> None:
        if encoder is None:
            from ml.backends.embeddings import get_encoder

            encoder = get_encoder()
        self.encoder = encoder
        self.tau = tau
        self.lexical_weight = lexical_weight
        self._protos = [encoder.encode(SEEDS[lab]) for lab in LABELS]

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> list[Sentiment]:
        if not texts:
            return []
        emb = embeddings if embeddings is not None else self.encoder.encode(list(texts))
        sims = np.stack([np.sort(emb @ p.T, axis=1)[:, -3:].mean(axis=1) for p in self._protos], axis=1)
        logits = sims / self.tau
        lex = np.stack([lexical_scores(t) for t in texts])
        logits = logits + self.lexical_weight * lex / self.tau * 0.1
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        out = []
        for row in p:
            scores = {lab: float(v) for lab, v in zip(LABELS, row, strict=False)}
            out.append(Sentiment(label=LABELS[int(row.argmax())], scores=scores,
                                 score=scores["positive"] - scores["negative"]))
        return out

    def predict_one(self, text: str) -> Sentiment:
        return self.predict([text])[0]


_model: ProcessWide[SentimentClassifier] = ProcessWide(SentimentClassifier)


def get_sentiment_model() -> SentimentClassifier:
    """Process-wide sentiment model (shares the process-wide encoder)."""
    return _model.get()


def predict_sentiment(text: str) -> dict[str, object]:
    """One message -> ``{"label", "score" (probability of label), "polarity" (pos - neg), "scores"}``."""
    r = get_sentiment_model().predict_one(text)
    return {"label": r.label, "score": r.scores[r.label], "polarity": r.score, "scores": r.scores}
