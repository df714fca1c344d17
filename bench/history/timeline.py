"""One first listing of `sparkplane history serve`, timed in its phases (issue #41).

    python3 bench/history/timeline.py BINARY LOGS [RUNS]

Starts BINARY's `history serve` over LOGS with a fresh persisted index
(each run its own temporary folder) and prints one line a run: the load
average, the time from start until the server listens (its first listing
is done: `history serve` lists before it serves), the time until
`applications` is answered whole, the process's CPU (user + system, every
thread) at each of those moments and 1.5 s later (the persisted index is
written after the list is served), and its peak RSS (VmHWM). Warm LOGS
first (fleet.sh's `warm`). Used to compare two builds run one after the
other, alternated; bench/history/fleet.sh is the benchmark against Spark.
"""
import os, socket, subprocess, sys, time, urllib.request, tempfile, signal
binary, logs = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
def hwm(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmHWM"): return int(l.split()[1]) // 1024
for _ in range(runs):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    idx = tempfile.mkdtemp()
    load = open("/proc/loadavg").read().split()[0]
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "history", "serve", "--logs", logs, "--listen", f"127.0.0.1:{port}", "--interval", "3600", "--index-dir", idx], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close(); break
        except OSError:
            time.sleep(0.002)
    t_listen = time.monotonic() - t0; c_listen = cpu(p.pid)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/applications", timeout=600).read()
    t_ans = time.monotonic() - t0; c_ans = cpu(p.pid)
    time.sleep(1.5)
    c_end = cpu(p.pid)
    print(f"load {load}: listening {t_listen:.2f}s (cpu {c_listen:.2f}) answered {t_ans:.2f}s (cpu {c_ans:.2f}) {len(body)/1e6:.0f} MB; cpu +1.5s {c_end:.2f}; peak {hwm(p.pid)} MiB", flush=True)
    os.killpg(p.pid, signal.SIGTERM); p.wait()
    subprocess.run(["rm", "-rf", idx])
