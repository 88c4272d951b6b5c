"""Answering: grounding checks, prompts, and the answer pipeline."""
