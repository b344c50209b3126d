//! The reproducers of `shared/data/fuzz-crashes/` for the gate, generated here: each must end
//! as a `parse-error` finding naming the file (or a clear error), in bounded time, without
//! aborting the process. The gate runs on its own worker threads (2 MiB stacks, as rayon's).

use std::path::Path;
use std::time::{Duration, Instant};

use upkeep_gate::{GateOptions, run};

fn gate(files: &[(&str, String)], jobs: usize) -> upkeep_gate::GateReport {
    let project = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = project.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let options = GateOptions {
        root: project.path().to_path_buf(),
        exclude_rules: vec!["npm-advisory".to_string()],
        jobs,
        ..GateOptions::default()
    };
    run(&options).expect("a report")
}

/// The `parse-error` findings as `file:line: message`.
fn parse_errors(report: &upkeep_gate::GateReport) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|finding| finding.rule.name == "parse-error")
        .map(|finding| {
            format!(
                "{}:{}: {}",
                finding.location.file, finding.location.start.line, finding.message
            )
        })
        .collect()
}

fn timed<T>(limit: Duration, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = work();
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    result
}

#[test]
fn interpolation_nested_3000_deep_is_a_parse_error() {
    let n = 3000;
    let expr = format!("{}1{}", "\"{$a[".repeat(n), "]}\"".repeat(n));
    let php = format!(
        "<?php\nnamespace Pyz\\Zed\\Foo;\nclass Foo {{ public function x($a) {{ return {expr}; }} }}\n"
    );
    let report = timed(Duration::from_secs(10), || {
        gate(&[("src/Pyz/Zed/Foo/Foo.php", php)], 1)
    });
    assert_eq!(
        parse_errors(&report),
        [
            "src/Pyz/Zed/Foo/Foo.php:3: PHP syntax error: nested more than 256 levels deep (brackets, strings and interpolation); the file is not parsed"
        ]
    );
}

#[test]
fn transfer_xml_nested_5000_deep_is_a_parse_error() {
    let n = 5000;
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n{}{}</transfers>\n",
        "<transfer name=\"Product\">\n".repeat(n),
        "</transfer>\n".repeat(n)
    );
    let report = timed(Duration::from_secs(10), || {
        gate(&[("src/Pyz/Shared/Foo/Transfer/foo.transfer.xml", xml)], 1)
    });
    assert_eq!(
        parse_errors(&report),
        [
            "src/Pyz/Shared/Foo/Transfer/foo.transfer.xml:258: malformed XML: elements nested more than 256 levels deep; the file is not parsed"
        ]
    );
}

#[test]
fn schema_xml_opened_5000_times_is_a_parse_error() {
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n{}</database>\n",
        "    <table name=\"pyz_product_badge\">\n".repeat(5000)
    );
    let report = timed(Duration::from_secs(10), || {
        gate(
            &[(
                "src/Pyz/Zed/Foo/Persistence/Propel/Schema/foo.schema.xml",
                xml,
            )],
            1,
        )
    });
    assert_eq!(
        parse_errors(&report),
        [
            "src/Pyz/Zed/Foo/Persistence/Propel/Schema/foo.schema.xml:258: malformed XML: elements nested more than 256 levels deep; the file is not parsed"
        ]
    );
}

/// 2 MB of `a,` took 3.9 GB of memory; the parse now stops at its arena budget.
#[test]
fn two_megabytes_of_garbage_php_is_a_parse_error_within_the_budget() {
    let php = format!("<?php\n{}\n", "a,".repeat(1_000_000));
    let report = timed(Duration::from_secs(30), || {
        gate(&[("src/Pyz/Zed/Foo/Foo.php", php)], 1)
    });
    assert_eq!(
        parse_errors(&report),
        [
            "src/Pyz/Zed/Foo/Foo.php:1: PHP syntax error: parsing this file needs more than 520 MiB (the parser keeps recovering from errors); the file is not parsed"
        ]
    );
}

/// A doc-block line of only spaces (and an empty CRLF line) panicked the
/// `plugin-restriction-docblock` rule: the whole gate exited 101.
#[test]
fn white_space_only_doc_block_lines_do_not_abort_the_gate() {
    for newline in ["\n", "\r\n"] {
        let php = [
            "<?php",
            "namespace Pyz\\Zed\\Product;",
            "use Spryker\\Zed\\Product\\ProductDependencyProvider as SprykerProductDependencyProvider;",
            "class ProductDependencyProvider extends SprykerProductDependencyProvider",
            "{",
            "    protected function getProductAbstractPluginsAfterCreate(): array",
            "    {",
            "        return [",
            "            /**",
            "             * Restrictions:",
            "            ",
            "",
            "             * - runs before the storage plugin of the Store module",
            "             */",
            "            new ProductConcreteStoragePlugin(),",
            "        ];",
            "    }",
            "}",
            "",
        ]
        .join(newline);
        let report = gate(
            &[("src/Pyz/Zed/Product/ProductDependencyProvider.php", php)],
            1,
        );
        assert!(
            parse_errors(&report).is_empty(),
            "{:?}",
            parse_errors(&report)
        );
        let docblock: Vec<_> = report
            .findings
            .iter()
            .filter(|finding| finding.rule.name == "plugin-restriction-docblock")
            .map(|finding| finding.location.start.line)
            .collect();
        // The malformed restriction line is still reported, at its line.
        assert_eq!(docblock, [13], "{newline:?}");
    }
}

/// `--jobs 10000` did not finish in 120 s: the engine lowers it, with a notice.
#[test]
fn absurd_jobs_are_clamped_with_a_notice() {
    let report = timed(Duration::from_secs(20), || {
        gate(
            &[("src/Pyz/Zed/Foo/Foo.php", "<?php\n".to_string())],
            10_000,
        )
    });
    let notices: Vec<_> = report
        .notices
        .iter()
        .filter(|notice| notice.rule == "jobs")
        .map(|notice| notice.message.as_str())
        .collect();
    assert_eq!(notices.len(), 1, "{:?}", report.notices);
    assert!(
        notices[0].starts_with("--jobs 10000 lowered to "),
        "{}",
        notices[0]
    );
    assert!(Path::new(&report.root).is_absolute() || !report.root.as_os_str().is_empty());
}
