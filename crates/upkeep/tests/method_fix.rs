//! `upkeep gate --fix` renames a public method that a project class adds to core
//! (`not-unique-method`), with its declarations and calls, and leaves every other byte alone.

use std::path::Path;

use assert_cmd::Command;

const INTERFACE: &str = "src/Pyz/Zed/Product/Business/ProductFacadeInterface.php";
const FACADE: &str = "src/Pyz/Zed/Product/Business/ProductFacade.php";
const CONTROLLER: &str = "src/Pyz/Zed/Product/Communication/Controller/IndexController.php";

const FILES: &[(&str, &str)] = &[
    (
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacadeInterface.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\ninterface ProductFacadeInterface\n{\n    public function getProduct(int $id): array;\n}\n",
    ),
    (
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade implements ProductFacadeInterface\n{\n    public function getProduct(int $id): array\n    {\n        return [];\n    }\n}\n",
    ),
    (
        INTERFACE,
        "<?php\r\nnamespace Pyz\\Zed\\Product\\Business;\r\n\r\nuse Spryker\\Zed\\Product\\Business\\ProductFacadeInterface as SprykerProductFacadeInterface;\r\n\r\ninterface ProductFacadeInterface extends SprykerProductFacadeInterface\r\n{\r\n    /**\r\n     * getColors: the colours of the catalogue.\r\n     */\r\n    public function getColors(): array;\r\n}\r\n",
    ),
    (
        FACADE,
        "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade implements ProductFacadeInterface\n{\n\tpublic function getColors(): array\n\t{\n\t\treturn ['red'];\n\t}\n}\n",
    ),
    (
        CONTROLLER,
        "<?php\nnamespace Pyz\\Zed\\Product\\Communication\\Controller;\n\n/**\n * @method \\Pyz\\Zed\\Product\\Business\\ProductFacadeInterface getFacade()\n */\nclass IndexController\n{\n    public function indexAction(): array\n    {\n        return ['colors' => $this->getFacade()->getColors()];\n    }\n}",
    ),
];

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap()
}

#[test]
fn fix_renames_the_method_its_implementation_and_its_calls() {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in FILES {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let output = Command::cargo_bin("upkeep")
        .unwrap()
        .env("NO_COLOR", "1")
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", "not-unique-method", "--fix"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Fixed, so the second run finds nothing.
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("[not-unique-method] rename `ProductFacadeInterface::getColors()` to `getPyzColors()` and its 1 call, with 1 declaration in subclasses"),
        "{stderr}"
    );
    // Only the names change: line endings, tabs, the comment and the missing final newline stay.
    assert_eq!(
        read(dir.path(), INTERFACE),
        FILES[2]
            .1
            .replace("function getColors()", "function getPyzColors()")
    );
    assert_eq!(
        read(dir.path(), FACADE),
        FILES[3]
            .1
            .replace("function getColors()", "function getPyzColors()")
    );
    assert_eq!(
        read(dir.path(), CONTROLLER),
        FILES[4].1.replace("->getColors()", "->getPyzColors()")
    );
}
