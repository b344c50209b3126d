//! `not-unique-database-column`: a column the project adds to a core table without the
//! project prefix.

use std::collections::{HashMap, HashSet};

use upkeep_php::FileOrigin;

use super::{has_project_prefix, suggested_prefix, xml_name_span};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};

pub struct NotUniqueDatabaseColumn;

pub static META: RuleMeta = RuleMeta {
    name: "not-unique-database-column",
    spryker_ids: &["NotUnique:DatabaseColumn"],
    category: Category::NotUnique,
    summary: "A column added to a core table in the project's *.schema.xml without the `pyz_` prefix.",
    documentation: "\
## What it finds
`<column name=\"...\">` elements of a project `<table>` (in `src/**/*.schema.xml`) whose table
core also defines, when no core definition of that table has the column and its name does not
carry a project prefix as a word (`pyz_color`). Names compare case-insensitively. Redeclaring a
core column (to change its size or default) is not reported. Columns of tables that core does
not define are not checked: the table's own name is the concern of
`not-unique-database-table`.

## Why it matters
Spryker merges the project's and core's definitions of a table. When core later adds a column
with the project's name but another type, size or meaning, the migration changes the project's
data or fails, and core writes values the project does not expect.

## Example
```xml
<table name=\"spy_product\">
    <column name=\"color\" type=\"VARCHAR\" size=\"255\"/>
</table>
```

## Instead
```xml
<table name=\"spy_product\">
    <column name=\"pyz_color\" type=\"VARCHAR\" size=\"255\"/>
</table>
```

## Fix
Rename the column (a migration, and the Propel accessors that follow: `getPyzColor()`).

## Configuration
`evaluator.prefixes` in `tooling.yml` (default: the project namespaces, `Pyz`); the first
prefix, lower-cased, is the one suggested.

## Spryker id
`NotUnique:DatabaseColumn`
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Persistence/Propel/Schema/spy_product.schema.xml",
                "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n    <table name=\"spy_product\">\n        <column name=\"id_product\" type=\"INTEGER\"/>\n    </table>\n</database>\n",
            ),
            (
                "src/Pyz/Zed/Product/Persistence/Propel/Schema/spy_product.schema.xml",
                "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n    <table name=\"spy_product\">\n        <column name=\"color\" type=\"VARCHAR\" size=\"255\"/>\n    </table>\n</database>\n",
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
                "src/Pyz/Zed/Product/Persistence/Propel/Schema/spy_product.schema.xml",
                "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n    <table name=\"spy_product\">\n        <column name=\"id_product\" type=\"BIGINT\"/>\n        <column name=\"pyz_color\" type=\"VARCHAR\" size=\"255\"/>\n    </table>\n</database>\n",
            ),
        ],
    },
    guideline: own_documentation!("not-unique-database-column"),
    needs_core: true,
};

impl Rule for NotUniqueDatabaseColumn {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        let is_core = |file| index.file(file).origin == FileOrigin::Core;
        let mut core_columns: HashMap<String, HashSet<String>> = HashMap::new();
        for table in index.tables.iter().filter(|table| is_core(table.file)) {
            core_columns
                .entry(table.name.to_ascii_lowercase())
                .or_default()
                .extend(
                    table
                        .columns
                        .iter()
                        .map(|column| column.name.to_ascii_lowercase()),
                );
        }
        let prefix = suggested_prefix(project.settings).to_ascii_lowercase();
        for table in index.tables.iter().filter(|table| !is_core(table.file)) {
            let Some(known) = core_columns.get(&table.name.to_ascii_lowercase()) else {
                continue;
            };
            for column in &table.columns {
                if known.contains(&column.name.to_ascii_lowercase())
                    || has_project_prefix(&column.name, &project.settings.prefixes)
                {
                    continue;
                }
                sink.push(project.finding(
                    &META,
                    table.file,
                    xml_name_span(project, table.file, column.span),
                    format!(
                        "column `{}` added to core table `{}` has no project prefix: a later core release may add `{}` too; rename it to `{prefix}_{}`",
                        column.name, table.name, column.name, column.name,
                    ),
                ));
            }
        }
    }
}
