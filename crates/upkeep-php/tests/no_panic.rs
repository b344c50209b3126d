//! Property test: no input bytes make reading PHP, doc blocks or XML panic.

use proptest::prelude::*;
use upkeep_php::docblock::DocBlock;
use upkeep_php::extract::extract_facts;
use upkeep_php::parse::{parse_php, syntax_problems};
use upkeep_php::source::LineIndex;
use upkeep_php::spryker::ProjectNamespaces;
use upkeep_php::{FileId, xml};

/// Pieces of real PHP that random edits recombine, so inputs are near-valid and reach deep
/// into the parser and extractor rather than failing at the first byte.
const PIECES: &[&str] = &[
    "<?php\n",
    "namespace Pyz\\Zed\\Product;\n",
    "use Spryker\\Zed\\Kernel\\Container;\n",
    "use A\\{B, C as D};\n",
    "class ProductDependencyProvider extends Base implements I {\n",
    "interface I extends J, K {",
    "trait T {",
    "enum E: string {",
    "/** @method \\Foo getFactory()\n * @var int[] */\n",
    "/**",
    "*/",
    "public const A = 'a';\n",
    "protected function x(Container $c): ?self {",
    "public function __construct(private readonly Foo $foo) {}\n",
    "$container->set(static::X, function (Container $c) { return [new P()]; });\n",
    "if ($this->getConfig()->isDevelopment()) {",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    ";",
    "'",
    "\"",
    "$",
    "\\",
    "#[Attr]",
    "?->",
    "::",
    "fn() =>",
    "match ($x) {",
    "<<<EOT\n",
    "\nEOT;\n",
    "?>",
    "<?=",
    "\u{00e4}",
    "\u{0000}",
    "\r\n",
];

fn php_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(proptest::sample::select(PIECES), 0..60)
            .prop_map(|pieces| pieces.concat().into_bytes()),
    ]
}

proptest! {
    // 400 cases in CI; `PROPTEST_CASES=N` runs more (docs/fuzzing.md).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(400),
        ..ProptestConfig::default()
    })]

    #[test]
    fn reading_php_never_panics(text in php_like()) {
        let arena = bumpalo::Bump::new();
        let program = parse_php(&arena, &text);
        let problems = syntax_problems(program);
        let facts = extract_facts(program, &text, FileId(0), &ProjectNamespaces::default());
        let lines = LineIndex::new(&text);
        for problem in &problems {
            let position = lines.line_column(&text, problem.offset);
            prop_assert!(position.line >= 1);
            let _ = lines.line_text(&text, position.line);
        }
        for class in &facts.classes {
            prop_assert!(class.span.start <= class.span.end);
            let _ = facts.context_at(class.span.start);
        }
    }

    #[test]
    fn doc_blocks_and_xml_never_panic(text in "\\PC{0,300}") {
        let block = DocBlock::parse(&text, 0);
        let _ = (block.methods(), block.var_type(), block.params(), block.deprecation(), block.return_type());
        let _ = xml::parse_transfers(&text, FileId(0));
        let _ = xml::parse_schema(&format!("<database>{text}</database>"), FileId(0));
    }
}
