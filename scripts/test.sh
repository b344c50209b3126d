#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need (Debian packages),
# then checks formatting, lints, and runs every test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the tests use for real: npm (npm-advisory runs `npm audit` against a loopback registry),
# git, PostgreSQL, Chromium, and composer with PHP (the upgrader runs Composer, and its version semantics are checked
# against Composer's own composer/semver). Installed from Debian packages when missing.
missing=()
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v composer >/dev/null 2>&1 || missing+=(composer)
# PostgreSQL 15 for the store's contract tests (the tests start their own server with initdb
# and pg_ctl on a loopback port; they fail, never skip, without it).
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
# OpenSSH's sshd for the server's ssh-key connection test (started by the test on a loopback port).
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# The tz database, for upgrade schedules in a time zone (jiff reads /usr/share/zoneinfo).
[ -d /usr/share/zoneinfo/Europe ] || missing+=(tzdata)
# Headless Chromium and its WebDriver for the web UI's browser tests (crates/upkeep-server/tests/
# browser.rs starts chromedriver on a loopback port; the tests fail, never skip, without them).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# An OCI registry (Debian's docker-registry, with htpasswd auth and TLS from openssl) and skopeo as
# a peer client, for image push and pull (crates/upkeep-deploy/tests/registry.rs).
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
# podman (rootful, runc) for the container executor and target, buildah for Dockerfile builds, and a
# static busybox that test images and base images are made of (crates/upkeep-pipeline/tests/
# container_session.rs, crates/upkeep/tests/dockerfile_build.rs); the tests bring their own
# containers.conf.
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v runc >/dev/null 2>&1 || missing+=(runc)
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# One-shot builds gain nothing from incremental compilation, whose caches double the disk used.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast
