"""The routing evaluation script, run as a subprocess on the public and the held-out sets."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PUBLIC_FILE = REPO_ROOT.parent / "shared" / "data" / "routing_es.jsonl"
HELDOUT_FILE = REPO_ROOT / "tests" / "data" / "routing_heldout_es.jsonl"


def run_eval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.eval_routing", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def accuracy(result: subprocess.CompletedProcess[str]) -> float:
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"accuracy: (\d+)/(\d+)", last)
    assert match, f"last line is not the accuracy: {last!r}"
    passed, total = int(match.group(1)), int(match.group(2))
    assert total > 0
    return passed / total


def test_public_set_accuracy_at_least_95_percent() -> None:
    assert PUBLIC_FILE.exists(), f"the labelled public set is missing: {PUBLIC_FILE}"
    result = run_eval()  # the default file is the public set
    assert result.returncode == 0, result.stderr
    assert accuracy(result) >= 0.95, result.stdout


def test_heldout_set_accuracy_at_least_85_percent() -> None:
    result = run_eval(str(HELDOUT_FILE))
    assert result.returncode == 0, result.stderr
    assert accuracy(result) >= 0.85, result.stdout


def test_heldout_set_is_well_formed_and_varied() -> None:
    cases = [json.loads(line) for line in HELDOUT_FILE.read_text(encoding="utf-8").splitlines()]
    assert len(cases) >= 60
    labels = {(c["expect_action"], c["expect_agent"]) for c in cases}
    assert labels == {
        ("respond", None),
        ("delegate", "reserva"),
        ("delegate", "cita"),
        ("delegate", "venta"),
    }
    assert any(c["active_agent"] for c in cases) and any(not c["active_agent"] for c in cases)


def test_failures_are_listed_and_min_accuracy_fails(tmp_path: Path) -> None:
    data = tmp_path / "cases.jsonl"
    data.write_text(
        json.dumps(
            {
                "id": "ok1",
                "message": "Hola",
                "active_agent": None,
                "expect_action": "respond",
                "expect_agent": None,
            }
        )
        + "\n\n"
        + json.dumps(
            {
                "message": "quiero reservar una mesa",
                "active_agent": None,
                "expect_action": "delegate",
                "expect_agent": "venta",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    result = run_eval(str(data))
    assert result.returncode == 0
    assert "line 3" in result.stdout and "quiero reservar una mesa" in result.stdout
    assert "expected delegate/venta got delegate/reserva" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "accuracy: 1/2"
    assert run_eval(str(data), "--min-accuracy", "0.95").returncode == 1
    assert run_eval(str(data), "--min-accuracy", "0.5").returncode == 0


@pytest.mark.parametrize(
    ("content", "line", "hint"),
    [
        (
            '{"message": "hola", "active_agent": null, "expect_action": "respond", '
            '"expect_agent": null}\n{"message": "hola", oops}\n',
            2,
            "invalid JSON",
        ),
        (
            '{"message": "hola", "active_agent": null, "expect_action": "respond"}\n',
            1,
            "expect_agent",
        ),
        (
            '{"message": "hola", "active_agent": "hotel", "expect_action": "respond", '
            '"expect_agent": null}\n',
            1,
            "active_agent",
        ),
        ("[1, 2]\n", 1, "JSON object"),
    ],
)
def test_malformed_line_exits_2_naming_the_line(
    tmp_path: Path, content: str, line: int, hint: str
) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(content, encoding="utf-8")
    result = run_eval(str(data))
    assert result.returncode == 2
    assert f"bad.jsonl:{line}:" in result.stderr and hint in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_eval(str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2
    assert "error:" in result.stderr and "nope.jsonl" in result.stderr
    assert "Traceback" not in result.stderr
