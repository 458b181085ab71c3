"""Private servers the fault tests can stop and start at will: a Redis and a PostgreSQL on free loopback ports.

They never touch the shared test services (REDIS_URL, DATABASE_URL): stopping those would break other tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PG_USER_OS = os.environ.get("PG_USER_OS", "postgres")  # initdb refuses root: the cluster belongs to this user


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class PrivateRedis:
    """redis-server on a free port; stop() and start() keep the port, so clients can come back to it."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> PrivateRedis:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        while port_open(self.port):
            time.sleep(0.05)


def pg_bindir() -> str | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(os.access(f"{d}/{tool}", os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return d
    return shutil.which("pg_ctl") and os.path.dirname(shutil.which("pg_ctl"))


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb in a temp dir, as a non-root user) that a test may restart."""

    def __init__(self, directory: Path):
        """`directory` must be reachable by PG_USER_OS when run as root (tests use a fresh dir under /tmp)."""
        self.bindir = pg_bindir()
        self.dir = Path(directory)
        self.data = self.dir / "data"
        self.port = free_port()

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            cmd = ["su", PG_USER_OS, "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]
        else:
            cmd = args
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def init(self) -> PrivatePostgres:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, PG_USER_OS)
        done = self._run([f"{self.bindir}/initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--locale=C.UTF-8"])  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
        return self

    def start(self) -> None:
        opts = f"-p {self.port} -h 127.0.0.1 -k {self.dir} -c fsync=off"
        done = self._run([f"{self.bindir}/pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"),
                          "-w", "-t", "60", "-o", opts, "start"])  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}")

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self) -> None:
        self.stop()
        self.start()

    def createdb(self, name: str) -> str:
        done = self._run(
            [f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name]
        )
        if done.returncode:
            raise RuntimeError(f"createdb failed: {done.stderr}")
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"
