"""Reference MCP agent servers (reserva, cita, venta) and the demo business-context service."""
