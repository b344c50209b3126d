#!/usr/bin/env bash
# Manifests benchmark: `upkeep upgrade manifests apply`, applying every Spryker integration
# manifest between two Spryker releases to the generated bench shop, against the time Composer's
# update of the same group of packages takes, in one run.
#
# The issue (15, item 7) asks for this comparison: in an upgrade, each group's Composer update is
# followed by its manifests, so applying them should cost little next to the update. The two
# releases are 202410.0 and 202507.0: bench/data/spryker-releases.json holds the versions of the
# Spryker packages both lock (from spryker-shop/b2c-demo-shop's composer.lock at those tags), and
# the manifests are Spryker's integrator-manifests kept in tests/data. The script builds upkeep,
# generates the shop once (bench/generate_shop.py), copies it, and turns the copy into a project
# that locks every package at 202410.0 (bench/manifests_project.py: a Composer repository on disk
# with both versions of each package, core classes for what the manifests change, project classes
# for two of every three of them, integrator.lock). Composer (Debian's, offline: the repository is
# `file://`, Packagist is off) locks and installs the first release; then hyperfine times
#
#   - `upkeep upgrade manifests apply` (composer.lock at 202507.0, integrator.lock at 202410.0),
#     the project's files put back before every run, and `upkeep upgrade manifests plan`;
#   - `composer update <the updated packages> --with <package>:<202507 version>...`, the command
#     the upgrader runs for a group, with the install and with `--no-install` (the lock only),
#     composer.lock (and for the install vendor/, copied back) at 202410.0 before every run;
#
# checks that upkeep applied the manifests it should and that a second run changes nothing,
# prints the figures and records them in docs/benchmarks.md (replacing the previous run).
#
# Usage: bench/manifests.sh [--regenerate] [--runs N] [--no-record]
#   --regenerate  write the shop and the project again
#   --runs N      timed runs per command (default 10, after 1 warmup run)
#   --no-record   print only; do not change docs/benchmarks.md
# Environment:
#   UPKEEP_BIN    use this upkeep binary instead of building target/release/upkeep
#   SHOP_PROJECT_FILES, SHOP_CORE_FILES, SHOP_SEED   shop generator sizes (defaults 2000, 30000, 1)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/record.sh
source "$repo/bench/record.sh"
bench="$repo/bench"
shop="$bench/out/shop"
out="$bench/out/manifests"
project="$out/project"
releases="$bench/data/spryker-releases.json"
manifests="$repo/tests/data/integrator-manifests"

regenerate=0
runs=10
record=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --regenerate) regenerate=1 ;;
        --runs) runs=$2; shift ;;
        --no-record) record=0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument '$1'" >&2; echo "hint: see bench/manifests.sh --help" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '==> %s\n' "$*" >&2; }

for program in composer php hyperfine git python3; do
    command -v "$program" >/dev/null || {
        echo "error: $program is needed and not installed" >&2
        echo "hint: apt-get install composer php-cli hyperfine git python3" >&2
        exit 2
    }
done
[[ -x /usr/bin/time ]] || { echo "error: GNU time (/usr/bin/time) is needed" >&2; echo "hint: apt-get install time" >&2; exit 2; }
[[ -d $manifests/Spryker ]] || { echo "error: the manifests are missing at ${manifests#"$repo"/}" >&2; exit 2; }

# 1. upkeep, built in release mode unless a binary is given; copied so that a build by someone
# else cannot swap it in the middle of the run.
if [[ -n ${UPKEEP_BIN:-} ]]; then
    built=$UPKEEP_BIN
else
    say "building upkeep (release)"
    if ! (cd "$repo" && cargo build --release -p upkeep); then
        echo "error: the workspace does not build, so there is no upkeep to time" >&2
        echo "hint: fix the build, or time an existing binary with UPKEEP_BIN=path/to/upkeep bench/manifests.sh" >&2
        exit 2
    fi
    built="${CARGO_TARGET_DIR:-$repo/target}/release/upkeep"
fi
[[ -x $built ]] || { echo "error: upkeep binary not found at $built" >&2; exit 2; }
mkdir -p "$out"
upkeep="$out/upkeep"
cp "$built" "$upkeep"

# 2. The shop (deterministic, so reusing it keeps runs comparable) and the project made from it.
if [[ $regenerate -eq 1 || ! -f $shop/bench-manifest.json ]]; then
    say "generating the shop into ${shop#"$repo"/}"
    python3 "$bench/generate_shop.py" --out "$shop" \
        --project-files "${SHOP_PROJECT_FILES:-2000}" --core-files "${SHOP_CORE_FILES:-30000}" --seed "${SHOP_SEED:-1}"
fi

# Composer runs with its own home and cache under bench/out, never the user's.
composer_env=(env "COMPOSER_HOME=$out/composer-home" "COMPOSER_CACHE_DIR=$out/composer-cache"
    COMPOSER_NO_INTERACTION=1 COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_DISABLE_XDEBUG_WARN=1)
composer_flags=(--no-scripts --no-plugins --no-interaction --working-dir="$project")
git_project=(git -C "$project" -c user.name=bench -c user.email=bench@upkeep.invalid)

if [[ $regenerate -eq 1 || ! -f $out/project.json || ! -f $project/composer.lock.from ]]; then
    say "making the project in ${project#"$repo"/} from the shop"
    rm -rf "$project" "$out/repo" "$out/composer-cache" "$out/vendor.from"
    cp -a "$shop" "$project"
    # The shop's own vendor/spryker* modules whose names a real package takes give way to it.
    python3 - "$releases" "$project/vendor" <<'EOF'
import json, shutil, sys
from pathlib import Path
vendor = Path(sys.argv[2])
for name in json.load(open(sys.argv[1]))["from"]["packages"]:
    shutil.rmtree(vendor / name, ignore_errors=True)
EOF
    python3 "$bench/manifests_project.py" --project "$project" --manifests "$manifests" \
        --releases "$releases" --repo "$out/repo" >"$out/project.json"
    # Lock and install the first release: `--with` pins every package to its version.
    mapfile -t pins < <(python3 -c 'import json,sys; [print(f"--with={n}:{v}") for n, v in json.load(open(sys.argv[1]))["from"]["packages"].items()]' "$releases")
    "${composer_env[@]}" composer update "${pins[@]}" "${composer_flags[@]}" >"$out/composer-lock.log" 2>&1 || {
        echo "error: composer could not lock and install the first release" >&2
        tail -n 30 "$out/composer-lock.log" >&2
        exit 2
    }
    cp "$project/composer.lock" "$project/composer.lock.from"
    # The project's files as the first release has them, to put back before every timed run.
    rm -rf "$project/.git"
    "${git_project[@]}" init -q
    "${git_project[@]}" add -A -- src config data integrator.lock composer.json composer.lock
    "${git_project[@]}" commit -qm "202410.0"
fi
# Stops unless the lock file $2 has every package at its version in release $1 (from, to).
check_lock() {
    python3 - "$releases" "$1" "$2" <<'EOF' || exit 2
import json, sys
releases, which, lock = sys.argv[1:4]
want = json.load(open(releases))[which]["packages"]
got = {p["name"]: p["version"] for p in json.load(open(lock))["packages"]}
wrong = [n for n in want if got.get(n) != want[n]]
if wrong:
    sys.exit(f"error: {lock} has {len(wrong)} packages at other versions than release `{which}`, e.g. {wrong[:3]}")
EOF
}
check_lock from "$project/composer.lock.from"

# 3. The group: every package the second release updates, at its version there.
mapfile -t group < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print(n) for n in d["from"]["packages"] if d["from"]["packages"][n] != d["to"]["packages"][n]]' "$releases")
mapfile -t withs < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); old, new = d["from"]["packages"], d["to"]["packages"]; [print(f"--with={n}:{new[n]}") for n in old if old[n] != new[n]]' "$releases")

# The state before each run, written as scripts so that hyperfine's --prepare can run them.
# vendor/ as the first release installed it, copied back whole (faster than `composer install`
# extracting every package again, and the same files).
if [[ ! -d $out/vendor.from ]]; then
    cp "$project/composer.lock.from" "$project/composer.lock"
    "${composer_env[@]}" composer install "${composer_flags[@]}" --quiet
    cp -a "$project/vendor" "$out/vendor.from"
fi
cat >"$out/before-composer.sh" <<EOF
# Written by bench/manifests.sh: composer.lock and vendor/ back at 202410.0.
set -e
cp '$project/composer.lock.from' '$project/composer.lock'
rm -rf '$project/vendor'
cp -a '$out/vendor.from' '$project/vendor'
EOF
cat >"$out/before-composer-lock.sh" <<EOF
# Written by bench/manifests.sh: composer.lock back at 202410.0 (--no-install leaves vendor/ alone).
cp '$project/composer.lock.from' '$project/composer.lock'
EOF
cat >"$out/before-upkeep.sh" <<EOF
# Written by bench/manifests.sh: the project's files back at 202410.0, composer.lock at 202507.0.
set -e
git -C '$project' checkout -q -- src config data integrator.lock
git -C '$project' clean -qfd -- src config data
cp '$project/composer.lock.to' '$project/composer.lock'
EOF

# 4. One checked run of each first. Composer's update must lock the second release (its lock is
# what upkeep reads); upkeep must apply the manifests the generator counted, write files, and
# change nothing on a second run.
say "checking composer update of the group (${#group[@]} packages)"
bash "$out/before-composer.sh"
composer_update=("${composer_env[@]}" composer update "${group[@]}" "${withs[@]}" "${composer_flags[@]}")
"${composer_update[@]}" >"$out/composer-update.log" 2>&1 || {
    echo "error: composer update of the group failed" >&2
    tail -n 30 "$out/composer-update.log" >&2
    exit 2
}
cp "$project/composer.lock" "$project/composer.lock.to"
check_lock to "$project/composer.lock.to"
package_operations=$(grep -oE 'Package operations: [^.]*' "$out/composer-update.log" | tail -n 1)

say "checking upkeep upgrade manifests apply"
bash "$out/before-upkeep.sh"
set +e
"$upkeep" upgrade manifests apply "$project" --manifests "$manifests" >"$out/upkeep-apply.txt" 2>"$out/upkeep-apply.err"
apply_status=$?
set -e
if [[ $apply_status -ne 0 && $apply_status -ne 1 ]]; then
    echo "error: upkeep upgrade manifests apply exited with $apply_status" >&2
    cat "$out/upkeep-apply.err" >&2
    exit 2
fi
applied_line=$(grep -E '^[0-9]+ manifests, ' "$out/upkeep-apply.txt" | tail -n 1)
[[ -n $applied_line ]] || { echo "error: upkeep's report has no summary line" >&2; tail -n 5 "$out/upkeep-apply.txt" >&2; exit 2; }
expected_manifests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"])' "$out/project.json")
[[ $applied_line == "$expected_manifests manifests, "* ]] || {
    echo "error: upkeep applied '$applied_line', the generator counted $expected_manifests manifests" >&2
    exit 2
}
files_changed=$(git -C "$project" status --porcelain -- src config data | wc -l)
"$upkeep" upgrade manifests apply "$project" --manifests "$manifests" >"$out/upkeep-again.txt" 2>&1 || true
grep -q '^No manifests to apply' "$out/upkeep-again.txt" || { echo "error: a second run still had manifests to apply" >&2; exit 2; }
[[ $(git -C "$project" status --porcelain -- src config data | wc -l) -eq $files_changed ]] || {
    echo "error: the second run changed files" >&2
    exit 2
}
step_outcomes=$(python3 - "$out/upkeep-apply.txt" <<'EOF'
import re, sys
from collections import Counter
counts = Counter()
for line in open(sys.argv[1]):
    match = re.match(r"  (applied|already there|not applied|to run|not applicable)\b", line)
    if match:
        counts[match.group(1)] += 1
print(", ".join(f"{count} {what}" for what, count in counts.most_common()))
EOF
)

# 5. Timing.
apply_cmd="$upkeep upgrade manifests apply $project --manifests $manifests"
plan_cmd="$upkeep upgrade manifests plan $project --manifests $manifests"
update_cmd=$(printf '%q ' "${composer_update[@]}")
names=("upkeep upgrade manifests apply" "upkeep upgrade manifests plan"
    "composer update of the group (installs)" "composer update of the group --no-install")
commands=("$apply_cmd" "$plan_cmd" "$update_cmd" "$update_cmd --no-install")
prepares=("bash $out/before-upkeep.sh" "bash $out/before-upkeep.sh" "bash $out/before-composer.sh" "bash $out/before-composer-lock.sh")
hyperfine_args=()
for i in "${!names[@]}"; do
    hyperfine_args+=(--prepare "${prepares[$i]}" -n "${names[$i]}" "${commands[$i]}")
done
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "timing with hyperfine ($runs runs after 1 warmup run each)"
# -i: `manifests apply` exits 1 when some step could not be applied, which is not a failed run.
hyperfine -i --warmup 1 --runs "$runs" --style basic --export-json "$out/hyperfine.json" "${hyperfine_args[@]}" >&2
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)

# Peak memory, one run each under GNU time, after the same preparation.
peak_rss_mb() {
    bash -c "$1" >/dev/null 2>&1
    bash -c "/usr/bin/time -v $2" >/dev/null 2>"$out/time.txt" || true
    awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$out/time.txt"
}
rss=()
for i in "${!names[@]}"; do
    rss+=("$(peak_rss_mb "${prepares[$i]}" "${commands[$i]}")")
done
bash "$out/before-upkeep.sh"

# 6. Figures.
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
mem_gb=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$repo" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null) ]] || revision="$revision+uncommitted"
if [[ -n ${UPKEEP_BIN:-} ]]; then
    upkeep_origin="\`$UPKEEP_BIN\` (UPKEEP_BIN, built $(date -u -r "$built" '+%Y-%m-%d %H:%M UTC'), repository at $revision when measured)"
    command_prefix="UPKEEP_BIN=$UPKEEP_BIN "
else
    upkeep_origin="revision $revision, release build"
    command_prefix=""
fi
composer_version=$("${composer_env[@]}" composer --version 2>/dev/null | grep -oE 'Composer (version )?[0-9.]+' | sed 's/version //')
php_version=$(php -r 'echo PHP_VERSION;')
project_php=$(find "$project/src" -name '*.php' | wc -l)
vendor_php=$(find "$project/vendor" -name '*.php' | wc -l)
read -r packages updated modules generated_classes project_classes < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["packages"], d["updated"], d["modules_with_manifests"], d["core_classes"], d["project_classes"])' "$out/project.json")

table=$(python3 - "$out/hyperfine.json" "${rss[@]}" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
rss = sys.argv[2:]
by_name = {r["command"]: r for r in results}
composer = by_name["composer update of the group (installs)"]
apply = by_name["upkeep upgrade manifests apply"]
lock_only = by_name["composer update of the group --no-install"]
print("| command | mean | σ | min | max | peak RSS | composer update (installs) / this (means) | (minimums) |")
print("|---|---|---|---|---|---|---|---|")
for r, peak in zip(results, rss):
    print(f"| {r['command']} | {r['mean'] * 1000:.1f} ms | {(r['stddev'] or 0) * 1000:.1f} ms | {r['min'] * 1000:.1f} ms "
          f"| {r['max'] * 1000:.1f} ms | {peak} MB | {composer['mean'] / r['mean']:.2f} | {composer['min'] / r['min']:.2f} |")
print()
print(f"Applying the manifests takes {apply['mean'] / composer['mean']:.1%} of the time of Composer's update of the "
      f"same group with its install ({apply['mean'] / lock_only['mean']:.1%} of the lock-only update), by the means.")
EOF
)

summary=$(cat <<EOF
Machine: $cores cores (nproc), $cpu, ${mem_gb} GB RAM, $(uname -sr); load average $load_at_start when timing started, $load_at_end at the end.
upkeep: $upkeep_origin. Peer: $composer_version on PHP $php_version, offline (a \`file://\` repository, Packagist off).
Releases: 202410.0 → 202507.0 ($packages Spryker packages locked by both; $updated updated, $modules of them with manifests in between).
Manifests: upkeep: \`$applied_line\` (steps: $step_outcomes); exit $apply_status; a second run: nothing to apply, no file changed.
Project: the generated shop ($project_php PHP files under src/, $vendor_php under vendor/) with $generated_classes core classes that the manifests change (in the packages' zips) and $project_classes project classes for them; $files_changed project files changed by the manifests.
Composer: \`composer update\` of the $updated packages with \`--with\` their 202507.0 versions and \`--no-scripts --no-plugins\`, as the upgrader runs a group; \`$package_operations\` in vendor/ (zips from Composer's cache).

$table
EOF
)
printf '\n%s\n' "$summary"

# 7. Record. The previous run between the markers is replaced; paths relative to the repository.
if [[ $record -eq 1 ]]; then
    doc="$repo/docs/benchmarks.md"
    check_markers manifests "$doc" "with --no-record"
    rel() { local text=${1//"$repo"\//}; printf '%s' "$text"; }
    short_update="env COMPOSER_HOME=… COMPOSER_CACHE_DIR=… composer update <the ${#group[@]} packages> --with=<package>:<202507.0 version>… --no-scripts --no-plugins --no-interaction --working-dir=$(rel "$project")"
    section="$out/manifests-section.md"
    {
        echo "$start_marker"
        echo
        echo "### $(date -u +%Y-%m-%d) — upkeep $revision vs $composer_version"
        echo
        echo "Command: \`${command_prefix}bench/manifests.sh --runs $runs\`, which runs"
        echo
        echo '```sh'
        echo "hyperfine -i --warmup 1 --runs $runs \\"
        echo "  --prepare 'bash $(rel "$out")/before-upkeep.sh' '$(rel "$apply_cmd")' \\"
        echo "  --prepare 'bash $(rel "$out")/before-upkeep.sh' '$(rel "$plan_cmd")' \\"
        echo "  --prepare 'bash $(rel "$out")/before-composer.sh' '$short_update' \\"
        echo "  --prepare 'bash $(rel "$out")/before-composer-lock.sh' '$short_update --no-install'"
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
