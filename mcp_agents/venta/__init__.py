"""Reference agent 'venta': products, prices in soles, quotes and orders (MCP server)."""
