"""The run's figures as a table on the terminal and as ``bench/results/<name>.json``."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from omnicanal import __version__
from omnicanal.kit.clock import utcnow


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor())
    return {
        "hostname": platform.node(), "platform": platform.platform(), "cpu": cpu,
        "cores": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(), "omnicanal": __version__, "git_commit": _git_commit(),
        "wrk": shutil.which("wrk") is not None, "pgbench": shutil.which("pgbench") is not None,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _git_commit() -> str | None:
    """The commit measured, marked ``+changes`` when the work tree differs from it."""
    commit = _git("rev-parse", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += "+changes"
    return commit


def document(name: str, options: dict[str, Any], figures: dict[str, Any], started_at: str) -> dict[str, Any]:
    """The results file's content: the figures plus when, how and where they were measured."""
    goal_list = [goal for found in figures["databases"].values() for scenario in found.get("scenarios", {}).values()
                 for goal in scenario.get("goals", [])]
    return {
        "name": name, "started_at": started_at, "finished_at": utcnow().isoformat(),
        "command": " ".join(["omnicanal", "bench", *sys.argv[sys.argv.index("bench") + 1:]])
        if "bench" in sys.argv else " ".join(sys.argv),
        "options": options, "machine": machine(), **figures,
        "all_goals_met": bool(goal_list) and all(goal["met"] for goal in goal_list),
    }


def write(document_: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{document_['name']}.json"
    path.write_text(json.dumps(document_, indent=2, ensure_ascii=False) + "\n")
    return path


def _mark(goals: list[dict[str, Any]]) -> str:
    if not goals:
        return ""
    return "[green]✓[/]" if all(goal["met"] for goal in goals) else "[red]✗[/]"


def _targets(goals: list[dict[str, Any]]) -> str:
    return "; ".join(goal["target"] for goal in goals)


def print_tables(doc: dict[str, Any], console: Console) -> None:
    """The figures table (throughput, latency, ratio to the ceiling, goals) and where the CPU went."""
    ceiling = doc["ceiling"]
    table = Table(title=f"Omnicanal hub benchmark — {doc['options']['clients']} clients, "
                        f"{doc['options']['seconds']:g} s per scenario, {doc['generator']}", show_edge=False)
    for column, justify in (("database", "left"), ("scenario", "left"), ("throughput", "right"),
                            ("p50", "right"), ("p99", "right"), ("ratio", "right"), ("goal", "left"),
                            ("met", "center")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    if ceiling["orders_per_s"] is not None:
        table.add_row("postgresql", "raw SQL ceiling (pgbench)",
                      f"{ceiling['orders_per_s']:,.0f} orders/s\n{ceiling['reads_per_s']:,.0f} reads/s",
                      "", "", "1", "yardstick", "")
    else:
        table.add_row("postgresql", "raw SQL ceiling", ceiling["note"] or "", "", "", "", "", "")
    for database, found in doc["databases"].items():
        if "skipped" in found:
            table.add_row(database, "skipped", found["skipped"], "", "", "", "", "")
            continue
        _database_rows(table, f"{database} {found['workers']}w", found["scenarios"])
    console.print(table)
    console.print(_cpu_table(doc))
    noisy = [f"{database} {name}" for database, found in doc["databases"].items()
             for name, scenario in found.get("scenarios", {}).items() if scenario.get("noisy")]
    if noisy:
        console.print(f"[yellow]•[/] Other processes took CPU during {', '.join(noisy)}: those figures understate "
                      "the hub; compare 'hub CPU per success', or rerun on a quiet machine (--quiet-wait 120).")


def _database_rows(table: Table, label: str, scenarios: dict[str, Any]) -> None:
    for name in ("orders", "availability"):
        s = scenarios[name]
        others = {k: v for k, v in s["statuses"].items() if int(k) != (201 if name == "orders" else 200)}
        extra = f"\n[dim]{', '.join(f'{k}: {v}' for k, v in others.items())}[/]" if others or s["errors"] else ""
        extra += f"[dim] errors {s['errors']}[/]" if s["errors"] else ""
        ratio = f"{s['ratio_to_ceiling']:.1%}" if s["ratio_to_ceiling"] is not None else "–"
        table.add_row(label, name, f"{s['throughput_per_s']:,.0f}/s{extra}", f"{s['latency_ms']['p50']:.1f} ms",
                      f"{s['latency_ms']['p99']:.1f} ms", ratio, _targets(s["goals"]), _mark(s["goals"]))
    race, memory = scenarios["race"], scenarios["memory"]
    table.add_row(label, "hot-SKU race", f"{race['sold']} sold / {race['refused']} refused\nof {race['units']} units",
                  f"{race['latency_ms']['p50']:.1f} ms", f"{race['latency_ms']['p99']:.1f} ms", "",
                  f"{_targets(race['goals'])} (got {race['oversold']})", _mark(race["goals"]))
    pss = f" · PSS {memory['pss_mb']:.0f} MB" if memory.get("pss_mb") else ""
    table.add_row(label, "server memory (RSS)",
                  f"{memory['rss_mb']:.0f} MB\n[dim]peak {memory['peak_rss_mb']:.0f} MB{pss}[/]",
                  "", "", "", _targets(memory["goals"]), _mark(memory["goals"]), end_section=True)


def _ms(scenario: dict[str, Any]) -> str:
    hub = scenario["cpu_ms_per_success"].get("hub")
    return f"{hub:.2f} ms" if hub is not None else "–"


def _cpu_table(doc: dict[str, Any]) -> Table:
    table = Table(title="Where the CPU went (average cores busy during each timed scenario)", show_edge=False)
    for column in ("database", "scenario", "hub", "postgres", "load generator", "other processes", "whole machine",
                   "hub CPU per success"):
        table.add_column(column, justify="left" if column in ("database", "scenario") else "right")
    for database, found in doc["databases"].items():
        for name in ("orders", "availability"):
            cpu = found.get("scenarios", {}).get(name, {}).get("cpu_cores")
            if cpu:
                others = cpu["other_processes"]
                table.add_row(database, name, f"{cpu['hub']:.2f}",
                              f"{cpu['postgres']:.2f}" if database == "postgresql" else "–",
                              f"{cpu['load_generator']:.2f}", f"[yellow]{others:.2f}[/]" if others > 0.25 else
                              f"{others:.2f}",
                              f"{cpu['machine']:.2f} / {cpu['machine_cores']}", _ms(found["scenarios"][name]))
    return table
