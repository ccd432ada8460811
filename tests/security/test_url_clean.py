"""The agent's url as the responder makes it final: cleaned, key masked, bounded (fast)."""

from __future__ import annotations

from typing import Any

import pytest

from graph.deps import GraphDeps, NoEvents
from graph.reply_bound import final_url

KEY = "empresa7-clave-0123456789"


class Drops(NoEvents):
    def __init__(self) -> None:
        self.problems: list[str] = []

    def url_dropped(self, problem: str) -> None:
        self.problems.append(problem)


def deps(limit: int = 2048) -> tuple[GraphDeps, Drops]:
    events = Drops()
    agents: Any = None  # final_url never touches the agents
    return GraphDeps(agents=agents, max_url_chars=limit, events=events), events


@pytest.mark.parametrize(
    ("url", "final"),
    [
        ("https://a.example/x.pdf", "https://a.example/x.pdf"),
        (" https://a.example/\ud800x\x00y\u202e\u2066z\t\r\n ", "https://a.example/xyz"),
        ("HTTP://A.example/ü?q=ñ", "HTTP://A.example/ü?q=ñ"),
        (f"https://a.example/f?key={KEY}", "https://a.example/f?key=***"),
    ],
)
def test_kept_urls_are_clean(url: str, final: str) -> None:
    graph_deps, events = deps()
    assert final_url(url, graph_deps, KEY) == final
    assert events.problems == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("data:text/html,<script>", "not_http"),
        ("javascript:alert(1)", "not_http"),
        ("http://[::1/x", "not_http"),
        ("mailto:a@b.c", "not_http"),
        ("https://a.example/" + "a" * 2048, "too_long"),
    ],
)
def test_dropped_urls_are_counted(url: str, problem: str, caplog: pytest.LogCaptureFixture) -> None:
    graph_deps, events = deps()
    assert final_url(url, graph_deps) is None
    assert events.problems == [problem]
    assert url[:20] not in caplog.text  # logged by its problem and length, never its text


def test_no_url_or_an_empty_one_is_none_and_not_counted() -> None:
    graph_deps, events = deps()
    assert final_url(None, graph_deps) is None
    assert final_url(" \x00\u202e ", graph_deps) is None
    assert events.problems == []
