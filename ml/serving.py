"""Per-process serving state for inference workers: one retrieval index, intent model,
policy and action set per tenant, refreshed when the tenant's revision counters change.

Imported lazily by ``ml.api.analyze_and_reply`` (never at import time of a web
process). Heavy models (MiniLM, the generator) load once per process on first use.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.urls import reverse

from ml.actions import ActionSpec
from ml.retrieval import Chunk, HybridIndex, chunk_markdown

logger = logging.getLogger(__name__)

EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"


def encode(texts: list[str]) -> np.ndarray:
    from ml.backends.embeddings import encode as _encode

    return _encode(texts)


def article_url(tenant_slug: str, article_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("ml-public:article", args=[tenant_slug, article_id])


# --- intent model ------------------------------------------------------------------------------


@dataclass
class IntentPrediction:
    name: str | None
    confidence: float
    out_of_scope: bool
    candidates: list[dict[str, Any]] = field(default_factory=list)


class IntentModel:
    """Adapter over the intent classifier: the trained/serving artifact when there is one
    (``ml.nlu.intent.IntentClassifier``), else a linear head fitted on the tenant's
    examples right now (no training wait)."""

    def __init__(self, classifier: Any = None, names: list[str] | None = None,
                 example_vecs: np.ndarray | None = None, example_labels: list[str] | None = None) -> None:
        self.classifier = classifier
        self.names = names or []
        self.example_vecs = example_vecs
        self.example_labels = example_labels or []

    @classmethod
    def from_examples(cls, examples: list[tuple[str, str]]) -> IntentModel:
        labels = sorted({label for label, _text in examples})
        if not labels:
            return cls()
        texts = [text for _label, text in examples]
        vecs = encode(texts)
        example_labels = [label for label, _text in examples]
        classifier = None
        if classifier is None and len(labels) >= 2:
            from sklearn.linear_model import LogisticRegression

            classifier = LogisticRegression(C=10.0, max_iter=2000)
            classifier.fit(vecs, example_labels)
        return cls(classifier=classifier, names=labels, example_vecs=vecs, example_labels=example_labels)

    def predict(self, text: str, vec: np.ndarray) -> IntentPrediction:
        if not self.names or self.example_vecs is None:
            return IntentPrediction(None, 0.0, True)
        sims = self.example_vecs @ vec
        best_sim_by_label: dict[str, float] = {}
        for label, sim in zip(self.example_labels, sims, strict=False):
            best_sim_by_label[label] = max(best_sim_by_label.get(label, -1.0), float(sim))
        if self.classifier is not None and hasattr(self.classifier, "predict_proba"):
            try:
                probs = self.classifier.predict_proba(vec.reshape(1, -1))[0]
                classes = list(self.classifier.classes_)
            except Exception:  # noqa: BLE001 - helper classifier takes text
                return self._predict_helper(text, best_sim_by_label)
            ranked = sorted(zip(classes, probs, strict=False), key=lambda x: -x[1])
        elif self.classifier is not None:
            return self._predict_helper(text, best_sim_by_label)
        else:  # one intent only: similarity is the confidence
            ranked = [(self.names[0], max(0.0, best_sim_by_label[self.names[0]]))]
        name, prob = ranked[0]
        nearest = best_sim_by_label.get(str(name), 0.0)
        # Calibrated-ish confidence: the head's probability, damped when the message is
        # far from every example of that intent (out-of-scope guard).
        confidence = float(prob) * float(np.clip((nearest - 0.25) / 0.35, 0.0, 1.0))
        oos = nearest < 0.45
        cands = [{"name": str(n), "probability": round(float(p), 4), "similarity": round(best_sim_by_label.get(str(n), 0.0), 4)}
                 for n, p in ranked[:3]]
        return IntentPrediction(None if oos else str(name), round(confidence, 4), oos, cands)

    def _predict_helper(self, text: str, sims: dict[str, float]) -> IntentPrediction:
        result = self.classifier.predict([text])[0]
        if isinstance(result, dict):
            name = result.get("intent") or result.get("name")
            conf = float(result.get("confidence", 0.0))
            oos = bool(result.get("out_of_scope", name is None))
        else:
            name = getattr(result, "intent", None) or getattr(result, "name", None)
            conf = float(getattr(result, "confidence", 0.0))
            oos = bool(getattr(result, "out_of_scope", name is None))
        return IntentPrediction(None if oos else name, round(conf, 4), oos,
                                [{"name": k, "similarity": round(v, 4)} for k, v in sorted(sims.items(), key=lambda x: -x[1])[:3]])


class TrainedIntentModel(IntentModel):
    """A registry version (``ml.nlu.intent.IntentClassifier`` or
    ``ml.learning.model.LinearIntentModel``): its own calibrated confidence and OOS rule."""

    def __init__(self, classifier: Any, version: int | None = None) -> None:
        names = list(getattr(classifier, "classes", None) or getattr(classifier, "classes_", []))
        super().__init__(classifier=classifier, names=[str(n) for n in names])
        self.version = version
        # A fine-tuned encoder (CUDA retrains) needs its own vectors, not the bundled ones.
        # (load_model gives an IntentClassifier an encoder only when it was fine-tuned.)
        self.own_encoder = (getattr(classifier, "encoder_dir", None) is not None
                            or getattr(classifier, "encoder", None) is not None)

    def predict(self, text: str, vec: np.ndarray) -> IntentPrediction:
        from ml.learning.metrics import parse_prediction

        emb = None if self.own_encoder else np.asarray(vec, dtype=np.float32).reshape(1, -1)
        raw = self.classifier.predict([text], embeddings=emb)[0]
        p = parse_prediction(raw)
        top = getattr(raw, "top", None) or [(c["name"], c["probability"]) for c in
                                             (raw.get("candidates", []) if isinstance(raw, dict) else [])]
        cands = [{"name": str(n), "probability": round(float(pr), 4)} for n, pr in list(top)[:3]]
        oos = p.label == "out_of_scope"
        return IntentPrediction(None if oos else p.label, round(float(p.confidence), 4), oos, cands)


# --- tenant state -----------------------------------------------------------------------------------


@dataclass
class TenantState:
    key: tuple
    tenant_slug: str
    index: HybridIndex | None
    articles: dict[str, dict[str, Any]]
    intent_model: IntentModel
    intents: dict[str, dict[str, Any]]
    policy: dict[str, Any]
    actions: list[ActionSpec]
    actions_by_intent: dict[str, list[ActionSpec]]
    built_at: float = field(default_factory=time.time)
    # The index as built from the articles; ``index`` is it wrapped by the tenant's
    # learned retrieval model when one is serving (ml.learning.retrieval.AdaptedIndex).
    base_index: HybridIndex | None = None


_states: dict[int, TenantState] = {}
_state_locks: dict[int, threading.Lock] = {}
_global_lock = threading.Lock()


def _revision_key(tenant_id: int) -> tuple:
    from ml.models import MLRevision, ModelStatus, ModelVersion

    rev = MLRevision.objects.for_tenant(tenant_id).values_list("knowledge", "intents", "config").first()
    serving = dict(
        ModelVersion.objects.for_tenant(tenant_id)
        .filter(kind__in=("intent", "retrieval"), status=ModelStatus.SERVING)
        .values_list("kind", "pk")
    )
    return (rev or (0, 0, 0), serving.get("intent"), serving.get("retrieval"))


def get_state(tenant_id: int) -> TenantState:
    """The tenant's state, rebuilt when its revision counters or serving model changed."""
    key = _revision_key(tenant_id)
    state = _states.get(tenant_id)
    if state is not None and state.key == key:
        return state
    with _global_lock:
        lock = _state_locks.setdefault(tenant_id, threading.Lock())
    with lock:
        state = _states.get(tenant_id)
        if state is not None and state.key == key:
            return state
        old = state
        state = _build_state(tenant_id, key, old)
        _states[tenant_id] = state
        return state


def drop_state(tenant_id: int | None = None) -> None:
    if tenant_id is None:
        _states.clear()
    else:
        _states.pop(tenant_id, None)


def _build_state(tenant_id: int, key: tuple, old: TenantState | None) -> TenantState:
    from tenants.models import Tenant

    t0 = time.perf_counter()
    tenant = Tenant.objects.get(pk=tenant_id)
    (knowledge_rev, intents_rev, config_rev), serving_id, retrieval_id = key
    old_key = old.key if old else ((-1, -1, -1), None, None)
    (old_k, old_i, old_c), old_serving, _old_retrieval = old_key

    base, articles = (old.base_index, old.articles) if old and old_k == knowledge_rev else _build_index(tenant)
    index = _learned_index(tenant, base, retrieval_id)
    if old and old_i == intents_rev and old_serving == serving_id:
        intent_model, intents = old.intent_model, old.intents
    else:
        intent_model, intents = _build_intents(tenant, serving_id)
    if old and old_c == config_rev and old_i == intents_rev:
        policy, actions, by_intent = old.policy, old.actions, old.actions_by_intent
    else:
        policy, actions, by_intent = _load_config(tenant)
    logger.info("ml state for tenant %s built in %.2fs (%s chunks)", tenant_id, time.perf_counter() - t0,
                len(index) if index else 0)
    return TenantState(key=key, tenant_slug=tenant.slug, index=index, articles=articles,
                       intent_model=intent_model, intents=intents, policy=policy,
                       actions=actions, actions_by_intent=by_intent, base_index=base)


def base_index(tenant_id: int) -> HybridIndex | None:
    """The tenant's index without its learned retrieval model (what retrieval training
    learns against)."""
    return get_state(tenant_id).base_index


def _learned_index(tenant: Any, base: HybridIndex | None, retrieval_id: int | None) -> Any:
    """``base`` searched through the serving retrieval model (a query adapter on the
    frozen vectors); ``base`` itself when none serves or its files cannot be loaded."""
    from ml.learning.retrieval import AdaptedIndex, QueryAdapter
    from ml.models import ModelVersion

    if base is None or retrieval_id is None:
        return base
    version = ModelVersion.objects.for_tenant(tenant).filter(pk=retrieval_id).first()
    try:
        if version is None or not version.artifact_path:
            return base
        return AdaptedIndex(base, QueryAdapter.load(version.artifact_path), version=version.version)
    except Exception:  # noqa: BLE001 - a broken artifact must not take serving down
        logger.exception("cannot load retrieval model version %s; using the frozen encoder", retrieval_id)
        return base


def _build_index(tenant: Any) -> tuple[HybridIndex | None, dict[str, dict[str, Any]]]:
    from ml import selectors

    chunks: list[Chunk] = []
    vectors: list[np.ndarray | None] = []
    articles: dict[str, dict[str, Any]] = {}
    to_encode: list[int] = []
    for article in selectors.live_articles(tenant=tenant):
        aid = str(article.pk)
        articles[aid] = {"id": article.pk, "title": article.title, "language": article.language,
                         "url": article_url(tenant.slug, article.pk)}
        stored = list(article.chunks.all()) if article.embedded_revision == article.revision else []
        if stored and all(c.embedding for c in stored):
            for c in stored:
                chunks.append(Chunk(id=f"{aid}#{c.position}", article_id=aid, title=article.title, text=c.text))
                vectors.append(np.frombuffer(bytes(c.embedding), dtype=np.float32))
        else:  # not embedded yet: chunk and encode here (the task will persist them)
            for n, text in enumerate(chunk_markdown(article.body)):
                chunks.append(Chunk(id=f"{aid}#{n}", article_id=aid, title=article.title, text=text))
                vectors.append(None)
                to_encode.append(len(chunks) - 1)
    if not chunks:
        return None, articles
    if to_encode:
        fresh = encode([f"{chunks[i].title}\n{chunks[i].text}" for i in to_encode])
        for j, i in enumerate(to_encode):
            vectors[i] = fresh[j]
    matrix = np.vstack([v for v in vectors if v is not None]).astype(np.float32)
    return HybridIndex.build(chunks, matrix), articles


def _build_intents(tenant: Any, serving_id: int | None) -> tuple[IntentModel, dict[str, dict[str, Any]]]:
    from ml import selectors

    intents = {i.name: {"id": i.pk, "escalates": i.escalates, "description": i.description}
               for i in selectors.intent_list(tenant=tenant)}
    examples = selectors.training_examples(tenant=tenant)
    model = None
    if serving_id is not None:
        model = _load_serving_model(tenant, serving_id, examples)
    if model is None:
        model = IntentModel.from_examples(examples)
    return model, intents


def _load_serving_model(tenant: Any, serving_id: int, examples: list[tuple[str, str]]) -> IntentModel | None:
    """The promoted artifact (ml.learning.model.load_model); None (fall back to the
    starting model) when its files cannot be loaded."""
    from ml.learning.model import load_model
    from ml.models import ModelVersion

    version = ModelVersion.objects.for_tenant(tenant).filter(pk=serving_id).first()
    if version is None or not version.artifact_path:
        return None
    try:
        classifier = load_model(version.artifact_path)
    except Exception:  # noqa: BLE001 - a broken artifact must not take serving down
        logger.exception("cannot load intent model version %s; using examples", serving_id)
        return None
    return TrainedIntentModel(classifier, version=version.version)


def _load_config(tenant: Any) -> tuple[dict[str, Any], list[ActionSpec], dict[str, list[ActionSpec]]]:
    from ml import selectors

    policy = selectors.policy_dict(tenant=tenant)
    actions: list[ActionSpec] = []
    by_intent: dict[str, list[ActionSpec]] = {}
    for action in selectors.active_actions(tenant=tenant):
        spec = ActionSpec(
            id=action.pk, name=action.name, method=action.method, url_template=action.url_template,
            parameters=list(action.parameters or []), auth_header_name=action.auth_header_name,
            auth_header_value=action.auth_header_value, response_template=action.response_template,
            response_fields=[str(f) for f in action.response_fields or []],
            read_only=action.read_only, needs_approval=action.needs_approval,
            requires_verified_visitor=action.requires_verified_visitor, timeout_s=action.timeout_s,
        )
        actions.append(spec)
        for intent_name in action.trigger_intents or []:
            by_intent.setdefault(str(intent_name), []).append(spec)
    return policy, actions, by_intent
