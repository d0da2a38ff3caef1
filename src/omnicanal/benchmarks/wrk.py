"""Driving ``wrk`` (Debian package ``wrk``) with a generated Lua script.

The script picks a request at random per call (formatted once beforehand unless each needs its own
``Idempotency-Key``), counts the answers by HTTP status in every thread and prints one JSON line
(``WRK_JSON {...}``) at the end with the counts and wrk's latency percentiles (microseconds, over every answer
whatever its status).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from omnicanal.benchmarks.traffic import LoadResult, Traffic

MARK = "WRK_JSON "
SCRIPT = r"""
local method = %(method)s
local paths = {%(paths)s}
local bodies = {%(bodies)s}
local headers = {%(headers)s}
local unique = %(unique)s
local run = %(run)s
local threads = {}
statuses = {}  -- global: done() reads it from every thread
local sent = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local ready = {}  -- without unique keys every request is formatted once, in init: the load costs less CPU

local function format(i)
  local body = bodies[i]
  if body == "" then body = nil end
  return wrk.format(method, paths[i], headers, body)
end

function init(args)
  math.randomseed(tid * 7919 + os.time())
  if not unique then
    for i = 1, #paths do ready[i] = format(i) end
  end
end

function request()
  local i = math.random(#paths)
  if not unique then return ready[i] end
  sent = sent + 1
  headers["Idempotency-Key"] = run .. "-" .. tid .. "-" .. sent
  return format(i)
end

function response(status, _, _)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _)
  local all = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do all[status] = (all[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(all) do parts[#parts + 1] = string.format('"%%d": %%d', status, count) end
  local e = summary.errors
  io.write(string.format(
    '\n%(mark)s{"duration_us": %%d, "requests": %%d, "errors": {"connect": %%d, "read": %%d, "write": %%d, ' ..
    '"timeout": %%d}, "latency_us": {"p50": %%d, "p90": %%d, "p99": %%d, "mean": %%f, "max": %%d}, ' ..
    '"statuses": {%%s}}\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency.mean, latency.max,
    table.concat(parts, ", ")))
end
"""


def lua_string(value: str) -> str:
    """A Lua string literal holding ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def script_for(traffic: Traffic, run_id: str) -> str:
    """The Lua script that sends ``traffic``."""
    return SCRIPT % {
        "method": lua_string(traffic.method),
        "paths": ", ".join(lua_string(path) for path, _ in traffic.requests),
        "bodies": ", ".join(lua_string(body or "") for _, body in traffic.requests),
        "headers": ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in traffic.headers.items()),
        "unique": "true" if traffic.unique_keys else "false",
        "run": lua_string(run_id),
        "mark": MARK,
    }


def run(base_url: str, traffic: Traffic, *, clients: int, seconds: float, run_id: str) -> LoadResult:
    """Run wrk for ``seconds`` (whole seconds, at least one) over ``clients`` connections and two threads."""
    duration = max(1, round(seconds))
    with tempfile.TemporaryDirectory(prefix="omnicanal-wrk-") as folder:
        script = Path(folder) / "traffic.lua"
        script.write_text(script_for(traffic, run_id))
        finished = subprocess.run(
            ["wrk", "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{duration}s", "--latency",
             "--timeout", "10s", "-s", str(script), f"{base_url}/"],
            capture_output=True, text=True, timeout=duration + 60, check=False)
    return parse(finished.stdout, finished.stderr, clients=clients, success=traffic.success)


def parse(stdout: str, stderr: str = "", *, clients: int, success: int) -> LoadResult:
    """Read the script's ``WRK_JSON`` line."""
    line = next((line for line in stdout.splitlines() if line.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{stdout[-2000:]}\n{stderr[-2000:]}")
    figures = json.loads(line[len(MARK):])
    latency = {name: value / 1000 for name, value in figures["latency_us"].items()}
    return LoadResult(
        generator="wrk", clients=clients, seconds=figures["duration_us"] / 1e6, success=success,
        statuses={int(status): count for status, count in figures["statuses"].items()},
        errors={name: count for name, count in figures["errors"].items() if count},
        p50_ms=latency["p50"], p90_ms=latency["p90"], p99_ms=latency["p99"], mean_ms=latency["mean"],
        max_ms=latency["max"])
