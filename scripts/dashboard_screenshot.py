"""docs/dashboard.png: the Grafana dashboard's panels drawn from a real Prometheus.

Grafana is not packaged in Debian, so this draws the same panels (deploy/grafana/orquestador.json:
titles, queries, legends, layout) from Prometheus's query_range answers as SVG, and headless
Chromium takes the picture. The data is real: an orchestrator (OpenAI stub, one HTTP agent)
serves a few minutes of mixed traffic while Debian's Prometheus scrapes it every second.

    .venv/bin/python -m scripts.dashboard_screenshot [--minutes 3] [--out docs/dashboard.png]
"""

import argparse
import html
import json
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from harness import REPO_ROOT
from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub, error, route_json
from harness.orchestrator import RunningApp, chat_body, orchestrator_settings
from harness.procs import ServerProcess, free_port

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "orquestador.json"
CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#f2495c", "#b877d9", "#8ab8ff", "#fade2a"]
ROW_PX, COL_PX = 34, 62


def start_prometheus(tmp: Path, target: str) -> tuple[ServerProcess, str]:
    config = yaml.safe_load(CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(REPO_ROOT / "deploy" / "prometheus" / "alerts.yml")]
    (job,) = config["scrape_configs"]
    del job["authorization"]  # the demo app has no admin key
    job["static_configs"] = [{"targets": [target]}]
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = ServerProcess(
        [
            "/usr/bin/prometheus",
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        name="prometheus",
        log_dir=tmp,
        cwd=tmp,
        ready_url=f"{base}/-/ready",
        ready_timeout=60,
    )
    return process.start(), base


def traffic(app: RunningApp, stub: OpenAIStub, agent: HttpAgent, seconds: float) -> None:
    """Mixed turns of three companies: answered, delegated, model failures, agent failures."""
    rng = random.Random(26)
    agent.state.usage = {"prompt_tokens": 120, "completion_tokens": 40}
    stub.latency = 0.05
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        i += 1
        roll = rng.random()
        if roll < 0.45:
            stub.enqueue(route_json("respond", reply="¡Hola! ¿En qué te ayudo hoy?"))
        elif roll < 0.9:
            stub.enqueue(route_json("delegate", "venta"))
            if rng.random() < 0.1:
                agent.state.statuses.append(500)
        else:
            stub.enqueue(error(500))
        agent.state.delay = rng.uniform(0.05, 0.4)
        company = rng.choice((11, 11, 11, 22, 22, 33))
        body = chat_body(
            "quiero comprar unas zapatillas " * rng.randint(1, 6), f"d-{i}", id_empresa=company
        )
        app.client.post("/api/agent/chat", json=body)
        time.sleep(rng.uniform(0.05, 0.3))


def series(base: str, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    expr = expr.replace("$__rate_interval", "20s")
    params: dict[str, str | float] = {"query": expr, "start": start, "end": end, "step": 2}
    r = httpx.get(f"{base}/api/v1/query_range", params=params, timeout=30, trust_env=False)
    result: list[dict[str, Any]] = r.json()["data"]["result"]
    return result


def legend(fmt: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def _short(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.3g}"


def svg(
    lines: list[tuple[str, list[tuple[float, float]]]], width: int, height: int, unit: str
) -> str:
    points = [p for _, pts in lines for p in pts]
    if not points:
        return f'<div class="empty" style="height:{height}px">No data</div>'
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    top = max(p[1] for p in points) or 1.0
    top *= 1.1
    pad = 44
    out = [f'<svg width="{width}" height="{height}">']
    for k in range(5):
        y = height - 16 - (height - 24) * k / 4
        value = top * k / 4
        label = f"{value * 100:.1f}%" if unit == "percentunit" else _short(value)
        out.append(f'<line x1="{pad}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{pad - 4}" y="{y + 3:.1f}" class="axis" text-anchor="end">{label}</text>'
        )
    for n, (_, pts) in enumerate(lines):
        coords = " ".join(
            f"{pad + (width - pad) * (x - x0) / ((x1 - x0) or 1):.1f},"
            f"{height - 16 - (height - 24) * y / top:.1f}"
            for x, y in pts
        )
        color = COLORS[n % len(COLORS)]
        out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.6"/>')
    out.append("</svg>")
    return "".join(out)


def render(base: str, start: float, end: float) -> str:
    dashboard = json.loads(DASHBOARD.read_text())
    blocks = []
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        style = (
            f"grid-column:{pos['x'] + 1} / span {pos['w']};"
            f"grid-row:{pos['y'] + 1} / span {pos['h']}"
        )
        if panel["type"] == "row":
            blocks.append(f'<div class="row" style="{style}">{html.escape(panel["title"])}</div>')
            continue
        lines = []
        for target in panel["targets"]:
            for item in series(base, target["expr"], start, end):
                pts = [
                    (float(t), float(v))
                    for t, v in item["values"]
                    if v not in ("NaN", "+Inf", "-Inf")
                ]
                lines.append((legend(target.get("legendFormat", ""), item["metric"]), pts))
        unit = panel["fieldConfig"]["defaults"]["unit"]
        width, height = pos["w"] * COL_PX - 24, pos["h"] * ROW_PX - 70
        keys = "".join(
            f'<span><i style="background:{COLORS[n % len(COLORS)]}"></i>'
            f"{html.escape(name or 'value')}</span>"
            for n, (name, _) in enumerate(lines[:8])
        )
        blocks.append(
            f'<div class="panel" style="{style}"><h3>{html.escape(panel["title"])}</h3>'
            f"{svg(lines, width, height, unit)}<div class='legend'>{keys}</div></div>"
        )
    css = (
        "body{margin:0;background:#111217;font:12px Inter,Arial,sans-serif;color:#ccccdc}"
        "header{padding:10px 16px;font-size:16px;color:#fff;border-bottom:1px solid #2c2d33}"
        f".grid{{display:grid;grid-template-columns:repeat(24,{COL_PX - 4}px);"
        f"grid-auto-rows:{ROW_PX - 4}px;gap:4px;padding:8px}}"
        ".row{font-size:14px;color:#fff;align-self:end;font-weight:600}"
        ".panel{background:#181b1f;border:1px solid #2c2d33;border-radius:3px;"
        "padding:6px 10px;overflow:hidden}"
        "h3{margin:0 0 4px;font-size:12px;font-weight:500;color:#fff}"
        "line.grid{stroke:#2c2d33}text.axis{fill:#8e8e9a;font-size:10px}"
        ".legend span{margin-right:12px;white-space:nowrap}"
        ".legend i{display:inline-block;width:12px;height:3px;margin-right:4px;"
        "vertical-align:middle}"
        ".empty{display:flex;align-items:center;justify-content:center;color:#8e8e9a}"
    )
    minutes = round((end - start) / 60)
    return (
        f"<html><head><meta charset='utf-8'><style>{css}</style></head><body>"
        f"<header>{html.escape(dashboard['title'])} · last {minutes} min · Prometheus data</header>"
        f"<div class='grid'>{''.join(blocks)}</div></body></html>"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "dashboard.png"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, OpenAIStub() as stub, HttpAgent("venta") as agent:
        tmp = Path(folder)
        settings = orchestrator_settings(
            tmp,
            None,
            AGENT_VENTA_URL=agent.url,
            AGENT_VENTA_PROTOCOL="http",
            OPENAI_API_KEY="demo",
            OPENAI_BASE_URL=stub.base_url,
            LLM_MODE="openai",
            OPENAI_MAX_RETRIES=0,
            LOG_LEVEL="WARNING",
            SERVER_KEY_COMPANY_BUDGETS={33: 3000},  # company 33 runs out: budget panel
            USAGE_BUDGET_REFRESH_SECONDS=5,
        )
        app = RunningApp(settings).start()
        prometheus, base = start_prometheus(tmp, f"127.0.0.1:{app.port}")
        try:
            start = time.time()
            traffic(app, stub, agent, args.minutes * 60)
            time.sleep(3)
            page_html = render(base, start, time.time())
        finally:
            prometheus.stop()
            app.stop()
        (tmp / "dashboard.html").write_text(page_html)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                headless=True,
                args=["--no-sandbox", "--disable-gpu"],
            )
            page = browser.new_page(viewport={"width": 24 * COL_PX + 20, "height": 900})
            page.goto((tmp / "dashboard.html").as_uri())
            page.screenshot(path=args.out, full_page=True)
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
