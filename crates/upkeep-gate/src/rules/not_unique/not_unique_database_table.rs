//! `not-unique-database-table`: a table the project defines that core does not, without the
//! project prefix.

use std::collections::HashSet;

use upkeep_php::FileOrigin;

use super::{has_project_prefix, suggested_prefix, xml_name_span};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};

pub struct NotUniqueDatabaseTable;

pub static META: RuleMeta = RuleMeta {
    name: "not-unique-database-table",
    spryker_ids: &["NotUnique:DatabaseTable"],
    category: Category::NotUnique,
    summary: "A table defined in the project's *.schema.xml that core does not define, without the `pyz_` prefix.",
    documentation: "\
## What it finds
`<table name=\"...\">` elements in the project's `src/**/*.schema.xml` whose name no core
`*.schema.xml` (under `vendor/spryker*`) defines and that do not carry a project prefix as a
word (`pyz_brand`; also `spy_pyz_brand`). Table names compare case-insensitively. Tables that
core defines and the project extends are the business of `not-unique-database-column`.

## Why it matters
Spryker merges every schema file's definition of a table into one Propel model. When core later
ships a table with the project's name (`spy_brand`), the definitions merge: columns collide,
migrations fail, and both sides read rows they did not write.

## Example
```xml
<database xmlns=\"spryker:schema-01\" name=\"zed\" namespace=\"Orm\\Zed\\Brand\\Persistence\" package=\"src.Orm.Zed.Brand.Persistence\">
    <table name=\"spy_brand\">
        <column name=\"id_brand\" type=\"INTEGER\" primaryKey=\"true\" autoIncrement=\"true\"/>
    </table>
</database>
```

## Instead
```xml
    <table name=\"pyz_brand\">
        <column name=\"id_brand\" type=\"INTEGER\" primaryKey=\"true\" autoIncrement=\"true\"/>
    </table>
```

## Fix
Rename the table (a migration that renames it in the database, and the Propel classes that
follow: `PyzBrand`, `PyzBrandQuery`).

## Configuration
`evaluator.prefixes` in `tooling.yml` (default: the project namespaces, `Pyz`); the first
prefix, lower-cased, is the one suggested.

## Spryker id
`NotUnique:DatabaseTable`
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Persistence/Propel/Schema/spy_product.schema.xml",
                "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n    <table name=\"spy_product\">\n        <column name=\"id_product\" type=\"INTEGER\"/>\n    </table>\n</database>\n",
            ),
            (
                "src/Pyz/Zed/Brand/Persistence/Propel/Schema/spy_brand.schema.xml",
                "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n    <table name=\"spy_brand\">\n        <column name=\"id_brand\" type=\"INTEGER\"/>\n    </table>\n</database>\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Persistence/Propel/Schema/spy_product.schema.xml",
                "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n    <table name=\"spy_product\">\n        <column name=\"id_product\" type=\"INTEGER\"/>\n    </table>\n</database>\n",
            ),
            (
                "src/Pyz/Zed/Brand/Persistence/Propel/Schema/pyz_brand.schema.xml",
                "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n    <table name=\"pyz_brand\">\n        <column name=\"id_brand\" type=\"INTEGER\"/>\n    </table>\n    <table name=\"spy_product\">\n        <column name=\"id_product\" type=\"INTEGER\"/>\n    </table>\n</database>\n",
            ),
        ],
    },
    guideline: own_documentation!("not-unique-database-table"),
    needs_core: true,
};

impl Rule for NotUniqueDatabaseTable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        let is_core = |file| index.file(file).origin == FileOrigin::Core;
        let core_tables: HashSet<String> = index
            .tables
            .iter()
            .filter(|table| is_core(table.file))
            .map(|table| table.name.to_ascii_lowercase())
            .collect();
        let prefix = suggested_prefix(project.settings).to_ascii_lowercase();
        for table in index.tables.iter().filter(|table| !is_core(table.file)) {
            if core_tables.contains(&table.name.to_ascii_lowercase())
                || has_project_prefix(&table.name, &project.settings.prefixes)
            {
                continue;
            }
            // Core's own prefix is the part to replace: `spy_brand` -> `pyz_brand`.
            let base = table.name.strip_prefix("spy_").unwrap_or(&table.name);
            sink.push(project.finding(
                &META,
                table.file,
                xml_name_span(project, table.file, table.span),
                format!(
                    "table `{}` is not defined by core and has no project prefix: a later core release may ship a table `{}` and the definitions would merge; rename it to `{prefix}_{base}`",
                    table.name, table.name,
                ),
            ));
        }
    }
}
