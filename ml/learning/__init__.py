"""Learning loop (issue 6) as plain Python: redaction, training sets, candidate training,
promotion gate, replay and knowledge-gap mining. No Django imports: the Django side
(ml/services.py, ml/tasks.py) passes plain records in and stores what comes back.
torch and transformers are imported lazily inside functions."""
