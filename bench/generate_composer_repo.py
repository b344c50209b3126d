#!/usr/bin/env python3
"""Write a deterministic Composer repository and a project locking 600 of its packages, for the
upgrade-plan benchmark (bench/upgrade.sh).

What is written under --out (default bench/out/upgrade):

- repo/          the repository as it is "today": a Composer v2 repository, `packages.json` with
                 `metadata-url: /p2/%package%.json` and `available-packages`, one file per package
                 `p2/<vendor>/<name>.json` with its tagged releases and `p2/<vendor>/<name>~dev.json`
                 with its branches, both in Composer's minified format (`"minified": "composer/2.0"`),
                 newest first, as Packagist serves them;
- repo-old/      the same repository as it was when the project was locked: only the releases made up
                 to the lock date, and the branches at older commits. bench/upgrade.sh locks the
                 project against it with the real `composer update`, then serves repo/;
- project/composer.json
                 requires every package with a caret constraint (a few on `dev-main`), the repository
                 (`http://127.0.0.1:0`, the port is put in by bench/upgrade.sh), `packagist.org`
                 disabled, `secure-http` off, platform PHP 8.2.10;
- bench-manifest.json
                 what was generated: sizes, and the version each package must be locked at (the
                 script checks Composer's lock against it).

The packages: ~600 across ~40 vendors (a few large vendors, many small ones), each with 10-60
stable releases over about three years (patches, minors, majors; some start at 0.x, some vendors tag
with a `v` prefix), alpha/beta/RC pre-releases before most majors and some minors, a `dev-main`
branch (branch alias to the next `X.x-dev`) and an `X.x-dev` branch for the previous major. All are
`"type": "metapackage"`, so installing downloads nothing. Requirements only point from a package to
packages generated before it (no cycles) and are written with caret constraints of the dependency's
release line at the time of the release (sometimes two lines, `^2.3 || ^3.0`, sometimes a tilde
that pins a minor); the release each package is locked at allows the release each dependency is
locked at, so the lock is satisfiable by construction. Some releases after the lock date need PHP
8.3 (the platform is 8.2.10), and a few conflict with the locked version of a dependency, so that a
planner has something to refuse.

Usage:
    python3 bench/generate_composer_repo.py [--out bench/out/upgrade] [--packages 600] [--vendors 40] [--seed 1]

Standard library only (Python 3.11). The same arguments always produce byte-identical output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Days of history; the project was locked on LOCK_DAY, the repository is as of the last day.
HISTORY_DAYS = 1000
LOCK_DAY = 850
EPOCH = dt.datetime(2022, 1, 3, 9, 0, 0, tzinfo=dt.timezone.utc)

VENDOR_WORDS = [
    "acme", "brightline", "cobalt", "driftwood", "ember", "fjord", "granite", "harbor", "ironbark",
    "juniper", "kestrel", "lumen", "meridian", "nimbus", "onyx", "pinnacle", "quarry", "redwood",
    "saltmarsh", "tundra", "umber", "vantage", "willow", "xenon", "yarrow", "zephyr", "alder",
    "basalt", "cinder", "delta", "estuary", "falcon", "glacier", "heron", "indigo", "jasper",
    "kelp", "lichen", "marble", "nettle", "orchid", "prairie", "quill", "rowan", "sierra",
]
NAME_WORDS = [
    "product", "price", "stock", "sales", "customer", "cart", "checkout", "discount", "merchant",
    "category", "cms", "content", "glossary", "locale", "store", "currency", "tax", "shipment",
    "payment", "oms", "quote", "availability", "url", "navigation", "company", "business-unit",
    "acl", "user", "oauth", "event", "queue", "label", "image", "option", "bundle", "offer",
    "review", "measurement", "packaging", "comment", "approval", "budget", "return", "invoice",
    "refund", "gift-card", "voucher", "order", "threshold", "country", "translation", "attribute",
    "schedule", "page", "block", "asset", "warehouse", "picking", "service-point", "wishlist",
    "agent", "search", "suggestion", "expense", "volume", "http", "log", "cache", "config",
    "console", "kernel", "router", "session", "storage", "transfer", "validator", "twig", "mail",
]
NAME_SUFFIXES = ["", "", "", "-storage", "-search", "-gui", "-data-import", "-rest-api",
                 "-connector", "-extension", "-widget", "-bridge", "-client"]
LICENSES = ["MIT", "MIT", "MIT", "proprietary", "BSD-3-Clause", "Apache-2.0", "LGPL-3.0-or-later"]
FIRST_NAMES = ["Ada", "Bo", "Chen", "Dana", "Emil", "Farah", "Gus", "Hana", "Ivo", "Jun", "Kai",
               "Lea", "Mira", "Nils", "Omar", "Pia", "Rafi", "Sara", "Timo", "Uma", "Vera", "Wim"]
LAST_NAMES = ["Novak", "Schmidt", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Rossi", "Kowalski",
              "Haddad", "Silva", "Jensen", "Dubois", "Meyer", "Petrov", "Garcia", "Fischer"]

STAGE_ORDER = {"alpha": 0, "beta": 1, "RC": 2, None: 3}


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    stage: str | None = None  # alpha, beta, RC or None (stable)
    stage_number: int = 0

    def key(self) -> tuple[int, int, int, int, int]:
        return (self.major, self.minor, self.patch, STAGE_ORDER[self.stage], self.stage_number)

    def pretty(self, prefix: str) -> str:
        text = f"{prefix}{self.major}.{self.minor}.{self.patch}"
        return text if self.stage is None else f"{text}-{self.stage}{self.stage_number}"

    def normalized(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}.0"
        return text if self.stage is None else f"{text}-{self.stage}{self.stage_number}"

    def line(self) -> tuple[int, int]:
        """What a caret constraint stays within: the major, or the minor for 0.x."""
        return (0, self.minor) if self.major == 0 else (self.major, 0)


@dataclass
class Release:
    version: Version
    day: float
    requires: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, str] = field(default_factory=dict)

    @property
    def stable(self) -> bool:
        return self.version.stage is None


@dataclass
class Package:
    index: int
    vendor: str
    name: str
    prefix: str  # "" or "v"
    description: str
    license: str
    authors: list[dict[str, str]]
    releases: list[Release]  # ascending by version (and so by day)
    deps: list[tuple[int, float, bool, bool]] = field(default_factory=list)  # (index, from day, tight, two lines)
    php83_from: float | None = None  # releases after this day need PHP 8.3
    conflict_dep: int | None = None  # releases after the lock date conflict with this dependency's locked minor
    ext_json: bool = False
    dev_locked: bool = False
    dependents: int = 0

    def stable_releases(self) -> list[Release]:
        return [release for release in self.releases if release.stable]

    def locked(self) -> Release:
        """The newest stable release made up to the lock date; the lock is at this release."""
        return [release for release in self.stable_releases() if release.day <= LOCK_DAY][-1]

    def newest_at(self, day: float) -> Release:
        stable = self.stable_releases()
        made = [release for release in stable if release.day <= day]
        return made[-1] if made else stable[0]


def release_history(rng: random.Random, start_day: float, end_day: float) -> list[Release]:
    """10-60 stable releases between the two days, with pre-releases before most majors."""
    count = rng.randint(10, 60)
    if rng.random() < 0.15:
        current = Version(0, 1, 0)
    else:
        current = Version(rng.choices([1, 2, 3, 4, 5, 7], weights=[55, 20, 10, 7, 5, 3])[0], 0, 0)
    versions = [current]
    pre: dict[int, list[Version]] = {}
    for _ in range(count - 1):
        roll = rng.random()
        if current.major == 0:
            if roll < 0.6:
                step = "patch"
            elif roll < 0.93 or current.minor < 2:
                step = "minor"
            else:
                step = "major"
        else:
            step = "patch" if roll < 0.62 else "minor" if roll < 0.93 else "major"
        if step == "patch":
            current = Version(current.major, current.minor, current.patch + 1)
        elif step == "minor":
            current = Version(current.major, current.minor + 1, 0)
        else:
            current = Version(current.major + 1, 0, 0)
        stages: list[Version] = []
        if step == "major" and rng.random() < 0.6:
            picked = sorted(rng.sample([("alpha", 1), ("beta", 1), ("beta", 2), ("RC", 1), ("RC", 2)],
                                       rng.randint(1, 3)), key=lambda s: (STAGE_ORDER[s[0]], s[1]))
            stages = [Version(current.major, 0, 0, stage, number) for stage, number in picked]
        elif step == "minor" and rng.random() < 0.12:
            stages = [Version(current.major, current.minor, 0, rng.choice(["beta", "RC"]), 1)]
        if stages:
            pre[len(versions)] = stages
        versions.append(current)
    days = sorted(rng.uniform(start_day, end_day) for _ in range(count - 1))
    days = [start_day] + days
    releases: list[Release] = []
    for position, (version, day) in enumerate(zip(versions, days)):
        previous_day = days[position - 1] if position else day - 30
        for offset, stage in enumerate(pre.get(position, [])):
            # Pre-releases fall between the previous release and the final one, in order.
            span = day - previous_day
            releases.append(Release(stage, previous_day + span * (offset + 1) / (len(pre[position]) + 2)))
        releases.append(Release(version, day))
    return releases


def make_packages(rng: random.Random, package_count: int, vendor_count: int) -> list[Package]:
    vendors = rng.sample(VENDOR_WORDS, vendor_count)
    # A few large vendors (the framework), many small ones: Zipf-like weights, at least 3 each.
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(vendor_count)]
    sizes = [3] * vendor_count
    for _ in range(package_count - sum(sizes)):
        sizes[rng.choices(range(vendor_count), weights=weights)[0]] += 1
    v_prefix = {vendor: rng.random() < 0.2 for vendor in vendors}
    packages: list[Package] = []
    for vendor, size in zip(vendors, sizes):
        names: set[str] = set()
        while len(names) < size:
            words = rng.sample(NAME_WORDS, rng.choice([1, 1, 2]))
            names.add("-".join(words) + rng.choice(NAME_SUFFIXES))
        for name in sorted(names):
            if rng.random() < 0.75:
                end = rng.uniform(LOCK_DAY + 10, HISTORY_DAYS)
            else:
                end = rng.uniform(400, LOCK_DAY - 1)  # quiet since before the lock: up to date
            start = rng.uniform(0, min(end - 100, 500))
            authors = [{"name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                        "email": f"dev{rng.randint(1, 99)}@{vendor}.example"}
                       for _ in range(rng.randint(1, 2))]
            packages.append(Package(
                index=len(packages), vendor=vendor, name=f"{vendor}/{name}",
                prefix="v" if v_prefix[vendor] else "",
                description=f"{name.replace('-', ' ').capitalize()} module of the {vendor.capitalize()} commerce suite.",
                license=rng.choice(LICENSES), authors=authors,
                releases=release_history(rng, start, end)))
    # Interleave vendors so that dependencies cross vendors; the order is the dependency order.
    rng.shuffle(packages)
    for index, package in enumerate(packages):
        package.index = index
    return packages


def pick_dependencies(rng: random.Random, packages: list[Package]) -> None:
    for package in packages:
        earlier = packages[: package.index]
        if not earlier or rng.random() < 0.15:
            continue
        wanted = min(len(earlier), rng.choice([1, 2, 2, 3, 3, 4, 5, 6]))
        same_vendor = [other for other in earlier if other.vendor == package.vendor]
        chosen: dict[int, Package] = {}
        while len(chosen) < wanted:
            pool = same_vendor if same_vendor and rng.random() < 0.5 else earlier
            other = rng.choice(pool)
            chosen[other.index] = other
        first_day = package.releases[0].day
        for other in sorted(chosen.values(), key=lambda p: p.index):
            # Most dependencies are there from the first release, some come later.
            since = first_day if rng.random() < 0.8 else rng.uniform(first_day, package.locked().day)
            package.deps.append((other.index, since, rng.random() < 0.06, rng.random() < 0.15))
            other.dependents += 1
        if rng.random() < 0.06:
            package.php83_from = rng.uniform(LOCK_DAY + 5, HISTORY_DAYS - 20)
        if package.deps and rng.random() < 0.04:
            package.conflict_dep = rng.choice(package.deps)[0]
        package.ext_json = rng.random() < 0.2


def caret(version: Version, floor_minor: int) -> str:
    if version.major == 0:
        return f"^0.{version.minor}"
    return f"^{version.major}.{floor_minor}"


def constraint_for(rng: random.Random, dep: Package, day: float, locked_release: bool,
                   tight: bool, two_lines: bool) -> str:
    """The requirement a release made on `day` writes for `dep`."""
    current = dep.newest_at(day).version
    stable = [release.version for release in dep.stable_releases()]
    if tight:
        target = dep.locked().version if locked_release else current
        return f"~{target.major}.{target.minor}.0"
    lines: list[Version] = []  # the first stable release of each line to allow, after the base
    if locked_release:
        # The release a package is locked at must allow the release its dependency is locked at.
        locked = dep.locked().version
        for version in stable:
            if current.key() < version.key() <= locked.key() and version.line() != current.line() \
                    and all(line.line() != version.line() for line in lines):
                lines.append(version)
    in_line = [version for version in stable if version.line() == current.line()]
    lowest_minor = min(version.minor for version in in_line)
    floor = max(lowest_minor, current.minor - rng.randint(0, 2))
    parts = [caret(current, floor)]
    if two_lines and not lines:
        older = [version for version in stable if version.line() < current.line()]
        if older:
            previous_line = older[-1].line()
            first = min((v for v in older if v.line() == previous_line), key=Version.key)
            parts.insert(0, caret(first, first.minor))
    parts += [caret(version, version.minor) for version in lines]
    return " || ".join(parts)


def php_requirement(package: Package, day: float) -> str:
    if package.php83_from is not None and day >= package.php83_from:
        return ">=8.3"
    if day < 250:
        return ">=7.4"
    if day < 600:
        return ">=8.0"
    return ">=8.1"


def fill_requirements(rng: random.Random, packages: list[Package]) -> None:
    for package in packages:
        locked = package.locked()
        for release in package.releases:
            release.requires["php"] = php_requirement(package, release.day)
            if package.ext_json:
                release.requires["ext-json"] = "*"
            for dep_index, since, tight, two_lines in package.deps:
                if release.day < since and release is not locked:
                    continue
                dep = packages[dep_index]
                release.requires[dep.name] = constraint_for(
                    rng, dep, release.day, release is locked, tight, two_lines)
            if package.conflict_dep is not None and release.day > LOCK_DAY:
                dep = packages[package.conflict_dep]
                newest = dep.newest_at(release.day).version
                release.conflicts[dep.name] = f"<{newest.major}.{newest.minor}"


def reference(*parts: object) -> str:
    return hashlib.sha1("/".join(str(part) for part in parts).encode()).hexdigest()


def timestamp(day: float) -> str:
    moment = EPOCH + dt.timedelta(days=day)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def common_fields(package: Package) -> dict:
    vendor, short = package.name.split("/")
    return {
        "name": package.name,
        "description": package.description,
        "keywords": [vendor, *short.split("-")[:2]],
        "homepage": f"https://{vendor}.example/modules/{short}",
        "license": [package.license],
        "authors": package.authors,
        "type": "metapackage",
        "support": {"issues": f"https://github.com/{vendor}/{short}/issues",
                    "source": f"https://github.com/{vendor}/{short}/tree/main"},
    }


def version_entry(package: Package, pretty: str, normalized: str, ref: str, day: float,
                  requires: dict[str, str], conflicts: dict[str, str], extra: dict | None) -> dict:
    vendor, short = package.name.split("/")
    entry = common_fields(package)
    entry["version"] = pretty
    entry["version_normalized"] = normalized
    entry["source"] = {"url": f"https://github.com/{vendor}/{short}.git", "type": "git", "reference": ref}
    entry["dist"] = {"url": f"https://api.github.com/repos/{vendor}/{short}/zipball/{ref}",
                     "type": "zip", "reference": ref, "shasum": ""}
    entry["time"] = timestamp(day)
    if requires:
        entry["require"] = dict(requires)
    if conflicts:
        entry["conflict"] = dict(conflicts)
    if extra:
        entry["extra"] = extra
    return entry


def minify(versions: list[dict]) -> list[dict]:
    """Composer's MetadataMinifier::minify: each entry keeps only what changed from the one
    before, and `"__unset"` for keys it no longer has."""
    minified: list[dict] = []
    last: dict | None = None
    for version in versions:
        if last is None:
            last = dict(version)
            minified.append(version)
            continue
        entry = {}
        for key, value in version.items():
            if key not in last or last[key] != value:
                entry[key] = value
                last[key] = value
        for key in list(last):
            if key not in version:
                entry[key] = "__unset"
                del last[key]
        minified.append(entry)
    return minified


def branch_entries(package: Package, old: bool) -> list[dict]:
    """`dev-main` (aliased to the next major's `X.x-dev`) and `X.x-dev` for the previous major."""
    day = LOCK_DAY - 3 if old else HISTORY_DAYS - 2
    stable = [r for r in package.stable_releases() if r.day <= day]
    newest = stable[-1].version
    entries = []
    requires = dict(stable[-1].requires)
    if package.dev_locked:
        # The branch the project is locked on must allow what its dependencies are locked at.
        requires = dict(package.locked().requires)
    alias = f"{newest.major}.x-dev" if newest.major else f"0.{newest.minor}.x-dev"
    entries.append(version_entry(package, "dev-main", "dev-main", reference(package.name, "main", day),
                                 day, requires, {}, {"branch-alias": {"dev-main": alias}}))
    majors = sorted({r.version.major for r in stable if r.version.major > 0})
    if len(majors) > 1:
        previous = majors[-2]
        last = [r for r in stable if r.version.major == previous][-1]
        entries.append(version_entry(
            package, f"{previous}.x-dev", f"{previous}.9999999.9999999.9999999-dev",
            reference(package.name, f"{previous}.x", last.day), last.day, last.requires, {}, None))
    return entries


def write_repository(root: Path, packages: list[Package], old: bool) -> int:
    """Writes packages.json and the p2 files; returns the number of versions written."""
    if root.exists():
        shutil.rmtree(root)
    (root / "p2").mkdir(parents=True)
    names = sorted(package.name for package in packages)
    index = {"packages": [], "metadata-url": "/p2/%package%.json", "available-packages": names}
    (root / "packages.json").write_text(json.dumps(index, indent=None, separators=(",", ":")) + "\n")
    written = 0
    for package in packages:
        releases = [r for r in package.releases if not old or r.day <= LOCK_DAY]
        tagged = [version_entry(package, r.version.pretty(package.prefix), r.version.normalized(),
                                reference(package.name, r.version.pretty(package.prefix)), r.day,
                                r.requires, r.conflicts, None)
                  for r in sorted(releases, key=lambda r: r.version.key(), reverse=True)]
        branches = branch_entries(package, old)
        written += len(tagged) + len(branches)
        directory = root / "p2" / package.name.split("/")[0]
        directory.mkdir(exist_ok=True)
        for suffix, entries in (("", tagged), ("~dev", branches)):
            document = {"minified": "composer/2.0", "packages": {package.name: minify(entries)}}
            path = directory / f"{package.name.split('/')[1]}{suffix}.json"
            path.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    return written


def write_project(root: Path, packages: list[Package]) -> dict[str, str]:
    """composer.json requiring every package; returns the version each must be locked at."""
    rng = random.Random(7)
    require = {"php": ">=8.2"}
    expected: dict[str, str] = {}
    for package in sorted(packages, key=lambda p: p.name):
        if package.dev_locked:
            require[package.name] = "dev-main"
            expected[package.name] = "dev-main"
            continue
        locked = package.locked().version
        same_line = [r.version for r in package.stable_releases()
                     if r.version.line() == locked.line() and r.version.key() <= locked.key()]
        floor = max(min(v.minor for v in same_line), locked.minor - rng.randint(0, 3))
        require[package.name] = caret(locked, floor)
        expected[package.name] = locked.pretty(package.prefix)
    composer_json = {
        "name": "upkeep-bench/shop",
        "description": "A generated project for bench/upgrade.sh: locks every package of the generated repository.",
        "type": "project",
        "license": "proprietary",
        "require": require,
        "repositories": [
            {"type": "composer", "url": "http://127.0.0.1:0"},
            {"packagist.org": False},
        ],
        "config": {
            "secure-http": False,
            "sort-packages": True,
            "platform": {"php": "8.2.10"},
        },
    }
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / "composer.json").write_text(json.dumps(composer_json, indent=4) + "\n")
    return expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/upgrade"))
    parser.add_argument("--packages", type=int, default=600)
    parser.add_argument("--vendors", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.vendors > len(VENDOR_WORDS) or args.packages < 3 * args.vendors:
        print(f"error: need at most {len(VENDOR_WORDS)} vendors and at least 3 packages per vendor",
              file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    packages = make_packages(rng, args.packages, args.vendors)
    pick_dependencies(rng, packages)
    # A few packages nobody depends on are locked on their `dev-main` branch.
    loose = [p for p in packages if p.dependents == 0 and p.conflict_dep is None]
    for package in rng.sample(loose, min(3, len(loose))):
        package.dev_locked = True
    fill_requirements(rng, packages)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    old_versions = write_repository(out / "repo-old", packages, old=True)
    versions = write_repository(out / "repo", packages, old=False)
    expected = write_project(out / "project", packages)
    tagged = [r for p in packages for r in p.releases]
    after_lock = [r for r in tagged if r.day > LOCK_DAY and r.stable]
    manifest = {
        "seed": args.seed,
        "packages": len(packages),
        "vendors": args.vendors,
        "versions": versions,
        "versions_at_lock": old_versions,
        "stable_releases": sum(1 for r in tagged if r.stable),
        "pre_releases": sum(1 for r in tagged if not r.stable),
        "stable_releases_after_lock": len(after_lock),
        "packages_with_releases_after_lock": sum(
            1 for p in packages if any(r.day > LOCK_DAY and r.stable for r in p.releases)),
        "requirements": sum(len(r.requires) for r in tagged),
        "dev_locked": sorted(p.name for p in packages if p.dev_locked),
        "lock_date": timestamp(LOCK_DAY),
        "expected_lock": expected,
    }
    (out / "bench-manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{len(packages)} packages, {versions} versions ({old_versions} at the lock date), "
          f"{manifest['packages_with_releases_after_lock']} packages released since; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
