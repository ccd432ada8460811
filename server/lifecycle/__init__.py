"""The process's life: start-up refusals, graceful shutdown, worker identity, the frozen heap."""
