"""Intent (real MiniLM), sentiment (real MiniLM + lexicon), language (pure Python)."""

from __future__ import annotations

import pytest

from ml.nlu.intent import IntentClassifier, data_hash, train_val_split
from ml.nlu.language import detect_language

FEW = {
    "reset_password": ["I forgot my password", "how do I reset my password"],
    "track_order": ["where is my order", "track my package"],
    "cancel_order": ["cancel my order please", "I want to cancel the purchase"],
    "opening_hours": ["when are you open", "what are your opening hours"],
}


@pytest.fixture(scope="module")
def few_shot(encoder):
    texts = [t for v in FEW.values() for t in v]
    labels = [k for k, v in FEW.items() for _ in v]
    return IntentClassifier.train(texts, labels, seed=0, encoder=encoder)


def test_few_shot_intent_predicts_and_flags_oos(few_shot, tmp_path):
    preds = few_shot.predict(["I can't remember my password", "has my parcel shipped yet?",
                              "what is the capital of Mongolia?", "recommend me a good pizza recipe"])
    assert preds[0].intent == "reset_password" and not preds[0].out_of_scope
    assert preds[1].intent == "track_order" and not preds[1].out_of_scope
    assert preds[2].out_of_scope and preds[3].out_of_scope
    few_shot.save(tmp_path)
    again = IntentClassifier.load(tmp_path, encoder=few_shot.encoder)
    assert [p.intent for p in again.predict(["forgot password"])] == ["reset_password"]


def test_intent_evaluate_metrics(few_shot):
    m = few_shot.evaluate(["forgot my password", "where's my order", "weather in Paris tomorrow"],
                          ["reset_password", "track_order", None])
    assert m["accuracy"] == 1.0 and m["oos_recall"] == 1.0
    assert {"macro_f1", "ece", "confused_pairs", "oos_precision"} <= set(m)


def test_split_and_hash_are_deterministic():
    labels = ["a"] * 10 + ["b"] * 10
    texts = [f"t{i}" for i in range(20)]
    assert train_val_split(labels, texts=texts, seed=1) == train_val_split(labels, texts=texts, seed=1)
    tr, va = train_val_split(labels, texts=texts, val_fraction=0.2)
    assert len(va) == 4 and not set(tr) & set(va)
    assert data_hash(texts, labels) == data_hash(texts[::-1], labels[::-1])


def test_sentiment(encoder):
    from ml.nlu.sentiment import SentimentClassifier

    m = SentimentClassifier(encoder)
    neg, neu, pos, negated = m.predict(["This is ridiculous, I've been waiting for two hours!!",
                                        "What time do you open tomorrow?",
                                        "Thanks a lot, that fixed it!", "not helpful at all"])
    assert neg.label == "negative" and neg.score < -0.3
    assert neu.label == "neutral"
    assert pos.label == "positive" and pos.score > 0.3
    assert negated.label == "negative"
    assert m.predict_one("你们的服务太差了，我要投诉").label == "negative"


@pytest.mark.parametrize("text,lang", [
    ("How do I reset my password?", "en"), ("我想查询一下我的订单", "zh"),
    ("¿Dónde está mi pedido? Necesito ayuda", "es"), ("Bonjour, je veux annuler ma commande", "fr"),
    ("Hallo, ich möchte mein Passwort ändern", "de"), ("Ciao, ho bisogno di aiuto con il mio conto", "it"),
    ("Olá, preciso de ajuda com a minha conta", "pt"), ("Здравствуйте, где мой заказ?", "ru"),
    ("注文はどこですか", "ja"),
])
def test_language(text, lang):
    assert detect_language(text).code == lang
