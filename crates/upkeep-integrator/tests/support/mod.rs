//! Helpers the integration tests share; each test uses some of them.

#![allow(dead_code)]

use std::path::PathBuf;

/// The copy of Spryker's integrator-manifests (MIT, its LICENSE beside it) kept as test data in
/// the repository, so that a fresh clone has it. Its absence fails the test: a silent skip would
/// hide that the real data was never read.
pub fn manifests_dir() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/integrator-manifests");
    assert!(
        dir.is_dir(),
        "the real manifests are missing at {}; they are Spryker's integrator-manifests, kept in tests/data",
        dir.display()
    );
    dir
}

/// Asserts that every changed PHP file parses without a syntax error.
pub fn assert_php_parses(changes: &[upkeep_integrator::project::FileChange]) {
    for change in changes {
        if std::path::Path::new(&change.path)
            .extension()
            .is_some_and(|extension| extension == "php")
        {
            let arena = bumpalo::Bump::new();
            let program = upkeep_php::parse::parse_php(&arena, change.after.as_bytes());
            let problems = upkeep_php::parse::syntax_problems(program);
            assert!(
                problems.is_empty(),
                "{}: {problems:?}\n{}",
                change.path,
                change.after
            );
        }
    }
}
