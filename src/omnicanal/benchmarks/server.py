"""The hub under test: a real uvicorn server in a subprocess, as ``omnicanal serve`` runs it (``serving``) but
without access logs, and what it costs: resident memory and CPU of its process tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from omnicanal.serving import uvicorn_options

HEALTHY_WITHIN = 90.0  # seconds for the server to answer /healthz
STOP_WITHIN = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HubServer:
    """A running hub; :meth:`stop` ends it (and only it: its own process group)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    workers: int
    database_url: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def processes(self) -> list[psutil.Process]:
        """The server and its worker processes."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        """Resident memory of the whole server process tree."""
        total = 0
        for proc in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def pss_bytes(self) -> int | None:
        """Proportional set size of the tree: shared pages counted once overall (``None`` where unsupported)."""
        total = 0
        for proc in self.processes():
            try:
                total += getattr(proc.memory_full_info(), "pss", 0)
            except psutil.NoSuchProcess:
                continue
            except psutil.AccessDenied:
                return None
        return total or None

    def rss_by_process(self) -> list[int]:
        sizes = []
        for proc in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                sizes.append(proc.memory_info().rss)
        return sizes

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server's processes have used so far."""
        total = 0.0
        for proc in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_until_healthy(self, timeout: float = HEALTHY_WITHIN) -> None:
        """Poll ``/healthz`` until it answers 200, the process dies or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the hub exited with code {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/healthz").status_code == 200:
                        return
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the hub did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (uvicorn finishes its requests and stops its workers), then SIGKILL to its group if needed."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this module created for the server
            self.process.wait(timeout=STOP_WITHIN)


HUB_FACTORY = "omnicanal.app:create_app"


def server_command(port: int, workers: int, factory: str = HUB_FACTORY) -> list[str]:
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    return [*command, *(f"--{name}={value}" for name, value in uvicorn_options(workers).items())]


def start_hub(*, database_url: str, admin_token: str, workers: int, workdir: Path,
              factory: str = HUB_FACTORY, env: Mapping[str, str] | None = None) -> HubServer:
    """Start the hub on a free port of 127.0.0.1 in its own process group (``env`` added to this process's), and
    wait for ``/healthz``."""
    port = free_port()
    log_path = workdir / f"hub-{port}.log"
    env = {**os.environ, **(env or {}), "OMNICANAL_DATABASE_URL": database_url, "OMNICANAL_ADMIN_TOKEN": admin_token,
           "OMNICANAL_LOG_LEVEL": "warning"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(server_command(port, workers, factory), cwd=workdir, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = HubServer(process=process, port=port, log_path=log_path, workers=workers, database_url=database_url)
    server.wait_until_healthy()
    return server
