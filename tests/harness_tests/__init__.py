"""Self-tests of the shared test infrastructure (harness) with the real clients."""
