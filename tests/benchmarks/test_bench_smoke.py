"""The benchmark machinery, run for real but briefly: a tiny seeded SQLite hub served by uvicorn, one second
per scenario. It checks the figures are produced and sensible — never how fast anything is."""

from __future__ import annotations

import json
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

import omnicanal
from omnicanal.benchmarks import wrk
from omnicanal.benchmarks.cli import app
from omnicanal.benchmarks.traffic import Traffic, percentile


def test_a_short_run_on_sqlite_writes_sensible_figures(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(app, [
        "--database", "sqlite", "--size", "tiny", "--seconds", "1", "--warmup", "0", "--no-ceiling",
        "--generator", "python", "--clients", "8", "--race-units", "10", "--race-attempts", "2",
        "--name", "smoke", "--output-dir", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output

    doc = json.loads((tmp_path / "smoke.json").read_text())
    assert {"name", "command", "started_at", "machine", "options", "ceiling", "databases", "all_goals_met"} <= set(doc)
    assert doc["ceiling"]["orders_per_s"] is None and "no-ceiling" in doc["ceiling"]["note"]
    assert doc["databases"]["sqlite"]["workers"] == 2  # two processes race for the SQLite file's units
    found = doc["databases"]["sqlite"]["scenarios"]
    assert "server_errors" not in found, found.get("server_errors", {}).get("log_tail")
    assert set(found) == {"orders", "availability", "race", "memory"}

    orders, reads = found["orders"], found["availability"]
    assert orders["succeeded"] == orders["statuses"]["201"] > 0 and orders["throughput_per_s"] > 0
    assert reads["succeeded"] == reads["statuses"]["200"] > 0 and reads["throughput_per_s"] > 0
    for scenario in (orders, reads):
        latency = scenario["latency_ms"]
        assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
        assert scenario["ratio_to_ceiling"] is None  # no ceiling measured: no ratio invented
        assert all(isinstance(goal["met"], bool) for goal in scenario["goals"])

    race = found["race"]
    assert (race["attempts"], race["units"]) == (16, 10)
    assert race["sold"] == race["units_sold"] == race["reserved_added"] == 10
    assert race["refused"] == 6 and race["oversold"] == 0 and race["ledger_mismatches"] == 0
    assert race["available_after_on_web"] == 0 and race["exact"] is True
    assert found["memory"]["rss_mb"] > 0


def test_a_duel_loads_two_hubs_at_once_and_compares_their_cpu(tmp_path: Path) -> None:
    this_code = Path(omnicanal.__file__).parents[1]  # side A from a source folder, as another checkout's would be
    outcome = CliRunner().invoke(app, [
        "duel", "availability", "--against", str(this_code), "--database", "sqlite", "--size", "tiny",
        "--rounds", "2", "--seconds", "1", "--warmup", "0", "--generator", "python", "--clients", "4",
        "--name", "duel", "--output-dir", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    doc = json.loads((tmp_path / "duel.json").read_text())
    assert doc["scenario"] == "availability" and doc["calibration"] is False and len(doc["rounds"]) == 2
    for round_ in doc["rounds"]:
        for side in (round_["a"], round_["b"]):
            assert side["succeeded"] == side["statuses"]["200"] > 0 and side["cpu_ms_per_success"] > 0
        assert round_["ratio_b_to_a"] == round(round_["b"]["cpu_ms_per_success"] / round_["a"]["cpu_ms_per_success"], 3)
    assert doc["median_ratio_b_to_a"] > 0

    nowhere = CliRunner().invoke(app, ["duel", "--against", str(tmp_path), "--database", "sqlite"])
    assert nowhere.exit_code == 2 and "holds no omnicanal package" in " ".join(nowhere.output.split())


class _Alternating(BaseHTTPRequestHandler):
    """Answers 201 then 409 in turn and counts what it answered."""

    answered: Counter[int] = Counter()
    keys: list[str] = []
    bodies: Counter[bytes] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.lock:
            self.bodies[body] += 1
            status = 201 if sum(self.answered.values()) % 2 == 0 else 409
            self.answered[status] += 1
            self.keys.append(self.headers.get("Idempotency-Key", ""))
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def alternating_server() -> Iterator[str]:
    _Alternating.answered, _Alternating.keys, _Alternating.bodies = Counter(), [], Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Alternating)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_counts_every_answer_by_status(alternating_server: str) -> None:
    traffic = Traffic(method="POST", requests=[("/api/v1/orders", '{"sku":"A"}'), ("/api/v1/orders", '{"sku":"B"}')],
                      headers={"Content-Type": "application/json"}, unique_keys=True, success=201)
    result = wrk.run(alternating_server, traffic, clients=2, seconds=1, run_id="t")
    answered = _Alternating.answered
    # wrk stops mid-request at the deadline, so the server may have answered one more per connection.
    assert 0 <= answered[201] - result.statuses.get(201, 0) <= 2 and result.statuses.get(201, 0) > 0
    assert 0 <= answered[409] - result.statuses.get(409, 0) <= 2 and result.statuses.get(409, 0) > 0
    assert result.succeeded == result.statuses[201] and result.throughput > 0
    assert len(set(_Alternating.keys)) == len(_Alternating.keys) and all(_Alternating.keys)  # one key per request


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_sends_every_request_without_keys_when_none_is_asked(alternating_server: str) -> None:
    traffic = Traffic(method="POST", requests=[("/a", '{"sku":"A"}'), ("/b", '{"sku":"B"}')],
                      headers={"Content-Type": "application/json"}, success=201)
    result = wrk.run(alternating_server, traffic, clients=2, seconds=1, run_id="t")
    assert set(_Alternating.bodies) == {b'{"sku":"A"}', b'{"sku":"B"}'}  # requests formatted once, still random
    assert not any(_Alternating.keys) and result.statuses.get(201, 0) > 0


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([], 99) == 0.0
