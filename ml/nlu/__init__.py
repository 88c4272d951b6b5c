"""Natural-language understanding: intent, sentiment, language."""
