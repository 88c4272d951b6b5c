"""Kefu machine-learning package: plain-Python models, retrieval and answering.

Nothing here imports Django; heavy libraries (torch, transformers) are imported
lazily inside functions so that web processes importing ``ml`` stay light.
"""
