"""Self-tests of the shared test infrastructure (tests/support) with the real clients."""
