//! `not-unique-constant`: a constant that a project class adds to a core class without the
//! project prefix.

use upkeep_php::ClassKind;
use upkeep_php::names::short_name;

use super::constant_rename::rename_constant;
use super::rename_sources::{NameCase, RenameSources};
use super::{Lineage, has_project_prefix, on_ignored_core, suggested_prefix};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};

pub struct NotUniqueConstant;

pub static META: RuleMeta = RuleMeta {
    name: "not-unique-constant",
    spryker_ids: &["NotUnique:Constant"],
    category: Category::NotUnique,
    summary: "A constant added to a core class (or core interface) by a project class without the project prefix.",
    documentation: "\
## What it finds
Class constants declared by a project class whose parent chain reaches a core class, or by a
project interface that extends a core interface (`Pyz\\Shared\\Foo\\FooConstants extends
SprykerFooConstants`), when the constant is new and its name does not carry a project prefix
as a word (`PYZ_FOO`, also `FOO_PYZ_BAR`).

A constant is new when nothing the class inherits from declares it: not the parent chain
(core or project), not an implemented interface, not a used trait. Redeclaring a core constant
(`protected const DEFAULT_LIMIT = 50;` in a project `Config`) is how Spryker projects change
core behaviour and is not reported. Every visibility counts: PHP refuses a private child
constant once the parent declares a public one of the same name.

Spryker's checker compares with the nearest core parent only and skips interfaces; this rule
reads the whole lineage and checks constants interfaces too, which is where projects add most
of their configuration keys. A class whose ancestry leaves the indexed code (a core console
extends Symfony's `Command`) is still checked: third-party parents declare few constants, and
for such a class no automatic fix is offered.

A constant added to a class whose nearest core parent is on the ignore list of Spryker's former
checker (the `*DataImport` modules, whose import steps declare CSV column keys such as
`COLUMN_SKU`; bootstrap and development code; `Gui`'s tables) is reported as a **warning**: it
does not fail the gate. `docs/gate-vs-spryker.md` lists where this rule is stricter than
Spryker's checker.

## Why it matters
Core adds constants in minor releases. When core's new constant has the name of the project's,
the project's silently overrides it (a different value where core reads `static::FOO`), or PHP
refuses to load the class (a narrower visibility, a `final` constant). A prefixed name cannot
collide.

## Example
```php
namespace Pyz\\Zed\\Product;

use Spryker\\Zed\\Product\\ProductConfig as SprykerProductConfig;

class ProductConfig extends SprykerProductConfig
{
    protected const DEFAULT_LIMIT = 50; // core declares it: fine
    public const COLOR_ATTRIBUTE = 'color'; // new and unprefixed
}
```

## Instead
```php
    public const PYZ_COLOR_ATTRIBUTE = 'color';
```

## Fix
Rename the constant to carry the prefix. `--fix` does it when it is safe: it renames the
declaration and every use in `src/`, `config/` and `public/` (`self::`, `static::`, `parent::`,
the class name or an alias of it, subclasses and implementers that inherit the constant). It
offers no fix when a use cannot be resolved statically (`$object::FOO`, `X::{$name}`,
`constant()` with a computed name or a string naming the constant), when the new name is taken,
when a subclass redeclares the constant, or when the class inherits from code outside the index.

## Configuration
`evaluator.prefixes` in `tooling.yml` (default: the project namespaces, `Pyz`); the first
prefix, upper-cased, is the one suggested.

## Spryker id
`NotUnique:Constant`
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/ProductConfig.php",
                "<?php\nnamespace Spryker\\Zed\\Product;\n\nclass ProductConfig\n{\n    protected const DEFAULT_LIMIT = 10;\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/ProductConfig.php",
                "<?php\nnamespace Pyz\\Zed\\Product;\n\nuse Spryker\\Zed\\Product\\ProductConfig as SprykerProductConfig;\n\nclass ProductConfig extends SprykerProductConfig\n{\n    public const COLOR_ATTRIBUTE = 'color';\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/ProductConfig.php",
                "<?php\nnamespace Spryker\\Zed\\Product;\n\nclass ProductConfig\n{\n    protected const DEFAULT_LIMIT = 10;\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/ProductConfig.php",
                "<?php\nnamespace Pyz\\Zed\\Product;\n\nuse Spryker\\Zed\\Product\\ProductConfig as SprykerProductConfig;\n\nclass ProductConfig extends SprykerProductConfig\n{\n    protected const DEFAULT_LIMIT = 50;\n    public const PYZ_COLOR_ATTRIBUTE = 'color';\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("not-unique-constant"),
    needs_core: true,
};

impl Rule for NotUniqueConstant {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        let prefix = suggested_prefix(project.settings).to_ascii_uppercase();
        let mut unprefixed = Vec::new();
        for class in index.project_classes() {
            if !matches!(class.kind, ClassKind::Class | ClassKind::Interface) {
                continue;
            }
            let lineage = Lineage::of(index, class);
            let Some(core) = lineage.core else {
                continue;
            };
            for constant in &class.constants {
                if has_project_prefix(&constant.name, &project.settings.prefixes)
                    || lineage.declares_constant(&constant.name)
                {
                    continue;
                }
                unprefixed.push((class, core, constant));
            }
        }
        if unprefixed.is_empty() {
            return;
        }
        let sources = RenameSources::of(
            project,
            unprefixed
                .iter()
                .map(|(_, _, constant)| constant.name.as_str()),
            NameCase::Sensitive,
        );
        for (class, core, constant) in unprefixed {
            let renamed = format!("{prefix}_{}", constant.name);
            let finding = project.finding(
                &META,
                class.file,
                constant.name_span,
                format!(
                    "constant `{}::{}` is new to core's `{}` and has no project prefix: a later core release may declare `{}` too; rename it to `{renamed}`",
                    short_name(&class.name),
                    constant.name,
                    core.name,
                    constant.name,
                ),
            );
            let finding = match rename_constant(index, &sources, class, &constant.name, &renamed) {
                Ok(fix) => finding.with_fix(fix),
                Err(_) => finding,
            };
            sink.push(on_ignored_core(finding, core));
        }
    }
}

#[cfg(test)]
mod tests {

    use super::{NameCase, RenameSources, rename_constant};
    use crate::finding::{Finding, Fix};
    use crate::manifests::ProjectManifests;
    use crate::rule::ProjectScope;
    use crate::rules::not_unique::constant_rename::Unsafe;
    use crate::rules::packages::test_support::{apply_fix, run_rules};
    use crate::settings::GateSettings;

    const CORE_CONFIG: (&str, &str) = (
        "vendor/spryker/product/src/Spryker/Zed/Product/ProductConfig.php",
        "<?php\nnamespace Spryker\\Zed\\Product;\n\nclass ProductConfig\n{\n    protected const DEFAULT_LIMIT = 10;\n\n    public function getLimit(): int\n    {\n        return static::DEFAULT_LIMIT;\n    }\n}\n",
    );

    const PROJECT_CONFIG: &str = "src/Pyz/Zed/Product/ProductConfig.php";

    fn project(extra: &[(&'static str, &'static str)], config_body: &str) -> Vec<(String, String)> {
        let mut files = vec![
            (CORE_CONFIG.0.to_string(), CORE_CONFIG.1.to_string()),
            (
                PROJECT_CONFIG.to_string(),
                format!(
                    "<?php\nnamespace Pyz\\Zed\\Product;\n\nuse Spryker\\Zed\\Product\\ProductConfig as SprykerProductConfig;\n\nclass ProductConfig extends SprykerProductConfig\n{{\n{config_body}}}\n"
                ),
            ),
        ];
        files.extend(
            extra
                .iter()
                .map(|(path, text)| ((*path).to_string(), (*text).to_string())),
        );
        files
    }

    fn findings(files: &[(String, String)]) -> Vec<Finding> {
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect();
        run_rules(&["not-unique-constant"], &borrowed).findings
    }

    #[test]
    fn renames_the_declaration_and_every_resolvable_use() {
        let files = project(
            &[
                (
                    "src/Pyz/Zed/Product/Business/ColorReader.php",
                    "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Pyz\\Zed\\Product\\ProductConfig as Config;\nuse Pyz\\Zed\\Other\\OtherConfig;\n\nclass ColorReader\n{\n    public function read(): array\n    {\n        return [Config::COLOR, \\Pyz\\Zed\\Product\\ProductConfig::COLOR, OtherConfig::COLOR, SpecialConfig::COLOR];\n    }\n}\n",
                ),
                (
                    "src/Pyz/Zed/Product/Business/SpecialConfig.php",
                    "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Pyz\\Zed\\Product\\ProductConfig;\n\nclass SpecialConfig extends ProductConfig\n{\n    public function color(): string\n    {\n        return parent::COLOR . static::COLOR . self::COLOR;\n    }\n}\n",
                ),
                (
                    "src/Pyz/Zed/Other/OtherConfig.php",
                    "<?php\nnamespace Pyz\\Zed\\Other;\n\nclass OtherConfig\n{\n    public const COLOR = 'other';\n}\n",
                ),
                (
                    "config/Shared/config_default.php",
                    "<?php\nuse Pyz\\Zed\\Product\\ProductConfig;\n\n$config['color'] = ProductConfig::COLOR;\n",
                ),
            ],
            "    public const COLOR = 'color';\n\n    public function colors(): array\n    {\n        return [self::COLOR, static::COLOR, 'COLORS'];\n    }\n",
        );
        let found = findings(&files);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].location.file, PROJECT_CONFIG);
        assert_eq!(found[0].location.start.line, 8);
        assert!(found[0].message.contains("rename it to `PYZ_COLOR`"));
        let fix = found[0].fix.as_ref().expect("a fix");
        assert_eq!(
            fix.description,
            "rename `ProductConfig::COLOR` to `PYZ_COLOR` and its 9 uses"
        );
        let fixed = apply_fix(&files, fix);
        assert_eq!(
            fixed.keys().collect::<Vec<_>>(),
            [
                "config/Shared/config_default.php",
                "src/Pyz/Zed/Product/Business/ColorReader.php",
                "src/Pyz/Zed/Product/Business/SpecialConfig.php",
                PROJECT_CONFIG,
            ]
        );
        assert!(fixed[PROJECT_CONFIG].contains("public const PYZ_COLOR = 'color';"));
        assert!(fixed[PROJECT_CONFIG].contains("[self::PYZ_COLOR, static::PYZ_COLOR, 'COLORS']"));
        assert!(
            fixed["src/Pyz/Zed/Product/Business/ColorReader.php"].contains(
                "[Config::PYZ_COLOR, \\Pyz\\Zed\\Product\\ProductConfig::PYZ_COLOR, OtherConfig::COLOR, SpecialConfig::PYZ_COLOR]"
            )
        );
        assert!(
            fixed["src/Pyz/Zed/Product/Business/SpecialConfig.php"]
                .contains("parent::PYZ_COLOR . static::PYZ_COLOR . self::PYZ_COLOR")
        );
        assert!(fixed["config/Shared/config_default.php"].contains("ProductConfig::PYZ_COLOR;"));
    }

    #[test]
    fn constants_interfaces_rename_through_implementers() {
        let files = vec![
            (
                "vendor/spryker/product/src/Spryker/Shared/Product/ProductConstants.php".to_string(),
                "<?php\nnamespace Spryker\\Shared\\Product;\n\ninterface ProductConstants\n{\n    public const ENABLED = 'PRODUCT:ENABLED';\n}\n".to_string(),
            ),
            (
                "src/Pyz/Shared/Product/ProductConstants.php".to_string(),
                "<?php\nnamespace Pyz\\Shared\\Product;\n\nuse Spryker\\Shared\\Product\\ProductConstants as SprykerProductConstants;\n\ninterface ProductConstants extends SprykerProductConstants\n{\n    public const ENABLED = 'x';\n    public const FEED_URL = 'PRODUCT:FEED_URL';\n}\n".to_string(),
            ),
            (
                "src/Pyz/Zed/Product/Business/Feed.php".to_string(),
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Pyz\\Shared\\Product\\ProductConstants;\n\nclass Feed implements ProductConstants\n{\n    public function url(): string\n    {\n        return static::FEED_URL . ProductConstants::FEED_URL;\n    }\n}\n".to_string(),
            ),
        ];
        let found = findings(&files);
        let lines: Vec<u32> = found.iter().map(|f| f.location.start.line).collect();
        assert_eq!(lines, [9], "{found:#?}");
        let fix = found[0].fix.as_ref().expect("a fix");
        let fixed = apply_fix(&files, fix);
        assert!(
            fixed["src/Pyz/Zed/Product/Business/Feed.php"]
                .contains("static::PYZ_FEED_URL . ProductConstants::PYZ_FEED_URL")
        );
    }

    /// Loads the project and asks for the rename of `ProductConfig::COLOR` directly, to see
    /// why a fix is refused.
    fn rename(files: &[(String, String)]) -> Result<Fix, Unsafe> {
        let root = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = root.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let project = upkeep_php::load(root.path()).unwrap();
        let manifests = ProjectManifests::read(root.path()).unwrap();
        let settings = GateSettings::default();
        let scope = ProjectScope {
            root: root.path(),
            manifests: &manifests,
            index: &project.index,
            project: &project,
            settings: &settings,
            inputs: &crate::inputs::GateInputs::default(),
        };
        let class = project
            .index
            .class("Pyz\\Zed\\Product\\ProductConfig")
            .unwrap();
        let sources = RenameSources::of(&scope, ["COLOR"], NameCase::Sensitive);
        rename_constant(&project.index, &sources, class, "COLOR", "PYZ_COLOR")
    }

    #[test]
    fn no_fix_when_a_use_cannot_be_resolved() {
        let cases = [
            (
                "class User { public function a($config) { return $config::COLOR; } }",
                "`COLOR` is read from an expression",
            ),
            (
                "class User { public function a() { return constant('Pyz\\Zed\\Product\\ProductConfig::COLOR'); } }",
                "names `COLOR`",
            ),
            (
                "class User { public function a($name) { return constant($name) . 'COLOR'; } }",
                "`constant()` with a computed name",
            ),
            (
                "use Pyz\\Zed\\Product\\ProductConfig;\nclass User { public function a($n) { return ProductConfig::{$n} . 'COLOR'; } }",
                "a constant fetched by a computed name",
            ),
            (
                "use Pyz\\Zed\\Product\\ProductConfig;\nclass User extends ProductConfig { public function a() { return new class { public function b() { return self::COLOR; } }; } }",
                "a use inside an anonymous class",
            ),
            (
                "trait User { public function a() { return static::COLOR; } }",
                "`self`/`static` in a trait",
            ),
            (
                "use Pyz\\Zed\\Product\\ProductConfig;\nclass User extends ProductConfig { protected const COLOR = 'x'; }",
                "`Pyz\\Zed\\Product\\Business\\User` redeclares `COLOR`",
            ),
            (
                "use Pyz\\Zed\\Product\\ProductConfig;\nclass User extends ProductConfig { public const PYZ_COLOR = 'x'; }",
                "`Pyz\\Zed\\Product\\Business\\User` declares `PYZ_COLOR`",
            ),
            (
                "class User { public function a() { return COLOR::class; \n",
                "User.php does not parse",
            ),
        ];
        for (user, reason) in cases {
            let files = project(&[], "    public const COLOR = 'color';\n")
                .into_iter()
                .chain([(
                    "src/Pyz/Zed/Product/Business/User.php".to_string(),
                    format!("<?php\nnamespace Pyz\\Zed\\Product\\Business;\n{user}\n"),
                )])
                .collect::<Vec<_>>();
            let refused = rename(&files).expect_err(user);
            assert!(refused.0.contains(reason), "{user}: {refused:?}");
            // The rule still reports the constant, without a fix.
            let found = findings(&files);
            assert_eq!(found.len(), 1, "{found:#?}");
            assert_eq!(found[0].fix, None);
        }
        let taken = project(
            &[],
            "    public const COLOR = 'color';\n    public const PYZ_COLOR = 'c';\n",
        );
        assert_eq!(rename(&taken).unwrap_err().0, "`PYZ_COLOR` already exists");
        let fine = project(&[], "    public const COLOR = 'color';\n");
        assert_eq!(rename(&fine).unwrap().edits.len(), 1);
    }

    #[test]
    fn static_in_an_ancestor_that_relies_on_subclasses_blocks_the_fix() {
        let files = vec![
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/ProductConfig.php".to_string(),
                "<?php\nnamespace Spryker\\Zed\\Product;\nclass ProductConfig {}\n".to_string(),
            ),
            (
                "src/Pyz/Zed/Product/AbstractConfig.php".to_string(),
                "<?php\nnamespace Pyz\\Zed\\Product;\nuse Spryker\\Zed\\Product\\ProductConfig;\nabstract class AbstractConfig extends ProductConfig\n{\n    public function color(): string { return static::COLOR; }\n}\n".to_string(),
            ),
            (
                "src/Pyz/Zed/Product/ColorConfig.php".to_string(),
                "<?php\nnamespace Pyz\\Zed\\Product;\nclass ColorConfig extends AbstractConfig\n{\n    public const COLOR = 'c';\n}\n".to_string(),
            ),
        ];
        let found = findings(&files);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].location.file,
            "src/Pyz/Zed/Product/ColorConfig.php"
        );
        assert_eq!(found[0].fix, None);
    }
}
