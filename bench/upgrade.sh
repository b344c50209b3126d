#!/usr/bin/env bash
# Upgrade-plan benchmark: `upkeep upgrade plan` against `composer outdated --minor-only` and
# `--patch-only` on the same generated project, in one run, on loopback only.
#
# The issue (5, "Benchmark") asks for a project locking 600 packages against a generated local
# Composer repository, and for the plan to be at least 20 times faster than `composer outdated
# --minor-only` with warm metadata. This script builds upkeep, generates the repository and the
# project once (bench/generate_composer_repo.py), locks the project with the real `composer update`
# against the repository as it was at the lock date, then serves the repository as it is now on
# 127.0.0.1 (a threaded, keep-alive Python file server), warms both tools' metadata caches, checks
# that both tools name the same updates (and explains where their rules differ), times them with
# hyperfine, measures peak memory with GNU time and records the figures in docs/benchmarks.md
# (replacing the previous run).
#
# Usage: bench/upgrade.sh [--regenerate] [--runs N] [--cold-runs N] [--no-record]
#   --regenerate   write the repository and the project again and lock it again
#   --runs N       timed runs per warm command (default 20, after 2 warmup runs)
#   --cold-runs N  timed runs per cold command (default 10, after 1 warmup run)
#   --no-record    print only; do not change docs/benchmarks.md
# Environment:
#   UPKEEP_BIN     use this upkeep binary instead of building target/release/upkeep
#   UPGRADE_PACKAGES, UPGRADE_VENDORS, UPGRADE_SEED   generator sizes (defaults 600, 40, 1)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/record.sh
source "$repo/bench/record.sh"
bench="$repo/bench"
out="$bench/out/upgrade"
project="$out/project"
cache="$out/cache"

regenerate=0
runs=20
cold_runs=10
record=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --regenerate) regenerate=1 ;;
        --runs) runs=$2; shift ;;
        --cold-runs) cold_runs=$2; shift ;;
        --no-record) record=0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument '$1'" >&2; echo "hint: see bench/upgrade.sh --help" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '==> %s\n' "$*" >&2; }

for program in composer php hyperfine curl python3; do
    command -v "$program" >/dev/null || {
        echo "error: $program is needed and not installed" >&2
        echo "hint: apt-get install composer php-cli hyperfine curl python3" >&2
        exit 2
    }
done
[[ -x /usr/bin/time ]] || { echo "error: GNU time (/usr/bin/time) is needed" >&2; echo "hint: apt-get install time" >&2; exit 2; }

# 1. upkeep, built in release mode unless a binary is given. It is copied so that a build by
# someone else in the shared target directory cannot swap the binary in the middle of the run.
if [[ -n ${UPKEEP_BIN:-} ]]; then
    built=$UPKEEP_BIN
else
    say "building upkeep (release)"
    if ! (cd "$repo" && cargo build --release -p upkeep); then
        echo "error: the workspace does not build, so there is no upkeep to time" >&2
        echo "hint: fix the build, or time an existing binary with UPKEEP_BIN=path/to/upkeep bench/upgrade.sh" >&2
        exit 2
    fi
    built="$repo/target/release/upkeep"
fi
[[ -x $built ]] || { echo "error: upkeep binary not found at $built" >&2; exit 2; }
mkdir -p "$out"
upkeep="$out/upkeep"
cp "$built" "$upkeep"
built_at=$(date -u -r "$built" '+%Y-%m-%d %H:%M UTC')

# 2. The repository and the project. Generation is deterministic, so reusing them keeps runs comparable.
if [[ $regenerate -eq 1 || ! -f $out/bench-manifest.json || ! -f $project/composer.json ]]; then
    say "generating the repository and the project into ${out#"$repo"/}"
    python3 "$bench/generate_composer_repo.py" --out "$out" --packages "${UPGRADE_PACKAGES:-600}" \
        --vendors "${UPGRADE_VENDORS:-40}" --seed "${UPGRADE_SEED:-1}"
    rm -rf "$project/composer.lock" "$project/vendor"
fi

# Composer runs with its own home and cache under bench/out, never the user's.
composer_env() {
    local cache_dir=$1
    printf '%s\n' env "COMPOSER_HOME=$out/composer-home" "COMPOSER_CACHE_DIR=$cache_dir" \
        COMPOSER_NO_INTERACTION=1 COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_DISABLE_XDEBUG_WARN=1
}
mapfile -t composer_warm_env < <(composer_env "$cache/composer")
mapfile -t composer_cold_env < <(composer_env "$cache/composer-cold")
mapfile -t composer_lock_env < <(composer_env "$out/composer-lock-cache")

# 3. The server: Python's file server, threaded, HTTP/1.1 with keep-alive, TCP_NODELAY and a
# listen backlog large enough for concurrent clients, as a real server has them. `python3 -m
# http.server` keeps the socketserver default backlog of 5 (a client with 16 connections in
# flight then waits for SYN retransmissions, a second each), and without TCP_NODELAY every
# response on a kept-alive connection sends its headers and its body in two writes, so that
# the body waits for the client's delayed ACK (40 ms per response). It answers conditional requests (If-Modified-Since) with 304 as Packagist does, and logs
# one line per request so that the requests of each tool can be counted.
server_py=$(cat <<'EOF'
import functools, http.server, sys
root, log = sys.argv[1], sys.argv[2]
logfile = open(log, "a", buffering=1)
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, fmt, *args):
        logfile.write("%s\n" % (fmt % args))
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True
server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=root))
print(server.server_address[1], flush=True)
server.serve_forever()
EOF
)
server_pid=""
server_log="$out/server.log"
stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT
# Serves $1 on a free port and puts that port into the project's composer.json; the lock's
# content-hash covers `repositories`, so it is computed again (as Composer computes it).
serve() {
    stop_server
    : >"$server_log"
    rm -f "$out/server.port"
    python3 -u -c "$server_py" "$1" "$server_log" >"$out/server.port" 2>"$out/server.err" &
    server_pid=$!
    for _ in $(seq 50); do
        [[ -s $out/server.port ]] && break
        sleep 0.1
    done
    port=$(head -n 1 "$out/server.port")
    [[ $port =~ ^[0-9]+$ ]] || { echo "error: the repository server did not start" >&2; cat "$out/server.err" >&2; exit 2; }
    sed -i -E "s#http://127\.0\.0\.1:[0-9]+#http://127.0.0.1:$port#" "$project/composer.json"
    if [[ -f $project/composer.lock ]]; then
        local hash
        hash=$(php -r 'require "/usr/share/php/Composer/autoload.php"; echo Composer\Package\Locker::getContentHash(file_get_contents($argv[1]));' "$project/composer.json")
        sed -i -E "s/\"content-hash\": \"[0-9a-f]+\"/\"content-hash\": \"$hash\"/" "$project/composer.lock"
    fi
}
requests() { wc -l <"$server_log"; }

# 4. The lock: the real `composer update` against the repository as it was at the lock date.
if [[ ! -f $project/composer.lock ]]; then
    say "locking the project with composer update against the repository at the lock date"
    serve "$out/repo-old"
    rm -rf "$out/composer-lock-cache"
    "${composer_lock_env[@]}" composer update --no-install --no-progress --working-dir="$project" >"$out/composer-update.log" 2>&1 || {
        echo "error: composer could not lock the generated project" >&2
        tail -n 30 "$out/composer-update.log" >&2
        exit 2
    }
    python3 - "$out/bench-manifest.json" "$project/composer.lock" <<'EOF'
import json, sys
expected = json.load(open(sys.argv[1]))["expected_lock"]
locked = {p["name"]: p["version"] for p in json.load(open(sys.argv[2]))["packages"]}
wrong = {name: (version, locked.get(name)) for name, version in expected.items() if locked.get(name) != version}
if wrong:
    print(f"error: composer locked {len(wrong)} packages at other versions than the generator meant, e.g. "
          + ", ".join(f"{n} {got} (meant {want})" for n, (want, got) in list(wrong.items())[:5]), file=sys.stderr)
    sys.exit(2)
EOF
    rm -rf "$project/vendor"
fi

# 5. The repository as it is now, and the project installed from its lock (metapackages: nothing
# is downloaded; `composer outdated` compares what is installed).
serve "$out/repo"
"${composer_warm_env[@]}" composer validate --no-check-publish --working-dir="$project" >"$out/composer-validate.log" 2>&1 || {
    echo "error: composer does not accept the project's composer.json and composer.lock" >&2
    cat "$out/composer-validate.log" >&2
    exit 2
}
"${composer_warm_env[@]}" composer install --no-progress --working-dir="$project" >"$out/composer-install.log" 2>&1 || {
    echo "error: composer install failed on the generated project" >&2
    tail -n 30 "$out/composer-install.log" >&2
    exit 2
}
"${composer_warm_env[@]}" composer install --dry-run --working-dir="$project" 2>&1 | grep -q 'Nothing to install, update or remove' || {
    echo "error: composer install --dry-run still has work to do after the install" >&2
    exit 2
}
dev_locked=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["dev_locked"]))' "$out/bench-manifest.json")
locked_count=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["packages"]) + len(d["packages-dev"]))' "$project/composer.lock")

# 6. Warm the caches (empty first, so that what is measured is this run's cache) and keep the
# answers: the same questions must get the same answers before timing them means anything.
rm -rf "$cache"
mkdir -p "$cache"
upkeep_plan=("$upkeep" upgrade plan "$project" --format json --cache-dir "$cache/upkeep")
before=$(requests)
"${upkeep_plan[@]}" >"$out/upkeep-plan.json" 2>"$out/upkeep-plan.err" || {
    echo "error: upkeep upgrade plan failed on the generated project" >&2
    cat "$out/upkeep-plan.err" >&2
    exit 2
}
upkeep_cold_requests=$(( $(requests) - before ))
before=$(requests)
"${upkeep_plan[@]}" >"$out/upkeep-plan-warm.json"
upkeep_warm_requests=$(( $(requests) - before ))
before=$(requests)
"${upkeep_plan[@]}" --offline >"$out/upkeep-plan-offline.json"
upkeep_offline_requests=$(( $(requests) - before ))
for pass in warm offline; do
    cmp -s "$out/upkeep-plan.json" "$out/upkeep-plan-$pass.json" || {
        echo "error: the $pass plan differs from the plan that filled the cache" >&2
        echo "hint: diff $out/upkeep-plan.json $out/upkeep-plan-$pass.json" >&2
        exit 2
    }
done
outdated() { "${composer_warm_env[@]}" composer outdated "$@" --format=json --working-dir="$project"; }
for pass in cold warm; do
    for only in minor patch; do
        before=$(requests)
        outdated "--$only-only" >"$out/composer-$only-$pass.json" 2>"$out/composer-$only-$pass.err" || {
            echo "error: composer outdated --$only-only failed" >&2
            cat "$out/composer-$only-$pass.err" >&2
            exit 2
        }
        declare "composer_${only}_${pass}_requests=$(( $(requests) - before ))"
    done
done

say "comparing upkeep's plan with composer outdated"
# What is compared: upkeep's `minor` (newest release of the locked release line, the caret's
# range) with `composer outdated --minor-only`'s `latest` (the newest release matching
# `^<locked>`), and upkeep's `patch` (newest of the locked minor) with `--patch-only`'s (the
# newest matching `~<locked>`). Where they differ, the generated metadata says why.
sanity=$(python3 - "$out/upkeep-plan.json" "$out/composer-minor-warm.json" "$out/composer-patch-warm.json" "$out/repo" "$project/composer.lock" <<'EOF'
import json, sys
from collections import Counter
from pathlib import Path

plan_path, minor_path, patch_path, repo, lock_path = sys.argv[1:6]
plan = {p["name"]: p for p in json.load(open(plan_path))["packages"]}
composer = {"minor": {p["name"]: p["latest"] for p in json.load(open(minor_path)).get("installed", [])},
            "patch": {p["name"]: p["latest"] for p in json.load(open(patch_path)).get("installed", [])}}
locked = {p["name"]: p["version"] for p in json.load(open(lock_path))["packages"]}

def expand(versions):  # Composer's MetadataMinifier::expand
    out, last = [], None
    for entry in versions:
        if last is None:
            last = dict(entry)
        else:
            for key, value in entry.items():
                if value == "__unset":
                    last.pop(key, None)
                else:
                    last[key] = value
        out.append(dict(last))
    return out

def releases(name):
    data = json.load(open(Path(repo) / "p2" / f"{name}.json"))
    return {v["version"]: v for v in expand(data["packages"][name])}

def key(normalized):
    return tuple(int(part) for part in normalized.split("-")[0].split("."))

def needs_newer_php(release):
    # The generator writes `php` requirements as `>=X.Y`; the platform is PHP 8.2.10.
    php = release.get("require", {}).get("php", "")
    return php.startswith(">=") and key(php[2:] + ".0") > (8, 2, 10)

lines, unexplained = [], 0
for kind in ("minor", "patch"):
    ours = {name: p[kind] for name, p in plan.items() if p[kind]}
    theirs = composer[kind]
    agree = sum(1 for name in ours if theirs.get(name) == ours[name])
    reasons = Counter()
    for name in sorted(set(ours) | set(theirs)):
        mine, other = ours.get(name), theirs.get(name)
        if mine == other:
            continue
        version = locked.get(name, "")
        if version.startswith("dev-"):
            reasons["locked on a branch: Composer reports the branch's newer commit, upkeep leaves branches alone"] += 1
            continue
        known = releases(name)
        if mine and needs_newer_php(known[mine]) and (
                other is None or key(known[other]["version_normalized"]) < key(known[mine]["version_normalized"])):
            reasons[f"upkeep's `{kind}` column is the newest release, which needs a newer PHP than the platform's 8.2.10; "
                    "Composer shows the newest the platform allows (upkeep's chosen update skips it too)"] += 1
            continue
        if kind == "patch" and version.lstrip("v").startswith("0.") and other is None:
            reasons["0.x: Composer's --patch-only looks for `~0.a.b.0` (a fourth version part); "
                    "upkeep's patch is the newest 0.a.x"] += 1
            continue
        reasons["UNEXPLAINED"] += 1
        unexplained += 1
        print(f"  unexplained {kind}: {name} locked {version}: upkeep {mine}, composer {other}", file=sys.stderr)
    lines.append(f"- `--{kind}-only`: Composer lists {len(theirs)} packages, upkeep gives a `{kind}` for {len(ours)}; "
                 f"{agree} agree on package and version, {sum(reasons.values())} differ"
                 + ("" if not reasons else ": " + "; ".join(f"{count} × {why}" for why, count in reasons.items())) + ".")
updates = Counter(p["update"] for p in plan.values())
deferred = sum(1 for p in plan.values() if p["reason"].startswith("waits for the next run"))
blocked = sum(1 for p in plan.values() if p["update"] == "none" and p["minor"] and not p["reason"].startswith("waits"))
lines.append(f"- upkeep's plan: {updates['minor']} minor and {updates['patch']} patch updates chosen (the per-run limits, "
             f"10 minor and 30 patch), {deferred} wait for a later run, {blocked} with a newer release in the line get none "
             "(another locked package's requirement or conflict, or PHP, blocks it; `composer outdated` does not look at that).")
print("\n".join(lines))
sys.exit(3 if unexplained else 0)
EOF
) || {
    status=$?
    if [[ $status -eq 3 ]]; then
        say "warning: upkeep and composer outdated differ where their rules should agree (listed above)"
    else
        echo "error: the comparison failed" >&2
        exit 2
    fi
}
printf '%s\n' "$sanity" >&2

# 7. Timing. -N: no shell between hyperfine and the command. The cold commands get their own
# cache directories, removed before every run, so that the warm caches stay as they are. The
# curl commands send the same 601 requests as upkeep (conditional ones for the warm runs, one
# after the other on one connection as Composer does, or 16 at once as upkeep does; plain
# downloads for the cold run): the server's share, a floor for any client.
urls="$out/curl-urls.txt"
{
    echo "header = \"If-Modified-Since: $(date -u '+%a, %d %b %Y %H:%M:%S GMT')\""
    echo "silent"
    printf 'url = "http://127.0.0.1:%s/packages.json"\noutput = "/dev/null"\n' "$port"
    python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["available-packages"]))' "$out/repo/packages.json" |
        while read -r name; do printf 'url = "http://127.0.0.1:%s/p2/%s.json"\noutput = "/dev/null"\n' "$port" "$name"; done
} >"$urls"
urls_cold="$out/curl-urls-cold.txt"
grep -v '^header = ' "$urls" >"$urls_cold"
composer_cmd() { printf '%s ' "$@"; }
warm_names=(
    "upkeep upgrade plan, warm (revalidates: 601 conditional requests)"
    "upkeep upgrade plan --offline, warm (no requests)"
    "composer outdated --minor-only, warm"
    "composer outdated --patch-only, warm"
    "curl, the same 601 conditional requests, one at a time"
    "curl, the same 601 conditional requests, 16 at once"
)
warm_commands=(
    "${upkeep_plan[*]}"
    "${upkeep_plan[*]} --offline"
    "$(composer_cmd "${composer_warm_env[@]}")composer outdated --minor-only --format=json --working-dir=$project"
    "$(composer_cmd "${composer_warm_env[@]}")composer outdated --patch-only --format=json --working-dir=$project"
    "curl -K $urls"
    "curl --parallel --parallel-max 16 -K $urls"
)
cold_names=(
    "upkeep upgrade plan, cold (empty cache)"
    "composer outdated --minor-only, cold (empty cache)"
    "composer outdated --patch-only, cold (empty cache)"
    "curl, the same 601 files downloaded, 16 at once"
)
cold_commands=(
    "$upkeep upgrade plan $project --format json --cache-dir $cache/upkeep-cold"
    "$(composer_cmd "${composer_cold_env[@]}")composer outdated --minor-only --format=json --working-dir=$project"
    "$(composer_cmd "${composer_cold_env[@]}")composer outdated --patch-only --format=json --working-dir=$project"
    "curl --parallel --parallel-max 16 -K $urls_cold"
)
cold_prepares=("rm -rf $cache/upkeep-cold" "rm -rf $cache/composer-cold" "rm -rf $cache/composer-cold" "true")
warm_args=()
for i in "${!warm_names[@]}"; do warm_args+=(-n "${warm_names[$i]}" "${warm_commands[$i]}"); done
cold_args=()
for i in "${!cold_names[@]}"; do cold_args+=(--prepare "${cold_prepares[$i]}" -n "${cold_names[$i]}" "${cold_commands[$i]}"); done

# Other work on the machine (parallel cargo builds) skews every tool; the load goes on record.
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
busy=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 20 { printf "%s%s (%.0f%%)", sep, $2, $1; sep = ", " }')
say "timing warm runs with hyperfine ($runs runs after 2 warmup runs each)"
hyperfine -N --warmup 2 --runs "$runs" --style basic --export-json "$out/hyperfine-warm.json" "${warm_args[@]}" >&2
say "timing cold runs with hyperfine ($cold_runs runs after 1 warmup run each)"
hyperfine -N --warmup 1 --runs "$cold_runs" --style basic --export-json "$out/hyperfine-cold.json" "${cold_args[@]}" >&2
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)

# 8. Peak memory, one run each under GNU time (the cold ones after their preparation).
peak_rss_mb() {
    # shellcheck disable=SC2086 # the command is a word list on purpose
    /usr/bin/time -v $1 >/dev/null 2>"$out/time.txt" || true
    awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$out/time.txt"
}
rss=()
for command in "${warm_commands[@]}"; do rss+=("$(peak_rss_mb "$command")"); done
for i in "${!cold_commands[@]}"; do
    bash -c "${cold_prepares[$i]}"
    rss+=("$(peak_rss_mb "${cold_commands[$i]}")")
done

# 9. Figures.
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
mem_gb=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$repo" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null) ]] || revision="$revision+uncommitted"
if [[ -n ${UPKEEP_BIN:-} ]]; then
    upkeep_origin="\`$UPKEEP_BIN\` (UPKEEP_BIN, built $built_at, repository at $revision when measured)"
    command_prefix="UPKEEP_BIN=$UPKEEP_BIN "
else
    upkeep_origin="revision $revision, \`target/release/upkeep\` built $built_at, copied to \`${upkeep#"$repo"/}\` for the run"
    command_prefix=""
fi
composer_version=$(composer --version 2>/dev/null | awk 'NR == 1 { print "Composer", $3 }')
php_version=$(php -r 'echo PHP_VERSION;')
php_curl=$(php -r 'echo extension_loaded("curl") ? "with PHP'"'"'s curl extension" : "PHP'"'"'s curl extension not loaded: Composer fetches over PHP streams, one request at a time";')
manifest_summary=$(python3 - "$out/bench-manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"{m['packages']} packages of {m['vendors']} vendors, {m['versions']} versions ({m['stable_releases']} stable releases, "
      f"{m['pre_releases']} pre-releases, the rest branches), {m['requirements']} requirement links; "
      f"{m['versions_at_lock']} versions existed at the lock date, {m['packages_with_releases_after_lock']} packages have released since; "
      f"seed {m['seed']}")
EOF
)
repo_mb=$(du -sm "$out/repo" | cut -f1)
cache_mb=$(du -sm "$cache/upkeep" | cut -f1)
composer_cache_mb=$(du -sm "$cache/composer" | cut -f1)

table=$(python3 - "$out/hyperfine-warm.json" "$out/hyperfine-cold.json" "${rss[@]}" <<'EOF'
import json, sys
warm = json.load(open(sys.argv[1]))["results"]
cold = json.load(open(sys.argv[2]))["results"]
rss = sys.argv[3:]
def find(results, prefix):
    return next(r for r in results if r["command"].startswith(prefix))
peer_warm = find(warm, "composer outdated --minor-only")
peer_cold = find(cold, "composer outdated --minor-only")
# Above 1: the command is faster than `composer outdated --minor-only` in the same state (warm
# against warm, cold against cold). The ratio of the fastest runs moves least when other work
# shares the machine.
print("| command | mean | σ | min | max | peak RSS | `composer outdated --minor-only` / this (means) | (minimums) |")
print("|---|---|---|---|---|---|---|---|")
for results, peer in ((warm, peer_warm), (cold, peer_cold)):
    for r in results:
        peak = rss.pop(0)
        print(f"| {r['command']} | {r['mean'] * 1000:.1f} ms | {(r['stddev'] or 0) * 1000:.1f} ms | {r['min'] * 1000:.1f} ms "
              f"| {r['max'] * 1000:.1f} ms | {peak} MB | {peer['mean'] / r['mean']:.2f} | {peer['min'] / r['min']:.2f} |")
print()
upkeep = find(warm, "upkeep upgrade plan, warm")
offline = find(warm, "upkeep upgrade plan --offline")
patch = find(warm, "composer outdated --patch-only")
print(f"Target (at least 20× faster than `composer outdated --minor-only` with warm metadata): "
      f"revalidating {peer_warm['mean'] / upkeep['mean']:.1f}× ({'met' if peer_warm['mean'] / upkeep['mean'] >= 20 else 'not met'}), "
      f"offline {peer_warm['mean'] / offline['mean']:.1f}× ({'met' if peer_warm['mean'] / offline['mean'] >= 20 else 'not met'}); "
      f"against `--patch-only`: {patch['mean'] / upkeep['mean']:.1f}× and {patch['mean'] / offline['mean']:.1f}×.")
EOF
)

summary=$(cat <<EOF
Machine: $cores cores (nproc), $cpu, ${mem_gb} GB RAM, $(uname -sr); load average $load_at_start when timing started, $load_at_end at the end${busy:+; busy then: $busy}.
upkeep: $upkeep_origin. Peer: $composer_version on PHP $php_version ($php_curl).
Repository: $manifest_summary; ${repo_mb} MB served by Python's file server (threaded, keep-alive) on 127.0.0.1.
Project: $locked_count locked packages, all required directly with caret constraints ($dev_locked on \`dev-main\`), platform PHP 8.2.10; \`composer validate\` accepts it and it is installed (\`composer outdated\` compares what is installed).
Requests: upkeep $upkeep_cold_requests with an empty cache, $upkeep_warm_requests warm (304s), $upkeep_offline_requests offline; \`composer outdated --minor-only\` $composer_minor_cold_requests cold, $composer_minor_warm_requests warm (304s), \`--patch-only\` $composer_patch_warm_requests warm. Caches: upkeep ${cache_mb} MB, Composer ${composer_cache_mb} MB.

Answers (checked before timing):

$sanity

$table
EOF
)
printf '\n%s\n' "$summary"

# 10. Record. The previous run in the upgrader section (between the markers) is replaced; paths
# are written relative to the repository so the section reads the same anywhere.
if [[ $record -eq 1 ]]; then
    doc="$repo/docs/benchmarks.md"
    check_markers upgrade "$doc" "with --no-record"
    rel() { local text=${1//"$repo"\//}; printf '%s' "$text"; }
    section="$out/upgrade-section.md"
    {
        echo "$start_marker"
        echo
        echo "### $(date -u +%Y-%m-%d) — upkeep $revision vs $composer_version"
        echo
        echo "Command: \`${command_prefix}bench/upgrade.sh --runs $runs --cold-runs $cold_runs\`, which runs"
        echo
        echo '```sh'
        echo "hyperfine -N --warmup 2 --runs $runs \\"
        for i in "${!warm_commands[@]}"; do echo "  '$(rel "${warm_commands[$i]}")' \\"; done | sed '$ s/ \\$//'
        echo "hyperfine -N --warmup 1 --runs $cold_runs \\"
        for i in "${!cold_commands[@]}"; do
            echo "  --prepare '$(rel "${cold_prepares[$i]}")' '$(rel "${cold_commands[$i]}")' \\"
        done | sed '$ s/ \\$//'
        echo '```'
        echo
        rel "$summary"
        echo
        echo
        echo "$end_marker"
    } >"$section"
    replace_section "$doc" "$section"
    say "recorded in ${doc#"$repo"/}"
fi
