"""LangGraph orchestration of a chat turn: state, nodes, agent subgraphs and prompts (no HTTP)."""
