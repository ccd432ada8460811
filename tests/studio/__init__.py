"""LangGraph Studio: langgraph.json and `langgraph dev` running the server's graph."""
