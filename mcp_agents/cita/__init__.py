"""Reference agent 'cita': appointments with professionals (MCP server)."""
