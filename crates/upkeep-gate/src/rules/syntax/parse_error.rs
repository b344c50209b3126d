//! `parse-error`: a project file that cannot be read as PHP, XML, JSON or YAML.
//! The engine reports these while reading the project; the rule holds their metadata.

use crate::finding::{Finding, Location};
use crate::manifests::location_of_value;
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};

pub struct ParseError;

pub static META: RuleMeta = RuleMeta {
    name: "parse-error",
    spryker_ids: &[],
    category: Category::Syntax,
    summary: "A project file that cannot be parsed (PHP, transfer or schema XML, composer JSON, deploy YAML).",
    documentation: "\
## What it finds
Project files that do not parse: PHP syntax errors, malformed `*.transfer.xml` / `*.schema.xml`,
invalid `composer.json` / `composer.lock`, invalid deploy YAML. The finding points at the first
position the parser could not accept.

## Why it matters
A file that does not parse cannot be checked, and will break the build or the deployment. Every
other file is still checked, so one broken file never hides the rest of the report.

## Example
```php
class ProductFacade {
    public function get( {}
}
```

## Instead
```php
class ProductFacade {
    public function get() {}
}
```

## Fix
Correct the syntax at the reported position.

## Configuration
None. Vendor files are never reported.

## Spryker id
None: Spryker's evaluator stops with a PHP fatal error instead.
",
    bad_example: Example {
        files: &[(
            "src/Pyz/Zed/Product/Business/ProductFacade.php",
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    public function get( {}\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "src/Pyz/Zed/Product/Business/ProductFacade.php",
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    public function get() {}\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/upgradability-guidelines.html",
    needs_core: false,
};

impl Rule for ParseError {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    // PHP and XML parse problems come from reading the index (see the engine); the manifests
    // (Composer and npm JSON) are parsed on first use and reported here, and so are the deploy
    // files the caller could not read (their reader, with imports, is the caller's).
    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        project.manifests.report_parse_errors(sink);
        for deploy in project.inputs.deploy_files.iter().flatten() {
            let Err(problem) = &deploy.image else {
                continue;
            };
            let location = problem.at.as_ref().map_or_else(
                || Location::whole_file(&deploy.file),
                |at| location_of_value(project.root, at, ""),
            );
            sink.push(Finding::new(&META, location, problem.message.clone()));
        }
    }
}
