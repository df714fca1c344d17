"""The fleet benchmark's measurements of one History Server process (bench/history/fleet.sh).

    python3 fleet.py listing LABEL BASE N PROGRESS -- COMMAND...
        Starts the server and times it from start until GET BASE/api/v1/applications
        returns all N applications (to the answer's last byte received; this
        client's decoding of the JSON, to count them, is not timed); prints one
        Markdown row: seconds, seconds until this client had decoded the answer
        too (as timed before), peak RSS (VmHWM) at that moment, RSS then (VmRSS). The full list is asked for only
        once the server says it has listed N logs (so polling does not load it):
        PROGRESS is `metrics` (sparkplane: sparkplane_history_index_applications
        on /metrics), `listen` (sparkplane: as `metrics`, asked only once the
        server accepts a connection, which it does once its first listing is
        done or its persisted index is read; until then a bare TCP connect
        every 5 ms, which costs the two cores far less than an HTTP request
        every 10 ms), `log:FILE:TEXT` (Spark: lines of its log holding TEXT,
        one per log parsed; the command's output goes to FILE) or `poll:SECS`
        (the full list asked for every SECS seconds: a restart that parses
        nothing, so logs no progress). Bounded by
        FLEET_TIMEOUT seconds (default 3600): past it the row says how many were
        listed by then.
    python3 fleet.py steady LABEL BASE N -- COMMAND...
        sparkplane only: waits until /metrics says N applications are listed and
        the listing has settled (two scrapes 2 s apart), then prints what the
        process holds then (VmRSS), without a request for the list: the memory
        the listing keeps.
    python3 fleet.py appear LABEL BASE N LOGS SOURCE ADDITIONS -- COMMAND...
        sparkplane only: starts the server over LOGS (N logs), waits for its
        listing, then adds ADDITIONS logs (copies of SOURCE with new ids, each
        written beside LOGS and renamed into it, so it appears whole) at random
        moments 0.5-2 s apart, and times each from its rename until
        GET /api/v1/applications/<id> answers 200 (polled every 20 ms); prints
        p50, p90, p99 and max. The added logs are removed afterwards.

The server is stopped (SIGTERM, then SIGKILL) at the end of each.
"""
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

TIMEOUT = float(os.environ.get("FLEET_TIMEOUT", "3600"))


def get(url, timeout=600):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except Exception:
        return None, b""


def status_kib(pid, key):
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in out]
    except Exception:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def mib(kib):
    return f"{kib / 1024:,.0f}"


def listed_metric(base):
    code, body = get(f"{base}/metrics", timeout=30)
    if code != 200:
        return 0
    m = re.search(rb"^sparkplane_history_index_applications (\d+)", body, re.M)
    return int(m.group(1)) if m else 0


class Server:
    def __init__(self, command, output=None):
        self.output = open(output, "w") if output else subprocess.DEVNULL
        self.start = time.monotonic()
        self.proc = subprocess.Popen(command, stdout=self.output, stderr=subprocess.STDOUT, start_new_session=True)

    def elapsed(self):
        return time.monotonic() - self.start

    def check(self, label):
        if self.proc.poll() is not None:
            sys.exit(f"{label}: the server exited ({self.proc.returncode})")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def split(args):
    at = args.index("--")
    return args[:at], args[at + 1:]


def full_list_count(base):
    """How many applications GET BASE/api/v1/applications lists (-1 on an
    error), and the monotonic time its last byte arrived: the answer is timed
    to then, not to the end of this client's JSON decoding (Python's json takes
    1.5-3 s over 100,000 applications on a loaded two-core machine, more than
    either server's answer), the same for both servers; and when it was decoded."""
    code, body = get(f"{base}/api/v1/applications")
    received = time.monotonic()
    if code != 200:
        return -1, received, received
    try:
        return len(json.loads(body)), received, time.monotonic()
    except ValueError:
        return -1, received, time.monotonic()


def listing(args):
    (label, base, n, progress), command = split(args)
    n = int(n)
    log_file, every = None, None
    if progress.startswith("log:"):
        _, log_file, text = progress.split(":", 2)
    elif progress.startswith("poll:"):
        every = float(progress.split(":", 1)[1])
    server = Server(command, log_file)
    if progress == "listen":
        host, port = base.rsplit("/", 1)[-1].rsplit(":", 1)
        while not server.elapsed() > TIMEOUT:
            server.check(label)
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                time.sleep(0.005)

    def listed():
        if every is not None:
            return n if time.monotonic() - last_full >= every else 0
        if log_file is None:
            return listed_metric(base)
        with open(log_file, errors="replace") as f:
            return sum(1 for line in f if text in line)

    last_full = 0.0
    try:
        while True:
            server.check(label)
            done = listed()
            # The full list when the server says it has them all, and every 60 s in case its progress undercounts.
            if done >= n or time.monotonic() - last_full > 60:
                last_full = time.monotonic()
                count, received, decoded = full_list_count(base)
                if count >= n:
                    elapsed, with_decoding = received - server.start, decoded - server.start
                    print(f"| {label} | {elapsed:.2f} | {with_decoding:.2f} | "
                          f"{mib(status_kib(server.proc.pid, 'VmHWM'))} | "
                          f"{mib(status_kib(server.proc.pid, 'VmRSS'))} |", flush=True)
                    return
            if server.elapsed() > TIMEOUT:
                print(f"| {label} | no complete listing within {TIMEOUT:.0f} s ({done:,} of {n:,} logs parsed by "
                      f"then) | | {mib(status_kib(server.proc.pid, 'VmHWM'))} | "
                      f"{mib(status_kib(server.proc.pid, 'VmRSS'))} |", flush=True)
                return
            time.sleep(0.01 if log_file is None and every is None else 0.2)
    finally:
        server.stop()


def steady(args):
    (label, base, n), command = split(args)
    n = int(n)
    server = Server(command)
    try:
        while listed_metric(base) < n:
            server.check(label)
            if server.elapsed() > TIMEOUT:
                sys.exit(f"{label}: not listed within {TIMEOUT:.0f} s")
            time.sleep(0.05)
        listed_at = server.elapsed()
        time.sleep(2)
        rss = status_kib(server.proc.pid, "VmRSS")
        time.sleep(2)
        rss = min(rss, status_kib(server.proc.pid, "VmRSS"))
        print(f"| {label} | {n:,} | {listed_at:.2f} | {mib(rss)} | {mib(status_kib(server.proc.pid, 'VmHWM'))} |",
              flush=True)
    finally:
        server.stop()


def appear(args):
    (label, base, n, logs, source, additions), command = split(args)
    n, additions = int(n), int(additions)
    lines = open(source).read()
    app_id = next(json.loads(l)["App ID"] for l in lines.splitlines() if '"SparkListenerApplicationStart"' in l)
    staging = os.path.join(os.path.dirname(os.path.abspath(logs)), ".fleet-staging")
    os.makedirs(staging, exist_ok=True)
    added = []
    server = Server(command)
    latencies = [None] * additions
    try:
        while listed_metric(base) < n:
            server.check(label)
            time.sleep(0.1)
        rng = random.Random(41)
        threads = []

        def watch(i, new_id, since):
            deadline = since + 120
            while time.monotonic() < deadline:
                code, _ = get(f"{base}/api/v1/applications/{new_id}", timeout=30)
                if code == 200:
                    latencies[i] = time.monotonic() - since
                    return
                time.sleep(0.02)

        for i in range(additions):
            time.sleep(rng.uniform(0.5, 2.0))
            new_id = f"local-17{i:011d}"
            staged = os.path.join(staging, new_id)
            with open(staged, "w") as f:
                f.write(lines.replace(app_id, new_id))
            target = os.path.join(logs, new_id)
            os.rename(staged, target)
            added.append(target)
            t = threading.Thread(target=watch, args=(i, new_id, time.monotonic()))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
    finally:
        server.stop()
        for path in added:
            os.remove(path)
        os.rmdir(staging)
    seen = sorted(l for l in latencies if l is not None)
    missing = additions - len(seen)

    def pct(p):
        return seen[min(len(seen) - 1, int(p * len(seen)))] if seen else float("nan")

    print(f"| {label} | {additions} | {pct(0.5):.2f} | {pct(0.9):.2f} | {pct(0.99):.2f} | {seen[-1]:.2f} | "
          f"{missing} |", flush=True)


MODES = {"listing": listing, "steady": steady, "appear": appear}
if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        sys.exit(f"usage: fleet.py {'|'.join(MODES)} …")
    MODES[sys.argv[1]](sys.argv[2:])
