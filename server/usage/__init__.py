"""Usage and cost per company: prices, budgets for the server's key, the per-turn meter."""
