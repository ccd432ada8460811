"""One chat turn as the API serves it: the lock, the turn API call, errors, metrics, SSE."""
