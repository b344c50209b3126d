//! `not-unique-transfer-property`: a property the project adds to a core transfer without the
//! project prefix.

use std::collections::{HashMap, HashSet};

use upkeep_php::FileOrigin;

use super::{has_project_prefix, lower_first, suggested_prefix, upper_first, xml_name_span};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};

pub struct NotUniqueTransferProperty;

pub static META: RuleMeta = RuleMeta {
    name: "not-unique-transfer-property",
    spryker_ids: &["NotUnique:TransferProperty"],
    category: Category::NotUnique,
    summary: "A property added to a core transfer in the project's *.transfer.xml without the project prefix.",
    documentation: "\
## What it finds
`<property name=\"...\">` elements of a project `<transfer>` (in `src/**/*.transfer.xml`) whose
transfer core also defines, when no core definition of that transfer has the property and its
name does not carry a project prefix as a word (`pyzColor`). Transfer and property names compare
case-insensitively. Redeclaring a core property (to add `strict` or a `singular` name) is not
reported. Properties of transfers that core does not define are not checked: the transfer's
own name is the concern of `not-unique-transfer-name`.

## Why it matters
Spryker merges the project's and core's definitions of a transfer into one class. When core
later adds a property with the project's name but another type, transfer generation fails or
one side reads a value of the wrong type.

## Example
```xml
<transfer name=\"ProductAbstract\">
    <property name=\"color\" type=\"string\"/>
</transfer>
```

## Instead
```xml
<transfer name=\"ProductAbstract\">
    <property name=\"pyzColor\" type=\"string\"/>
</transfer>
```

## Fix
Rename the property and its accessors in PHP (`getColor()` becomes `getPyzColor()`), then
regenerate transfers.

## Configuration
`evaluator.prefixes` in `tooling.yml` (default: the project namespaces, `Pyz`).

## Spryker id
`NotUnique:TransferProperty`
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Shared/Product/Transfer/product.transfer.xml",
                "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"ProductAbstract\">\n        <property name=\"sku\" type=\"string\"/>\n    </transfer>\n</transfers>\n",
            ),
            (
                "src/Pyz/Shared/Product/Transfer/product.transfer.xml",
                "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"ProductAbstract\">\n        <property name=\"color\" type=\"string\"/>\n    </transfer>\n</transfers>\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Shared/Product/Transfer/product.transfer.xml",
                "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"ProductAbstract\">\n        <property name=\"sku\" type=\"string\"/>\n    </transfer>\n</transfers>\n",
            ),
            (
                "src/Pyz/Shared/Product/Transfer/product.transfer.xml",
                "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"ProductAbstract\">\n        <property name=\"sku\" type=\"string\" strict=\"true\"/>\n        <property name=\"pyzColor\" type=\"string\"/>\n    </transfer>\n</transfers>\n",
            ),
        ],
    },
    guideline: own_documentation!("not-unique-transfer-property"),
    needs_core: true,
};

impl Rule for NotUniqueTransferProperty {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        let is_core = |file| index.file(file).origin == FileOrigin::Core;
        let mut core_properties: HashMap<String, HashSet<String>> = HashMap::new();
        for transfer in index
            .transfers
            .iter()
            .filter(|transfer| is_core(transfer.file))
        {
            core_properties
                .entry(transfer.name.to_ascii_lowercase())
                .or_default()
                .extend(
                    transfer
                        .properties
                        .iter()
                        .map(|property| property.name.to_ascii_lowercase()),
                );
        }
        let prefix = lower_first(suggested_prefix(project.settings));
        for transfer in index
            .transfers
            .iter()
            .filter(|transfer| !is_core(transfer.file))
        {
            let Some(known) = core_properties.get(&transfer.name.to_ascii_lowercase()) else {
                continue;
            };
            for property in &transfer.properties {
                if known.contains(&property.name.to_ascii_lowercase())
                    || has_project_prefix(&property.name, &project.settings.prefixes)
                {
                    continue;
                }
                sink.push(project.finding(
                    &META,
                    transfer.file,
                    xml_name_span(project, transfer.file, property.span),
                    format!(
                        "property `{}` added to core transfer `{}` has no project prefix: a later core release may add `{}` with another type; rename it to `{prefix}{}`",
                        property.name,
                        transfer.name,
                        property.name,
                        upper_first(&property.name),
                    ),
                ));
            }
        }
    }
}
