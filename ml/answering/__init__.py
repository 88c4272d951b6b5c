"""Answering: the answer step of a bot turn (``answer``), its answer-or-abstain model
(``answerability``), grounding checks (``grounding``) and human-request detection (``policy``)."""
