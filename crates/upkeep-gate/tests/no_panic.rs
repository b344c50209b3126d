//! Property test: whatever bytes a project's files hold, the whole gate (every rule except
//! `npm-advisory`, which would start npm per case) returns a report instead of panicking.

use proptest::prelude::*;
use upkeep_gate::{GateOptions, run};

const PHP_PIECES: &[&str] = &[
    "<?php\n",
    "namespace Pyz\\Zed\\Product;\n",
    "use Spryker\\Zed\\Kernel\\Container;\n",
    "class ProductDependencyProvider extends SprykerProductDependencyProvider {\n",
    "public function provideBusinessLayerDependencies(Container $container): Container {\n",
    "$container->set(static::X, function (Container $container) { return [new FooPlugin($a)]; });\n",
    "if ($x) {",
    "} elseif (!class_exists(X::class)) {",
    "return [[[new P()]]];",
    "/**\n * Restrictions:\n * - before {@link Foo}\n */\n",
    "new BarPlugin(new X(), 'a' . B::C);",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    ";",
    "'",
    "$",
    "\\",
    "/** @evaluator-skip-single-plugin-argument */",
    "fn() =>",
    "\u{00e4}",
    "\r\n",
];

const JSON_PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"require\"",
    "\"packages\"",
    "\"name\"",
    "\"version\"",
    "\"spryker/product\"",
    "\"dev-master\"",
    "\"php\"",
    "\">=7.4\"",
    "\"^8.2\"",
    "null",
    "1",
    "\"\"",
];

const YAML_PIECES: &[&str] = &[
    "image:\n",
    "  tag: spryker/php:8.2\n",
    "image: spryker/php:7.4\n",
    "  - ",
    ": ",
    "\n",
    "\"",
    "'",
    "[",
    "{",
    "%param%",
];

fn assembled(pieces: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(proptest::sample::select(pieces), 0..40)
            .prop_map(|pieces| pieces.concat().into_bytes()),
    ]
}

proptest! {
    // 48 cases in CI; `PROPTEST_CASES=N` runs more (docs/fuzzing.md).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_gate_never_panics(
        php in assembled(PHP_PIECES),
        xml in assembled(&["<transfers>", "<transfer name=\"A\">", "<property name=\"b\"/>", "</transfer>", "</transfers>", "<", ">", "\""]),
        composer_json in assembled(JSON_PIECES),
        composer_lock in assembled(JSON_PIECES),
        deploy in assembled(YAML_PIECES),
    ) {
        let project = tempfile::tempdir().unwrap();
        let files: [(&str, &[u8]); 5] = [
            ("src/Pyz/Zed/Product/ProductDependencyProvider.php", &php),
            ("src/Pyz/Shared/Product/Transfer/product.transfer.xml", &xml),
            ("composer.json", &composer_json),
            ("composer.lock", &composer_lock),
            ("deploy.yml", &deploy),
        ];
        for (path, content) in files {
            let full = project.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        let options = GateOptions {
            root: project.path().to_path_buf(),
            exclude_rules: vec!["npm-advisory".to_string()],
            jobs: 1,
            ..GateOptions::default()
        };
        let report = run(&options);
        prop_assert!(report.is_ok(), "{:?}", report.err());
    }
}
