"""Run the demo business-context service: python -m mcp_agents.contexto [--host H] [--port 8004]."""

from mcp_agents.common.cli import parse_options, serve
from mcp_agents.contexto.app import build_app

if __name__ == "__main__":
    options = parse_options("contexto", 8004, with_db=False)
    serve("contexto", build_app(), options, "POST / or /contexto, GET /health")
