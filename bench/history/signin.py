"""Sign-in on against off (issue #65): the same History Server binary over
the same logs, started three ways in the same run and taking turns:

  off    loopback, no --auth: every request is the local user's;
  oidc   --auth oidc against a real provider (npm's oidc-provider, started
         here on 127.0.0.1 from crates/sparkplane-testkit/oidc): each request
         carries a bearer ID token the server verifies (RS256 signature,
         iss/aud/exp/nbf) and the viewer is a platform admin (--admin-group),
         so every answer holds the same applications as off;
  proxy  --auth proxy from 127.0.0.1 with the user and groups headers.

For each URL every server answers REQUESTS requests, one after another on
one kept-alive connection, after WARMUP unmeasured ones; rounds swap the
servers' order. Prints one Markdown row per URL and mode: p50 and p99 in
milliseconds, and p50 against off. Answers are compared byte for byte with
off's first (a sign-in that changed what an admin sees would not be a
speed question).

    python3 bench/history/signin.py SPARKPLANE LOGS [ROUNDS] -- URL_PATH...

`{app}` in a URL path stands for the first listed application's id.

Needs node and the provider scripts/test.sh installs (need_oidc_provider).
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
import time

REQUESTS = int(os.environ.get("REQUESTS", "200"))
WARMUP = int(os.environ.get("WARMUP", "20"))
ROOT = pathlib.Path(__file__).resolve().parents[2]
OIDC = ROOT / "crates/sparkplane-testkit/oidc"
HOME = pathlib.Path.home() / ".cache/sparkplane/tools/oidc-provider/9.13.3"

args = sys.argv[1:]
split = args.index("--")
binary, logs = args[0], args[1]
rounds = int(args[2]) if split > 2 else 3
paths = args[split + 1:]
work = pathlib.Path(tempfile.mkdtemp(prefix="signin-bench-"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def provider():
    settings = work / "provider.json"
    settings.write_text(json.dumps({
        "port": 0, "keys_file": str(work / "keys.json"), "new_key": False, "drop_old_keys": False,
        "clients": [{"id": "bench", "secret": "bench-secret-0123456789", "redirect_uris": ["http://127.0.0.1/cb"]}],
        "people": {"ada": ["platform"]}, "id_token_ttl": 3600,
    }))
    env = dict(os.environ, OIDC_PROVIDER_HOME=str(HOME))
    child = subprocess.Popen(["node", str(OIDC / "provider.mjs"), str(settings)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in child.stdout:
        if line.startswith("listening "):
            issuer = line.split(" ", 1)[1].strip()
            break
    else:
        sys.exit("the provider did not start")
    now = int(time.time())
    claims = {"iss": issuer, "aud": "bench", "sub": "ada", "groups": ["platform"], "iat": now, "exp": now + 3600}
    token = subprocess.run(["node", str(OIDC / "sign.mjs"), str(work / "keys.json"), json.dumps(claims)],
                           env=env, check=True, capture_output=True, text=True).stdout.strip()
    return child, issuer, token


def serve(mode, issuer):
    port = free_port()
    command = [binary, "history", "serve", "--logs", logs, "--listen", f"127.0.0.1:{port}",
               "--interval", "3600", "--index-dir", tempfile.mkdtemp(dir=work)]
    if mode == "oidc":
        secret = work / "client-secret"
        secret.write_text("bench-secret-0123456789")
        command += ["--auth", "oidc", "--oidc-issuer", issuer, "--oidc-client-id", "bench",
                    "--oidc-client-secret-file", str(secret), "--public-url", f"http://127.0.0.1:{port}",
                    "--admin-group", "platform"]
    elif mode == "proxy":
        command += ["--auth", "proxy", "--trusted-proxy", "127.0.0.1", "--admin-group", "platform"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in child.stderr:
        if line.startswith("serving Spark's History Server API"):
            break
    else:
        sys.exit(f"{mode}: the server did not start")
    return child, port


def headers(mode, token):
    if mode == "oidc":
        return {"Authorization": f"Bearer {token}"}
    if mode == "proxy":
        return {"X-Forwarded-User": "ada", "X-Forwarded-Groups": "platform"}
    return {}


def wait_listed(port, hdrs, want):
    deadline = time.time() + 900
    while time.time() < deadline:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        c.request("GET", "/api/v1/applications", headers=hdrs)
        r = c.getresponse()
        body = r.read()
        listed = json.loads(body) if r.status == 200 else []
        if len(listed) >= want:
            return listed[0]["id"]
        time.sleep(1)
    sys.exit("not listed in time")


def timed(port, path, hdrs):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    times, body = [], None
    for i in range(WARMUP + REQUESTS):
        start = time.perf_counter()
        c.request("GET", path, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        elapsed = time.perf_counter() - start
        if r.status != 200:
            sys.exit(f"{path}: {r.status}")
        if i >= WARMUP:
            times.append(elapsed * 1000)
        body = data
    return times, body


prov, issuer, token = provider()
want = len(os.listdir(logs))
servers = {}
try:
    for mode in ("off", "oidc", "proxy"):
        servers[mode] = serve(mode, issuer)
        first = wait_listed(servers[mode][1], headers(mode, token), want)
    paths = [p.replace("{app}", first) for p in paths]
    results = {(p, m): [] for p in paths for m in servers}
    reference = {}
    order = ["off", "oidc", "proxy"]
    for r in range(rounds):
        for path in paths:
            for mode in order:
                times, body = timed(servers[mode][1], path, headers(mode, token))
                if mode == "off":
                    reference.setdefault(path, body)
                elif path in reference and body != reference[path]:
                    sys.exit(f"{mode} {path}: the answer differs from off's")
                results[(path, mode)] += times
        order.reverse()
    print("| page | mode | p50 ms | p99 ms | p50 against off |")
    print("|---|---|---|---|---|")
    for path in paths:
        base = statistics.median(results[(path, "off")])
        for mode in ("off", "oidc", "proxy"):
            t = sorted(results[(path, mode)])
            p50 = statistics.median(t)
            p99 = t[min(len(t) - 1, int(len(t) * 0.99))]
            print(f"| `{path}` | {mode} | {p50:.3f} | {p99:.3f} | {p50 / base * 100 - 100:+.1f} % |")
finally:
    for child, _ in servers.values():
        child.terminate()
        child.wait()
    prov.stdin.close()
    prov.wait()
