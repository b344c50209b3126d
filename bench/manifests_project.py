#!/usr/bin/env python3
"""Turn a copy of the generated bench shop into the project of bench/manifests.sh.

Given two Spryker releases (bench/data/spryker-releases.json: the versions of the Spryker
packages each release locks) and Spryker's integrator-manifests, it writes into the project:

- a Composer repository on disk (`file://`, inline `packages`) with both versions of every
  package, each a zip with its composer.json and a core class for every class the manifests
  between the releases change in it (a plugin stack, a container extension, relationships, a
  config method or constant, each in the shape the integrator reads);
- composer.json requiring every package (at least the first release's version), with that
  repository only, so that Composer runs offline;
- a project class under src/Pyz for two of every three of those classes, each stack in one of
  the shapes real projects use (array literal, `array_merge(parent::...)`, a variable, empty, or
  no override), as crates/upkeep-integrator/tests/generated_shop.rs does;
- integrator.lock at the first release's versions, and the glossary and navigation files.

The output is deterministic. Standard library only.

Usage:
    python3 bench/manifests_project.py --project DIR --manifests DIR --releases FILE --repo DIR
Prints a JSON summary (packages, updated packages, manifests, steps, classes) on stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import zipfile
from pathlib import Path

STACK, EXTENSION, RELATIONSHIPS, CONFIG_METHOD, CONSTANT = range(5)


def version_key(version: str) -> tuple[int, ...]:
    parts = re.split(r"[.-]", version.lstrip("v"))[:4]
    return tuple(int(part) if part.isdigit() else -1 for part in parts)


def camel(kebab: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[-_]", kebab) if word)


def kebab(camel_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", camel_name).lower()


def members_of(kind: str, entry: dict) -> list[tuple[str, int]]:
    """The class members a step changes, with what they are (as generated_shop.rs reads them)."""

    def stack(target: str) -> tuple[str, int]:
        return (target, EXTENSION if "::extend" in target else STACK)

    def call_targets(entry: dict) -> list[tuple[str, int]]:
        call = entry.get("call")
        calls = call if isinstance(call, list) else [call] if isinstance(call, dict) else []
        return [stack(c["target"]) for c in calls if isinstance(c, dict) and "target" in c]

    if kind in ("wire-plugin", "unwire-plugin"):
        return [stack(entry["target"])] + call_targets(entry)
    if kind == "configure-module":
        target = entry["target"]
        name = target.rsplit("::", 1)[-1]
        if re.fullmatch(r"[A-Z0-9_]+", name):
            return [(target, CONSTANT)]
        value = entry.get("value")
        literal = isinstance(value, dict) and "is_literal" in value
        return [(target, STACK if isinstance(value, (list, dict)) and not literal else CONFIG_METHOD)]
    if kind == "add-config-array-element":
        return [(entry["target"], STACK)] + [(c, STACK) for c, _ in call_targets(entry)]
    if kind in ("wire-widget", "unwire-widget"):
        return [("\\SprykerShop\\Yves\\ShopApplication\\ShopApplicationDependencyProvider::getGlobalWidgets", STACK)]
    if kind in ("wire-glue-relationship", "unwire-glue-relationship"):
        target = entry.get("target") or "\\Spryker\\Glue\\GlueApplication\\GlueApplicationDependencyProvider"
        if "::" in target:
            return [stack(target)] + call_targets(entry)
        return [(f"{target}::getResourceRelationshipPlugins", RELATIONSHIPS)]
    return []


def entries(value) -> list[dict]:
    if isinstance(value, list):
        return [entry for entry in value if isinstance(entry, dict)]
    return []


def core_class(fqcn: str, members: dict[str, int]) -> str:
    namespace, short = fqcn.rsplit("\\", 1)
    layer = fqcn.split("\\")[1]
    body = []
    for name, kind in sorted(members.items()):
        if kind == STACK:
            body.append(f"    /**\n     * @return array<\\Spryker\\Shared\\Kernel\\Plugin\\PluginInterface>\n     */\n"
                        f"    protected function {name}(): array\n    {{\n        return [];\n    }}\n")
        elif kind == EXTENSION:
            body.append(f"    protected function {name}(Container $container): Container\n    {{\n        return $container;\n    }}\n")
        elif kind == RELATIONSHIPS:
            body.append(f"    protected function {name}(ResourceRelationshipCollectionInterface $resourceRelationshipCollection): ResourceRelationshipCollectionInterface\n"
                        f"    {{\n        return $resourceRelationshipCollection;\n    }}\n")
        elif kind == CONFIG_METHOD:
            body.append(f"    public function {name}()\n    {{\n        return null;\n    }}\n")
        else:
            body.append(f"    public const {name} = null;\n")
    return (f"<?php\n\nnamespace {namespace};\n\nuse Spryker\\{layer}\\Kernel\\Container;\n"
            f"use Spryker\\Glue\\GlueApplicationExtension\\Dependency\\Plugin\\ResourceRelationshipCollectionInterface;\n\n"
            f"class {short}\n{{\n" + "\n".join(body) + "}\n")


def project_class(fqcn: str, core: str, members: dict[str, int], seed: int) -> str:
    namespace, short = fqcn.rsplit("\\", 1)
    layer = fqcn.split("\\")[1]
    existing = f"Spryker\\{layer}\\Existing\\Communication\\Plugin\\ExistingPlugin"
    body = []
    for index, (name, kind) in enumerate(sorted(members.items())):
        shape = (seed + index) % 5
        if shape == 4:
            continue
        if kind == STACK and shape == 0:
            body.append(f"    protected function {name}(): array\n    {{\n        return [\n            new \\{existing}(),\n        ];\n    }}\n")
        elif kind == STACK and shape == 1:
            body.append(f"    protected function {name}(): array\n    {{\n        return array_merge(parent::{name}(), [\n            new ExistingPlugin(),\n        ]);\n    }}\n")
        elif kind == STACK and shape == 2:
            body.append(f"    protected function {name}(): array\n    {{\n        $plugins = [\n            new ExistingPlugin(),\n        ];\n\n        return $plugins;\n    }}\n")
        elif kind == STACK:
            body.append(f"    protected function {name}(): array\n    {{\n        return [];\n    }}\n")
        elif kind == EXTENSION:
            body.append(f"    protected function {name}(Container $container): Container\n    {{\n"
                        f"        $container->extend(static::PLUGINS, function ($collection) {{\n"
                        f"            $collection->add(new ExistingPlugin(), 'existing');\n\n            return $collection;\n        }});\n\n"
                        f"        return $container;\n    }}\n")
        elif kind == RELATIONSHIPS:
            body.append(f"    protected function {name}(ResourceRelationshipCollectionInterface $resourceRelationshipCollection): ResourceRelationshipCollectionInterface\n"
                        f"    {{\n        $resourceRelationshipCollection->addRelationship('existing', new ExistingPlugin());\n\n"
                        f"        return $resourceRelationshipCollection;\n    }}\n")
        elif kind == CONFIG_METHOD:
            body.append(f"    public function {name}()\n    {{\n        return 'project';\n    }}\n")
        else:
            body.append(f"    public const {name} = 'project';\n")
    alias = core.split("\\")[0] + short
    return (f"<?php\n\nnamespace {namespace};\n\nuse {core} as {alias};\nuse {existing};\n"
            f"use Spryker\\{layer}\\Kernel\\Container;\n"
            f"use Spryker\\Glue\\GlueApplicationExtension\\Dependency\\Plugin\\ResourceRelationshipCollectionInterface;\n\n"
            f"class {short} extends {alias}\n{{\n" + "\n".join(body) + "}\n")


def write_zip(path: Path, files: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--manifests", type=Path, required=True)
    parser.add_argument("--releases", type=Path, required=True)
    parser.add_argument("--repo", type=Path, required=True)
    args = parser.parse_args()

    releases = json.loads(args.releases.read_text())
    old, new = releases["from"]["packages"], releases["to"]["packages"]
    updated = sorted(name for name in old if old[name] != new[name])

    # The manifests between the releases, and the class members they change.
    manifests = steps = 0
    modules_with_manifests = set()
    classes: dict[str, dict[str, int]] = {}
    for name in updated:
        vendor, package = name.split("/")
        directory = args.manifests / camel(vendor) / camel(package)
        if not directory.is_dir():
            continue
        for version_dir in sorted(directory.iterdir(), key=lambda path: version_key(path.name)):
            if not (version_key(old[name]) < version_key(version_dir.name) <= version_key(new[name])):
                continue
            manifest = json.loads((version_dir / "installer-manifest.json").read_text())
            manifests += 1
            modules_with_manifests.add(name)
            for kind, value in manifest.items():
                for entry in entries(value):
                    steps += 1
                    for target, member in members_of(kind, entry):
                        if "::" not in target:
                            continue
                        fqcn, member_name = target.lstrip("\\").split("::", 1)
                        if fqcn.count("\\") < 3:
                            continue
                        classes.setdefault(fqcn, {}).setdefault(member_name, member)
                if isinstance(value, dict):
                    # Keyed steps (glossary keys, environment configuration, ...).
                    steps += sum(len(v) if isinstance(v, (list, dict)) else 1 for v in value.values())

    # Core classes go into the package that owns them: `Spryker\Zed\Acl\...` is spryker/acl.
    package_files: dict[str, dict[str, str]] = {}
    loose = 0
    for fqcn, members in classes.items():
        organisation, _, module = fqcn.split("\\")[:3]
        package = f"{kebab(organisation)}/{kebab(module)}"
        path = f"src/{fqcn.replace(chr(92), '/')}.php"
        if package in old:
            package_files.setdefault(package, {})[path] = core_class(fqcn, members)
        else:
            # Not a package of the releases (none is updated): in vendor/ as it is.
            target = args.project / "vendor" / package / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(core_class(fqcn, members))
            loose += 1

    # The repository: both versions of every package.
    repo = args.repo.resolve()
    packages_json: dict[str, dict[str, dict]] = {}
    for name in sorted(old):
        organisation = camel(name.split("/")[0])
        files = dict(package_files.get(name, {}))
        composer = {
            "name": name,
            "type": "library",
            "autoload": {"psr-4": {f"{organisation}\\": f"src/{organisation}/"}},
        }
        files["composer.json"] = json.dumps(composer, indent=4) + "\n"
        versions = {}
        for version in sorted({old[name], new[name]}, key=version_key):
            archive = repo / "dist" / name / f"{version}.zip"
            write_zip(archive, files)
            versions[version] = dict(composer, version=version, dist={"type": "zip", "url": f"file://{archive}"})
        packages_json[name] = versions
    (repo / "packages.json").write_text(json.dumps({"packages": packages_json}, indent=1) + "\n")

    # The project: composer.json, integrator.lock, project classes, the files steps edit.
    project = args.project
    composer_json = {
        "name": "bench/manifests-shop",
        "type": "project",
        "require": {name: f">={old[name]}" for name in sorted(old)},
        "repositories": [{"type": "composer", "url": f"file://{repo}"}, {"packagist.org": False}],
        "config": {"platform": {"php": "8.2.10"}, "allow-plugins": False},
        "minimum-stability": "stable",
    }
    (project / "composer.json").write_text(json.dumps(composer_json, indent=4) + "\n")
    (project / "composer.lock").unlink(missing_ok=True)
    lock = {f"{camel(name.split('/')[0])}.{camel(name.split('/')[1])}": old[name] for name in updated}
    (project / "integrator.lock").write_text(json.dumps(lock, indent=2) + "\n")
    written = 0
    for index, (fqcn, members) in enumerate(sorted(classes.items())):
        if index % 3 == 2:
            continue
        project_fqcn = "Pyz\\" + fqcn.split("\\", 1)[1]
        path = project / "src" / f"{project_fqcn.replace(chr(92), '/')}.php"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(project_class(project_fqcn, fqcn, members, index))
        written += 1
    glossary = project / "data/import/common/common/glossary.csv"
    glossary.parent.mkdir(parents=True, exist_ok=True)
    if not glossary.exists():
        glossary.write_text("key,translation,locale\n")
    navigation = project / "config/Zed/navigation.xml"
    navigation.parent.mkdir(parents=True, exist_ok=True)
    if not navigation.exists():
        navigation.write_text("<?xml version=\"1.0\"?>\n<config>\n    <users>\n        <label>Users</label>\n    </users>\n"
                              "    <administration>\n        <label>Administration</label>\n        <pages>\n        </pages>\n"
                              "    </administration>\n</config>\n")

    print(json.dumps({
        "packages": len(old),
        "updated": len(updated),
        "modules_with_manifests": len(modules_with_manifests),
        "manifests": manifests,
        "steps": steps,
        "core_classes": len(classes),
        "core_classes_outside_the_packages": loose,
        "project_classes": written,
    }))


if __name__ == "__main__":
    main()
