//! Loading a whole project: discovery, project/core classification, XML definitions.

use std::path::Path;

use upkeep_php::spryker::{ClassRole, Origin};
use upkeep_php::{FileOrigin, load};

fn example_shop() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/spryker-shop")
}

#[test]
fn loads_project_and_core_of_the_example_shop() {
    let project = load(&example_shop()).unwrap();
    assert_eq!(project.namespaces.0, ["Pyz"]);
    assert!(project.problems.is_empty(), "{:?}", project.problems);

    let provider = project
        .index
        .class("pyz\\zed\\product\\productdependencyprovider")
        .unwrap();
    assert_eq!(provider.layout.origin, Origin::Project);
    assert_eq!(provider.layout.role, ClassRole::DependencyProvider);
    let core = project.index.core_ancestor(provider).unwrap();
    assert_eq!(
        core.name,
        "Spryker\\Zed\\Product\\ProductDependencyProvider"
    );
    let chain: Vec<&str> = project
        .index
        .ancestors(provider)
        .map(|class| class.name.as_str())
        .collect();
    assert_eq!(
        chain,
        [
            "Spryker\\Zed\\Product\\ProductDependencyProvider",
            "Spryker\\Zed\\Kernel\\AbstractBundleDependencyProvider"
        ]
    );
    let (owner, method) = project
        .index
        .find_method(provider, "provideCommunicationLayerDependencies")
        .unwrap();
    assert_eq!(
        owner.name,
        "Spryker\\Zed\\Kernel\\AbstractBundleDependencyProvider"
    );
    assert_eq!(
        method.return_type.as_deref(),
        Some("Spryker\\Zed\\Kernel\\Container")
    );

    let reader = project
        .index
        .class("Spryker\\Zed\\Product\\Business\\Reader\\ProductReader")
        .unwrap();
    assert_eq!(reader.layout.origin, Origin::Core);
    assert!(
        reader
            .method("findProductSkus")
            .unwrap()
            .deprecation()
            .is_some()
    );

    // Project sources are kept (for rules and report lines), core sources are not.
    for source in &project.sources {
        assert_eq!(project.index.file(source.file).origin, FileOrigin::Project);
    }
    let project_files = project
        .index
        .files
        .iter()
        .filter(|file| file.origin == FileOrigin::Project)
        .count();
    assert_eq!(project.sources.len(), project_files);

    let transfer_names: Vec<&str> = project
        .index
        .transfers
        .iter()
        .map(|transfer| transfer.name.as_str())
        .collect();
    assert_eq!(transfer_names, ["ProductAbstract", "ProductAbstract"]);
    let tables: Vec<&str> = project
        .index
        .tables
        .iter()
        .map(|table| table.name.as_str())
        .collect();
    // The project's schema (project files are read first), then core's.
    assert_eq!(
        tables,
        [
            "spy_product_abstract",
            "pyz_product_badge",
            "spy_product_abstract"
        ]
    );
}

#[test]
fn generated_code_and_vendor_tests_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    write(
        "src/Pyz/Zed/A/A.php",
        "<?php namespace Pyz\\Zed\\A; class A {}",
    );
    write(
        "src/Generated/Shared/Transfer/FooTransfer.php",
        "<?php class FooTransfer {}",
    );
    write(
        "src/Orm/Zed/Foo/Persistence/SpyFoo.php",
        "<?php class SpyFoo {}",
    );
    write(
        "vendor/spryker/foo/src/Spryker/Zed/Foo/Foo.php",
        "<?php namespace Spryker\\Zed\\Foo; class Foo {}",
    );
    write(
        "vendor/spryker/foo/tests/SprykerTest/FooTest.php",
        "<?php class FooTest {}",
    );
    write(
        "vendor/symfony/console/Application.php",
        "<?php class Application {}",
    );
    let project = load(dir.path()).unwrap();
    let mut names: Vec<&str> = project
        .index
        .classes
        .iter()
        .map(|class| class.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Pyz\\Zed\\A\\A", "Spryker\\Zed\\Foo\\Foo"]);
}

#[test]
fn a_missing_directory_is_an_error() {
    let error = load(Path::new("/no/such/project")).unwrap_err();
    assert!(error.to_string().contains("/no/such/project"));
}

#[test]
fn project_named_classes_in_vendor_are_not_project_classes() {
    // Seen when a `spryker-shop/*` package shipped a whole demo shop's `src/Pyz`.
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    write(
        "src/Pyz/Zed/A/A.php",
        "<?php namespace Pyz\\Zed\\A; class A {}",
    );
    write(
        "vendor/spryker-shop/b2b-demo-shop/src/Pyz/Zed/B/B.php",
        "<?php namespace Pyz\\Zed\\B; class B {}",
    );
    let project = load(dir.path()).unwrap();
    let names: Vec<&str> = project
        .index
        .project_classes()
        .map(|class| class.name.as_str())
        .collect();
    assert_eq!(names, ["Pyz\\Zed\\A\\A"]);
    assert!(project.index.class("Pyz\\Zed\\B\\B").is_some());
}
