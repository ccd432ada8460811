"""LangSmith tracing tests against a local recording endpoint."""
