"""Conversation handling around the answer step: turn state, small talk, slots and
actions, the visitor's language, bot texts (gettext) and the agent's thresholds."""
