"""Specialist agents over MCP: held sessions, resilience, and the registry the graph calls."""
