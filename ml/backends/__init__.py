"""Model backends (embeddings, generation). Import-light: torch loads on first use."""
