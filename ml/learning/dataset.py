"""A tenant's intent training set, built from plain records.

The Django side turns intent examples, agent relabels and confirmed bot turns into
``Record``s (or dicts with the same keys); everything here is pure and deterministic so
that the same data always yields the same snapshot hash and split.

Why these choices:
- redaction happens first, so nothing downstream (dedup keys, hashes, artifacts) ever
  sees an identifier;
- duplicates are keyed on normalised text; when two records disagree on the label, the
  more trusted source wins (an agent's relabel beats an admin example beats a bot turn
  the visitor confirmed), then the newer one;
- the train/validation split hashes each text, so an example keeps its side when data
  grows and validation numbers of successive versions stay comparable.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ml.learning.redact import PLACEHOLDERS, redact_with_report

OUT_OF_SCOPE = "out_of_scope"
_OOS_ALIASES = {"", "oos", "out_of_scope", "out-of-scope", "none", "other", "__oos__"}

# Higher wins a label conflict between duplicates.
SOURCE_PRIORITY: dict[str, int] = {
    "relabel": 3,      # an agent corrected the intent of a real message
    "example": 2,      # an admin wrote it as an intent example
    "confirmed": 1,    # a bot turn whose intent the visitor confirmed (thumbs up / resolved)
}
DEFAULT_VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class Record:
    """One candidate training example, as the Django side hands it over."""

    text: str
    label: str | None
    source: str = "example"
    visitor_deleted: bool = False
    created_at: float | str | None = None  # anything sortable; newer wins ties
    record_id: str | None = None

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> Record:
        return cls(text=str(m.get("text") or ""), label=m.get("label"), source=str(m.get("source") or "example"),
                   visitor_deleted=bool(m.get("visitor_deleted", False)), created_at=m.get("created_at"),
                   record_id=None if m.get("record_id") is None else str(m.get("record_id")))


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass
class SnapshotMeta:
    """What a model version records about its data; compared by the scheduler."""

    hash: str
    n_train: int
    n_validation: int
    labels: list[str]
    validation_hash: str
    # 8-hex fingerprints of (text, label): lets the scheduler count *new or changed*
    # labelled examples, not just a size difference (a relabel changes no count).
    fingerprints: list[str] = field(default_factory=list)

    @property
    def n_total(self) -> int:
        return self.n_train + self.n_validation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SnapshotMeta:
        return cls(hash=str(d.get("hash", "")), n_train=int(d.get("n_train", 0)),
                   n_validation=int(d.get("n_validation", 0)), labels=list(d.get("labels", [])),
                   validation_hash=str(d.get("validation_hash", "")),
                   fingerprints=list(d.get("fingerprints", [])))


@dataclass
class TrainingSet:
    train: list[Example]
    validation: list[Example]
    labels: list[str]
    snapshot: SnapshotMeta
    stats: dict[str, int]

    def texts_labels(self, part: str = "train") -> tuple[list[str], list[str]]:
        rows = self.train if part == "train" else self.validation
        return [e.text for e in rows], [e.label for e in rows]


_WS_RE = re.compile(r"\s+")
_PUNCT_EDGE_RE = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(text: str) -> str:
    """Dedup key: NFKC, case-folded, whitespace collapsed, edge punctuation dropped."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = _WS_RE.sub(" ", t).strip()
    for p in PLACEHOLDERS:  # placeholders survive edge stripping ("<card>" would not)
        t = t.replace(p.casefold(), p.strip("<>").upper() + "_PH")
    return _PUNCT_EDGE_RE.sub("", t)


def canonical_label(label: str | None) -> str:
    if label is None or str(label).strip().lower() in _OOS_ALIASES:
        return OUT_OF_SCOPE
    return str(label).strip()


def _bucket(key: str) -> float:
    """Position of a text in [0, 1): a pure function of the text (stable splits)."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], 16) / float(16 ** 12)


def _fingerprint(key: str, label: str) -> str:
    return hashlib.sha256(f"{key}\x1f{label}".encode()).hexdigest()[:8]


def _digest(rows: Iterable[Example]) -> str:
    h = hashlib.sha256()
    for e in sorted(rows, key=lambda e: (e.label, e.text)):
        h.update(json.dumps([e.label, e.text], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def build_training_set(records: Iterable[Record | Mapping[str, Any]], *,
                       validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
                       min_chars: int = 2) -> TrainingSet:
    """Redact, filter, deduplicate and split ``records`` into a ``TrainingSet``.

    Deleted visitors' messages are dropped before anything else is done with them. Every
    label keeps at least one training example (a label seen only in validation could
    never be predicted).
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError("validation_fraction must be in [0, 1)")
    stats: Counter[str] = Counter()
    chosen: dict[str, tuple[tuple[int, str, int], Example]] = {}
    for order, raw in enumerate(records):
        rec = raw if isinstance(raw, Record) else Record.from_mapping(raw)
        stats["records"] += 1
        if rec.visitor_deleted:
            stats["dropped_deleted_visitor"] += 1
            continue
        red = redact_with_report(rec.text)
        for kind, n in red.counts.items():
            stats[f"redacted_{kind.strip('<>').lower()}"] += n
        text = _WS_RE.sub(" ", red.text).strip()
        key = normalise(text)
        if len(key) < min_chars or not any(ch.isalnum() for ch in key.replace("_PH", "")):
            stats["dropped_empty"] += 1
            continue
        label = canonical_label(rec.label)
        rank = (SOURCE_PRIORITY.get(rec.source, 0), str(rec.created_at or ""), order)
        prev = chosen.get(key)
        if prev is not None:
            stats["duplicates"] += 1
            if prev[1].label != label:
                stats["label_conflicts"] += 1
            if prev[0] >= rank:
                continue
        chosen[key] = (rank, Example(text=text, label=label))

    train: list[Example] = []
    val: list[Example] = []
    val_keys: dict[str, list[tuple[float, str]]] = {}
    buckets = {key: _bucket(key) for key in chosen}
    for key in sorted(chosen):
        ex = chosen[key][1]
        if buckets[key] < validation_fraction:
            val.append(ex)
            val_keys.setdefault(ex.label, []).append((buckets[key], key))
        else:
            train.append(ex)
    train_labels = {e.label for e in train}
    for label, items in val_keys.items():
        if label not in train_labels:  # move the example nearest the boundary back to train
            _b, key = max(items)
            ex = chosen[key][1]
            val.remove(ex)
            train.append(ex)
            stats["moved_to_train"] += 1
    labels = sorted({e.label for e in train})
    fingerprints = sorted(_fingerprint(normalise(e.text), e.label) for e in train + val)
    snapshot = SnapshotMeta(hash=_digest(train + val), n_train=len(train), n_validation=len(val),
                            labels=labels, validation_hash=_digest(val), fingerprints=fingerprints)
    stats["kept"] = len(train) + len(val)
    return TrainingSet(train=train, validation=val, labels=labels, snapshot=snapshot, stats=dict(stats))


@dataclass(frozen=True)
class DataCheck:
    retrain: bool
    new_examples: int
    reason: str


def enough_new_data(previous: SnapshotMeta | Mapping[str, Any] | None, current: SnapshotMeta | TrainingSet, *,
                    min_new: int = 20, min_examples: int = 10) -> DataCheck:
    """Whether a *scheduled* retrain is worth running (a manual one can skip this).

    Counts labelled examples that are new or whose label changed since ``previous`` (the
    snapshot of the serving version); a first model needs ``min_examples`` and two labels.
    """
    cur = current.snapshot if isinstance(current, TrainingSet) else current
    if cur.n_total < min_examples or len(cur.labels) < 2:
        return DataCheck(False, 0, f"not enough data to train ({cur.n_total} examples, {len(cur.labels)} labels)")
    if previous is None:
        return DataCheck(True, cur.n_total, "no model trained yet")
    prev = previous if isinstance(previous, SnapshotMeta) else SnapshotMeta.from_dict(previous)
    if prev.hash and prev.hash == cur.hash:
        return DataCheck(False, 0, "training data unchanged since the serving version")
    if prev.fingerprints and cur.fingerprints:
        new = len(set(cur.fingerprints) - set(prev.fingerprints))
    else:  # an older snapshot without fingerprints: fall back to the size difference
        new = max(0, cur.n_total - prev.n_total)
    if new < min_new:
        return DataCheck(False, new, f"{new} new or relabelled examples, fewer than {min_new}")
    return DataCheck(True, new, f"{new} new or relabelled examples")
