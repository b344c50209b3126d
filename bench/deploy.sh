#!/usr/bin/env bash
# Deployment engine benchmark: `upkeep deploy` against a plain shell script that runs the same hooks
# the same way, in one run.
#
# The issue "Pipelines" (point 9) asks what the engine costs on top of the hooks it runs: the time
# from starting `upkeep deploy` to the first hook's process start, the time of a whole deployment,
# and log throughput (lines per second into the log store, and read back). The peer is
# bench/out/deploy/peer-deploy.sh, written by this script: the least a deployment script does to
# run the same hooks the same way (unpack the same image layer into releases/<id>, run the
# pre-deploy hook in the running release, install in the new one, switch `current` with
# `ln -sfn` + `mv -T`, post-deploy, keep the newest releases), each hook with `bash -c` (upkeep
# runs hooks under bash too) and with the image's environment.
#
# Everything is generated under bench/out/deploy (ignored by git), afresh on every run: a small
# project (a hook script, a deploy file, upkeep.yml; 3 releases kept, so deployments prune) and a
# larger one (the same plus --tree-files generated PHP files, so that unpacking a release costs
# what it costs; every release kept during the run, see write_project), each committed and built
# once with `upkeep build`. Each hook's first action writes the time ($EPOCHREALTIME, no fork) into
# the target's directory. Measured:
#   1. time to first hook: the pre-deploy hook's time minus the time taken right before starting
#      the deployment (2nd and later deployments, so that pre-deploy runs), upkeep and the peer
#      alternating, --first-hook-runs times each, for both projects; the same loop also gives
#      the whole deployment's time;
#   2. whole deployments with trivial hooks, with hyperfine (the peer keeps each hook's output in
#      a file, `hook > log 2>&1`, as upkeep keeps it in its log store);
#   3. log throughput: an install hook that prints --lines lines (`cat` of a prepared file, one line
#      in 1,000 with the secret in it) against the same deployment with the trivial hook; lines/s
#      = lines / (time with them - time without), for upkeep (quiet, and echoing to standard
#      error) and the peer writing a plain redirect or through awk (timestamp and secret masking);
#   4. read-back: `upkeep pipeline logs --stage install` (and with --offsets) against `cat` of
#      the peer's logs. The script fails when upkeep's log does not give back every line, or shows
#      the secret.
# Every timed deployment starts after `sync`, so that none pays for the writeback of another. It
# prints the figures as markdown; --record also puts them into docs/benchmarks.md (between the
# deploy-run markers, replacing the previous run). A full run takes about 15 minutes on 2 cores.
#
# Usage: bench/deploy.sh [--runs N] [--log-runs N] [--first-hook-runs N] [--lines L]
#                        [--tree-files N] [--record]
#   --runs N             hyperfine runs per whole-deployment and read-back command (default 20,
#                        after 2 warmups)
#   --log-runs N         hyperfine runs per log command (default 5, after 1 warmup)
#   --first-hook-runs N  deployments per tool and project for the time to first hook (default 20)
#   --lines L            lines the install hook prints for the log figures (default 1000000)
#   --tree-files N       generated PHP files in the larger project (default 10000; 0 leaves it out)
#   --record             also write the figures into docs/benchmarks.md
# Environment:
#   UPKEEP_BIN    use this upkeep binary instead of building target/release/upkeep
#   UPKEEP_NOTE   a sentence about that binary, printed with the figures
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/record.sh
source "$repo/bench/record.sh"
out="$repo/bench/out/deploy"

runs=20
log_runs=5
first_hook_runs=20
lines=1000000
tree_files=10000
record=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs=$2; shift ;;
        --log-runs) log_runs=$2; shift ;;
        --first-hook-runs) first_hook_runs=$2; shift ;;
        --lines) lines=$2; shift ;;
        --tree-files) tree_files=$2; shift ;;
        --record) record=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument '$1'" >&2; echo "hint: see bench/deploy.sh --help" >&2; exit 2 ;;
    esac
    shift
done
for number in "$runs" "$log_runs" "$first_hook_runs" "$lines" "$tree_files"; do
    [[ $number =~ ^[0-9]+$ ]] || { echo "error: '$number' is not a number" >&2; exit 2; }
done
[[ $lines -ge 1000 ]] || { echo "error: --lines must be at least 1000" >&2; exit 2; }

say() { printf '==> %s\n' "$*" >&2; }
fail() { echo "error: $1" >&2; [[ -z ${2:-} ]] || echo "hint: $2" >&2; exit 2; }
# Microseconds since the epoch, without a fork.
now_us() { local t=$EPOCHREALTIME; printf '%s' "${t/./}"; }

command -v hyperfine >/dev/null || fail "hyperfine is not installed" "apt-get install hyperfine"
command -v git >/dev/null || fail "git is not installed" "apt-get install git"
[[ ${BASH_VERSINFO[0]} -ge 5 ]] || fail "bash 5 or newer is needed (\$EPOCHREALTIME)"

# 1. upkeep, built in release mode unless a binary is given.
if [[ -n ${UPKEEP_BIN:-} ]]; then
    upkeep=$UPKEEP_BIN
else
    say "building upkeep (release)"
    if ! (cd "$repo" && cargo build --release -p upkeep); then
        fail "the workspace does not build, so there is no upkeep to time" \
            "fix the build, or time an existing binary with UPKEEP_BIN=path/to/upkeep bench/deploy.sh"
    fi
    upkeep="$repo/target/release/upkeep"
fi
[[ -x $upkeep ]] || fail "upkeep binary not found at $upkeep"
upkeep=$(cd "$(dirname "$upkeep")" && pwd)/$(basename "$upkeep")

# 2. The projects. Generated afresh: every run starts from the same state.
say "generating the bench projects in ${out#"$repo"/}"
# Deleting the previous run's files matters here: an ext4 without a journal skips inodes freed in
# the last minute when it allocates new ones, so creating files near many such inodes is slow for
# whoever does it. The timing waits until that minute has passed (see section 5).
deleted_at=""
if [[ -e $out ]]; then
    rm -rf "$out"
    sync
    deleted_at=$SECONDS
fi
mkdir -p "$out"
secret="s3cr3t-bench-pw"
lines_file="$out/lines.txt"
# ~60 bytes a line; every 1,000th line carries the secret, which upkeep must mask.
seq 1 "$lines" | awk -v secret="$secret" '{
    if ($1 % 1000 == 0) printf "bench line %07d connecting with password=%s ok\n", $1, secret
    else printf "bench line %07d lorem ipsum dolor sit amet consectetur\n", $1
}' >"$lines_file"
secret_lines=$((lines / 1000))
lines_mb=$(awk -v b="$(stat -c %s "$lines_file")" 'BEGIN { printf "%.1f", b / 1e6 }')

# The hook of every stage: its first action stamps the time into the target directory (the
# hook runs in <target>/releases/<id>/app), then the install hook prints the lines when asked.
write_project() { # directory project-name releases-to-keep
    local dir=$1 name=$2 keep=$3
    mkdir -p "$dir/bin"
    cat >"$dir/bin/hook" <<'EOF'
#!/bin/bash
t=$EPOCHREALTIME; printf '%s\n' "${t/./}" >"../../../stamp-$1"
if [[ $1 == install && -n ${BENCH_LINES_FILE:-} ]]; then cat "$BENCH_LINES_FILE"; fi
release=${PWD%/app}; echo "hook $1 done in ${release##*/} (database password $BENCH_DB_PASSWORD)"
EOF
    chmod +x "$dir/bin/hook"
    cat >"$dir/upkeep.yml" <<EOF
# Written by bench/deploy.sh.
project: $name
environments:
  bench:
    branch: main
    deploy-file: deploy.bench.yml
    deploy-type: normal
    approval: false
    target:
      local:
        path: ../targets/upkeep-bench
    keep-releases: $keep
    secrets: [BENCH_DB_PASSWORD]
  bench-log:
    branch: main
    deploy-file: deploy.bench-log.yml
    deploy-type: normal
    approval: false
    target:
      local:
        path: ../targets/upkeep-bench-log
    keep-releases: $keep
    secrets: [BENCH_DB_PASSWORD]
EOF
    for environment in bench bench-log; do
        {
            echo 'version: "0.1"'
            echo 'image:'
            echo '  environment:'
            echo "    BENCH_DB_PASSWORD: $secret"
            [[ $environment == bench-log ]] && echo "    BENCH_LINES_FILE: $lines_file"
            echo '    SPRYKER_HOOK_BEFORE_DEPLOY: bin/hook pre-deploy'
            echo '    SPRYKER_HOOK_INSTALL: bin/hook install'
            echo '    SPRYKER_HOOK_AFTER_DEPLOY: bin/hook post-deploy'
        } >"$dir/deploy.$environment.yml"
    done
}

# The small project keeps 3 releases, so its deployments include pruning the oldest, as real ones
# do. The large one keeps them all during the run: removing 10,000 files per deployment makes the
# next unpack near them slow on this kind of file system (see above), whichever tool unpacks, and
# the figures would measure the file system's luck rather than the tools.
write_project "$out/small/repo" bench-small 3
if [[ $tree_files -gt 0 ]]; then
    write_project "$out/large/repo" bench-large 1000
    # Deterministic PHP-like files, ~4 KB each, 50 to a module directory.
    python3 - "$out/large/repo" "$tree_files" <<'EOF'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
words = "product price stock store cart order customer locale currency transfer facade factory reader writer mapper plugin".split()
for index in range(count):
    module = f"Module{index // 50:04d}"
    directory = os.path.join(root, "src", "Pyz", "Zed", module, "Business")
    os.makedirs(directory, exist_ok=True)
    methods = []
    for number in range(12):
        name = rng.choice(words) + rng.choice(words).capitalize() + str(number)
        body = " + ".join(f"$this->{rng.choice(words)}{rng.randrange(100)}" for _ in range(6))
        methods.append(f"    public function {name}(array $data): int\n    {{\n        return {body};\n    }}\n")
    with open(os.path.join(directory, f"Class{index:05d}.php"), "w") as handle:
        handle.write(f"<?php\n\nnamespace Pyz\\Zed\\{module}\\Business;\n\nclass Class{index:05d}\n{{\n" + "\n".join(methods) + "}\n")
EOF
fi
projects=(small)
[[ $tree_files -gt 0 ]] && projects+=(large)

for project in "${projects[@]}"; do
    dir="$out/$project/repo"
    git -C "$dir" init -q -b main
    git -C "$dir" add -A
    git -C "$dir" -c user.name=bench -c user.email=bench@localhost commit -q -m "bench project"
done

# 3. Images, with `upkeep build`. The peer unpacks the very layer upkeep unpacks, and gets the
# environment from the image's config, so both deploy the same tree with the same variables.
image_layer() { # repo environment -> the layer blob's path
    python3 - "$1/.upkeep/images" "$2" <<'EOF'
import json, sys
store, environment = sys.argv[1], sys.argv[2]
blob = lambda digest: f"{store}/blobs/{digest.replace(':', '/')}"
index = json.load(open(f"{store}/index.json"))
digest = next(m["digest"] for m in index["manifests"]
              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == f"{environment}-latest")
manifest = json.load(open(blob(digest)))
layers = manifest["layers"]
assert len(layers) == 1, f"expected one layer, found {len(layers)}"
print(blob(layers[0]["digest"]))
EOF
}
image_env_file() { # repo environment project-name file: the variables every hook sees
    python3 - "$1/.upkeep/images" "$2" "$3" >"$4" <<'EOF'
import json, shlex, sys
store, environment, project = sys.argv[1:4]
blob = lambda digest: f"{store}/blobs/{digest.replace(':', '/')}"
index = json.load(open(f"{store}/index.json"))
digest = next(m["digest"] for m in index["manifests"]
              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == f"{environment}-latest")
config = json.load(open(blob(json.load(open(blob(digest)))["config"]["digest"])))
print("# Written by bench/deploy.sh: the image's environment, as upkeep gives it to every hook.")
for entry in config["config"]["Env"]:
    name, value = entry.split("=", 1)
    print(f"export {name}={shlex.quote(value)}")
print(f"export SPRYKER_PROJECT_NAME={shlex.quote(project)}")
print("export SPRYKER_PIPELINE_TYPE=normal")
EOF
}

for project in "${projects[@]}"; do
    dir="$out/$project/repo"
    for environment in bench bench-log; do
        say "upkeep build --env $environment ($project project)"
        if ! "$upkeep" build --env "$environment" --quiet "$dir" >"$out/build.txt" 2>&1; then
            cat "$out/build.txt" >&2
            fail "upkeep build failed in $dir"
        fi
        image_env_file "$dir" "$environment" "bench-$project" "$out/$project/$environment.env"
    done
    image_layer "$dir" bench >"$out/$project/layer-path"
done
layer_mb() { awk -v b="$(stat -c %s "$(cat "$out/$1/layer-path")")" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# 4. The peer.
peer="$out/peer-deploy.sh"
cat >"$peer" <<'EOF'
#!/bin/bash
# Written by bench/deploy.sh: the plain-shell peer of `upkeep deploy`.
# Usage: peer-deploy.sh TARGET LAYER ENV_FILE LOG_MODE LOG_DIR KEEP
#   LOG_MODE none: output where it goes; plain: `hook > LOG_DIR/<stage>.log 2>&1`;
#   awk: through awk, which masks the secret and stamps each line (to the second), as upkeep does.
set -euo pipefail
target=$1 layer=$2 env_file=$3 log_mode=$4 log_dir=$5 keep=$6
releases=$target/releases
t=$EPOCHREALTIME; id="r${t/./}"
mkdir -p "$releases/.prepare-$id/app" "$log_dir"
tar -xzf "$layer" -C "$releases/.prepare-$id/app"
mv "$releases/.prepare-$id" "$releases/$id"
set -a; . "$env_file"; set +a
run_hook() { # stage directory command
    case $log_mode in
        none) (cd "$2" && bash -c "$3") ;;
        plain) (cd "$2" && bash -c "$3") >"$log_dir/$1.log" 2>&1 ;;
        awk) (cd "$2" && bash -c "$3") 2>&1 | awk -v secret="$BENCH_DB_PASSWORD" '{
                 gsub(secret, "***"); print strftime("%Y-%m-%dT%H:%M:%S.000Z", systime(), 1) " o " $0
             }' >"$log_dir/$1.log" ;;
    esac
}
if [[ -L $target/current ]]; then
    run_hook pre-deploy "$target/current/app" "$SPRYKER_HOOK_BEFORE_DEPLOY"
fi
run_hook install "$releases/$id/app" "$SPRYKER_HOOK_INSTALL"
ln -sfn "releases/$id" "$target/current.new"
mv -T "$target/current.new" "$target/current"
run_hook post-deploy "$target/current/app" "$SPRYKER_HOOK_AFTER_DEPLOY"
# Keep the newest KEEP releases (ids sort by time).
ls -1 "$releases" | head -n -"$keep" | while read -r old; do rm -rf "${releases:?}/$old"; done
EOF
chmod +x "$peer"

upkeep_deploy() { # project environment [extra args]: the command line, as a string for hyperfine
    local project=$1 environment=$2
    shift 2
    printf '%s deploy --env %s %s%s' "$upkeep" "$environment" "$out/$project/repo" "${*:+ $*}"
}
keep_of() { [[ $1 == large ]] && echo 1000 || echo 3; }
peer_deploy() { # project environment log-mode
    local target="$out/$1/targets/peer-$2"
    printf 'bash %s %s %s %s %s %s %s' "$peer" "$target" "$(cat "$out/$1/layer-path")" \
        "$out/$1/$2.env" "$3" "$out/$1/peer-logs/$2-$3" "$(keep_of "$1")"
}

# First deployments: afterwards a release is running everywhere, so pre-deploy runs.
say "first deployments"
for project in "${projects[@]}"; do
    for environment in bench bench-log; do
        if ! $(upkeep_deploy "$project" "$environment" --quiet) >"$out/deploy.txt" 2>&1; then
            cat "$out/deploy.txt" >&2
            if grep -q "missing --env" "$out/deploy.txt"; then
                fail "this build's \`upkeep deploy\` does not take --env (builds before e7e78fc flattened Option<DeployRunArgs>, which clap never filled)" \
                    "time a newer binary: UPKEEP_BIN=path/to/upkeep bench/deploy.sh"
            fi
            fail "upkeep deploy failed for $project/$environment"
        fi
        $(peer_deploy "$project" "$environment" plain) >/dev/null 2>&1 \
            || fail "the peer script failed for $project/$environment" "run it by hand: $(peer_deploy "$project" "$environment" plain)"
    done
done

sync
if [[ -n $deleted_at ]] && ((SECONDS - deleted_at < 65)); then
    say "waiting $((65 - (SECONDS - deleted_at))) s until the previous run's deleted inodes are no longer recent"
    sleep $((65 - (SECONDS - deleted_at)))
fi
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
busy=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 20 { printf "%s%s (%.0f%%)", sep, $2, $1; sep = ", " }')

# 5. Time to first hook and whole deployments, one project at a time. Every timed deployment
# starts after `sync`, so that none waits for the writeback of an earlier one (upkeep syncs its
# run record, queue ticket, release file and logs; the peer syncs nothing).
first_hook() { # project tool -> microseconds from start to the pre-deploy hook's first action, and to the end
    local project=$1 tool=$2 target t0 t1 stamp
    sync
    if [[ $tool == upkeep ]]; then
        target="$out/$project/targets/upkeep-bench"
        rm -f "$target/stamp-pre-deploy"
        t0=$(now_us)
        "$upkeep" deploy --env bench --quiet "$out/$project/repo" >/dev/null 2>&1 || return 1
    else
        target="$out/$project/targets/peer-bench"
        rm -f "$target/stamp-pre-deploy"
        local layer env_file
        layer=$(cat "$out/$project/layer-path")
        env_file="$out/$project/bench.env"
        t0=$(now_us)
        bash "$peer" "$target" "$layer" "$env_file" plain "$out/$project/peer-logs/bench-plain" "$(keep_of "$project")" \
            >/dev/null 2>&1 || return 1
    fi
    t1=$(now_us)
    stamp=$(<"$target/stamp-pre-deploy")
    echo "$((stamp - t0)) $((t1 - t0))"
}
measure_project() { # project
    local project=$1 i
    say "time to first hook, $project project ($first_hook_runs deployments each, alternating)"
    : >"$out/$project/first-hook-upkeep.txt"
    : >"$out/$project/first-hook-peer.txt"
    for ((i = 0; i < first_hook_runs; i++)); do
        first_hook "$project" upkeep >>"$out/$project/first-hook-upkeep.txt" || fail "upkeep deploy failed ($project)"
        first_hook "$project" peer >>"$out/$project/first-hook-peer.txt" || fail "the peer failed ($project)"
    done
    # 6. Whole deployments, trivial hooks.
    say "whole deployments, $project project, with hyperfine ($runs runs after 2 warmup runs each)"
    hyperfine --warmup 2 --runs "$runs" --prepare sync --style basic --export-json "$out/$project/deploy.json" \
        -n "upkeep deploy, $project" "$(upkeep_deploy "$project" bench --quiet)" \
        -n "peer script, $project" "$(peer_deploy "$project" bench plain)" >&2
}
measure_project small

# 7. Log throughput: the same deployment with and without the lines (small project).
say "log throughput with hyperfine ($log_runs runs after 1 warmup run each)"
log_names=("upkeep, trivial hook" "upkeep, $lines lines"
    "upkeep (echo to stderr), trivial hook" "upkeep (echo to stderr), $lines lines"
    "peer plain, trivial hook" "peer plain, $lines lines"
    "peer awk, trivial hook" "peer awk, $lines lines")
log_commands=("$(upkeep_deploy small bench --quiet)" "$(upkeep_deploy small bench-log --quiet)"
    "$(upkeep_deploy small bench)" "$(upkeep_deploy small bench-log)"
    "$(peer_deploy small bench plain)" "$(peer_deploy small bench-log plain)"
    "$(peer_deploy small bench awk)" "$(peer_deploy small bench-log awk)")
hyperfine_args=()
for i in "${!log_names[@]}"; do hyperfine_args+=(-n "${log_names[$i]}" "${log_commands[$i]}"); done
hyperfine --warmup 1 --runs "$log_runs" --prepare sync --style basic --export-json "$out/logs.json" "${hyperfine_args[@]}" >&2

# The newest bench-log run of upkeep (the last timed one) must give back every line, masked.
logs_cmd="$upkeep pipeline logs --env bench-log --stage install $out/small/repo"
$logs_cmd >"$out/readback.txt" 2>"$out/readback-stderr.txt" \
    || { cat "$out/readback-stderr.txt" >&2; fail "upkeep pipeline logs failed"; }
got=$(grep -c '^bench line ' "$out/readback.txt" || true)
masked=$(grep -c 'password=\*\*\*' "$out/readback.txt" || true)
leaked=$(grep -c -F "$secret" "$out/readback.txt" || true)
[[ $got -eq $lines ]] || fail "upkeep's log gave back $got hook lines, not $lines" "see $out/readback.txt"
[[ $masked -eq $secret_lines && $leaked -eq 0 ]] \
    || fail "upkeep's log shows the secret $leaked times and masks it $masked times (expected 0 and $secret_lines)"
log_run_dir=$(ls -d "$out/small/repo/.upkeep/runs/"*-bench-log-* | sort | tail -n 1)
log_file="$log_run_dir/logs/install/install.log"
[[ -f $log_file ]] || fail "no install log at $log_file"
log_lines=$(wc -l <"$log_file")
log_mb=$(awk -v b="$(stat -c %s "$log_file")" 'BEGIN { printf "%.1f", b / 1e6 }')
peer_plain_log="$out/small/peer-logs/bench-log-plain/install.log"
peer_awk_log="$out/small/peer-logs/bench-log-awk/install.log"
for log in "$peer_plain_log" "$peer_awk_log"; do
    [[ $(grep -c 'bench line ' "$log") -eq $lines ]] || fail "the peer's log $log does not have $lines lines"
done

say "read-back with hyperfine ($runs runs after 2 warmup runs each)"
readback_names=("upkeep pipeline logs" "upkeep pipeline logs --offsets" "cat (peer plain log)" "cat (peer awk log)")
readback_commands=("$logs_cmd" "$logs_cmd --offsets" "cat $peer_plain_log" "cat $peer_awk_log")
hyperfine_args=()
for i in "${!readback_names[@]}"; do hyperfine_args+=(-n "${readback_names[$i]}" "${readback_commands[$i]}"); done
hyperfine --warmup 2 --runs "$runs" --style basic --export-json "$out/readback.json" "${hyperfine_args[@]}" >&2
readback_rss=$(/usr/bin/time -f %M $logs_cmd 2>&1 >/dev/null | tail -n 1 | awk '{ printf "%.0f", $1 / 1024 }')

[[ $tree_files -gt 0 ]] && measure_project large
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)

# 8. Figures.
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
mem_gb=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
fs=$(findmnt -no FSTYPE,OPTIONS -T "$out" | awk '{ print $1 " (" $2 ")" }')
# An ext4 without a journal has no jbd2 entry; it behaves differently (fsync, inode reuse).
if [[ $fs == ext4* && -d /proc/fs/jbd2 ]]; then
    device=$(basename "$(findmnt -no SOURCE -T "$out")")
    compgen -G "/proc/fs/jbd2/$device*" >/dev/null || fs="$fs without a journal"
fi
revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$repo" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null) ]] || revision="$revision+uncommitted"
if [[ -n ${UPKEEP_BIN:-} ]]; then
    upkeep_origin="\`${UPKEEP_BIN}\` (UPKEEP_BIN, built $(date -u -r "$upkeep" '+%Y-%m-%d %H:%M UTC'), repository at $revision when measured)${UPKEEP_NOTE:+; $UPKEEP_NOTE}"
    command_prefix="UPKEEP_BIN=… "
    upkeep_label="upkeep (UPKEEP_BIN)"
else
    upkeep_origin="revision $revision, \`target/release/upkeep\`"
    command_prefix=""
    upkeep_label="upkeep $revision"
fi
tree_note=""
if [[ $tree_files -gt 0 ]]; then
    large_mb=$(du -sm --apparent-size "$out/large/repo/src" | cut -f1)
    tree_note=" Large project: the same plus $tree_files generated PHP files (${large_mb} MB; layer $(layer_mb large) MB gzip)."
fi
args_used="--runs $runs --log-runs $log_runs --first-hook-runs $first_hook_runs --lines $lines --tree-files $tree_files"

tables=$(python3 - "$out" "$lines" "${projects[@]}" <<'EOF'
import json, statistics, sys
out, lines, projects = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def ms(us): return f"{us / 1000:.1f} ms"
print("**Time to first hook**: from right before the command starts to the pre-deploy hook's first "
      "action (upkeep and the peer alternate, `sync` before each deployment):")
print()
print("| project | tool | median | mean | min | max | upkeep / peer (medians) | (means) |")
print("|---|---|---|---|---|---|---|---|")
def column(project, tool, index):
    rows = [line.split() for line in open(f"{out}/{project}/first-hook-{tool}.txt")]
    return [int(row[index]) for row in rows]

totals = {}
for project in projects:
    data = {tool: column(project, tool, 0) for tool in ("upkeep", "peer")}
    totals[project] = {tool: column(project, tool, 1) for tool in ("upkeep", "peer")}
    for tool in ("upkeep", "peer"):
        values = data[tool]
        ratio_median = statistics.median(values) / statistics.median(data["peer"])
        ratio_mean = statistics.mean(values) / statistics.mean(data["peer"])
        print(f"| {project} | {'`upkeep deploy`' if tool == 'upkeep' else 'peer script'} | {ms(statistics.median(values))} "
              f"| {ms(statistics.mean(values))} | {ms(min(values))} | {ms(max(values))} "
              f"| {ratio_median:.2f} | {ratio_mean:.2f} |")
print()
print("The same deployments, start to end (trivial hooks; alternating, so that load from elsewhere "
      "hits both alike):")
print()
print("| project | tool | median | mean | min | max | upkeep / peer (medians) | (means) |")
print("|---|---|---|---|---|---|---|---|")
for project in projects:
    data = totals[project]
    for tool in ("upkeep", "peer"):
        values = data[tool]
        print(f"| {project} | {'`upkeep deploy`' if tool == 'upkeep' else 'peer script'} | {ms(statistics.median(values))} "
              f"| {ms(statistics.mean(values))} | {ms(min(values))} | {ms(max(values))} "
              f"| {statistics.median(values) / statistics.median(data['peer']):.2f} "
              f"| {statistics.mean(values) / statistics.mean(data['peer']):.2f} |")
print()

deploy = [r for project in projects for r in json.load(open(f"{out}/{project}/deploy.json"))["results"]]
by_name = {r["command"]: r for r in deploy}
print("**Whole deployment** with hyperfine, trivial hooks (`sync` before each run; all runs of one "
      "command, then the other):")
print()
print("| command | median | mean | σ | min | max | runs ≥ median + 40 ms | upkeep / peer (medians) | (means) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in deploy:
    peer = by_name.get(r["command"].replace("upkeep deploy", "peer script"))
    ratios = (f"{r['median'] / peer['median']:.2f} | {r['mean'] / peer['mean']:.2f}"
              if r["command"].startswith("upkeep") and peer else "1.00 | 1.00")
    slow = sum(1 for t in r["times"] if t >= r["median"] + 0.040)
    print(f"| {r['command']} | {r['median'] * 1000:.1f} ms | {r['mean'] * 1000:.1f} ms | {(r['stddev'] or 0) * 1000:.1f} ms "
          f"| {r['min'] * 1000:.1f} ms | {r['max'] * 1000:.1f} ms | {slow} of {len(r['times'])} | {ratios} |")
print()

logs = {r["command"]: r for r in json.load(open(f"{out}/logs.json"))["results"]}
print(f"**Log throughput**, small project: the install hook prints {lines:,} lines "
      "(hyperfine, `sync` before each run; lines/s = lines / (median with them − median with the trivial hook)):")
print()
print("| writer | trivial hook (median) | with the lines (median) | difference | lines/s | peer plain lines/s / this |")
print("|---|---|---|---|---|---|")
rates = {}
rows = []
for writer in ("upkeep", "upkeep (echo to stderr)", "peer plain", "peer awk"):
    base, full = logs[f"{writer}, trivial hook"], logs[f"{writer}, {lines} lines"]
    diff = full["median"] - base["median"]
    rate = lines / diff if diff > 0 else float("nan")
    rates[writer] = rate
    rows.append((writer, base, full, diff, rate))
for writer, base, full, diff, rate in rows:
    if diff <= 0:
        print(f"| {writer} | {base['median']:.3f} s | {full['median']:.3f} s | {diff:.3f} s | n/a (use more lines) | |")
        continue
    print(f"| {writer} | {base['median']:.3f} s | {full['median']:.3f} s (σ {(full['stddev'] or 0):.3f}) | {diff:.3f} s "
          f"| {rate / 1000:,.0f} k | {rates['peer plain'] / rate:.1f} |")
print()

readback = json.load(open(f"{out}/readback.json"))["results"]
print(f"**Read-back** of the {lines:,}-line install log (to /dev/null):")
print()
print("| command | median | mean | σ | min | lines/s (median) | this / `cat` of the plain log (medians) |")
print("|---|---|---|---|---|---|---|")
cat_plain = next(r for r in readback if r["command"].startswith("cat (peer plain"))
for r in readback:
    print(f"| {r['command']} | {r['median'] * 1000:.1f} ms | {r['mean'] * 1000:.1f} ms | {(r['stddev'] or 0) * 1000:.1f} ms "
          f"| {r['min'] * 1000:.1f} ms | {lines / r['median'] / 1e6:.2f} M | {r['median'] / cat_plain['median']:.0f} |")
EOF
)

summary=$(cat <<EOF
Machine: $cores cores (nproc), $cpu, ${mem_gb} GB RAM, $(uname -sr), $fs; load average $load_at_start when timing started, $load_at_end at the end${busy:+; busy then: $busy}.
upkeep: $upkeep_origin. Peer: \`bench/out/deploy/peer-deploy.sh\` (bash $BASH_VERSION, GNU tar, $(awk -W version 2>&1 | head -n 1 | cut -d' ' -f1-2)).
Small project: the hook script and three small files (layer $(layer_mb small) MB gzip).$tree_note
Lines: $lines lines of $lines_mb MB (one in 1,000 with the secret); upkeep's install log: $log_lines records, $log_mb MB; read back: $got hook lines, the secret masked $masked times, shown 0 times; \`upkeep pipeline logs\` peak RSS ${readback_rss} MB.

$tables
EOF
)
printf '\n%s\n' "$summary"

# The large targets keep every release of the run (about 40 MB each); they go now.
[[ $tree_files -gt 0 ]] && rm -rf "$out/large/targets"

# 9. Record, when asked: the previous run between the markers is replaced.
if [[ $record -eq 1 ]]; then
    doc="$repo/docs/benchmarks.md"
    check_markers deploy "$doc" "without --record"
    section="$out/deploy-section.md"
    {
        echo "$start_marker"
        echo
        echo "### $(date -u +%Y-%m-%d) — $upkeep_label against a shell script"
        echo
        echo "Command: \`${command_prefix}bench/deploy.sh $args_used --record\`"
        echo
        printf '%s\n' "${summary//"$repo"\//}"
        echo
        echo "$end_marker"
    } >"$section"
    replace_section "$doc" "$section"
    say "recorded in ${doc#"$repo"/}"
fi
