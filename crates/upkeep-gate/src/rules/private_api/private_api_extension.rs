//! `private-api-extension`: a project business model extends a core class that is private API.

use upkeep_php::ClassKind;

use super::{
    USE_PUBLIC_API, is_private_api, is_project_business_model, mirrored_constructor_parameters,
};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};

pub struct PrivateApiExtension;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-extension",
    spryker_ids: &["PrivateApi:Extension"],
    category: Category::PrivateApi,
    summary: "A project business model extends a core class that is private API.",
    documentation: "\
## What it finds
A project class whose short name makes it a business model (it does not end in `Factory`,
`DependencyProvider`, `DependencyInjector`, `Config`, `Controller`, `Service`, `Client`,
`Facade`, `EntityManager`, `Repository`, `QueryContainer`, `Widget`, `Plugin` or
`EventSubscriber`) and whose parent class, after resolving imports and aliases, is a core class
that is private API: not a facade, client, service, query container, plugin (by name or by a
`Plugin` namespace), config, controller, dependency provider, transfer, exception, console
command, Twig function or constants interface, and not on the ignore list (`Kernel`
namespaces, `*Bootstrap`, `*ConfigurationProvider`, the `Development` and `*DataImport`
modules, `Gui`'s `AbstractTable` and `AbstractTabs`, `DecimalObject`).

The finding points at the name of the project class. Only the class that extends core
directly is reported; its own project subclasses are not. When the class's constructor takes
private-API dependencies of the parent's constructor to pass them on, the finding names them
(`private-api-dependency-in-business-model` then does not report them a second time).

## Why it matters
Business models, readers, writers and mappers are Spryker's internals: their constructors,
protected methods and behaviour change in minor releases without notice. A project class
that inherits from one breaks, or silently behaves differently, after a `composer update`.

## Example
```php
namespace Pyz\\Zed\\Product\\Business\\Reader;

use Spryker\\Zed\\Product\\Business\\Reader\\ProductReader as SprykerProductReader;

class ProductReader extends SprykerProductReader
{
}
```

## Instead
```php
class ProductReader implements ProductReaderInterface
{
    public function __construct(protected ProductFacadeInterface $productFacade)
    {
    }
}
```

## Fix
Write the project's own class and reach core through its public API: the module's facade
(or client, service), or a plugin at an extension point. When core offers no extension point
for what you need, ask Spryker for one instead of inheriting its internals.

## Configuration
`@upkeep-ignore private-api-extension` in the doc block of the class silences the rule there;
`tooling.yml` `evaluator.ignoreErrors` entries for `PrivateApi:Extension` apply too.

## Spryker id
`PrivateApi:Extension`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/Reader/ProductReader.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Reader;\n\nuse Spryker\\Zed\\Product\\Business\\Reader\\ProductReader as SprykerProductReader;\n\nclass ProductReader extends SprykerProductReader\n{\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/Reader/ProductReader.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Reader;\n\nclass ProductReader\n{\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/Reader/ProductReader.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Reader;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacadeInterface;\n\nclass ProductReader\n{\n    public function __construct(protected ProductFacadeInterface $productFacade)\n    {\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacadeInterface.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\ninterface ProductFacadeInterface\n{\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("private-api-extension"),
    needs_core: true,
};

impl Rule for PrivateApiExtension {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        for class in index.project_classes() {
            if class.kind != ClassKind::Class || !is_project_business_model(class) {
                continue;
            }
            let Some(parent) = class.parent().and_then(|name| index.class(name)) else {
                continue;
            };
            if !is_private_api(parent) {
                continue;
            }
            let mirrored = mirrored_constructor_parameters(index, class);
            let constructor = if mirrored.is_empty() {
                String::new()
            } else {
                let parameters = mirrored
                    .iter()
                    .map(|(name, types)| format!("`${name}` ({})", types.join("|")))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "; its constructor takes the parent's private-API dependencies {parameters} to pass them on, and drops them with the extension"
                )
            };
            sink.push(project.finding(
                &META,
                class.file,
                class.name_span,
                format!(
                    "`{}` extends `{}`, a core class that is private API and may change in any minor release; {USE_PUBLIC_API} instead of extending it{constructor}",
                    class.name, parent.name
                ),
            ));
        }
    }
}
