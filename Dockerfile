# syntax=docker/dockerfile:1
# MaravIA Orquestador: one image for the orchestrator and the reference agents (see compose.yaml).
#   docker build -t maravia-orquestador .
#   docker run -p 8000:8000 --env-file .env maravia-orquestador
#   WEB_CONCURRENCY=N (uvicorn's own variable) runs N worker processes; see the README's "Workers".
ARG PYTHON_IMAGE=python:3.11-slim

# -- build: install the project and its dependencies into a virtualenv ------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml ./
COPY common ./common
COPY graph ./graph
COPY server ./server
COPY mcp_agents ./mcp_agents
RUN pip install --upgrade pip && pip install .

# -- runtime: the virtualenv only (no sources, tests or build tools), as a non-root user --------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UVICORN_HOST=0.0.0.0 \
    UVICORN_PORT=8000 \
    WEB_CONCURRENCY=1 \
    CHECKPOINT_DB=/app/data/checkpoints.sqlite \
    FORWARDED_ALLOW_IPS="" \
    SHUTDOWN_GRACE_SECONDS=60
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app/data \
    && chown -R 10001:10001 /app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('UVICORN_PORT', '8000') + '/health', timeout=4)"]
# Stopping: the app drains turns for up to SHUTDOWN_GRACE_SECONDS (60), then uvicorn closes within
# --timeout-graceful-shutdown (10): give the container 75 s (`docker run --stop-timeout 75`;
# compose.yaml sets stop_grace_period: 75s), else Docker kills it after its default 10 s.
STOPSIGNAL SIGTERM
CMD ["uvicorn", "server.main:app", "--no-server-header", "--timeout-graceful-shutdown", "10"]
