"""The graph's nodes: plain async functions (and the agent subgraphs)."""
