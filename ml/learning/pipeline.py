"""The one retraining orchestration: data check -> train -> gate -> replay.

``ml.training.retrain_tenant`` (the task) and the tests call it. The task owns the lock,
the TrainingRun/ModelVersion rows and the promotion itself; this function only computes.
It never touches the serving artifact (it only reads it), so a crash anywhere here leaves
serving as it was; a serving artifact that cannot be loaded does not block a candidate
(it is gated as a first model, against the absolute thresholds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.learning.dataset import DataCheck, Record, SnapshotMeta, build_training_set, enough_new_data
from ml.learning.gate import GatePolicy, compare
from ml.learning.model import EncodeFn, load_model
from ml.learning.replay import ReplayMessage, ReplayPolicy, replay
from ml.learning.trainer import CandidateResult, Progress, TrainParams, code_version, train_candidate

logger = logging.getLogger(__name__)


# Why a retrain trained nothing (RetrainOutcome.skipped).
TOO_FEW_INTENTS = "too_few_intents"
NOT_ENOUGH_NEW_DATA = "not_enough_new_data"


@dataclass
class RetrainOutcome:
    trained: bool
    reason: str                       # why skipped, or the gate's reason
    data_check: DataCheck
    snapshot: dict[str, Any]          # store with the version (SnapshotMeta.to_dict())
    data_stats: dict[str, int]
    code_version: str
    candidate: CandidateResult | None = None
    promote: bool = False
    gate: dict[str, Any] = field(default_factory=dict)   # {"candidate": metrics, "serving": metrics|None}
    replay: dict[str, Any] | None = None
    skipped: str | None = None        # TOO_FEW_INTENTS | NOT_ENOUGH_NEW_DATA when not trained

    def summary(self) -> dict[str, Any]:
        """JSON-safe view for ModelVersion.metrics / TrainingRun.message."""
        return {"trained": self.trained, "promote": self.promote, "reason": self.reason,
                "new_examples": self.data_check.new_examples, "data_stats": self.data_stats,
                "metrics": self.candidate.metrics if self.candidate else None, "gate": self.gate,
                "replay": self.replay, "code_version": self.code_version,
                "training_seconds": self.candidate.training_seconds if self.candidate else 0.0}


def retrain(records: Iterable[Record | Mapping[str, Any]], *, out_dir: str | Path,
            serving_artifact_dir: str | Path | None = None,
            serving_snapshot: SnapshotMeta | Mapping[str, Any] | None = None,
            scheduled: bool = False, min_new: int = 20, gate_policy: GatePolicy | Mapping[str, Any] | None = None,
            replay_messages: Iterable[ReplayMessage | Mapping[str, Any]] | None = None,
            replay_policy: ReplayPolicy | Mapping[str, Any] | None = None,
            progress: Progress | None = None, should_cancel: Callable[[], bool] | None = None,
            params: TrainParams | None = None, finetune: bool | None = None,
            encode: EncodeFn | None = None, backend: str = "intent") -> RetrainOutcome:
    """Build the data, and unless it has fewer than two intents or a scheduled run finds
    too little new data, train a candidate, score it against the serving artifact on the
    candidate's validation examples and replay recent messages. Raises ``Cancelled``
    when cancelled."""
    ds = build_training_set(records)
    check = enough_new_data(serving_snapshot, ds, min_new=min_new if scheduled else 0)
    base: dict[str, Any] = {"data_check": check, "snapshot": ds.snapshot.to_dict(), "data_stats": ds.stats,
            "code_version": code_version()}
    if len([label for label in ds.labels if label != "out_of_scope"]) < 2:
        return RetrainOutcome(trained=False, reason="fewer than two intents with examples", skipped=TOO_FEW_INTENTS,
                              **base)
    if scheduled and not check.retrain:
        return RetrainOutcome(trained=False, reason=check.reason, skipped=NOT_ENOUGH_NEW_DATA, **base)
    cand = train_candidate(ds, out_dir=out_dir, progress=progress, should_cancel=should_cancel, params=params,
                           finetune=finetune, encode=encode, backend=backend)
    serving = None
    if serving_artifact_dir:
        try:
            serving = load_model(serving_artifact_dir)
        except Exception:  # a missing/broken serving artifact must not block a good candidate
            logger.exception("cannot load serving artifact %s; gating as a first model", serving_artifact_dir)
    report = progress or (lambda *_a: None)
    report("comparing", 0, 1, None)
    policy = gate_policy if isinstance(gate_policy, GatePolicy) else GatePolicy.from_dict(gate_policy)
    vt, vl = ds.texts_labels("validation")
    cmp = compare(cand.model, serving, vt, vl, policy=policy, validation_hash=ds.snapshot.validation_hash)
    report("comparing", 1, 1, None)
    diff = None
    if replay_messages is not None:
        report("replaying", 0, 1, None)
        diff = replay(replay_messages, cand.model, policy=replay_policy)
        report("replaying", 1, 1, None)
    return RetrainOutcome(trained=True, reason=cmp.decision.reason, candidate=cand, promote=cmp.decision.promote,
                          gate={"candidate": cmp.candidate, "serving": cmp.serving}, replay=diff, **base)
