"""Tests of the reference MCP agent servers and the demo business-context service."""
