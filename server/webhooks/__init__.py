"""Replies by webhook: asynchronous turns, the durable outbox and its signed delivery."""
