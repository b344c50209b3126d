//! The incremental cache: a load through the cache must give exactly what a load without it
//! gives, whatever happened to the files or to the cache files in between.

use std::path::{Path, PathBuf};
use std::time::Duration;

use upkeep_php::cache::{CacheConfig, CacheUse, RACY_WINDOW_NS};
use upkeep_php::project::{LoadOptions, LoadedProject, load, load_with};

const PRODUCT_FACADE: &str = "src/Pyz/Zed/Product/Business/ProductFacade.php";
const CORE_FACADE: &str =
    "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php";
const CORE_READER: &str =
    "vendor/spryker/product/src/Spryker/Zed/Product/Business/Reader/ProductReader.php";

/// A small shop: project classes extending core ones, a transfer, a schema, a syntax error.
fn shop() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, &str)] = &[
        (
            PRODUCT_FACADE,
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\n/**\n * @method \\Pyz\\Zed\\Product\\Business\\ProductBusinessFactory getFactory()\n */\nclass ProductFacade extends SprykerProductFacade\n{\n    public function findSku(int $id): ?string\n    {\n        return $this->getFactory()->createReader()->findSku($id);\n    }\n}\n",
        ),
        (
            "src/Pyz/Zed/Product/Business/ProductBusinessFactory.php",
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductBusinessFactory\n{\n    public function createReader(): Reader\\ProductReader\n    {\n        return new Reader\\ProductReader();\n    }\n}\n",
        ),
        (
            "src/Pyz/Zed/Product/Business/Broken.php",
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass Broken\n{\n    public function get() { return [1, 2; }\n}\n",
        ),
        (
            "src/Pyz/Shared/Product/Transfer/product.transfer.xml",
            "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"Product\">\n        <property name=\"sku\" type=\"string\"/>\n    </transfer>\n</transfers>\n",
        ),
        (
            "src/Pyz/Zed/Product/Persistence/Propel/Schema/pyz_product.schema.xml",
            "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n    <table name=\"pyz_product\">\n        <column name=\"id_product\" type=\"INTEGER\"/>\n    </table>\n</database>\n",
        ),
        (
            CORE_FACADE,
            "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    /**\n     * @deprecated Use findSku() instead.\n     */\n    public function getSku(int $id): string\n    {\n        return '';\n    }\n}\n",
        ),
        (
            CORE_READER,
            "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Reader;\n\nclass ProductReader\n{\n    public function read(): array\n    {\n        return [];\n    }\n}\n",
        ),
        (
            "vendor/spryker/product/src/Spryker/Shared/Product/Transfer/product.transfer.xml",
            "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n    <transfer name=\"Product\">\n        <property name=\"idProduct\" type=\"int\"/>\n    </transfer>\n</transfers>\n",
        ),
    ];
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

fn cache_dir(root: &Path) -> PathBuf {
    root.join(CacheConfig::PROJECT_DIR)
}

fn cached(root: &Path) -> (LoadedProject, CacheUse) {
    let options = LoadOptions {
        cache: Some(CacheConfig::in_project(root)),
    };
    let mut project = load_with(root, &options).unwrap();
    let cache = project
        .cache
        .take()
        .expect("a cached load says what the cache did");
    (project, cache)
}

/// Everything a load gives that the rules see, in a comparable form.
fn snapshot(project: &LoadedProject) -> String {
    let index = &project.index;
    let mut references: Vec<&String> = index.project_references.iter().collect();
    references.sort();
    let sources: Vec<(u32, String)> = project
        .sources
        .iter()
        .map(|source| {
            (
                source.file.0,
                String::from_utf8_lossy(&source.text).into_owned(),
            )
        })
        .collect();
    let lookups: Vec<Option<u32>> = index
        .classes
        .iter()
        .map(|class| index.class_id(&class.name).map(|id| id.0))
        .collect();
    format!(
        "namespaces {:?}\nfiles {:#?}\nclasses {:#?}\nlookups {lookups:?}\ntransfers {:#?}\ntables {:#?}\nproblems {:#?}\nreferences {references:?}\nsources {sources:#?}",
        project.namespaces,
        index.files,
        index.classes,
        index.transfers,
        index.tables,
        project.problems,
    )
}

fn assert_same_as_uncached(root: &Path, project: &LoadedProject) {
    let uncached = load(root).unwrap();
    assert!(uncached.cache.is_none());
    let (expected, actual) = (snapshot(&uncached), snapshot(project));
    assert!(
        expected == actual,
        "the cached load differs from a load without the cache:\n--- without\n{expected}\n--- cached\n{actual}"
    );
}

fn class_names(project: &LoadedProject) -> Vec<&str> {
    let mut names: Vec<&str> = project
        .index
        .classes
        .iter()
        .map(|class| class.name.as_str())
        .collect();
    names.sort_unstable();
    names
}

const FILES: usize = 8;

#[test]
fn cached_load_equals_uncached_load() {
    let shop = shop();
    let root = shop.path();
    let (first, first_use) = cached(root);
    assert_eq!((first_use.reused, first_use.parsed), (0, FILES));
    assert_eq!(
        first_use.written,
        ["project.bin", "core.bin", "dirs.bin"].map(|name| cache_dir(root).join(name))
    );
    assert!(first_use.problems.is_empty(), "{:?}", first_use.problems);
    assert_same_as_uncached(root, &first);
    assert_eq!(
        std::fs::read_to_string(root.join(".upkeep/.gitignore")).unwrap(),
        "# Written by upkeep: this directory holds its cache.\n*\n"
    );
    assert!(cache_dir(root).join("CACHEDIR.TAG").is_file());

    let (second, second_use) = cached(root);
    assert_eq!((second_use.reused, second_use.parsed), (FILES, 0));
    assert!(
        second_use.written.is_empty(),
        "nothing changed, nothing to write"
    );
    assert_same_as_uncached(root, &second);
    // The facts are really there: spans, docs, members and the parse error.
    let facade = second
        .index
        .class("Spryker\\Zed\\Product\\Business\\ProductFacade")
        .unwrap();
    assert!(facade.method("getSku").unwrap().deprecation().is_some());
    assert_eq!(second.problems.len(), 1);
    assert_eq!(
        second.index.file(second.problems[0].file).path,
        Path::new("src/Pyz/Zed/Product/Business/Broken.php")
    );
}

#[test]
fn changed_files_are_read_again() {
    let shop = shop();
    let root = shop.path();
    cached(root);

    // A project file with new content of another size, a core file with a new class name.
    write(
        root,
        PRODUCT_FACADE,
        "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    public function countProducts(): int\n    {\n        return 0;\n    }\n}\n",
    );
    let reader = std::fs::read_to_string(root.join(CORE_READER)).unwrap();
    write(
        root,
        CORE_READER,
        &reader.replace("function read()", "function list()"),
    );
    let (project, cache) = cached(root);
    assert_eq!((cache.reused, cache.parsed), (FILES - 2, 2));
    assert_same_as_uncached(root, &project);
    let facade = project
        .index
        .class("Pyz\\Zed\\Product\\Business\\ProductFacade")
        .unwrap();
    assert!(facade.method("countProducts").is_some());
    assert!(facade.parent().is_none());
    let core_reader = project
        .index
        .class("Spryker\\Zed\\Product\\Business\\Reader\\ProductReader")
        .unwrap();
    assert!(core_reader.method("list").is_some());
    assert!(core_reader.method("read").is_none());

    // Written back: the next load parses nothing.
    let (again, cache) = cached(root);
    assert_eq!((cache.reused, cache.parsed), (FILES, 0));
    assert_same_as_uncached(root, &again);
}

#[test]
fn unchanged_core_files_are_not_read_but_edits_that_keep_size_and_mtime_are_caught() {
    let shop = shop();
    let root = shop.path();
    let reader_path = root.join(CORE_READER);
    cached(root);
    // Right after the files were written every core stamp is too recent to trust, so the
    // core files are read and hashed (and found unchanged).
    let (_, racy) = cached(root);
    assert_eq!((racy.reused, racy.parsed, racy.verified), (FILES, 0, 3));

    // Once the stamps are older than the racy window (and recorded by a later run), the
    // core files are not even read, nor the directories listed.
    std::thread::sleep(
        Duration::from_nanos(RACY_WINDOW_NS.unsigned_abs()) + Duration::from_millis(200),
    );
    let (_, restamped) = cached(root);
    assert_eq!(restamped.verified, 3);
    assert_eq!(
        restamped.written,
        ["core.bin", "dirs.bin"].map(|name| cache_dir(root).join(name))
    );
    let (_, trusted) = cached(root);
    assert_eq!(
        (trusted.reused, trusted.parsed, trusted.verified),
        (FILES, 0, 0)
    );
    assert!(trusted.written.is_empty());

    // Same size, modification time put back: the change time (and the racy rule) still
    // give it away.
    let modified = std::fs::metadata(&reader_path).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&reader_path).unwrap();
    let edited = text.replace("function read()", "function load()");
    assert_eq!(edited.len(), text.len());
    std::fs::write(&reader_path, &edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&reader_path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&reader_path).unwrap().modified().unwrap(),
        modified
    );
    let (project, cache) = cached(root);
    assert_eq!((cache.parsed, cache.verified), (1, 1));
    let core_reader = project
        .index
        .class("Spryker\\Zed\\Product\\Business\\Reader\\ProductReader")
        .unwrap();
    assert!(core_reader.method("load").is_some());
    assert_same_as_uncached(root, &project);

    // A file added to a directory whose listing was trusted, and one in a new directory.
    let (_, trusted) = cached(root);
    assert_eq!(
        trusted.verified, 1,
        "only the edited file is still too recent"
    );
    write(
        root,
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/Reader/ProductWriter.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Reader;\n\nclass ProductWriter\n{\n}\n",
    );
    write(
        root,
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/Deleter/ProductDeleter.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Deleter;\n\nclass ProductDeleter\n{\n}\n",
    );
    let (project, cache) = cached(root);
    assert_eq!((cache.reused, cache.parsed), (FILES, 2));
    assert!(
        project
            .index
            .class("Spryker\\Zed\\Product\\Business\\Reader\\ProductWriter")
            .is_some()
    );
    assert!(
        project
            .index
            .class("Spryker\\Zed\\Product\\Business\\Deleter\\ProductDeleter")
            .is_some()
    );
    assert_same_as_uncached(root, &project);
}

#[test]
fn replaced_file_with_the_same_stamp_fields_is_caught_by_its_inode() {
    let shop = shop();
    let root = shop.path();
    let reader_path = root.join(CORE_READER);
    cached(root);
    let text = std::fs::read_to_string(&reader_path).unwrap();
    // An editor that saves by writing a new file and renaming it over the old one.
    let replacement = root.join("replacement.tmp");
    std::fs::write(
        &replacement,
        text.replace("function read()", "function load()"),
    )
    .unwrap();
    std::fs::rename(&replacement, &reader_path).unwrap();
    let (project, cache) = cached(root);
    assert_eq!(cache.parsed, 1);
    assert!(
        project
            .index
            .class("Spryker\\Zed\\Product\\Business\\Reader\\ProductReader")
            .unwrap()
            .method("load")
            .is_some()
    );
}

#[test]
fn deleted_files_disappear() {
    let shop = shop();
    let root = shop.path();
    cached(root);
    std::fs::remove_file(root.join("src/Pyz/Zed/Product/Business/ProductBusinessFactory.php"))
        .unwrap();
    std::fs::remove_file(root.join(CORE_READER)).unwrap();
    let (project, cache) = cached(root);
    assert_eq!((cache.reused, cache.parsed), (FILES - 2, 0));
    assert_eq!(
        cache.written.len(),
        3,
        "both parts and two directories lost an entry"
    );
    assert_eq!(
        class_names(&project),
        [
            "Pyz\\Zed\\Product\\Business\\Broken",
            "Pyz\\Zed\\Product\\Business\\ProductFacade",
            "Spryker\\Zed\\Product\\Business\\ProductFacade",
        ]
    );
    assert_same_as_uncached(root, &project);
    let (_, cache) = cached(root);
    assert!(cache.written.is_empty());
}

#[test]
fn new_files_appear_and_shift_the_ids_of_the_others() {
    let shop = shop();
    let root = shop.path();
    cached(root);
    // Sorts before every other file, so every cached file gets a new id.
    write(
        root,
        "src/Pyz/Client/Cart/CartClient.php",
        "<?php\nnamespace Pyz\\Client\\Cart;\n\nclass CartClient\n{\n    public function get() { return [1, 2; }\n}\n",
    );
    write(
        root,
        "vendor/spryker/cart/src/Spryker/Client/Cart/CartClient.php",
        "<?php\nnamespace Spryker\\Client\\Cart;\n\nclass CartClient\n{\n}\n",
    );
    let (project, cache) = cached(root);
    assert_eq!((cache.reused, cache.parsed), (FILES, 2));
    assert!(
        project
            .index
            .class("Pyz\\Client\\Cart\\CartClient")
            .is_some()
    );
    assert_eq!(project.problems.len(), 2);
    assert_same_as_uncached(root, &project);
    for class in &project.index.classes {
        let file = project.index.file(class.file);
        assert!(
            file.path
                .to_string_lossy()
                .contains(class.name.rsplit('\\').next().unwrap()),
            "{} points at {}",
            class.name,
            file.path.display()
        );
    }
}

#[test]
fn damaged_cache_files_are_ignored_and_rewritten() {
    let shop = shop();
    let root = shop.path();
    cached(root);
    let core = cache_dir(root).join("core.bin");
    let good = std::fs::read(&core).unwrap();

    let header_end =
        20 + usize::try_from(u64::from_le_bytes(good[12..20].try_into().unwrap())).unwrap();
    let mut in_header = good.clone();
    in_header[header_end - 3] ^= 0x40;
    let mut in_last_blob = good.clone();
    *in_last_blob.last_mut().unwrap() ^= 0x40;
    // The whole file is unusable: every core file is parsed again.
    let damages: [(&str, Vec<u8>); 4] = [
        ("flipped header byte", in_header),
        ("truncated", good[..good.len() - 9].to_vec()),
        ("empty", Vec::new()),
        (
            "garbage",
            b"not a cache at all, but long enough to have a header".to_vec(),
        ),
    ];
    for (damage, bytes) in damages {
        std::fs::write(&core, bytes).unwrap();
        let (project, cache) = cached(root);
        assert_eq!(cache.parsed, 3, "{damage}: the core files are parsed again");
        assert_eq!(cache.problems.len(), 1, "{damage}: {:?}", cache.problems);
        assert!(
            cache.problems[0].contains("core.bin is damaged"),
            "{damage}: {}",
            cache.problems[0]
        );
        assert_eq!(cache.written, std::slice::from_ref(&core), "{damage}");
        assert_same_as_uncached(root, &project);
        let (_, cache) = cached(root);
        assert_eq!(
            (cache.parsed, cache.problems.len()),
            (0, 0),
            "{damage}: rewritten"
        );
    }

    // A damaged blob costs only its own file.
    std::fs::write(&core, in_last_blob).unwrap();
    let (project, cache) = cached(root);
    assert_eq!((cache.reused, cache.parsed), (FILES - 1, 1));
    assert_eq!(cache.problems.len(), 1, "{:?}", cache.problems);
    assert!(
        cache.problems[0].contains("core.bin is damaged (an entry fails its checksum)"),
        "{}",
        cache.problems[0]
    );
    assert_same_as_uncached(root, &project);
    let (_, cache) = cached(root);
    assert_eq!((cache.parsed, cache.problems.len()), (0, 0), "rewritten");
}

/// Rewrites the header checksum after an edit, as a cache written by another build would have
/// it. The layout: magic (8), schema (4), header length (8), header, its checksum (8), blobs.
fn with_valid_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    let header_end =
        20 + usize::try_from(u64::from_le_bytes(bytes[12..20].try_into().unwrap())).unwrap();
    let checksum = xxhash_rust::xxh3::xxh3_64(&bytes[..header_end]);
    bytes[header_end..header_end + 8].copy_from_slice(&checksum.to_le_bytes());
    bytes
}

#[test]
fn cache_of_another_version_is_ignored_silently() {
    let shop = shop();
    let root = shop.path();
    cached(root);
    let core = cache_dir(root).join("core.bin");
    let good = std::fs::read(&core).unwrap();

    // Another schema version.
    let mut other_schema = good.clone();
    other_schema[8] = other_schema[8].wrapping_add(1);
    // Another build: the version string in the header differs.
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let at = good
        .windows(version.len() + 1)
        .position(|window| window[..version.len()] == *version && window[version.len()] == b'+')
        .expect("the header names the version");
    let mut other_build = good.clone();
    other_build[at + version.len() + 1] ^= 0x01;
    for (what, bytes) in [
        ("schema", other_schema),
        ("build", with_valid_checksum(other_build)),
    ] {
        std::fs::write(&core, bytes).unwrap();
        let (project, cache) = cached(root);
        assert_eq!(cache.parsed, 3, "another {what}: core is parsed again");
        assert!(
            cache.problems.is_empty(),
            "another {what}: {:?}",
            cache.problems
        );
        assert_eq!(cache.written, std::slice::from_ref(&core));
        assert_same_as_uncached(root, &project);
    }
}

#[test]
fn other_project_namespaces_invalidate_the_cache() {
    let shop = shop();
    let root = shop.path();
    write(
        root,
        "src/Acme/Zed/Product/ProductConfig.php",
        "<?php\nnamespace Acme\\Zed\\Product;\n\nclass ProductConfig\n{\n}\n",
    );
    let (before, _) = cached(root);
    let acme = |project: &LoadedProject| {
        project
            .index
            .class("Acme\\Zed\\Product\\ProductConfig")
            .unwrap()
            .layout
            .origin
    };
    assert_eq!(acme(&before), upkeep_php::spryker::Origin::Other);
    write(
        root,
        "config/Shared/config_default.php",
        "<?php\n$config[KernelConstants::PROJECT_NAMESPACES] = ['Pyz', 'Acme'];\n",
    );
    let (after, cache) = cached(root);
    assert_eq!(cache.parsed, FILES + 1);
    assert_eq!(acme(&after), upkeep_php::spryker::Origin::Project);
    assert_same_as_uncached(root, &after);
}

#[test]
fn concurrent_loads_share_the_cache() {
    let shop = shop();
    let root = shop.path();
    let snapshots: Vec<String> = std::thread::scope(|scope| {
        let loads: Vec<_> = (0..6)
            .map(|round| {
                scope.spawn(move || {
                    if round % 2 == 1 {
                        // Half of them start later, when the others are writing.
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    snapshot(&cached(root).0)
                })
            })
            .collect();
        loads.into_iter().map(|load| load.join().unwrap()).collect()
    });
    let expected = snapshot(&load(root).unwrap());
    for got in &snapshots {
        assert_eq!(got, &expected);
    }
    let (project, cache) = cached(root);
    assert_eq!((cache.parsed, cache.problems.len()), (0, 0));
    assert_same_as_uncached(root, &project);
    let leftovers: Vec<_> = std::fs::read_dir(cache_dir(root))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            Path::new(name)
                .extension()
                .is_some_and(|extension| extension == "tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn unwritable_cache_directory_is_a_problem_not_an_error() {
    let shop = shop();
    let root = shop.path();
    let blocked = root.join("blocked");
    std::fs::write(&blocked, "a file where the cache directory should be").unwrap();
    let options = LoadOptions {
        cache: Some(CacheConfig::new(blocked.join("cache"))),
    };
    let project = load_with(root, &options).unwrap();
    let cache = project.cache.as_ref().unwrap();
    assert_eq!(cache.parsed, FILES);
    assert_eq!(cache.problems.len(), 1, "{:?}", cache.problems);
    assert!(
        cache.problems[0].starts_with("cannot write the cache in "),
        "{}",
        cache.problems[0]
    );
    assert_same_as_uncached(root, &project);
}

#[test]
fn cache_files_are_not_project_files() {
    let shop = shop();
    let root = shop.path();
    cached(root);
    let (project, _) = cached(root);
    assert!(
        project
            .index
            .files
            .iter()
            .all(|file| !file.path.starts_with(".upkeep"))
    );
    // Moving the project keeps the entries (by content) but not the stamps.
    let moved = tempfile::tempdir().unwrap();
    let target = moved.path().join("shop");
    std::fs::rename(root, &target).unwrap_or_else(|_| panic!("rename within the temp dir"));
    let (project, cache) = cached(&target);
    assert_eq!((cache.reused, cache.parsed, cache.verified), (FILES, 0, 3));
    assert_same_as_uncached(&target, &project);
}
