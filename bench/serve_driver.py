#!/usr/bin/env python3
"""Drives one `upkeep serve` (release build) through the measurements of bench/serve.sh and prints
them as JSON. Everything runs on loopback against a server started here, on SQLite or on the
PostgreSQL URL given.

Measured:
  push_to_step   a signed GitHub push webhook sent -> the first command of the build step of the
                 run it queued started (the step writes `date +%s.%N` into a stamp file; the
                 clock is this machine's for both ends); one push at a time, each run finished
                 before the next push, --pushes times.
  sse_latency    a line written by a running step (`tick <epoch ns>`) -> the same line received
                 by an SSE client of /logs/build/events, for 1 client and for --clients clients
                 on the same log at once (did every client get every line, too).
  memory         the server's resident memory (VmRSS) idle after start, and idle after the rest.
  api            GET of a run list with an API token under --api-connections concurrent
                 connections for --api-seconds, by `wrk` (its latency distribution), against
                 GET /healthz of the same server (no database, no authentication) as the floor.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "pipeline-shop"
PASSWORD = "correct horse battery staple"

# The bench's repository: one environment on `main` without approval (pushes), one that the SSE
# measurement starts by hand (its build prints timed ticks when BENCH_TICKS is set for it).
UPKEEP_YML = """project: bench-shop
environments:
  staging:
    branch: main
    deploy-file: deploy.fixture-shop-staging.yml
    deploy-type: normal
    gate: warn
    approval: false
    target:
      local:
        path: ../targets/staging
    buildspec:
      build: ci/build.yml
    keep-releases: 2
  ticks:
    branch: ticks
    deploy-file: deploy.fixture-shop-staging.yml
    deploy-type: normal
    gate: warn
    approval: true
    target:
      local:
        path: ../targets/ticks
    buildspec:
      build: ci/build.yml
    keep-releases: 2
"""

BUILD_YML = """version: 0.2
phases:
  build:
    commands:
      - if [ -n "$BENCH_STAMPS" ]; then date +%s.%N > "$BENCH_STAMPS/$UPKEEP_COMMIT"; fi
      - if [ -n "$BENCH_TICKS" ]; then i=0; while [ $i -lt "$BENCH_TICKS" ]; do echo "tick $(date +%s%N)"; i=$((i+1)); sleep 0.02; done; fi
      - if [ -n "$BENCH_LINES" ]; then seq -f "line %g of a long build log, as Composer and webpack write them" 1 "$BENCH_LINES"; fi
"""


def percentile(values, pct):
    ordered = sorted(values)
    if not ordered:
        return None
    index = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def summary_ms(seconds):
    return {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
    }


def git(cwd, *args):
    """Runs git in `cwd`; returns the commit HEAD is at afterwards (None before the first)."""
    subprocess.run(
        ["git", "-c", "user.email=bench@example.test", "-c", "user.name=Bench", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.PIPE,
    )
    out = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=cwd, stdout=subprocess.PIPE
    )
    return out.stdout.decode().strip() or None


class Server:
    def __init__(self, binary, data_dir, database_url):
        command = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)]
        env = dict(os.environ)
        if database_url:
            env["UPKEEP_DATABASE_URL"] = database_url
        self.process = subprocess.Popen(
            command, stderr=subprocess.PIPE, env=env, text=True, cwd=data_dir.parent
        )
        self.url = None
        self.setup_token = None
        for line in self.process.stderr:
            found = re.search(r"serving on (http://\S+)", line)
            if found:
                self.url = found.group(1)
            found = re.search(r"/setup\?token=(\S+)", line)
            if found:
                self.setup_token = found.group(1)
                break
        if not self.url or not self.setup_token:
            raise SystemExit("the server did not start")
        # The rest of its log is drained, so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()
        host, port = self.url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)

    def rss_kib(self):
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


class Api:
    def __init__(self, server):
        self.server = server
        self.headers = {}

    def status(self, method, path):
        connection = http.client.HTTPConnection(self.server.host, self.server.port, timeout=60)
        connection.request(method, path, headers=self.headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status

    def call(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection(self.server.host, self.server.port, timeout=60)
        all_headers = dict(self.headers)
        all_headers.update(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            all_headers["content-type"] = "application/json"
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode()
        cookie = response.getheader("set-cookie")
        connection.close()
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if response.status >= 400:
            raise SystemExit(f"{method} {path}: {response.status} {text}")
        return value, cookie


def set_up(server, repository_url):
    api = Api(server)
    body, cookie = api.call(
        "POST",
        "/api/v1/setup",
        {
            "token": server.setup_token,
            "email": "bench@agency.test",
            "display_name": "Bench",
            "password": PASSWORD,
            "workspace": "bench",
        },
    )
    workspace = body["workspace"]["id"]
    api.headers = {"cookie": cookie.split(";")[0], "x-csrf-token": body["csrf_token"]}
    token, _ = api.call("POST", "/api/v1/tokens", {"name": "bench"})
    api.headers = {"authorization": f"Bearer {token['token']}"}
    connected, _ = api.call(
        "PUT", f"/api/v1/workspaces/{workspace}/repository", {"url": repository_url}
    )
    return api, workspace, connected["webhook"]["secret"], token["token"]


def make_repository(dir):
    work = dir / "work"
    shutil.copytree(FIXTURE, work)
    (work / "upkeep.yml").write_text(UPKEEP_YML)
    (work / "ci" / "build.yml").write_text(BUILD_YML)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=work, check=True)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "bench shop")
    subprocess.run(["git", "clone", "-q", "--bare", "work", "shop.git"], cwd=dir, check=True)
    git(work, "push", "-q", "../shop.git", "main:ticks")
    return work, f"file://{dir / 'shop.git'}"


def runs(api, workspace, environment):
    body, _ = api.call("GET", f"/api/v1/workspaces/{workspace}/environments/{environment}/runs")
    return body.get("runs") or body.get("items") or []


def wait_for_newest_run(api, workspace, environment, previous, deadline_s=300):
    """The newest run of the environment, once it is not `previous` and has ended."""
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        listed = runs(api, workspace, environment)
        if listed and listed[0]["run_id"] != previous:
            if listed[0]["status"] not in ("queued", "running"):
                return listed[0]
        time.sleep(0.05)
    raise SystemExit(f"no new run of {environment} ended")


def push_to_step(api, workspace, secret, work, stamps, pushes):
    latencies = []
    previous = None
    for index in range(pushes):
        (work / "VERSION").write_text(f"bench-{index}\n")
        commit = git(work, "commit", "-q", "-am", f"push {index}")
        git(work, "push", "-q", "../shop.git", "main")
        payload = json.dumps({"ref": "refs/heads/main", "after": commit})
        signature = "sha256=" + hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        headers = {
            "x-github-event": "push",
            "x-github-delivery": f"bench-{index}-{time.time_ns()}",
            "x-hub-signature-256": signature,
        }
        sent = time.time()
        api.call("POST", f"/api/v1/hooks/github/{workspace}", payload, headers)
        stamp = stamps / commit
        deadline = sent + 120
        while not stamp.exists() or not stamp.read_text().strip():
            if time.time() > deadline:
                raise SystemExit(f"the build of {commit} never started")
            time.sleep(0.002)
        latencies.append(float(stamp.read_text()) - sent)
        run = wait_for_newest_run(api, workspace, "staging", previous)
        if run["status"] != "succeeded":
            raise SystemExit(f"a bench run failed: {run}")
        previous = run["run_id"]
    return summary_ms(latencies)


def follow(server, token, path, connected_at, results, index):
    """One SSE client: the delay of every tick line written after it connected."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=300)
    connection.request("GET", path, headers={"authorization": f"Bearer {token}"})
    response = connection.getresponse()
    connected_at[index] = time.time_ns()
    delays, lines, event = [], 0, ""
    while True:
        raw = response.fp.readline()
        if not raw:
            break
        line = raw.decode().rstrip("\n")
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event != "end":
            text = json.loads(line.split(":", 1)[1])["text"].strip()
            if text.startswith("tick "):
                lines += 1
                written = int(text.split()[1])
                if written >= connected_at[index]:
                    delays.append((time.time_ns() - written) / 1e9)
        elif line == "" and event == "end":
            break
        elif line == "":
            event = ""
    connection.close()
    results[index] = (lines, delays)


def sse_latency(server, api, workspace, token, clients, ticks):
    api.call(
        "PUT",
        f"/api/v1/workspaces/{workspace}/environments/ticks/variables/BENCH_TICKS",
        {"value": str(ticks)},
    )
    started, _ = api.call(
        "POST", f"/api/v1/workspaces/{workspace}/environments/ticks/runs", {}
    )
    run_path = f"/api/v1/workspaces/{workspace}/runs/{started['run_id']}"
    # Connect once the build step's log exists.
    deadline = time.time() + 120
    while api.status("GET", f"{run_path}/logs/build") != 200:
        if time.time() > deadline:
            raise SystemExit("the ticks build never started")
        time.sleep(0.01)
    path = f"{run_path}/logs/build/events"
    results, connected_at = [None] * clients, [0] * clients
    threads = [
        threading.Thread(target=follow, args=(server, token, path, connected_at, results, index))
        for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    delays = [delay for _, found in results for delay in found]
    complete = sum(1 for lines, _ in results if lines == ticks)
    # The run waits for approval after its build: reject it, so that the next one may start.
    deadline = time.time() + 120
    while time.time() < deadline:
        body, _ = api.call("GET", run_path)
        if body["status"] == "waiting_for_approval":
            api.call("POST", f"{run_path}/reject")
            break
        if body["status"] not in ("queued", "running"):
            break
        time.sleep(0.05)
    while api.call("GET", run_path)[0]["status"] in ("queued", "running", "waiting_for_approval"):
        time.sleep(0.05)
    result = summary_ms(delays) if delays else {"n": 0}
    result["clients"] = clients
    result["clients_with_every_line"] = complete
    return result


def wrk(url, token, connections, seconds):
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url,
    ]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    figures = {}
    for label, key in [("50%", "p50"), ("90%", "p90"), ("99%", "p99")]:
        found = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found:
            value = float(found.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[found.group(2)]
            figures[f"{key}_ms"] = round(value, 2)
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    figures["requests_per_s"] = round(float(found.group(1)))
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = int(found.group(1)) if found else 0
    found = re.search(r"Socket errors: (.*)", out)
    figures["socket_errors"] = found.group(1).strip() if found else "none"
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--pushes", type=int, default=50)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=150)
    parser.add_argument("--api-connections", type=int, default=200)
    parser.add_argument("--api-seconds", type=int, default=10)
    args = parser.parse_args()

    dir = Path(args.work_dir)
    shutil.rmtree(dir, ignore_errors=True)
    dir.mkdir(parents=True)
    work, repository_url = make_repository(dir)
    stamps = dir / "stamps"
    stamps.mkdir()
    data_dir = dir / "data"
    data_dir.mkdir()
    server = Server(str(Path(args.binary).resolve()), data_dir, args.database_url)
    results = {"backend": "postgresql" if args.database_url else "sqlite"}
    try:
        time.sleep(1)
        results["memory_idle_start_kib"] = server.rss_kib()
        api, workspace, secret, token = set_up(server, repository_url)
        api.call(
            "PUT",
            f"/api/v1/workspaces/{workspace}/variables/BENCH_STAMPS",
            {"value": str(stamps)},
        )
        results["push_to_step"] = push_to_step(api, workspace, secret, work, stamps, args.pushes)
        results["sse_1_client"] = sse_latency(server, api, workspace, token, 1, args.ticks)
        results[f"sse_{args.clients}_clients"] = sse_latency(
            server, api, workspace, token, args.clients, args.ticks
        )
        runs_url = f"{server.url}/api/v1/workspaces/{workspace}/environments/staging/runs"
        results["api_runs_list"] = wrk(runs_url, token, args.api_connections, args.api_seconds)
        results["api_healthz_floor"] = wrk(
            f"{server.url}/healthz", None, args.api_connections, args.api_seconds
        )
        time.sleep(2)
        results["memory_idle_after_kib"] = server.rss_kib()
    finally:
        server.stop()
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
