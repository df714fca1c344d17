"""What the door adds to a running application's Spark UI (issue #65): one
real local Spark application (`sparkplane run`, a job that waits until told
to end) is asked for the same URLs directly at its driver UI and through
`history serve`'s `/jobs/<namespace>/<job>/`, in the same run, taking turns.

Each measurement: CLIENTS threads, each with its own kept-alive
connection, send REQUESTS requests each (after WARMUP unmeasured ones); the
latencies of all are pooled. Rounds swap which side goes first. Prints one
Markdown row per URL and side with p50 and p99 in milliseconds, and the
door's p50/p99 minus the direct ones (the median of the rounds).

    python3 bench/live-ui/proxy.py SPARKPLANE [ROUNDS] -- URL_PATH...

SPARKPLANE is the binary to measure (a release build); the managed Spark
3.5 runtime must be installed under the default SPARKPLANE_HOME
(`sparkplane runtime install 3.5`).
"""
import http.client
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CLIENTS = int(os.environ.get("CLIENTS", "50"))
REQUESTS = int(os.environ.get("REQUESTS", "40"))
WARMUP = int(os.environ.get("WARMUP", "5"))
NAMESPACE, JOB = "bench", "live-ui"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(what, limit, ready):
    deadline = time.time() + limit
    while not ready():
        if time.time() > deadline:
            sys.exit(f"{what} did not happen within {limit} s")
        time.sleep(0.25)


def measure(port, path):
    """CLIENTS connections at once, REQUESTS each: every latency in ms."""
    latencies, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        try:
            for i in range(WARMUP + REQUESTS):
                if i == WARMUP:
                    start.wait()
                began = time.perf_counter()
                connection.request("GET", path)
                answer = connection.getresponse()
                answer.read()
                if answer.status != 200:
                    errors.append(f"{answer.status} {path}")
                if i >= WARMUP:
                    mine.append((time.perf_counter() - began) * 1000)
        finally:
            connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"answers other than 200: {errors[:3]}")
    return latencies


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    args = sys.argv[1:]
    split = args.index("--") if "--" in args else len(args)
    binary, rounds = args[0], int(args[1]) if split > 1 else 3
    paths = args[split + 1:] or ["/api/v1/applications", "/jobs/"]
    installed = pathlib.Path(os.environ.get("SPARKPLANE_HOME", pathlib.Path.home() / ".local/share/sparkplane"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        home = tmp / "home"
        (home / "history").mkdir(parents=True)
        (home / "runtimes").symlink_to(installed / "runtimes")
        gate, ready = tmp / "gate", tmp / "ready"
        (tmp / f"{JOB}.py").write_text(
            "import os, time\nfrom pyspark.sql import SparkSession\n"
            "spark = SparkSession.builder.getOrCreate()\n"
            "spark.range(0, 100000).selectExpr('id % 7 AS k').groupBy('k').count().collect()\n"
            f"open({str(ready)!r}, 'w').close()\n"
            f"while not os.path.exists({str(gate)!r}):\n    time.sleep(0.2)\n"
            "spark.stop()\n")
        job = tmp / f"{JOB}.yaml"
        job.write_text(
            f"apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {{name: {JOB}, namespace: {NAMESPACE}}}\n"
            f"spec:\n  type: Python\n  sparkVersion: \"3.5.9\"\n  mainApplicationFile: {JOB}.py\n"
            "  driver: {memory: 1g}\n")
        env = dict(os.environ, SPARKPLANE_HOME=str(home), NO_COLOR="1")
        env.pop("SPARK_HOME", None)
        run = subprocess.Popen([binary, "run", str(job)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        door_port = free_port()
        door = subprocess.Popen(
            [binary, "history", "serve", "--logs", str(home / "history"), "--index-dir", str(tmp / "index"),
             "--listen", f"127.0.0.1:{door_port}", "--live-runs", str(home)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait("the job's first query", 300, ready.exists)
            marker = json.loads(next((home / "live").glob("*.json")).read_text())
            ui_port = int(marker["ui"].rsplit(":", 1)[1])
            prefix = f"/jobs/{NAMESPACE}/{JOB}"
            print(f"{CLIENTS} clients x {REQUESTS} requests each, {rounds} rounds; "
                  f"driver UI 127.0.0.1:{ui_port}, door 127.0.0.1:{door_port}{prefix}/\n")
            print("| URL | side | p50 ms | p99 ms |")
            print("|---|---|---:|---:|")
            added = {}
            for path in paths:
                sides = {"direct": [], "door": []}
                for r in range(rounds):
                    order = [("direct", ui_port, path), ("door", door_port, prefix + path)]
                    for side, port, target in (order if r % 2 == 0 else order[::-1]):
                        sides[side].append(measure(port, target))
                for side, runs in sides.items():
                    pooled = [v for run in runs for v in run]
                    print(f"| `{path}` | {side} | {quantile(pooled, 0.5):.2f} | {quantile(pooled, 0.99):.2f} |")
                added[path] = (
                    statistics.median(quantile(d, 0.5) - quantile(s, 0.5) for s, d in zip(sides["direct"], sides["door"])),
                    statistics.median(quantile(d, 0.99) - quantile(s, 0.99) for s, d in zip(sides["direct"], sides["door"])),
                )
            print()
            for path, (p50, p99) in added.items():
                print(f"door adds at `{path}`: p50 {p50:+.2f} ms, p99 {p99:+.2f} ms (median of {rounds} rounds)")
        finally:
            gate.touch()
            try:
                run.wait(timeout=120)
            except subprocess.TimeoutExpired:
                run.kill()
            door.terminate()
            door.wait(timeout=30)


if __name__ == "__main__":
    main()
