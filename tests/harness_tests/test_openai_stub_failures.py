"""The OpenAI stub's broken answers, as bytes on the wire: an HTML page, no choices, deep JSON."""

from __future__ import annotations

import httpx

from harness.openai_stub import OpenAIStub, body, deep_json, empty_choices, html_page


def test_broken_answers_are_served_verbatim(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(html_page(), empty_choices(), deep_json(1000), body(b"{", 200))
    url = f"{openai_stub.base_url}/chat/completions"
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hola"}]}
    with httpx.Client() as client:
        answers = [client.post(url, json=request) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert answers[0].headers["content-type"].startswith("text/html")
    assert answers[0].text.startswith("<!DOCTYPE html>")
    assert answers[1].json()["choices"] == []
    assert answers[2].content == b"[" * 1000 + b"]" * 1000
    assert answers[3].content == b"{"
    assert openai_stub.request_count == 4
