//! Manifests from an archive (issue 15, item 1): a `.tar.gz` and a `.zip` made here from real
//! manifests of Spryker's integrator-manifests, served on loopback with an `ETag`; the first
//! load downloads and unpacks, the next gets `304` and reads the cache, a server that fails or
//! is gone leaves the cached copy with a warning (or, with nothing cached, an error naming the
//! URL), and archives whose entries lead outside their folder are refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use upkeep_composer::repository::DownloadOptions;
use upkeep_hint::Hint as _;
use upkeep_integrator::manifest::{self, ManifestSet};
use upkeep_integrator::source::{ManifestSource, Origin, SourceError, TREES_DIR, load};

mod support;
use support::manifests_dir;

#[path = "../../../tests/support/archive_server.rs"]
mod archive_server;
use archive_server::{Answered, ArchiveServer, gzip, tar_gz, tar_with_raw_name};

const TOP: &str = "integrator-manifests-master";

/// A few real manifests, as `(path under the manifests root, bytes)`.
fn real_manifests(paths: &[&str]) -> Vec<(String, Vec<u8>)> {
    let root = manifests_dir();
    paths
        .iter()
        .map(|path| {
            let name = format!("{path}/installer-manifest.json");
            let bytes = fs_err::read(root.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

const FEW: [&str; 4] = [
    "Spryker/Acl/3.17.0",
    "Spryker/Console/4.16.0",
    "SprykerShop/CartPage/3.38.0",
    "SprykerShop/CartPage/3.42.0",
];

fn options(cache: &Path) -> DownloadOptions {
    DownloadOptions {
        cache_dir: Some(cache.to_path_buf()),
        timeout: Duration::from_secs(10),
        ..DownloadOptions::default()
    }
}

/// `(module, version, steps)` of every manifest, to compare sets read from different places.
fn contents(set: &ManifestSet) -> Vec<String> {
    set.manifests()
        .map(|manifest| {
            format!(
                "{} {} {:?}",
                manifest.module,
                manifest.version.pretty(),
                manifest.steps
            )
        })
        .collect()
}

/// The same manifests read from the real directory.
fn expected(paths: &[&str]) -> Vec<String> {
    let all = manifest::read_dir(&manifests_dir()).unwrap();
    let wanted: Vec<String> = paths.iter().map(|path| path.replace('/', " ")).collect();
    let mut kept = contents(&all);
    kept.retain(|line| {
        wanted.iter().any(|path| {
            let mut parts = path.splitn(3, ' ');
            let (organisation, module, version) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            line.starts_with(&format!("{organisation}.{module} {version} "))
        })
    });
    assert_eq!(kept.len(), paths.len());
    kept
}

fn url_source(url: &str) -> ManifestSource {
    url.parse().unwrap()
}

/// The names in the cache's folder of unpacked trees.
fn trees(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(cache.join(TREES_DIR))
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_tar_gz_is_downloaded_then_revalidated_and_its_cached_copy_used_when_the_server_is_down() {
    let server = ArchiveServer::start();
    let path = "/spryker/integrator-manifests/archive/master.tar.gz";
    server.put(path, 200, tar_gz(TOP, &real_manifests(&FEW)));
    let source = url_source(&server.url(path));
    let cache = tempfile::tempdir().unwrap();

    // First run: downloaded and unpacked under the cache, the root being the top folder.
    let first = load(&source, &options(cache.path())).unwrap();
    assert_eq!(first.origin, Origin::Downloaded);
    assert_eq!(contents(&first.set), expected(&FEW));
    assert!(first.set.warnings.is_empty(), "{:?}", first.set.warnings);
    assert!(first.warnings.is_empty());
    assert_eq!(first.root.file_name().unwrap(), TOP);
    let tree = first.root.parent().unwrap().to_path_buf();
    assert_eq!(tree.parent().unwrap(), cache.path().join(TREES_DIR));
    assert_eq!(tree.file_name().unwrap().len(), 64, "{}", tree.display());
    assert_eq!(
        server.take_answered(),
        [Answered {
            path: path.into(),
            conditional: false,
            status: 200
        }]
    );

    // Second run: a conditional request, `304`, the cached tree.
    let second = load(&source, &options(cache.path())).unwrap();
    assert_eq!(second.origin, Origin::NotModified);
    assert_eq!(second.root, first.root);
    assert_eq!(contents(&second.set), expected(&FEW));
    assert_eq!(
        server.take_answered(),
        [Answered {
            path: path.into(),
            conditional: true,
            status: 304
        }]
    );

    // New content: downloaded again, into a tree of its own.
    let more = [FEW.as_slice(), &["SprykerShop/CartPage/3.44.0"]].concat();
    server.put(path, 200, tar_gz(TOP, &real_manifests(&more)));
    let third = load(&source, &options(cache.path())).unwrap();
    assert_eq!(third.origin, Origin::Downloaded);
    assert_eq!(contents(&third.set), expected(&more));
    assert_ne!(third.root, first.root);
    assert_eq!(trees(cache.path()).len(), 2, "{:?}", trees(cache.path()));

    // The server fails: the cached copy, with a warning naming the URL and the status.
    server.put(path, 503, b"maintenance".to_vec());
    let failing = load(&source, &options(cache.path())).unwrap();
    assert_eq!(failing.origin, Origin::Stale);
    assert_eq!(contents(&failing.set), expected(&more));
    assert_eq!(failing.warnings.len(), 1);
    assert!(
        failing.warnings[0].starts_with(&format!(
            "cannot reach {} (HTTP 503); using the copy cached ",
            server.url(path)
        )),
        "{:?}",
        failing.warnings
    );

    // The server is gone: the same.
    let url = server.url(path);
    drop(server);
    let down = load(&source, &options(cache.path())).unwrap();
    assert_eq!(down.origin, Origin::Stale);
    assert_eq!(contents(&down.set), expected(&more));
    assert_eq!(down.warnings.len(), 1);
    assert!(
        down.warnings[0].starts_with(&format!("cannot reach {url} (")),
        "{:?}",
        down.warnings
    );

    // Offline: the cached copy, no request and no warning.
    let offline = load(
        &source,
        &DownloadOptions {
            offline: true,
            ..options(cache.path())
        },
    )
    .unwrap();
    assert_eq!(offline.origin, Origin::Cached);
    assert!(offline.warnings.is_empty());
    assert_eq!(contents(&offline.set), expected(&more));
}

#[test]
fn a_zip_reads_as_the_tar_gz_does() {
    let server = ArchiveServer::start();
    let path = "/archive/master.zip";
    server.put(path, 200, archive_server::zip(TOP, &real_manifests(&FEW)));
    let cache = tempfile::tempdir().unwrap();
    let loaded = load(&url_source(&server.url(path)), &options(cache.path())).unwrap();
    assert_eq!(loaded.origin, Origin::Downloaded);
    assert_eq!(contents(&loaded.set), expected(&FEW));
    assert_eq!(loaded.root.file_name().unwrap(), TOP);
    let again = load(&url_source(&server.url(path)), &options(cache.path())).unwrap();
    assert_eq!(again.origin, Origin::NotModified);
}

#[test]
fn an_archive_on_disk_by_path_or_file_url_and_one_without_a_top_folder() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let archive = dir.path().join("manifests.tgz");
    fs_err::write(&archive, tar_gz(TOP, &real_manifests(&FEW))).unwrap();
    for source in [
        ManifestSource::Path(archive.clone()),
        format!("file://{}", archive.display()).parse().unwrap(),
    ] {
        let loaded = load(&source, &options(&cache)).unwrap();
        assert_eq!(loaded.origin, Origin::Archive);
        assert_eq!(contents(&loaded.set), expected(&FEW));
    }
    assert_eq!(trees(&cache).len(), 1, "the same content is unpacked once");

    // `Spryker/` and `SprykerShop/` at the archive's top: the top is the root.
    let mut flat = tar::Builder::new(Vec::new());
    for (name, body) in real_manifests(&FEW) {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        flat.append_data(&mut header, name, body.as_slice())
            .unwrap();
    }
    let flat_archive = dir.path().join("flat.tar");
    fs_err::write(&flat_archive, flat.into_inner().unwrap()).unwrap();
    let loaded = load(&ManifestSource::Path(flat_archive), &options(&cache)).unwrap();
    assert_eq!(contents(&loaded.set), expected(&FEW));

    // A directory is read where it is.
    let direct = load(&ManifestSource::Path(manifests_dir()), &options(&cache)).unwrap();
    assert_eq!(direct.origin, Origin::Directory);
    assert_eq!(direct.set.len(), 1066);
}

#[test]
fn without_a_cached_copy_an_unreachable_server_is_an_error_naming_the_url_but_no_credentials() {
    let server = ArchiveServer::start();
    let url = server.url("/archive/master.tar.gz");
    drop(server);
    let with_credentials = url.replace("http://", "http://bot:s3cret@");
    let cache = tempfile::tempdir().unwrap();
    let error = load(&url_source(&with_credentials), &options(cache.path())).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot download the manifests archive {url}: ")),
        "{message}"
    );
    assert!(
        !format!("{message} {error:?}").contains("s3cret"),
        "{error:?}"
    );
    assert!(
        error
            .hint()
            .unwrap()
            .starts_with("check the URL and the network"),
        "{:?}",
        error.hint()
    );
    assert!(trees(cache.path()).is_empty());

    let offline = load(
        &url_source(&url),
        &DownloadOptions {
            offline: true,
            ..options(cache.path())
        },
    )
    .unwrap_err();
    assert_eq!(
        offline.to_string(),
        format!(
            "cannot download the manifests archive {url}: not in the metadata cache, and offline mode allows no requests"
        )
    );
    assert_eq!(
        offline.hint().as_deref(),
        Some("run once without --offline to download it")
    );
}

#[test]
fn a_missing_archive_a_page_and_an_archive_without_manifests_are_errors_with_hints() {
    let server = ArchiveServer::start();
    let cache = tempfile::tempdir().unwrap();
    let load_path = |path: &str| load(&url_source(&server.url(path)), &options(cache.path()));

    let missing = load_path("/nowhere.tar.gz").unwrap_err();
    assert_eq!(
        missing.to_string(),
        format!(
            "cannot download the manifests archive {}: HTTP 404",
            server.url("/nowhere.tar.gz")
        )
    );
    assert!(
        missing
            .hint()
            .unwrap()
            .starts_with("check the URL: it must name an archive")
    );

    server.put(
        "/login.tar.gz",
        200,
        b"<!DOCTYPE html>\n<html><body>Sign in</body></html>".to_vec(),
    );
    let page = load_path("/login.tar.gz").unwrap_err();
    assert_eq!(
        page.to_string(),
        format!(
            "the manifests archive {} is not a .tar.gz, .tar or .zip archive: it starts with `<!DOCTYPE html>.<html><b` (an HTML page?)",
            server.url("/login.tar.gz")
        )
    );
    assert!(page.hint().unwrap().contains(".tar.gz or .zip"));

    server.put(
        "/readme.tar.gz",
        200,
        tar_gz(
            TOP,
            &[("README.md".to_string(), b"# no manifests".to_vec())],
        ),
    );
    let empty = load_path("/readme.tar.gz").unwrap_err();
    assert!(
        matches!(empty, SourceError::NoManifests { .. }),
        "{empty:?}"
    );
    assert!(
        empty.to_string().ends_with("at its top: README.md"),
        "{empty}"
    );
    assert!(
        empty.hint().unwrap().contains("in its single top folder"),
        "{:?}",
        empty.hint()
    );

    server.put("/broken.tar.gz", 200, gzip(b"not a tar at all"));
    let broken = load_path("/broken.tar.gz").unwrap_err();
    assert!(
        matches!(
            broken,
            SourceError::Unpack { .. } | SourceError::NoManifests { .. }
        ),
        "{broken:?}"
    );

    // Nothing half-made is left behind.
    assert!(trees(cache.path()).is_empty(), "{:?}", trees(cache.path()));
}

/// An archive that would write outside the cache is refused whole, and writes nothing.
#[test]
fn archives_with_entries_outside_their_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let manifest = &real_manifests(&FEW[..1])[0].1;
    // A zip whose second entry climbs out.
    let zip_escape = {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        writer
            .start_file(
                format!("{TOP}/Spryker/Acl/3.17.0/installer-manifest.json"),
                options,
            )
            .unwrap();
        std::io::Write::write_all(&mut writer, manifest).unwrap();
        writer.start_file("../../escaped.json", options).unwrap();
        std::io::Write::write_all(&mut writer, b"{}").unwrap();
        writer.finish().unwrap().into_inner()
    };
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "parent.tar.gz",
            gzip(&tar_with_raw_name("../escaped.json", b"{}")),
        ),
        (
            "nested.tar",
            tar_with_raw_name(&format!("{TOP}/Spryker/../../../escaped.json"), b"{}"),
        ),
        (
            "absolute.tar",
            tar_with_raw_name("/tmp/escaped.json", b"{}"),
        ),
        ("parent.zip", zip_escape),
    ];
    for (name, bytes) in cases {
        let archive = dir.path().join(name);
        fs_err::write(&archive, bytes).unwrap();
        let error = load(&ManifestSource::Path(archive.clone()), &options(&cache)).unwrap_err();
        assert!(
            matches!(error, SourceError::UnsafeEntry { .. }),
            "{name}: {error:?}"
        );
        assert!(
            error.to_string().starts_with(&format!(
                "the manifests archive {} has the entry `",
                archive.display()
            )),
            "{error}"
        );
        assert!(error.to_string().contains("escaped.json"), "{error}");
    }
    let written: Vec<PathBuf> = walk(dir.path())
        .into_iter()
        .filter(|path| path.file_name().unwrap() == "escaped.json")
        .collect();
    assert!(written.is_empty(), "{written:?}");
    assert!(!Path::new("/tmp/escaped.json").exists());
    assert!(trees(&cache).is_empty(), "{:?}", trees(&cache));
}

/// Links are never created, so an entry behind a link pointing outside stays inside.
#[test]
fn links_are_skipped_so_nothing_is_written_through_them() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs_err::create_dir(&outside).unwrap();
    let manifest = &real_manifests(&FEW[..1])[0].1;

    let mut builder = tar::Builder::new(Vec::new());
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    builder
        .append_link(&mut link, format!("{TOP}/Spryker"), &outside)
        .unwrap();
    let mut file = tar::Header::new_gnu();
    file.set_size(manifest.len() as u64);
    file.set_mode(0o644);
    builder
        .append_data(
            &mut file,
            format!("{TOP}/Spryker/Acl/3.17.0/installer-manifest.json"),
            manifest.as_slice(),
        )
        .unwrap();
    let tar_archive = dir.path().join("link.tar.gz");
    fs_err::write(&tar_archive, gzip(&builder.into_inner().unwrap())).unwrap();

    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options_zip = zip::write::SimpleFileOptions::default();
    writer
        .add_symlink(
            format!("{TOP}/Spryker"),
            outside.display().to_string(),
            options_zip,
        )
        .unwrap();
    writer
        .start_file(
            format!("{TOP}/Spryker/Acl/3.17.0/installer-manifest.json"),
            options_zip,
        )
        .unwrap();
    std::io::Write::write_all(&mut writer, manifest).unwrap();
    let zip_archive = dir.path().join("link.zip");
    fs_err::write(&zip_archive, writer.finish().unwrap().into_inner()).unwrap();

    for archive in [tar_archive, zip_archive] {
        let cache = tempfile::tempdir().unwrap();
        let loaded = load(&ManifestSource::Path(archive), &options(cache.path())).unwrap();
        assert_eq!(contents(&loaded.set), expected(&FEW[..1]));
        assert!(!loaded.root.join("Spryker").is_symlink());
        assert!(walk(&outside).is_empty(), "{:?}", walk(&outside));
    }
}

/// Temporary folders of killed runs and trees unused for a month go when a tree is unpacked.
#[test]
fn abandoned_temporary_folders_and_old_trees_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let trees_dir = cache.join(TREES_DIR);
    let aged = |name: &str, age: Duration| {
        let path = trees_dir.join(name);
        fs_err::create_dir_all(path.join("Spryker")).unwrap();
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(SystemTime::now() - age)
            .unwrap();
    };
    aged(".unpack-killed", Duration::from_hours(2));
    aged(".unpack-running", Duration::from_mins(1));
    aged(&"a".repeat(64), Duration::from_hours(31 * 24));
    aged(&"b".repeat(64), Duration::from_hours(24));
    let archive = dir.path().join("manifests.tar.gz");
    fs_err::write(&archive, tar_gz(TOP, &real_manifests(&FEW))).unwrap();
    let loaded = load(&ManifestSource::Path(archive), &options(&cache)).unwrap();
    let digest = loaded
        .root
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut left = vec![".unpack-running".to_string(), "b".repeat(64), digest];
    left.sort();
    assert_eq!(trees(&cache), left);
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs_err::read_dir(root) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}
