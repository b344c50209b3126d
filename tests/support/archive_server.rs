//! A static file server on 127.0.0.1 for archives of integration manifests, with an `ETag` on
//! every file, `304` for a matching `If-None-Match` and a record of what it answered; and the
//! archives themselves (`.tar.gz`, `.zip`), made from files in memory with one top folder, as
//! GitHub's archive of spryker/integrator-manifests has. Shared by the integrator's tests and
//! the binary's.

#![allow(dead_code)]

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One answered request: the path, whether it carried `If-None-Match`, the status sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub path: String,
    pub conditional: bool,
    pub status: u16,
}

#[derive(Default)]
struct Files {
    /// Path to status and body.
    served: HashMap<String, (u16, Vec<u8>)>,
    answered: Vec<Answered>,
}

pub struct ArchiveServer {
    server: Arc<tiny_http::Server>,
    files: Arc<Mutex<Files>>,
    thread: Option<JoinHandle<()>>,
    pub base_url: String,
}

impl ArchiveServer {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let port = server
            .server_addr()
            .to_ip()
            .map(|address| address.port())
            .expect("an IP address");
        let files = Arc::new(Mutex::new(Files::default()));
        let thread = {
            let server = Arc::clone(&server);
            let files = Arc::clone(&files);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    answer(&files, request);
                }
            })
        };
        Self {
            server,
            files,
            thread: Some(thread),
            base_url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Serves `body` at `path` with `status`.
    pub fn put(&self, path: &str, status: u16, body: Vec<u8>) {
        self.files
            .lock()
            .expect("lock")
            .served
            .insert(path.to_string(), (status, body));
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// What it answered, in order, and forgets it.
    pub fn take_answered(&self) -> Vec<Answered> {
        std::mem::take(&mut self.files.lock().expect("lock").answered)
    }
}

impl Drop for ArchiveServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn etag(body: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

fn answer(files: &Mutex<Files>, request: tiny_http::Request) {
    let path = request.url().to_string();
    let if_none_match = request
        .headers()
        .iter()
        .find(|header| header.field.equiv("If-None-Match"))
        .map(|header| header.value.as_str().to_string());
    let mut files = files.lock().expect("lock");
    let (status, body) = files
        .served
        .get(&path)
        .cloned()
        .unwrap_or((404, b"not found".to_vec()));
    let tag = etag(&body);
    let status = if status == 200 && if_none_match.as_deref() == Some(tag.as_str()) {
        304
    } else {
        status
    };
    files.answered.push(Answered {
        path,
        conditional: if_none_match.is_some(),
        status,
    });
    drop(files);
    let body = if status == 304 { Vec::new() } else { body };
    let mut response = tiny_http::Response::from_data(body).with_status_code(status);
    if status == 200 || status == 304 {
        response = response
            .with_header(tiny_http::Header::from_bytes("ETag", tag.as_bytes()).expect("header"));
    }
    let _ = request.respond(response);
}

/// Every file under `root`, as `(path relative to root with /, bytes)`, sorted.
pub fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, Vec<u8>)>) {
        for entry in fs_err::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                let name = relative.to_string_lossy().replace('\\', "/");
                files.push((name, fs_err::read(&path).expect("read")));
            }
        }
    }
    let mut files = Vec::new();
    walk(root, root, &mut files);
    files.sort();
    files
}

/// The folders above every file, each once, parents first.
fn folders(files: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut folders: Vec<String> = Vec::new();
    for (name, _) in files {
        let mut end = 0;
        while let Some(slash) = name[end..].find('/') {
            end += slash + 1;
            let folder = name[..end].to_string();
            if !folders.contains(&folder) {
                folders.push(folder);
            }
        }
    }
    folders
}

/// A `.tar.gz` of `files` under the folder `top` (`integrator-manifests-master`), with folder
/// entries and a pax global header as `git archive` writes.
pub fn tar_gz(top: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let comment = b"52 comment=0123456789abcdef0123456789abcdef01234567\n";
    let mut global = tar::Header::new_ustar();
    global.set_entry_type(tar::EntryType::XGlobalHeader);
    global.set_path("pax_global_header").expect("path");
    global.set_size(comment.len() as u64);
    global.set_cksum();
    builder.append(&global, &comment[..]).expect("append");
    let named: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(name, body)| (format!("{top}/{name}"), body.clone()))
        .collect();
    for folder in std::iter::once(format!("{top}/")).chain(folders(&named).into_iter().skip(1)) {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        builder
            .append_data(&mut header, &folder, std::io::empty())
            .expect("append folder");
    }
    for (name, body) in &named {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_size(body.len() as u64);
        builder
            .append_data(&mut header, name, body.as_slice())
            .expect("append file");
    }
    gzip(&builder.into_inner().expect("tar"))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A tar (not compressed) whose one entry is named `name` verbatim, however unsafe: the tar
/// crate's builder refuses `..`, which is what such an archive is made to test.
pub fn tar_with_raw_name(name: &str, body: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_mode(0o644);
    header.set_size(body.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, body).expect("append");
    builder.into_inner().expect("tar")
}

/// A `.zip` of `files` under the folder `top`, deflated, as GitHub serves it.
pub fn zip(top: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer
        .add_directory(format!("{top}/"), options)
        .expect("folder");
    for (name, body) in files {
        writer
            .start_file(format!("{top}/{name}"), options)
            .expect("file");
        writer.write_all(body).expect("write");
    }
    writer.finish().expect("zip").into_inner()
}
