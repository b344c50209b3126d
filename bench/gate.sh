#!/usr/bin/env bash
# Gate benchmark: `upkeep gate` against `mago lint` on the same generated Spryker shop, in one run.
#
# The spec (quality-gate.md, "Performance") asks for a whole gate run on a 2,000-file project with
# 30,000 core files in under 2 seconds on 2 cores, cold, and a re-run in well under a second when
# little changed, compared in the same run with the fastest PHP parser available here, mago. This
# script builds upkeep, generates the shop once, installs what is missing, times upkeep cold
# (without its cache, and with the cache removed before each run so that the run writes it) and
# warm (cache present, one project file changed before each run) and both mago modes with
# hyperfine, measures peak memory with GNU time, prints the figures and records them in
# docs/benchmarks.md (replacing the previous run).
#
# Usage: bench/gate.sh [--regenerate] [--runs N] [--jobs N] [--no-record]
#   --regenerate  write the shop again (otherwise bench/out/shop is reused when present)
#   --runs N      timed runs per command (default 20, after 2 warmup runs)
#   --jobs N      worker threads for both tools (default: their own default, all cores)
#   --no-record   print only; do not change docs/benchmarks.md
# Environment:
#   UPKEEP_BIN    use this upkeep binary instead of building target/release/upkeep
#   MAGO_BIN      use this mago binary instead of bench/tools/bin/mago
#   SHOP_PROJECT_FILES, SHOP_CORE_FILES, SHOP_SEED   generator sizes (defaults 2000, 30000, 1)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/record.sh
source "$repo/bench/record.sh"
bench="$repo/bench"
out="$bench/out"
shop="$out/shop"
tools="$bench/tools"
mago_version=1.29.0

regenerate=0
runs=20
jobs=""
record=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --regenerate) regenerate=1 ;;
        --runs) runs=$2; shift ;;
        --jobs) jobs=$2; shift ;;
        --no-record) record=0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument '$1'" >&2; echo "hint: see bench/gate.sh --help" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '==> %s\n' "$*" >&2; }

# apt-get needs root; use sudo when we are not root and it is there.
apt_install() {
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "error: need root or sudo to install $*" >&2; exit 2; }
        sudo=sudo
    fi
    say "installing $* with apt-get"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "$@" >/dev/null
}

# 1. upkeep, built in release mode unless a binary is given.
if [[ -n ${UPKEEP_BIN:-} ]]; then
    upkeep=$UPKEEP_BIN
else
    say "building upkeep (release)"
    if ! (cd "$repo" && cargo build --release -p upkeep); then
        echo "error: the workspace does not build, so there is no upkeep to time" >&2
        echo "hint: fix the build, or time an existing binary with UPKEEP_BIN=path/to/upkeep bench/gate.sh" >&2
        exit 2
    fi
    upkeep="$repo/target/release/upkeep"
fi
[[ -x $upkeep ]] || { echo "error: upkeep binary not found at $upkeep" >&2; exit 2; }

# 2. The synthetic shop. Generation is deterministic, so reusing it keeps runs comparable.
if [[ $regenerate -eq 1 || ! -f $shop/bench-manifest.json ]]; then
    say "generating the shop into ${shop#"$repo"/}"
    python3 "$bench/generate_shop.py" --out "$shop" \
        --project-files "${SHOP_PROJECT_FILES:-2000}" --core-files "${SHOP_CORE_FILES:-30000}" --seed "${SHOP_SEED:-1}"
fi

# 3. mago, pinned so that figures stay comparable across runs.
if [[ -n ${MAGO_BIN:-} ]]; then
    mago=$MAGO_BIN
else
    mago="$tools/bin/mago"
    if [[ ! -x $mago ]]; then
        say "note: installing mago $mago_version into bench/tools with cargo; this compiles for several minutes, once"
        cargo install "mago@$mago_version" --locked --root "$tools"
    fi
fi
mago_reported=$("$mago" --version)
[[ $mago_reported == *"$mago_version"* ]] || say "warning: expected mago $mago_version, found '$mago_reported'"

# 4. hyperfine and GNU time.
command -v hyperfine >/dev/null || apt_install hyperfine
[[ -x /usr/bin/time ]] || apt_install time

# mago's configuration: the shop's mago.toml lists `src` and `vendor` as paths to lint. Without it
# mago finds nothing to lint; with vendor under `includes` it would only parse vendor for context.
mago_config="$shop/mago.toml"
if [[ ! -f $mago_config ]]; then
    printf 'php-version = "8.2"\n\n[source]\npaths = ["src", "vendor"]\nincludes = []\nexcludes = []\n' >"$mago_config"
fi
mago_args=(--workspace "$shop" --config "$mago_config" --no-version-check)
upkeep_args=()
if [[ -n $jobs ]]; then
    mago_args+=(--threads "$jobs")
    upkeep_args+=(--jobs "$jobs")
fi

# Both tools must read the same files, or the ratio means nothing: count what each one takes.
php_files=$(find "$shop/src" "$shop/vendor" -name '*.php' | wc -l)
mago_list=$("$mago" "${mago_args[@]}" list-files --command linter 2>/dev/null)
mago_files=$(grep -c . <<<"$mago_list" || true)
mago_vendor_files=$(grep -c 'vendor/' <<<"$mago_list" || true)
if [[ $mago_vendor_files -eq 0 ]]; then
    echo "error: mago would not lint vendor/ (0 of $mago_files files); the comparison would be unfair" >&2
    echo "hint: check $mago_config ([source] paths must list vendor)" >&2
    exit 2
fi

# The warm runs change one project file before each run, as an edit between two runs would: a
# comment with a new value at the end of a business model, so that the file's content (and so
# its cache entry) changes but no finding does. The file is put back when the script ends.
edited=$(find "$shop/src" -name '*Reader.php' | LC_ALL=C sort | head -n 1)
[[ -n $edited ]] || { echo "error: no project *Reader.php to edit in $shop/src" >&2; exit 2; }
cp "$edited" "$out/edited-file.orig"
trap 'cp "$out/edited-file.orig" "$edited"' EXIT
cat >"$out/edit-project-file.sh" <<EOF
# Written by bench/gate.sh: gives ${edited#"$repo"/} new content before a timed run.
cp '$out/edited-file.orig' '$edited'
date '+// benchmark edit %s.%N' >>'$edited'
EOF
edit_cmd="sh $out/edit-project-file.sh"
cache_dir="$shop/.upkeep"

# One checked run of the gate first: exit 1 (findings) is expected, 2 means the run itself failed
# and timing it would be meaningless. It runs without the cache and then twice with it, and the
# three reports must be the same: a cache that changed the result would make the timing moot.
report="$out/upkeep-report.json"
rm -rf "$cache_dir"
set +e
"$upkeep" gate "$shop" --no-cache --format json --output "$report" "${upkeep_args[@]}" 2>"$out/upkeep-stderr.txt"
gate_status=$?
set -e
if [[ $gate_status -ne 0 && $gate_status -ne 1 ]]; then
    echo "error: upkeep gate exited with $gate_status; its stderr:" >&2
    cat "$out/upkeep-stderr.txt" >&2
    exit 2
fi
for pass in cold warm; do
    bash -c "$edit_cmd"
    "$upkeep" gate "$shop" --format json --output "$out/upkeep-report-$pass.json" "${upkeep_args[@]}" 2>/dev/null || true
    if ! cmp -s "$report" "$out/upkeep-report-$pass.json"; then
        echo "error: the $pass run with the cache reported something else than the run without it" >&2
        echo "hint: diff $report $out/upkeep-report-$pass.json" >&2
        exit 2
    fi
done
upkeep_summary=$(python3 - "$report" <<'EOF'
import json, sys
summary = json.load(open(sys.argv[1])).get("summary", {})
by_rule = summary.get("by_rule", {})
rules = ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items()))
print(f"{summary.get('files', '?')} project files, {summary.get('core_files', '?')} core files read; "
      f"{summary.get('findings', '?')} findings ({rules})")
EOF
)

# 5. Timing. `-i`: both tools exit 1 when they find problems, which is not a failed run here.
# mago reports with `--reporting-format count` so that rendering its tens of thousands of lint
# issues does not inflate its time (upkeep renders its full JSON report, to /dev/null).
# Every command gets the same edit before each run; the cache-writing cold run also loses the
# cache. The warm command runs after it, so its first (warmup) run finds the cache in place.
upkeep_cmd="$upkeep gate $shop --format json --output /dev/null${jobs:+ --jobs $jobs}"
mago_cmd="$mago ${mago_args[*]} lint --reporting-format count"
mago_parse_cmd="$mago ${mago_args[*]} lint --semantics --reporting-format count"
names=("upkeep gate, cold (--no-cache)" "upkeep gate, cold (cache written)" "upkeep gate, warm (1 file changed)" "mago lint" "mago lint --semantics")
commands=("$upkeep_cmd --no-cache" "$upkeep_cmd" "$upkeep_cmd" "$mago_cmd" "$mago_parse_cmd")
prepares=("$edit_cmd" "rm -rf $cache_dir && $edit_cmd" "$edit_cmd" "$edit_cmd" "$edit_cmd")
hyperfine_args=()
for i in "${!names[@]}"; do
    hyperfine_args+=(--prepare "${prepares[$i]}" -n "${names[$i]}" "${commands[$i]}")
done
# Other work on the machine (a parallel cargo build) skews both tools; the load goes on record.
load_at_start=$(cut -d' ' -f1 /proc/loadavg)
say "timing with hyperfine ($runs runs after 2 warmup runs each)"
hyperfine --warmup 2 --runs "$runs" -i --style basic --export-json "$out/hyperfine.json" \
    "${hyperfine_args[@]}" >&2

# 6. Peak memory, one run each under GNU time, after the same preparation.
peak_rss_mb() {
    bash -c "$1"
    # shellcheck disable=SC2086 # the command is a word list on purpose
    /usr/bin/time -v $2 >/dev/null 2>"$out/time.txt" || true
    awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$out/time.txt"
}
rss=()
for i in "${!names[@]}"; do
    rss+=("$(peak_rss_mb "${prepares[$i]}" "${commands[$i]}")")
done

# 7. Figures.
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
mem_gb=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$repo" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null) ]] || revision="$revision+uncommitted"
# A given binary may come from any tree; say so rather than claim the current revision.
if [[ -n ${UPKEEP_BIN:-} ]]; then
    upkeep_origin="\`${upkeep#"$repo"/}\` (UPKEEP_BIN, built $(date -u -r "$upkeep" '+%Y-%m-%d %H:%M UTC'), repository at $revision when measured)"
    upkeep_label="upkeep (UPKEEP_BIN)"
    command_prefix="UPKEEP_BIN=${upkeep#"$repo"/} "
else
    upkeep_origin="revision $revision, \`${upkeep#"$repo"/}\`"
    upkeep_label="upkeep $revision"
    command_prefix=""
fi
# Bytes of PHP source, not disk blocks: the figure to compare with real shops.
php_mb=$(find "$shop/src" "$shop/vendor" -name '*.php' -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')
project_php=$(find "$shop/src" -name '*.php' | wc -l)
core_php=$((php_files - project_php))
cache_mb=$(du -sm "$cache_dir/cache" 2>/dev/null | cut -f1)

table=$(python3 - "$out/hyperfine.json" "${rss[@]}" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
rss = sys.argv[2:]
by_name = {r["command"]: r for r in results}
mago, cold, warm = by_name["mago lint"], by_name["upkeep gate, cold (--no-cache)"], by_name["upkeep gate, warm (1 file changed)"]
# Above 1: the command is faster than `mago lint`. The ratio of the fastest runs is given too,
# because it moves least when other work shares the machine.
print("| command | mean | σ | min | max | peak RSS | `mago lint` time / this (means) | (minimums) |")
print("|---|---|---|---|---|---|---|---|")
for r, peak in zip(results, rss):
    print(f"| `{r['command']}` | {r['mean']:.3f} s | {r['stddev'] or 0:.3f} s | {r['min']:.3f} s | {r['max']:.3f} s "
          f"| {peak} MB | {mago['mean'] / r['mean']:.2f} | {mago['min'] / r['min']:.2f} |")
print()
print(f"Warm against cold (--no-cache): {warm['mean'] / cold['mean']:.0%} of the time by the means "
      f"({cold['mean'] / warm['mean']:.1f}× faster), {warm['min'] / cold['min']:.0%} by the minimums.")
EOF
)

summary=$(cat <<EOF
Machine: $cores cores (nproc), $cpu, ${mem_gb} GB RAM, $(uname -sr); load average $load_at_start when timing started.
upkeep: $upkeep_origin; mago: $mago_reported.
Shop: $project_php project PHP files, $core_php core PHP files (${php_mb} MB of PHP), seed ${SHOP_SEED:-1}.
Files read: upkeep $upkeep_summary (gate exit $gate_status; the same report with and without the cache); mago lints $mago_files files ($mago_vendor_files under vendor/).
Cache: ${cache_mb:-?} MB in \`.upkeep/cache\`. Edited before every run (\`bench/out/edit-project-file.sh\`: the original content plus a comment with the current time): \`${edited#"$shop"/}\`.

$table
EOF
)
printf '\n%s\n' "$summary"

# 8. Record. The previous run in the gate section (between the markers) is replaced; paths are
# written relative to the repository so the section reads the same anywhere.
if [[ $record -eq 1 ]]; then
    doc="$repo/docs/benchmarks.md"
    check_markers gate "$doc" "with --no-record"
    rel() { local text=${1//"$repo"\//}; printf '%s' "$text"; }
    section="$out/gate-section.md"
    {
        echo "$start_marker"
        echo
        echo "### $(date -u +%Y-%m-%d) — $upkeep_label vs mago $mago_version"
        echo
        echo "Command: \`${command_prefix}bench/gate.sh --runs $runs${jobs:+ --jobs $jobs}\`, which runs"
        echo
        echo '```sh'
        echo "hyperfine --warmup 2 --runs $runs -i \\"
        last=$((${#names[@]} - 1))
        for i in "${!names[@]}"; do
            continuation=" \\"
            [[ $i -eq $last ]] && continuation=""
            echo "  --prepare '$(rel "${prepares[$i]}")' '$(rel "${commands[$i]}")'$continuation"
        done
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
