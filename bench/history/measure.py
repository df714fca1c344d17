"""Starts a History Server, waits until a request answers as wanted, and
prints one Markdown row: seconds from start until then, and the server's
peak RSS (VmHWM of its process) at that moment. The server is then stopped.

    python3 measure.py LABEL URL WANT -- COMMAND...

WANT is `apps:N` (URL answers a JSON list of at least N applications) or
`ok` (URL answers 200). The command must bind the port in URL on 127.0.0.1.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

label, url, want = sys.argv[1:4]
command = sys.argv[sys.argv.index("--") + 1:]


def answered():
    try:
        with urllib.request.urlopen(url, timeout=600) as r:
            if r.status != 200:
                return False
            if want == "ok":
                return True
            return len(json.load(r)) >= int(want.split(":")[1])
    except Exception:
        return False


def peak_rss_mib(pid):
    # spark-class execs java, so the child is the server itself; sum the tree to be safe.
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
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


poll = float(os.environ.get("MEASURE_POLL_S", "0.01"))
start = time.monotonic()
proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
try:
    while not answered():
        if proc.poll() is not None:
            sys.exit(f"{label}: the server exited ({proc.returncode}) before answering {url}")
        if time.monotonic() - start > 3600:
            sys.exit(f"{label}: no answer within an hour")
        # 10 ms between attempts by default: the time is read to that resolution (it was 50 ms);
        # MEASURE_POLL_S=0.002 reads a start of tens of milliseconds finely enough to compare builds.
        time.sleep(poll)
    elapsed = time.monotonic() - start
    rss = peak_rss_mib(proc.pid)
    digits = 3 if poll < 0.01 else 2
    print(f"| {label} | {elapsed:.{digits}f} | {rss:,.0f} |", flush=True)
finally:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
