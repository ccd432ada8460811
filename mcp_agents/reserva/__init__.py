"""Reference agent 'reserva': bookings of tables, courts, spa and rooms (MCP server)."""
