"""Conversation storage: checkpointer backends, pruning, sessions and per-session locks."""
