"""Run a command and measure it: wall time, and peak memory of its whole process tree.

Peak memory is the largest sum of resident set sizes (RSS) over the command's
process and all its descendants (the Python driver, Spark's JVM, its Python
workers), sampled from /proc every 0.2 s. Pages shared between processes are
counted once per process, so this slightly overstates the true footprint; a
peak that lasts less than the interval can be missed. A child of the JVM caught
starting a program (its pages are still the JVM's own) is not counted.
"""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _processes() -> dict[int, tuple[int, str, int, int]]:
    """pid -> (parent pid, command name, RSS bytes, start time in ticks) of every process now."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                raw = stat.read()
            # comm may hold spaces and parentheses: it ends at the last ")".
            comm = raw[raw.index(b"(") + 1 : raw.rindex(b")")].decode(errors="replace")
            fields = raw[raw.rindex(b")") + 2 :].split()
            table[int(entry.name)] = (int(fields[1]), comm, int(fields[21]) * PAGE, int(fields[19]))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return table


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def _name(exe: str | None) -> str | None:
    return os.path.basename(exe) if exe else None


def _descendants(root: int, table: dict) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, *_) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class TreeMemory:
    """Samples the RSS of a process tree in a background thread."""

    def __init__(self, root: int, interval: float = 0.2):
        self.root, self.interval = root, interval
        self.peak_bytes = 0
        self.peak_by_command: dict[str, int] = {}  # largest RSS each command name reached, summed per sample
        self.seen: dict[int, int] = {}  # pid -> start time, of every process of the tree
        self.max_load = 0.0  # the machine's 1-minute load average, at its highest while sampling
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "TreeMemory":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        table = _processes()
        tree = _descendants(self.root, table)
        exe = {pid: _exe(pid) for pid in tree}
        total, by_command = 0, {}
        for pid in tree:
            parent, comm, rss, started = table[pid]
            self.seen[pid] = started
            if _name(exe.get(parent)) == "java" and _name(exe[pid]) in ("java", "jspawnhelper", None):
                # A JVM child caught while it starts a program (Spark's Python workers, Hadoop's shell
                # commands): between fork and exec, or in Java's `jspawnhelper`, it still has the JVM's pages
                # (and the name of the JVM thread that started it). Counting them would double the JVM.
                continue
            total += rss
            by_command[comm] = by_command.get(comm, 0) + rss
        self.peak_bytes = max(self.peak_bytes, total)
        self.max_load = max(self.max_load, os.getloadavg()[0])
        for comm, rss in by_command.items():
            self.peak_by_command[comm] = max(self.peak_by_command.get(comm, 0), rss)


def _pin(cores: int | None):
    """preexec_fn: run the child (and so everything it starts) on the first `cores` CPUs."""
    if not cores:
        return None
    available = sorted(os.sched_getaffinity(0))
    if len(available) <= cores:
        return None
    chosen = set(available[:cores])
    return lambda: os.sched_setaffinity(0, chosen)


def run_measured(
    command: list[str], *, env: dict, cwd: str | Path, log: Path, cores: int | None = None, timeout: float | None = None
) -> dict:
    """Run `command`, wait for it and for every process it started, and report what it took."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log.with_suffix(".out"), "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        spawned = time.time()
        clock = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=cwd, preexec_fn=_pin(cores), start_new_session=True
        )
        memory = TreeMemory(process.pid).start()
        timed_out = False
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)  # the group this command started, nothing else
            code = process.wait()
        wall = time.perf_counter() - clock
        ended = time.time()
        memory.stop()
    table = _processes()
    _wait_gone({pid: t for pid, t in memory.seen.items() if pid != process.pid and not _warm_server(pid, table)})
    stdout = log.with_suffix(".out").read_text(errors="replace")
    stderr = log.with_suffix(".err").read_text(errors="replace")
    return {
        "command": command,
        "exit_code": code,
        "timed_out": timed_out,
        "wall_seconds": wall,
        "spawned": spawned,
        "ended": ended,
        "peak_rss_bytes": memory.peak_bytes,
        "peak_rss_by_command": memory.peak_by_command,
        "max_load_average": memory.max_load,
        "stdout": stdout,
        "stderr_tail": stderr[-3000:],
        "log": str(log.with_suffix(".err")),
    }


def _warm_server(pid: int, table: dict[int, tuple]) -> bool:
    """Whether the process is a warm Spark server (`stedi_assets.warm_spark`) or one of its children (`table`:
    `_processes()`): it is meant to outlive the run that started it."""
    while pid in table and pid > 1:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"stedi_assets.warm_spark" in cmdline.read():
                    return True
        except OSError:
            return False
        pid = table[pid][0]
    return False


def _wait_gone(pids: dict[int, int], limit: float = 60.0) -> None:
    """Let processes the command left behind (a JVM shutting down) finish before the next run starts."""
    deadline = time.time() + limit
    while pids and time.time() < deadline:
        now = _processes()
        pids = {pid: t for pid, t in pids.items() if pid in now and now[pid][3] == t}
        if pids:
            time.sleep(0.2)
