#!/usr/bin/env python3
"""The web UI in a real browser (headless Chromium through chromedriver's WebDriver API).

Against `upkeep serve` (release build, SQLite) with the bench repository of serve_driver.py:
a run of the `ticks` environment whose build printed --lines lines (100,000 by default) waits
for approval. Each page is loaded --repeat times in a fresh navigation and measured with the
browser's Navigation Timing: time to first byte (responseStart - requestStart), full load
(loadEventEnd), the HTML's size, the JS heap in use, the DOM's element count and how many log
lines the page holds. Pages: the workspace's dashboard, that run's page, and — the peer in the
same run — the server's stylesheet, a static file served from memory by the same server.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serve_driver import PASSWORD, Api, Server, make_repository, set_up  # noqa: E402


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebDriver:
    def __init__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            ["chromedriver", f"--port={self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.profile = tempfile.mkdtemp()
        deadline = time.time() + 30
        while True:
            try:
                self.call("GET", "/status")
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("chromedriver did not start")
                time.sleep(0.1)
        capabilities = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--enable-precise-memory-info",
                            "--window-size=1280,800",
                            f"--user-data-dir={self.profile}",
                        ]
                    },
                }
            }
        }
        self.session = self.call("POST", "/session", capabilities)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read().decode())["value"]

    def command(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def goto(self, url):
        self.command("POST", "/url", {"url": url})

    def script(self, source):
        return self.command("POST", "/execute/sync", {"script": source, "args": []})

    def stop(self):
        try:
            self.command("DELETE", "")
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)


MEASURE = """
const t = performance.getEntriesByType('navigation')[0];
if (!t || t.loadEventEnd === 0) return null;
return {
  ttfb_ms: t.responseStart - t.requestStart,
  load_ms: t.loadEventEnd - t.startTime,
  html_bytes: t.transferSize,
  heap_bytes: performance.memory ? performance.memory.usedJSHeapSize : null,
  elements: document.getElementsByTagName('*').length,
  log_lines: document.querySelectorAll('.log .line').length,
};
"""


def measure(driver, url, repeat):
    samples = []
    for _ in range(repeat):
        driver.goto("about:blank")
        driver.goto(url)
        deadline = time.time() + 60
        while True:
            found = driver.script(MEASURE)
            if found:
                samples.append(found)
                break
            if time.time() > deadline:
                raise SystemExit(f"{url} never finished loading")
            time.sleep(0.05)
    result = {}
    for key in ("ttfb_ms", "load_ms"):
        values = sorted(sample[key] for sample in samples)
        result[f"{key}_p50"] = round(statistics.median(values), 2)
        result[f"{key}_max"] = round(values[-1], 2)
    last = samples[-1]
    result["html_bytes"] = last["html_bytes"]
    result["heap_mib"] = (
        round(last["heap_bytes"] / 1048576, 1) if last["heap_bytes"] is not None else None
    )
    result["elements"] = last["elements"]
    result["log_lines_in_page"] = last["log_lines"]
    result["n"] = repeat
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    work_dir = Path(tempfile.mkdtemp())
    _, repository_url = make_repository(work_dir)
    data_dir = work_dir / "data"
    data_dir.mkdir()
    server = Server(args.binary, data_dir, None)
    driver = None
    try:
        api, workspace, _, _ = set_up(server, repository_url)
        api.call(
            "PUT",
            f"/api/v1/workspaces/{workspace}/environments/ticks/variables/BENCH_LINES",
            {"value": str(args.lines)},
        )
        started, _ = api.call(
            "POST", f"/api/v1/workspaces/{workspace}/environments/ticks/runs", {}
        )
        run_id = started["run_id"]
        deadline = time.time() + 600
        while True:
            run, _ = api.call("GET", f"/api/v1/workspaces/{workspace}/runs/{run_id}")
            if run["status"] == "waiting_for_approval":
                break
            if run["status"] not in ("queued", "running") or time.time() > deadline:
                raise SystemExit(f"the long build did not get to its approval: {run['status']}")
            time.sleep(0.2)
        log, _ = api.call(
            "GET", f"/api/v1/workspaces/{workspace}/runs/{run_id}/logs/build?tail=1"
        )
        # A browser session: signed in through the API, its cookie given to the browser.
        session, cookie = Api(server).call(
            "POST",
            "/api/v1/session",
            {"email": "bench@agency.test", "password": PASSWORD},
        )
        name, value = cookie.split(";")[0].split("=", 1)
        driver = WebDriver()
        driver.goto(f"{server.url}/sign-in")
        driver.command("POST", "/cookie", {"cookie": {"name": name, "value": value, "path": "/"}})
        dashboard = f"{server.url}/workspaces/{workspace}"
        driver.goto(dashboard)
        stylesheet = driver.script(
            "return document.querySelector('link[rel=stylesheet]').getAttribute('href');"
        )
        results = {
            "lines_in_log": args.lines,
            "log_bytes": log["next_offset"],
            "dashboard": measure(driver, dashboard, args.repeat),
            "run_page": measure(
                driver, f"{server.url}/workspaces/{workspace}/runs/{run_id}", args.repeat
            ),
            "static_file": measure(driver, f"{server.url}{stylesheet}", args.repeat),
        }
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
    finally:
        if driver:
            driver.stop()
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
