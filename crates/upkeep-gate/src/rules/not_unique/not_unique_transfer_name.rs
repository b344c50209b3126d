//! `not-unique-transfer-name`: a transfer object the project defines that core does not,
//! without the project prefix.

use std::collections::HashSet;

use upkeep_php::FileOrigin;

use super::{has_project_prefix, suggested_prefix, upper_first, xml_name_span};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};

pub struct NotUniqueTransferName;

pub static META: RuleMeta = RuleMeta {
    name: "not-unique-transfer-name",
    spryker_ids: &["NotUnique:TransferName"],
    category: Category::NotUnique,
    summary: "A transfer defined in the project's *.transfer.xml that core does not define, without the project prefix.",
    documentation: "\
## What it finds
`<transfer name=\"...\">` elements in the project's `src/**/*.transfer.xml` whose name no core
`*.transfer.xml` (under `vendor/spryker*`) defines and that do not carry a project prefix as a
word (`PyzProductColor`). Names compare case-insensitively, as the generated PHP classes do.
Each project definition is reported (a transfer defined in two project files is reported
twice), at its `name` attribute. Transfers that core defines and the project extends are the
business of `not-unique-transfer-property`.

## Why it matters
Spryker merges every definition of a transfer name into one generated class. When core later
defines a transfer with the project's name, the two definitions merge: properties of the same
name with different types break the transfer generation, and core code receives a transfer
it did not expect.

## Example
```xml
<transfers xmlns=\"spryker:transfer-01\">
    <transfer name=\"ProductColor\">
        <property name=\"name\" type=\"string\"/>
    </transfer>
</transfers>
```

## Instead
```xml
    <transfer name=\"PyzProductColor\">
```

## Fix
Rename the transfer (and its uses: `PyzProductColorTransfer` in PHP, `type=\"PyzProductColor\"`
in other transfer definitions), then regenerate transfers (`console transfer:generate`).

## Configuration
`evaluator.prefixes` in `tooling.yml` (default: the project namespaces, `Pyz`).

## Spryker id
`NotUnique:TransferName`
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Shared/Product/Transfer/product.transfer.xml",
                "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"ProductAbstract\">\n        <property name=\"sku\" type=\"string\"/>\n    </transfer>\n</transfers>\n",
            ),
            (
                "src/Pyz/Shared/Product/Transfer/product.transfer.xml",
                "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"ProductColor\">\n        <property name=\"name\" type=\"string\"/>\n    </transfer>\n</transfers>\n",
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
                "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"ProductAbstract\">\n        <property name=\"sku\" type=\"string\"/>\n    </transfer>\n    <transfer name=\"PyzProductColor\">\n        <property name=\"name\" type=\"string\"/>\n    </transfer>\n</transfers>\n",
            ),
        ],
    },
    guideline: own_documentation!("not-unique-transfer-name"),
    needs_core: true,
};

impl Rule for NotUniqueTransferName {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        let is_core = |file| index.file(file).origin == FileOrigin::Core;
        let core_names: HashSet<String> = index
            .transfers
            .iter()
            .filter(|transfer| is_core(transfer.file))
            .map(|transfer| transfer.name.to_ascii_lowercase())
            .collect();
        let prefix = suggested_prefix(project.settings);
        for transfer in index
            .transfers
            .iter()
            .filter(|transfer| !is_core(transfer.file))
        {
            if core_names.contains(&transfer.name.to_ascii_lowercase())
                || has_project_prefix(&transfer.name, &project.settings.prefixes)
            {
                continue;
            }
            sink.push(project.finding(
                &META,
                transfer.file,
                xml_name_span(project, transfer.file, transfer.span),
                format!(
                    "transfer `{}` is not defined by core and has no project prefix: a later core release may define `{}` too and the definitions would merge; rename it to `{}{}`",
                    transfer.name,
                    transfer.name,
                    upper_first(prefix),
                    transfer.name,
                ),
            ));
        }
    }
}
