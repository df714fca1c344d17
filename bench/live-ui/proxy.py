"""What the door adds to a running application's Spark UI (issue #65): one
real local Spark application (`sparkplane run`, a job that waits until told
to end) is asked for the same URLs directly at its driver UI and through
`history serve`'s `/jobs/<namespace>/<job>/`, in the same run, taking turns.

The client is sparkplane-http's `forward` bench (a Rust client: CLIENTS
threads at once, each on a kept-alive connection of its own; see
crates/sparkplane-http/benches/forward.rs), built here with `cargo bench
--no-run` and run once per URL with HTTP_BENCH_DIRECT and HTTP_BENCH_VIA.
It prints, per URL, each side's p50 and p99 and the median over rounds of
what the door adds.

    python3 bench/live-ui/proxy.py SPARKPLANE [ROUNDS] -- URL_PATH...

SPARKPLANE is the binary to measure (a release build); the managed Spark
3.5 runtime must be installed under the default SPARKPLANE_HOME
(`sparkplane runtime install 3.5`).
"""
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

CLIENTS = int(os.environ.get("CLIENTS", "50"))
REQUESTS = int(os.environ.get("REQUESTS", "100"))
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


def forward_bench():
    """The forward bench's executable, built (release) into the cargo target the environment names."""
    out = subprocess.run(
        ["cargo", "bench", "-p", "sparkplane-http", "--bench", "forward", "--no-run", "--message-format", "json"],
        cwd=pathlib.Path(__file__).resolve().parents[2], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("target", {}).get("name") == "forward":
            return message["executable"]
    sys.exit("cargo built no forward bench")


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
            bench = forward_bench()
            for path in paths:
                print(f"### `{path}`", flush=True)
                env = dict(os.environ, HTTP_BENCH_DIRECT=f"http://127.0.0.1:{ui_port}{path}",
                           HTTP_BENCH_VIA=f"http://127.0.0.1:{door_port}{prefix}{path}",
                           HTTP_BENCH_CLIENTS=str(CLIENTS), HTTP_BENCH_REQUESTS=str(REQUESTS),
                           HTTP_BENCH_ROUNDS=str(rounds))
                subprocess.run([bench, "--bench"], env=env, check=True)
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
