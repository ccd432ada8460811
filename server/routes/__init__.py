"""HTTP routes: chat, admin (memory and config) and service info."""
