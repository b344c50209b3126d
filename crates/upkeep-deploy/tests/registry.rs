//! Push and pull against a real registry: Debian's `docker-registry` on a loopback port, with
//! TLS from a CA made by the test (openssl) and htpasswd basic auth; skopeo, a peer client,
//! reads back what we pushed. The tools are installed by `scripts/test.sh`; a missing one fails
//! the test loudly.

use std::net::TcpListener;
use std::path::Path;

use upkeep_deploy::image::{ImageInput, build_image};
use upkeep_deploy::layout::{Digest, ImageStore};
use upkeep_deploy::registry::{BlobOutcome, Registry, RegistryError, RegistryOptions};
use upkeep_deploy::testing::{PASSWORD, SmallDisk, TestRegistry, USER, run};

/// An image of a tree with a file of incompressible bytes (`size`), in a new store.
fn image(size: usize) -> (tempfile::TempDir, ImageStore, Digest) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    std::fs::write(tree.join("src/noise.bin"), noise).unwrap();
    std::fs::write(tree.join("index.php"), "<?php echo 'shop';\n").unwrap();
    let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
    let built = build_image(
        &store,
        &ImageInput {
            root: &tree,
            environment: [("APPLICATION_ENV".to_string(), "production".to_string())].into(),
            labels: std::collections::BTreeMap::default(),
            created: "2026-12-01T12:00:00Z".parse().unwrap(),
            base: None,
        },
    )
    .unwrap();
    (dir, store, built.manifest_digest)
}

#[test]
fn push_then_pull_back_by_digest_gives_the_same_image() {
    let registry = TestRegistry::start();
    let (_source_dir, store, digest) = image(300_000);
    let target = registry.reference("shop/app", "4f2a9c1");
    let client = Registry::connect(&target, &registry.options(PASSWORD)).unwrap();

    let pushed = client.push(&store, &digest, &target, None).unwrap();
    assert_eq!(pushed.digest, digest);
    assert_eq!(
        pushed.reference.to_string(),
        format!("127.0.0.1:{}/shop/app:4f2a9c1@{digest}", registry.port)
    );
    assert_eq!(pushed.blobs.len(), 2, "config and one layer");
    assert!(
        pushed
            .blobs
            .iter()
            .all(|(_, _, outcome)| matches!(outcome, BlobOutcome::Uploaded { requests: 2 }))
    );
    assert!(pushed.uploaded_bytes() > 300_000);

    // A peer client reads the same manifest digest from the registry.
    let cert_dir = tempfile::tempdir().unwrap();
    std::fs::copy(registry.ca(), cert_dir.path().join("ca.crt")).unwrap();
    let inspected = run(
        "skopeo",
        &[
            "inspect",
            "--cert-dir",
            cert_dir.path().to_str().unwrap(),
            "--creds",
            &format!("{USER}:{PASSWORD}"),
            &format!("docker://{target}"),
        ],
        Path::new("."),
    );
    let inspected: serde_json::Value = serde_json::from_slice(&inspected).unwrap();
    assert_eq!(inspected["Digest"], digest.to_string());

    // Pulled into an empty store by digest: identical manifest, config and layer.
    let (_pull_dir, empty, _) = image(1);
    let pulled = client.pull(&empty, &pushed.reference).unwrap();
    assert_eq!(pulled.manifest_digest, digest);
    for (blob, _, _) in &pushed.blobs {
        assert_eq!(
            empty.read_blob(blob).unwrap(),
            store.read_blob(blob).unwrap()
        );
    }

    // A second push sends nothing but the manifest.
    let again = client.push(&store, &digest, &target, None).unwrap();
    assert!(
        again
            .blobs
            .iter()
            .all(|(_, _, outcome)| *outcome == BlobOutcome::Present)
    );
    assert_eq!(again.uploaded_bytes(), 0);
}

#[test]
fn large_blobs_go_in_chunks_and_other_repositories_mount_them() {
    let registry = TestRegistry::start();
    let (_dir, store, digest) = image(300_000);
    let target = registry.reference("shop/base", "1");
    let options = RegistryOptions {
        chunk_size: 64 * 1024,
        ..registry.options(PASSWORD)
    };
    let client = Registry::connect(&target, &options).unwrap();
    let pushed = client.push(&store, &digest, &target, None).unwrap();
    let layer = pushed.blobs.last().unwrap();
    // 300,000 incompressible bytes in 64 KiB chunks: POST, 5 PATCHes, PUT.
    assert_eq!(layer.2, BlobOutcome::Uploaded { requests: 7 }, "{pushed:?}");

    let other = registry.reference("shop/app", "1");
    let mounted = client
        .push(&store, &digest, &other, Some("shop/base"))
        .unwrap();
    assert!(
        mounted
            .blobs
            .iter()
            .all(|(_, _, outcome)| *outcome == BlobOutcome::Mounted),
        "{mounted:?}"
    );
    let (_pull_dir, empty, _) = image(1);
    let pulled = client.pull(&empty, &other).unwrap();
    assert_eq!(pulled.manifest_digest, digest);
}

#[test]
fn wrong_credentials_an_unknown_ca_and_a_stopped_registry_are_clear_errors() {
    let mut registry = TestRegistry::start();
    let (_dir, store, digest) = image(1000);
    let target = registry.reference("shop/app", "1");

    let wrong = Registry::connect(&target, &registry.options("wrong-password")).unwrap();
    let error = wrong.push(&store, &digest, &target, None).unwrap_err();
    assert!(
        matches!(error, RegistryError::Unauthorized { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "the registry 127.0.0.1:{} refused the credentials' access to shop/app",
            registry.port
        )),
        "{message}"
    );
    assert!(
        !message.contains("wrong-password") && !format!("{error:?}").contains("wrong-password")
    );
    assert!(
        upkeep_hint::Hint::hint(&error)
            .unwrap()
            .contains("aws ecr get-login-password")
    );

    let anonymous = Registry::connect(
        &target,
        &RegistryOptions {
            ca_certificate: Some(registry.ca()),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let error = anonymous.push(&store, &digest, &target, None).unwrap_err();
    assert!(
        error.to_string().contains("refused anonymous access"),
        "{error}"
    );

    // Without the CA the registry's certificate is not trusted.
    let untrusted = Registry::connect(
        &target,
        &RegistryOptions {
            ca_certificate: None,
            ..registry.options(PASSWORD)
        },
    )
    .unwrap();
    let error = untrusted.push(&store, &digest, &target, None).unwrap_err();
    assert!(
        matches!(error, RegistryError::Unreachable { .. }),
        "{error:?}"
    );

    registry.stop();
    let client = Registry::connect(&target, &registry.options(PASSWORD)).unwrap();
    let error = client.push(&store, &digest, &target, None).unwrap_err();
    assert!(
        matches!(error, RegistryError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "cannot reach the registry 127.0.0.1:{}",
            registry.port
        )),
        "{error}"
    );
    // Nothing was written to the store by the failed pushes.
    assert_eq!(
        store.resolve(&digest.to_string()).unwrap().manifest_digest,
        digest
    );
}

/// Base64 of `bytes`, standard (`+/`, padded) or URL-safe without padding (JWT).
fn base64(bytes: &[u8], url: bool) -> String {
    let alphabet: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut encoded = String::new();
    for chunk in bytes.chunks(3) {
        let value = chunk.iter().enumerate().fold(0u32, |value, (i, byte)| {
            value | u32::from(*byte) << (16 - 8 * i)
        });
        for position in 0..=chunk.len() {
            encoded.push(char::from(
                alphabet[((value >> (18 - 6 * position)) & 0x3f) as usize],
            ));
        }
        if !url {
            encoded.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    encoded
}

/// A JWT for Docker's token protocol, signed ES256 by `token.key` (openssl) with `token.crt`
/// in its `x5c` header, granting `pull,push` on `repository`.
fn signed_token(dir: &Path, service: &str, repository: &str) -> String {
    let certificate = run(
        "openssl",
        &["x509", "-in", "token.crt", "-outform", "DER"],
        dir,
    );
    let header =
        serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [base64(&certificate, false)]});
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": "upkeep-test-issuer", "sub": USER, "aud": service, "jti": "1",
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
        "access": [{"type": "repository", "name": repository, "actions": ["pull", "push"]}],
    });
    let signing_input = format!(
        "{}.{}",
        base64(header.to_string().as_bytes(), true),
        base64(claims.to_string().as_bytes(), true)
    );
    std::fs::write(dir.join("token.input"), &signing_input).unwrap();
    let der = run(
        "openssl",
        &["dgst", "-sha256", "-sign", "token.key", "token.input"],
        dir,
    );
    // DER `SEQUENCE { INTEGER r, INTEGER s }` -> JWT's fixed-width r || s.
    let mut raw = Vec::new();
    let mut at = 2;
    for _ in 0..2 {
        assert_eq!(der[at], 0x02, "an ASN.1 integer");
        let length = usize::from(der[at + 1]);
        let integer = &der[at + 2..at + 2 + length];
        let integer = &integer[integer.len().saturating_sub(32)..];
        raw.extend(std::iter::repeat_n(0, 32 - integer.len()));
        raw.extend_from_slice(integer);
        at += 2 + length;
    }
    format!("{signing_input}.{}", base64(&raw, true))
}

/// A token endpoint on loopback that hands `token` to requests with our basic credentials,
/// and counts the requests it answered with a token.
fn serve_tokens(token: String) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = issued.clone();
    let expected = format!(
        "authorization: basic {}",
        base64(format!("{USER}:{PASSWORD}").as_bytes(), false).to_ascii_lowercase()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut authorized = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                authorized |= line.trim().to_ascii_lowercase() == expected;
            }
            let (status, body) = if authorized {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ("200 OK", serde_json::json!({"token": token}).to_string())
            } else {
                ("401 Unauthorized", "{}".to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, issued)
}

#[test]
fn bearer_tokens_come_from_the_realm_the_registry_names() {
    let issued = std::cell::RefCell::new(None);
    let registry = TestRegistry::start_with(|path| {
        let mut key = vec!["req", "-x509", "-newkey", "ec", "-pkeyopt"];
        key.extend([
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "token.key",
        ]);
        key.extend([
            "-out",
            "token.crt",
            "-days",
            "2",
            "-subj",
            "/CN=upkeep token issuer",
        ]);
        run("openssl", &key, path);
        let token = signed_token(path, "upkeep-test", "shop/app");
        let (port, count) = serve_tokens(token);
        *issued.borrow_mut() = Some(count);
        format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    service: upkeep-test\n    issuer: upkeep-test-issuer\n    rootcertbundle: {}/token.crt\n",
            path.display()
        )
    });
    let issued = issued.into_inner().unwrap();
    let (_dir, store, digest) = image(1000);
    let target = registry.reference("shop/app", "1");
    let client = Registry::connect(&target, &registry.options(PASSWORD)).unwrap();
    let pushed = client.push(&store, &digest, &target, None).unwrap();
    assert_eq!(pushed.digest, digest);
    // One token, fetched at the first challenge and used for every later request.
    assert_eq!(issued.load(std::sync::atomic::Ordering::SeqCst), 1);
    let (_pull_dir, empty, _) = image(1);
    assert_eq!(
        client
            .pull(&empty, &pushed.reference)
            .unwrap()
            .manifest_digest,
        digest
    );

    // The token endpoint refuses other credentials: a clear error, nothing pushed.
    let wrong = Registry::connect(&target, &registry.options("wrong")).unwrap();
    let error = wrong
        .push(&store, &digest, &registry.reference("shop/app", "2"), None)
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::Unauthorized { .. }),
        "{error:?}"
    );
}

/// A TCP proxy on loopback to `port` that passes the first `budget` bytes the client sends on
/// each connection and then cuts it, as a registry killed halfway through an upload would.
fn cutting_proxy(port: u16, budget: usize) -> u16 {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let Ok(mut server) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let mut client_reader = client.try_clone().unwrap();
            let mut server_writer = server.try_clone().unwrap();
            std::thread::spawn(move || {
                let mut sent = 0;
                let mut buffer = [0u8; 16 * 1024];
                while let Ok(read) = client_reader.read(&mut buffer) {
                    if read == 0 || sent + read > budget {
                        break;
                    }
                    if server_writer.write_all(&buffer[..read]).is_err() {
                        break;
                    }
                    sent += read;
                }
                let _ = client_reader.shutdown(std::net::Shutdown::Both);
                let _ = server_writer.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut server, &mut client);
            });
        }
    });
    proxy_port
}

#[test]
fn an_upload_cut_off_halfway_leaves_no_tag_and_the_next_push_completes_it() {
    let registry = TestRegistry::start();
    let (_dir, store, digest) = image(2_000_000);
    let options = RegistryOptions {
        chunk_size: 256 * 1024,
        ..registry.options(PASSWORD)
    };
    // Through the proxy each connection dies after 1 MB: the layer's upload breaks off.
    let proxy = cutting_proxy(registry.port, 1_000_000);
    let cut: upkeep_deploy::registry::ImageReference =
        format!("127.0.0.1:{proxy}/shop/app:1").parse().unwrap();
    let error = Registry::connect(&cut, &options)
        .unwrap()
        .push(&store, &digest, &cut, None)
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::Unreachable { .. }),
        "{error:?}"
    );

    // The registry has no manifest for the tag: nothing can be deployed from it.
    let target = registry.reference("shop/app", "1");
    let client = Registry::connect(&target, &options).unwrap();
    let (_pull_dir, empty, _) = image(1);
    let missing = client.pull(&empty, &target).unwrap_err();
    assert!(
        missing.to_string().contains("answered 404")
            && missing.to_string().contains("MANIFEST_UNKNOWN"),
        "{missing}"
    );

    // Pushed again directly, the upload starts over and the image arrives whole.
    let pushed = client.push(&store, &digest, &target, None).unwrap();
    assert_eq!(
        client
            .pull(&empty, &pushed.reference)
            .unwrap()
            .manifest_digest,
        digest
    );
}

#[test]
fn a_pull_onto_a_full_disk_is_a_clear_error_and_leaves_no_partial_blob() {
    let registry = TestRegistry::start();
    let (_source_dir, store, digest) = image(3_000_000);
    let target = registry.reference("shop/app", "big");
    let client = Registry::connect(&target, &registry.options(PASSWORD)).unwrap();
    let pushed = client.push(&store, &digest, &target, None).unwrap();

    let disk = SmallDisk::mount("1m");
    let small = ImageStore::open_or_create(disk.path().join("store")).unwrap();
    let error = client
        .pull(&small, &pushed.reference)
        .expect_err("the layer does not fit");
    let message = error.to_string();
    assert!(message.contains("No space left on device"), "{message}");
    assert!(
        message.contains(&disk.path().display().to_string()),
        "{message}"
    );
    // Neither the layer nor a temporary file of it stays behind.
    let leftovers: Vec<_> = walk(&disk.path().join("store/blobs"))
        .into_iter()
        .filter(|path| std::fs::metadata(path).unwrap().len() > 1_000_000)
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let layer = &store.resolve(&digest.to_string()).unwrap().manifest.layers[0].digest;
    assert!(!small.has_blob(layer));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}
