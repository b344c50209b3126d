#!/usr/bin/env bash
# Images benchmark: upkeep's registry push against `skopeo copy`, and the start of a deployment
# stage in a container (`executor: container`) against a bare `podman run`, in one run.
#
# Issue 16 (point 6) asks for three figures:
#   1. a fresh push of a shop-sized image (--files generated PHP files, about 30 MB of source) to
#      a registry on a loopback port: the `push` step of `upkeep build --env push` (its own start
#      and finish in the run record, so the build before it is not counted) against
#      `skopeo copy oci:<upkeep's image store>:<tag> docker://127.0.0.1:<port>/bench/shop:<tag>`
#      of the very same image (same manifest digest, checked) into an empty registry each time,
#      so that both really upload every blob;
#   2. a second push after one file changed: the registry holds the first image, and only blobs
#      it lacks may travel. The script checks upkeep's push log (blobs sent of all, bytes) and
#      skopeo's debug log (one upload started per blob sent) against the blobs the two manifests
#      do not share, and fails when either sends more or less; a third push sends the first image
#      again, where nothing may travel but the manifest (the existence checks' cost);
#   3. the start overhead of a container stage: `upkeep deploy` of a small image (static busybox
#      and a deploy file whose three hooks are `true`) with `executor: container` against the
#      same with `executor: local`, and `podman run --rm <the same image> sh -c true`, bare and
#      with the options upkeep gives podman; plus the two other podman calls upkeep can make:
#      `podman image exists` (once per image and deployment) and `podman rm --force --ignore`
#      (only after a stage that was stopped or that podman failed). The stage times in upkeep's
#      run records are given too.
#
# The registry is Debian's `docker-registry`, started by this script on 127.0.0.1 with plain
# http and no authentication (a config file written here): TLS and htpasswd are left out to keep
# it simple, so the figures are the protocol's and the tools', not a handshake's. skopeo is told
# `--dest-tls-verify=false` and falls back to http after a failed TLS hello, once per process.
# "Empty" is the registry's storage directory removed between runs (the registry keeps no cache
# of it: the config sets none). Pushes alternate upkeep and skopeo, each after `sync`, so that
# load from elsewhere hits both alike; skopeo's runs are timed again with hyperfine. skopeo's
# time is its whole process (start, reading the layout, the push); upkeep's the push step alone.
#
# podman runs with a containers.conf written here (runc, cgroupfs, lower nofile/nproc ulimits,
# as the tests use; CONTAINERS_CONF, which upkeep hands on to podman) and its default storage;
# the images the run loaded are removed at the end.
#
# Everything is generated under bench/out/images (ignored by git), afresh on every run. It
# prints the figures as markdown; --record also puts them into docs/benchmarks.md (between the
# images-run markers, replacing the previous run).
#
# Usage: bench/images.sh [--push-runs N] [--runs N] [--files N] [--record]
#   --push-runs N  pushes per tool and case, alternating (default 10; skopeo's hyperfine runs too)
#   --runs N       hyperfine runs per container command (default 20, after 2 warmups)
#   --files N      generated PHP files in the shop image (default 10000)
#   --record       also write the figures into docs/benchmarks.md
# Environment:
#   UPKEEP_BIN        use this upkeep binary instead of building it
#   UPKEEP_NOTE       a sentence about that binary, printed with the figures
#   CARGO_TARGET_DIR  where the build puts target/release/upkeep (default: target)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/record.sh
source "$repo/bench/record.sh"
out="$repo/bench/out/images"

push_runs=10
runs=20
files=10000
record=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --push-runs) push_runs=$2; shift ;;
        --runs) runs=$2; shift ;;
        --files) files=$2; shift ;;
        --record) record=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument '$1'" >&2; echo "hint: see bench/images.sh --help" >&2; exit 2 ;;
    esac
    shift
done
for number in "$push_runs" "$runs" "$files"; do
    [[ $number =~ ^[0-9]+$ ]] || { echo "error: '$number' is not a number" >&2; exit 2; }
done
[[ $push_runs -ge 2 && $runs -ge 2 ]] || { echo "error: --push-runs and --runs must be at least 2" >&2; exit 2; }
[[ $files -ge 10 ]] || { echo "error: --files must be at least 10" >&2; exit 2; }

say() { printf '==> %s\n' "$*" >&2; }
fail() { echo "error: $1" >&2; [[ -z ${2:-} ]] || echo "hint: $2" >&2; exit 2; }
# Microseconds since the epoch, without a fork.
now_us() { local t=$EPOCHREALTIME; printf '%s' "${t/./}"; }

[[ ${BASH_VERSINFO[0]} -ge 5 ]] || fail "bash 5 or newer is needed (\$EPOCHREALTIME)"
for tool in hyperfine:hyperfine git:git python3:python3 curl:curl skopeo:skopeo \
    docker-registry:docker-registry podman:podman runc:runc; do
    command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is not installed" "apt-get install ${tool#*:}"
done
busybox=/bin/busybox
[[ -x $busybox ]] && ! ldd "$busybox" >/dev/null 2>&1 \
    || fail "the container image needs a static busybox at $busybox" "apt-get install busybox-static"

# 1. upkeep, built in release mode unless a binary is given.
if [[ -n ${UPKEEP_BIN:-} ]]; then
    upkeep=$UPKEEP_BIN
else
    say "building upkeep (release)"
    if ! (cd "$repo" && cargo build --release -p upkeep); then
        fail "the workspace does not build, so there is no upkeep to time" \
            "fix the build, or time an existing binary with UPKEEP_BIN=path/to/upkeep bench/images.sh"
    fi
    target_dir=${CARGO_TARGET_DIR:-$repo/target}
    [[ $target_dir == /* ]] || target_dir="$repo/$target_dir"
    upkeep="$target_dir/release/upkeep"
fi
[[ -x $upkeep ]] || fail "upkeep binary not found at $upkeep"
upkeep=$(cd "$(dirname "$upkeep")" && pwd)/$(basename "$upkeep")

say "setting up bench/out/images"
rm -rf "$out"
mkdir -p "$out"

# 2. podman's configuration, for the bench's podman calls and for upkeep's (it passes
# CONTAINERS_CONF on to podman).
cat >"$out/containers.conf" <<'EOF'
# Written by bench/images.sh: as the tests' (crates/upkeep-pipeline/src/testing.rs).
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$out/containers.conf"

# 3. The registry: plain http on a free loopback port, no auth, no cache (so that removing its
# storage empties it for a running registry), stopped when the script ends.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
registry_dir="$out/registry"
registry_data="$registry_dir/data"
mkdir -p "$registry_dir"
cat >"$registry_dir/config.yml" <<EOF
# Written by bench/images.sh: plain http on loopback, no authentication, no cache.
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $registry_data
http:
  addr: 127.0.0.1:$port
EOF
registry_pid=""
podman_images=()
cleanup() {
    [[ -z $registry_pid ]] || kill "$registry_pid" 2>/dev/null || true
    local image
    for image in "${podman_images[@]}"; do
        podman rmi --force "$image" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT
docker-registry serve "$registry_dir/config.yml" >"$registry_dir/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://127.0.0.1:$port/v2/" >/dev/null || fail "docker-registry did not start" "see $registry_dir/registry.log"
registry="127.0.0.1:$port"
cat >"$out/wipe-registry.sh" <<EOF
# Written by bench/images.sh: empties the registry (it caches nothing of its storage).
rm -rf '$registry_data' && sync
EOF

# 4. The shop: --files deterministic PHP-like files (a fifth under src/Pyz, the rest under
# vendor/), 3 KB on average, with varied identifiers so that gzip compresses them about as
# much as real PHP (4–5 times). No composer.json: the build runs nothing, and the image is the
# tree. A second commit changes one project file.
shop="$out/shop"
say "generating the shop ($files files) in ${shop#"$repo"/}"
mkdir -p "$shop"
python3 - "$shop" "$files" <<'EOF'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
words = ("product price stock store cart order customer locale currency transfer facade factory reader "
         "writer mapper plugin merchant offer category glossary shipment payment discount voucher quote "
         "checkout availability navigation company business unit role permission event queue label").split()
def ident():
    return rng.choice(words) + rng.choice(words).capitalize() + rng.choice(words).capitalize()
for index in range(count):
    top = "src/Pyz" if index < count // 5 else f"vendor/spryker/module-{index // 400:03d}/src/Spryker"
    module = f"Module{index // 40:04d}"
    layer = ("Zed", "Client", "Yves", "Glue", "Shared")[index % 5]
    directory = os.path.join(root, top, layer, module, "Business")
    os.makedirs(directory, exist_ok=True)
    name = f"{ident().capitalize()}{index:05d}"
    methods = []
    for _ in range(rng.randrange(3, 8)):
        params = ", ".join(f"{rng.choice(['array', 'int', 'string', ident().capitalize() + 'Transfer'])} ${ident()}"
                           for _ in range(rng.randrange(0, 4)))
        body = "\n".join(f"        ${ident()} = $this->{ident()}->{ident()}(${ident()}, {rng.randrange(100000)});"
                         for _ in range(rng.randrange(2, 7)))
        methods.append(f"    /**\n     * @return int\n     */\n    public function {ident()}({params}): int\n    {{\n"
                       f"{body}\n\n        return {rng.randrange(1000)};\n    }}\n")
    with open(os.path.join(directory, f"{name}.php"), "w") as handle:
        handle.write(f"<?php\n\nnamespace Pyz\\{layer}\\{module}\\Business;\n\nclass {name}\n{{\n"
                     + "\n".join(methods) + "}\n")
EOF
cat >"$shop/upkeep.yml" <<EOF
# Written by bench/images.sh.
project: bench-shop
environments:
  push:
    deploy-file: deploy.bench.yml
    gate: off
    target:
      local:
        path: ../targets/push
    registry:
      image: $registry/bench/shop
      plain-http: true
EOF
printf 'version: "0.1"\nimage:\n  environment:\n    APPLICATION_ENV: production\n' >"$shop/deploy.bench.yml"
git_commit() { # dir message
    git -C "$1" add -A
    git -C "$1" -c user.name=bench -c user.email=bench@localhost commit -q -m "$2"
    git -C "$1" rev-parse HEAD
}
git -C "$shop" init -q -b main
commit1=$(git_commit "$shop" "bench shop")
changed_file=$(cd "$shop" && find src/Pyz -name '*.php' | LC_ALL=C sort | sed -n 1p)
printf '// changed by bench/images.sh\n' >>"$shop/$changed_file"
commit2=$(git_commit "$shop" "one file changed")
tag1="push-${commit1:0:12}"
tag2="push-${commit2:0:12}"
store="$shop/.upkeep/images"
shop_files=$(git -C "$shop" ls-files | wc -l)
shop_mb=$(git -C "$shop" ls-files -z | (cd "$shop" && xargs -0 stat -c %s) | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')

newest_run() { ls -d "$1/.upkeep/runs/"*/ | sort | tail -n 1; }
# The push step of the newest run: "<microseconds> <blobs sent> <blobs> <bytes sent> <digest>".
push_step() { # repo
    python3 - "$(newest_run "$1")" <<'EOF'
import json, re, sys
from datetime import datetime
run = sys.argv[1]
record = json.load(open(f"{run}/record.json"))
if record["status"] != "succeeded":
    sys.exit(f"the run {run} ended {record['status']}")
steps = [step for sub in record["sub_pipelines"] for stage in sub["stages"] for step in stage["steps"]
         if step["name"] == "push"]
if len(steps) != 1:
    sys.exit(f"the run {run} has {len(steps)} push steps")
step = steps[0]
def micros(text):  # RFC 3339 with nanoseconds, UTC
    head, _, fraction = text.rstrip("Z").partition(".")
    return int(datetime.fromisoformat(head + "+00:00").timestamp()) * 1_000_000 + int((fraction + "000000")[:6])
log = open(f"{run}/{step['log']}").read()
match = re.search(r"pushed \S+@(sha256:[0-9a-f]{64}) \((\d+) of (\d+) blobs sent, (\d+) bytes", log)
if not match:
    sys.exit(f"no `pushed` line in {run}/{step['log']}")
digest, sent, blobs, sent_bytes = match.groups()
print(micros(step["finished_at"]) - micros(step["started_at"]), sent, blobs, sent_bytes, digest)
EOF
}
# The blobs (config and layers) of an image in the store: "<digest> <size>" lines.
image_blobs() { # store tag
    python3 - "$1" "$2" <<'EOF'
import json, sys
store, tag = sys.argv[1:3]
blob = lambda digest: f"{store}/blobs/{digest.replace(':', '/')}"
index = json.load(open(f"{store}/index.json"))
digest = next(m["digest"] for m in index["manifests"]
              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
manifest = json.load(open(blob(digest)))
for descriptor in [manifest["config"]] + manifest["layers"]:
    print(descriptor["digest"], descriptor["size"])
print("manifest", digest)
EOF
}

upkeep_build() { # repo environment commit
    local log="$out/upkeep-build.txt"
    if ! "$upkeep" build --env "$2" --commit "$3" --quiet "$1" >"$log" 2>&1; then
        cat "$log" >&2
        fail "upkeep build --env $2 failed in $1" "see $(newest_run "$1")"
    fi
}
skopeo_copy() { # tag [extra skopeo options]
    local tag=$1
    shift
    skopeo copy --dest-tls-verify=false "$@" "oci:$store:$tag" "docker://$registry/bench/shop:$tag"
}
wipe() { bash "$out/wipe-registry.sh"; }

# 5. The images, built once untimed (their push goes to a registry that is emptied next), and
# what the second push may send: the blobs of the second image that the first lacks.
say "building both commits once (untimed)"
upkeep_build "$shop" push "$commit1"
upkeep_build "$shop" push "$commit2"
image_blobs "$store" "$tag1" >"$out/blobs1.txt"
image_blobs "$store" "$tag2" >"$out/blobs2.txt"
digest1=$(awk '$1 == "manifest" { print $2 }' "$out/blobs1.txt")
digest2=$(awk '$1 == "manifest" { print $2 }' "$out/blobs2.txt")
read -r all1 bytes1 < <(awk '$1 != "manifest" { n++; s += $2 } END { print n, s }' "$out/blobs1.txt")
read -r all2 new2 newbytes2 < <(awk 'NR == FNR { if ($1 != "manifest") old[$1] = 1; next }
    $1 != "manifest" { n++; if (!($1 in old)) { m++; s += $2 } } END { print n, m + 0, s + 0 }' \
    "$out/blobs1.txt" "$out/blobs2.txt")
layer_mb=$(awk '$1 != "manifest" { s += $2 } END { printf "%.1f", s / 1e6 }' "$out/blobs1.txt")
layers1=$((all1 - 1))

# skopeo must push the very image upkeep pushes, and send only what the registry lacks: its debug
# log has a `POST …/blobs/uploads/` for each blob it sends (its plain output lists every blob,
# sent or not, when it writes to no terminal).
say "checking that skopeo pushes the same image, and what it sends"
skopeo_check() { # tag case -> blobs sent
    skopeo_copy "$1" --debug --digestfile "$out/skopeo-digest-$2.txt" >"$out/skopeo-$2.txt" 2>&1 \
        || { tail -n 20 "$out/skopeo-$2.txt" >&2; fail "skopeo copy of $1 failed"; }
    grep -c 'msg="POST http[^"]*/blobs/uploads/' "$out/skopeo-$2.txt" || true
}
wipe
skopeo_sent1=$(skopeo_check "$tag1" fresh)
skopeo_sent2=$(skopeo_check "$tag2" changed)
skopeo_sent3=$(skopeo_check "$tag1" unchanged)
[[ $(<"$out/skopeo-digest-fresh.txt") == "$digest1" && $(<"$out/skopeo-digest-changed.txt") == "$digest2" ]] \
    || fail "skopeo pushed other manifests than upkeep's ($(<"$out/skopeo-digest-fresh.txt"), $(<"$out/skopeo-digest-changed.txt") against $digest1, $digest2)"
[[ $skopeo_sent1 -eq $all1 && $skopeo_sent2 -eq $new2 && $skopeo_sent3 -eq 0 ]] \
    || fail "skopeo sent $skopeo_sent1, $skopeo_sent2 and $skopeo_sent3 blobs (fresh, changed, unchanged; expected $all1, $new2 and 0)" \
        "see $out/skopeo-*.txt"

# 6. Timed pushes, alternating: fresh (empty registry) and one file changed (the registry holds
# the first image, put there by skopeo, untimed).
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
busy=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 20 && $2 != "ps" { printf "%s%s (%.0f%%)", sep, $2, $1; sep = ", " }')
: >"$out/push-upkeep-fresh.txt"
: >"$out/push-upkeep-changed.txt"
: >"$out/push-skopeo-fresh.txt"
: >"$out/push-skopeo-changed.txt"
: >"$out/push-upkeep-unchanged.txt"
: >"$out/push-skopeo-unchanged.txt"
seed_first() { wipe; skopeo_copy "$tag1" --quiet >/dev/null; sync; }
timed_skopeo() { # tag -> microseconds
    local t0 t1
    t0=$(now_us)
    skopeo_copy "$1" --quiet >/dev/null || return 1
    t1=$(now_us)
    echo "$((t1 - t0))"
}
check_upkeep_push() { # line expected-sent expected-bytes expected-digest case
    local us sent blobs sent_bytes digest
    read -r us sent blobs sent_bytes digest <<<"$1"
    [[ $sent -eq $2 && $sent_bytes -eq $3 && $digest == "$4" ]] \
        || fail "upkeep's $5 push sent $sent of $blobs blobs, $sent_bytes bytes, of $digest (expected $2 blobs, $3 bytes, of $4)" \
            "see the push log of $(newest_run "$shop")"
}
# One timed push by each tool from the same starting state (`prepare`), upkeep's checked.
push_pair() { # case prepare commit tag expected-sent expected-bytes expected-digest
    local case=$1 prepare=$2 commit=$3 tag=$4 line
    $prepare
    upkeep_build "$shop" push "$commit"
    line=$(push_step "$shop") || fail "no push step in $(newest_run "$shop")"
    check_upkeep_push "$line" "$5" "$6" "$7" "$case"
    echo "$line" >>"$out/push-upkeep-$case.txt"
    $prepare
    timed_skopeo "$tag" >>"$out/push-skopeo-$case.txt" || fail "skopeo copy of $tag failed"
}
say "pushes: $push_runs per tool and case, alternating"
for ((i = 0; i < push_runs; i++)); do
    push_pair fresh wipe "$commit1" "$tag1" "$all1" "$bytes1" "$digest1"
    push_pair changed seed_first "$commit2" "$tag2" "$new2" "$newbytes2" "$digest2"
    push_pair unchanged seed_first "$commit1" "$tag1" 0 0 "$digest1"
done
say "skopeo with hyperfine ($push_runs runs after 1 warmup run each)"
hyperfine --warmup 1 --runs "$push_runs" --style basic --export-json "$out/skopeo.json" \
    --prepare "bash $out/wipe-registry.sh" \
    -n "skopeo copy, fresh" "skopeo copy --quiet --dest-tls-verify=false oci:$store:$tag1 docker://$registry/bench/shop:$tag1" \
    --prepare "bash $out/wipe-registry.sh && skopeo copy --quiet --dest-tls-verify=false oci:$store:$tag1 docker://$registry/bench/shop:$tag1 && sync" \
    -n "skopeo copy, one file changed" "skopeo copy --quiet --dest-tls-verify=false oci:$store:$tag2 docker://$registry/bench/shop:$tag2" \
    --prepare "bash $out/wipe-registry.sh && skopeo copy --quiet --dest-tls-verify=false oci:$store:$tag1 docker://$registry/bench/shop:$tag1 && sync" \
    -n "skopeo copy, nothing changed" "skopeo copy --quiet --dest-tls-verify=false oci:$store:$tag1 docker://$registry/bench/shop:$tag1" >&2

# 7. Container stages: a small image (static busybox, the deploy file, upkeep.yml), deployed with
# executor: container and with executor: local, every hook `true`.
ctr="$out/ctr"
say "container stages: building the small image"
mkdir -p "$ctr/bin" "$ctr/tmp" "$ctr/etc"
cp "$busybox" "$ctr/bin/busybox"
for applet in sh true; do ln -s busybox "$ctr/bin/$applet"; done
: >"$ctr/tmp/.keep"
: >"$ctr/etc/.keep"
cat >"$ctr/upkeep.yml" <<'EOF'
# Written by bench/images.sh.
project: bench-ctr
environments:
  ctr:
    deploy-file: deploy.bench.yml
    gate: off
    keep-releases: 3
    target:
      local:
        path: ../targets/ctr
    executor: container
  loc:
    deploy-file: deploy.bench.yml
    gate: off
    keep-releases: 3
    target:
      local:
        path: ../targets/loc
EOF
cat >"$ctr/deploy.bench.yml" <<'EOF'
version: "0.1"
image:
  environment:
    SPRYKER_HOOK_BEFORE_DEPLOY: "true"
    SPRYKER_HOOK_INSTALL: "true"
    SPRYKER_HOOK_AFTER_DEPLOY: "true"
EOF
git -C "$ctr" init -q -b main
ctr_commit=$(git_commit "$ctr" "bench container image")
upkeep_build "$ctr" ctr "$ctr_commit"
upkeep_build "$ctr" loc "$ctr_commit"
# The first deployment (no pre-deploy yet) loads the image into podman; its ID is the config
# digest, and it goes again at the end.
for environment in ctr loc; do
    "$upkeep" deploy --env "$environment" --quiet "$ctr" >"$out/deploy.txt" 2>&1 \
        || { cat "$out/deploy.txt" >&2; fail "upkeep deploy --env $environment failed" "see $(newest_run "$ctr")"; }
done
image_id=$(image_blobs "$ctr/.upkeep/images" "ctr-latest" | awk 'NR == 1 { print $1 }')
image_id=${image_id#sha256:}
podman_images+=("$image_id")
podman image exists "$image_id" || fail "podman has no image $image_id after upkeep's deployment"
ctr_mb=$(image_blobs "$ctr/.upkeep/images" "ctr-latest" | awk '$1 != "manifest" { s += $2 } END { printf "%.1f", s / 1e6 }')
mount_dir="$out/mount"
mkdir -p "$mount_dir"
names=("upkeep deploy, executor: container (3 stages)" "upkeep deploy, executor: local (3 stages)"
    "podman run --rm IMAGE sh -c true" "podman run, upkeep's options"
    "podman image exists IMAGE" "podman rm --force --ignore (no such container)")
commands=("$upkeep deploy --env ctr --quiet $ctr" "$upkeep deploy --env loc --quiet $ctr"
    "podman run --rm $image_id sh -c true"
    "podman run --rm --init --pull=never --interactive=false --name upkeep-bench-images --network=host --mount=type=bind,source=$mount_dir,destination=$mount_dir $image_id sh -c true"
    "podman image exists $image_id" "podman rm --force --ignore --time=10 upkeep-bench-no-such-container")
hyperfine_args=()
for i in "${!names[@]}"; do hyperfine_args+=(-n "${names[$i]}" "${commands[$i]}"); done
first_timed_run=$(basename "$(newest_run "$ctr")")
say "container stages with hyperfine ($runs runs after 2 warmup runs each)"
hyperfine --warmup 2 --runs "$runs" --prepare sync --style basic --export-json "$out/containers.json" \
    "${hyperfine_args[@]}" >&2
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)

# Stage step times from upkeep's records of the timed (and warmup) deployments: "<env> <stage> <µs>".
python3 - "$ctr/.upkeep/runs" "$first_timed_run" >"$out/stage-steps.txt" <<'EOF'
import json, os, sys
from datetime import datetime
runs, after = sys.argv[1:3]
def micros(text):
    head, _, fraction = text.rstrip("Z").partition(".")
    return int(datetime.fromisoformat(head + "+00:00").timestamp()) * 1_000_000 + int((fraction + "000000")[:6])
for run in sorted(os.listdir(runs)):
    if run <= after:
        continue
    record = json.load(open(os.path.join(runs, run, "record.json")))
    if record["kind"] != "deployment" or record["status"] != "succeeded":
        continue
    for sub in record["sub_pipelines"]:
        for stage in sub["stages"]:
            for step in stage["steps"]:
                if stage["name"] in ("pre-deploy", "install", "post-deploy") and step.get("finished_at"):
                    print(record["environment"], stage["name"], micros(step["finished_at"]) - micros(step["started_at"]))
EOF

# 8. Figures.
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
mem_gb=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
fs=$(findmnt -no FSTYPE -T "$out")
revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$repo" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null) ]] || revision="$revision+uncommitted"
if [[ -n ${UPKEEP_BIN:-} ]]; then
    upkeep_origin="\`${UPKEEP_BIN}\` (UPKEEP_BIN, built $(date -u -r "$upkeep" '+%Y-%m-%d %H:%M UTC'), repository at $revision when measured)${UPKEEP_NOTE:+; $UPKEEP_NOTE}"
    command_prefix="UPKEEP_BIN=… "
    upkeep_label="upkeep (UPKEEP_BIN)"
else
    upkeep_origin="revision $revision, release build"
    command_prefix=""
    upkeep_label="upkeep $revision"
fi
versions="$(skopeo --version), $(podman --version), $(runc --version | sed -n 1p), docker-registry $(docker-registry --version 2>/dev/null | awk '{ print $NF }')"
args_used="--push-runs $push_runs --runs $runs --files $files"

tables=$(python3 - "$out" "$all1" "$bytes1" "$new2" "$newbytes2" "$all2" <<'EOF'
import json, statistics, sys
out = sys.argv[1]
all1, bytes1, new2, newbytes2, all2 = map(int, sys.argv[2:7])

def column(name, index=0):
    return [int(line.split()[index]) for line in open(f"{out}/{name}.txt")]
def ms(us): return f"{us / 1000:.1f} ms"
def mb(size): return f"{size / 1e6:.2f} MB"

skopeo = {r["command"]: r for r in json.load(open(f"{out}/skopeo.json"))["results"]}
print("**Push** to `docker-registry` on 127.0.0.1 (plain http): upkeep's `push` step (start to finish in "
      "the run record) and `skopeo copy` (the whole process), alternating, `sync` before each; "
      "skopeo again with hyperfine:")
print()
print("| push | tool | blobs sent | bytes sent | median | mean | min | max | upkeep / skopeo (medians) |")
print("|---|---|---|---|---|---|---|---|---|")
for case, label, sent, size, hyper in (("fresh", "fresh, empty registry", all1, bytes1, "skopeo copy, fresh"),
                                       ("changed", "one file changed", new2, newbytes2, "skopeo copy, one file changed"),
                                       ("unchanged", "the same image again", 0, 0, "skopeo copy, nothing changed")):
    up, sk = column(f"push-upkeep-{case}"), column(f"push-skopeo-{case}")
    blobs = all2 if case == "changed" else all1
    for tool, values in (("upkeep (push step)", up), ("`skopeo copy`", sk)):
        ratio = f"{statistics.median(up) / statistics.median(sk):.2f}" if tool.startswith("upkeep") else "1.00"
        print(f"| {label} | {tool} | {sent} of {blobs} | {mb(size)} | {ms(statistics.median(values))} "
              f"| {ms(statistics.mean(values))} | {ms(min(values))} | {ms(max(values))} | {ratio} |")
    r = skopeo[hyper]
    print(f"| {label} | `skopeo copy`, hyperfine | {sent} of {blobs} | {mb(size)} | {r['median'] * 1000:.1f} ms "
          f"| {r['mean'] * 1000:.1f} ms | {r['min'] * 1000:.1f} ms | {r['max'] * 1000:.1f} ms "
          f"| {statistics.median(up) / 1000 / (r['median'] * 1000):.2f} |")
print()

containers = json.load(open(f"{out}/containers.json"))["results"]
by = {r["command"]: r for r in containers}
print("**Container stages**: whole deployments of the small image (3 stages, every hook `true`) and the "
      "podman calls alone (hyperfine, `sync` before each run):")
print()
print("| command | median | mean | σ | min | max |")
print("|---|---|---|---|---|---|")
for r in containers:
    print(f"| {r['command']} | {r['median'] * 1000:.1f} ms | {r['mean'] * 1000:.1f} ms | {(r['stddev'] or 0) * 1000:.1f} ms "
          f"| {r['min'] * 1000:.1f} ms | {r['max'] * 1000:.1f} ms |")
print()
steps = {}
for line in open(f"{out}/stage-steps.txt"):
    environment, stage, us = line.split()
    steps.setdefault(environment, []).append(int(us))
ctr, loc = by["upkeep deploy, executor: container (3 stages)"], by["upkeep deploy, executor: local (3 stages)"]
bare, opts = by["podman run --rm IMAGE sh -c true"], by["podman run, upkeep's options"]
exists, rm = by["podman image exists IMAGE"], by["podman rm --force --ignore (no such container)"]
stage = (ctr["median"] - loc["median"]) / 3 * 1e6
per_stage = stage + statistics.median(steps["loc"])
added = per_stage - opts["median"] * 1e6
versus_bare = per_stage - bare["median"] * 1e6
print(f"Per stage (medians): a container stage costs upkeep {ms(per_stage)}: the deployments' difference, "
      f"{ms(stage)} a stage, plus the same stage on the host, {ms(statistics.median(steps['loc']))} (its step in "
      f"the run records). `podman run` of the same image with the options upkeep gives it takes "
      f"{ms(opts['median'] * 1e6)}: **upkeep adds {ms(added)} a stage** ({per_stage / (opts['median'] * 1e6):.2f}×); "
      f"its two other podman calls alone take {ms(exists['median'] * 1e6)} (`podman image exists`, once per image and deployment) "
      f"and {ms(rm['median'] * 1e6)} (`podman rm --force --ignore`, only after a stopped stage). A bare `podman run --rm IMAGE sh -c true` "
      f"(podman's default network, a namespace of its own) takes {ms(bare['median'] * 1e6)}: upkeep's stage is "
      f"{ms(abs(versus_bare))} {'longer' if versus_bare >= 0 else 'shorter'} ({per_stage / (bare['median'] * 1e6):.2f}×). "
      f"The container stage's step in upkeep's run records (the session's `podman run`): "
      f"median {ms(statistics.median(steps['ctr']))} over {len(steps['ctr'])} stages.")
EOF
)

summary=$(cat <<EOF
Machine: $cores cores (nproc), $cpu, ${mem_gb} GB RAM, $(uname -sr), $fs; load average $load_at_start when timing started, $load_at_end at the end${busy:+; busy then: $busy}.
upkeep: $upkeep_origin. Peers: $versions.
Shop image: $shop_files files in git ($files generated PHP files, $shop_mb MB), $all1 blobs (the config and $layers1 layer(s)), $layer_mb MB gzip; the second commit appends a line to \`$changed_file\`, so the second push may send $new2 of $all2 blobs ($(awk -v b="$newbytes2" 'BEGIN { printf "%.2f", b / 1e6 }') MB). Both tools pushed the same manifests (skopeo's \`--digestfile\` checked), and each push sent exactly the blobs the registry lacked (upkeep's push log and skopeo's debug log checked).
Container image: static busybox ($ctr_mb MB gzip); podman with runc and cgroupfs (\`bench/out/images/containers.conf\`).

$tables
EOF
)
printf '\n%s\n' "$summary"

# 9. Record, when asked: the previous run between the markers is replaced.
if [[ $record -eq 1 ]]; then
    doc="$repo/docs/benchmarks.md"
    check_markers images "$doc" "without --record"
    section="$out/images-section.md"
    {
        echo "$start_marker"
        echo
        echo "### $(date -u +%Y-%m-%d) — $upkeep_label against skopeo and podman"
        echo
        echo "Command: \`${command_prefix}bench/images.sh $args_used --record\`"
        echo
        printf '%s\n' "${summary//"$repo"\//}"
        echo
        echo "$end_marker"
    } >"$section"
    replace_section "$doc" "$section"
    say "recorded in ${doc#"$repo"/}"
fi
