"""Demo business-context service: company texts the orchestrator adds to its prompt."""
