"""FastAPI service around the orchestration graph: settings, schemas, routes, lifespan, ops."""
