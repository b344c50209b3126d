//! Dockerfile builds: when the commit has a Dockerfile, Build makes the image with `buildah bud`
//! (Debian's `buildah`) instead of upkeep's own layer build, with the clean checkout as the
//! context, then copies it into the local image store, where tagging, promotion, the registry
//! push and deployment take it as they take any image.
//!
//! buildah writes the image straight into an OCI layout of its own, beside the store, which
//! [`ImageStore::import`] then copies in blob by blob, checking each digest: buildah does not
//! take the store's `index.json` lock, so it never writes the store itself, and the built image
//! is not left in buildah's container storage (the base images are: its cache). Base images
//! (`FROM`) are pulled by buildah; for the environment's registry it gets the CA certificate
//! and the credentials in a private directory (an auth file of mode 0600), never on its
//! command line. The deploy file's `image.environment` becomes build arguments whose values
//! buildah reads from its environment.
//!
//! ```text
//! buildah bud --file <checkout>/Dockerfile --tag oci:<store>/.buildah-…/layout:image
//!     --timestamp <commit time> --label org.opencontainers.image.revision=<commit> …
//!     --build-arg APPLICATION_ENV … [--authfile …/auth.json --cert-dir …/certs] <checkout>
//! ```

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use upkeep_pipeline::container::find_program;

use fs_err::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use upkeep_pipeline::executor::{StepCommand, StepSpec};
use upkeep_pipeline::record::{RunStatus, StageKind, StageRecord};

use crate::image::BuiltImage;
use crate::layout::{Descriptor, ImageStore, LayoutError, ResolvedImage};
use crate::registry::PushTarget;
use crate::stage::StageRunner;

/// The program, and the Debian package that has it.
pub const BUILDAH: &str = "buildah";
/// The Dockerfile Build uses when the environment names none and the commit has one.
pub const DEFAULT_DOCKERFILE: &str = "Dockerfile";
/// The name of the Build stage's step that runs buildah (its log is `build/dockerfile.log`).
pub const DOCKERFILE_STEP: &str = "dockerfile";

/// What buildah gets of upkeep's own environment: where programs are, and the containers
/// configuration a host may point to (`CONTAINERS_CONF` for `containers.conf`, storage and
/// registries). Nothing else: the build arguments are added by name.
const BUILDAH_HOST_VARIABLES: [&str; 11] = [
    "PATH",
    "HOME",
    "LANG",
    "TMPDIR",
    "USER",
    "XDG_RUNTIME_DIR",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "BUILDAH_ISOLATION",
    "STORAGE_DRIVER",
];

/// The tag of the image in buildah's own output layout.
const OUTPUT_TAG: &str = "image";

/// A Dockerfile build to run.
pub struct DockerfileInput<'a> {
    /// The clean checkout: buildah's context, and where the Dockerfile is read from.
    pub context: &'a Path,
    /// Relative to `context`.
    pub dockerfile: &'a Path,
    /// `--build-arg`s, in this order; the values reach buildah through its environment.
    pub build_args: &'a IndexMap<String, String>,
    pub labels: &'a BTreeMap<String, String>,
    /// Seconds since the epoch (the commit time): the image's `created` and its files' times.
    pub created: i64,
    /// The environment's registry: base images from it are pulled with its CA and credentials.
    pub registry: Option<&'a PushTarget>,
    pub store: &'a ImageStore,
}

#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    #[error(
        "`buildah` is not installed (it is not in PATH), and the build of the Dockerfile `{}` needs it",
        dockerfile.display()
    )]
    BuildahMissing { dockerfile: PathBuf },
    #[error("the Dockerfile `{}` named by `dockerfile` in upkeep.yml is not in the commit", path.display())]
    MissingDockerfile { path: PathBuf },
    #[error("cannot prepare buildah's private directory for the registry's credentials: {source}")]
    Credentials { source: io::Error },
    #[error("cannot create buildah's output directory in {}: {source}", store.display())]
    Output { store: PathBuf, source: io::Error },
    #[error("the image buildah wrote to {} cannot be taken into the image store: {source}", layout.display())]
    Import {
        layout: PathBuf,
        source: LayoutError,
    },
    #[error("the Dockerfile {} built an image without layers, which cannot be deployed", dockerfile.display())]
    NoLayers { dockerfile: PathBuf },
}

impl upkeep_hint::Hint for DockerfileError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::BuildahMissing { .. } => Some(format!(
                "install the Debian package `{BUILDAH}` (`apt-get install {BUILDAH}`) on the machine that runs the build; without a Dockerfile, upkeep builds the image itself"
            )),
            Self::MissingDockerfile { .. } => Some(
                "commit the Dockerfile, or correct `dockerfile` in upkeep.yml (a path relative to the repository root)"
                    .to_string(),
            ),
            Self::Import { source, .. } => source.hint(),
            Self::NoLayers { .. } => {
                Some("add the application to the image, e.g. `COPY . /app`".to_string())
            }
            Self::Credentials { .. } | Self::Output { .. } => None,
        }
    }
}

/// The Dockerfile of this build, relative to the checkout: the one the environment names
/// (which the commit must have), else `Dockerfile` at the root when the commit has it; `None`
/// builds the image without one.
pub fn dockerfile_of(
    checkout: &Path,
    configured: Option<&Path>,
) -> Result<Option<PathBuf>, DockerfileError> {
    match configured {
        Some(path) if checkout.join(path).is_file() => Ok(Some(path.to_path_buf())),
        Some(path) => Err(DockerfileError::MissingDockerfile {
            path: path.to_path_buf(),
        }),
        None => {
            let default = PathBuf::from(DEFAULT_DOCKERFILE);
            Ok(checkout.join(&default).is_file().then_some(default))
        }
    }
}

/// The absolute path of `buildah` in upkeep's `PATH`; checked before the build buildspec runs,
/// so a machine without it fails at once, naming the package.
pub fn find_buildah(dockerfile: &Path) -> Result<PathBuf, DockerfileError> {
    let path = std::env::var("PATH").ok();
    find_program(BUILDAH, path.as_deref()).ok_or_else(|| DockerfileError::BuildahMissing {
        dockerfile: dockerfile.to_path_buf(),
    })
}

/// Runs `buildah bud` as the Build stage's `dockerfile` step and copies the image into the
/// store. The step goes into `record`; when it fails (the log says why), the stage fails and
/// `None` is returned.
pub fn build_with_buildah(
    runner: &StageRunner<'_>,
    buildah: &Path,
    input: &DockerfileInput<'_>,
    record: &mut StageRecord,
) -> Result<Option<BuiltImage>, crate::build::BuildError> {
    let private = tempfile::Builder::new()
        .prefix("upkeep-buildah-")
        .tempdir()
        .map_err(|source| DockerfileError::Credentials { source })?;
    let output = output_dir(input.store)?;
    let layout = output.path().join("layout");

    let access = match input.registry {
        Some(registry) => registry_access(private.path(), registry)?,
        None => Vec::new(),
    };
    runner.say(&format!(
        "build: building the image from {} with buildah",
        input.dockerfile.display()
    ));
    let spec = bud_step(buildah, input, &layout, access, &|name| {
        std::env::var(name).ok()
    });
    let step = runner.run_process_step(StageKind::Build, &spec)?;
    // The credentials go as soon as buildah is done with them.
    drop(private);
    let status = step.status;
    record.steps.push(step);
    if status != RunStatus::Succeeded {
        record.status = status;
        runner.observer.stage_finished(record);
        runner.say(&format!(
            "build: the Dockerfile build {}; see the build's {DOCKERFILE_STEP} log",
            match status {
                RunStatus::TimedOut => "timed out",
                RunStatus::Cancelled => "was cancelled",
                _ => "failed",
            }
        ));
        return Ok(None);
    }
    let import = || -> Result<(Descriptor, ResolvedImage), LayoutError> {
        let built = ImageStore::open_or_create(&layout)?;
        let descriptor = input.store.import(&built, OUTPUT_TAG)?;
        // Read back as every later user reads it: this checks the store agrees with buildah.
        let image = input.store.resolve(&descriptor.digest.to_string())?;
        Ok((descriptor, image))
    };
    let (descriptor, image) = import().map_err(|source| DockerfileError::Import {
        layout: layout.clone(),
        source,
    })?;
    let built = built_image(&descriptor, &image).ok_or_else(|| DockerfileError::NoLayers {
        dockerfile: input.dockerfile.to_path_buf(),
    })?;
    runner.observer.stage_finished(record);
    Ok(Some(built))
}

/// The `buildah bud` step: its arguments, and its whole environment, made of the host variables
/// buildah needs (`host` reads upkeep's) and the build arguments' values.
fn bud_step(
    buildah: &Path,
    input: &DockerfileInput<'_>,
    layout: &Path,
    registry_access: Vec<String>,
    host: &dyn Fn(&str) -> Option<String>,
) -> StepSpec {
    let mut env: BTreeMap<String, String> = BUILDAH_HOST_VARIABLES
        .iter()
        .filter_map(|name| Some(((*name).to_string(), host(name)?)))
        .collect();
    let mut args: Vec<String> = vec![
        "bud".into(),
        "--file".into(),
        input.context.join(input.dockerfile).display().to_string(),
        "--tag".into(),
        format!("oci:{}:{OUTPUT_TAG}", layout.display()),
        // The commit time, not the clock: a rebuild of the commit gives the same times.
        "--timestamp".into(),
        input.created.to_string(),
        // buildah's version label would make two buildah versions give two images.
        "--identity-label=false".into(),
        // bud keeps layers uncompressed unless told; the registry push would send them so.
        "--disable-compression=false".into(),
    ];
    for (name, value) in input.labels {
        args.extend(["--label".into(), format!("{name}={value}")]);
    }
    for (name, value) in input.build_args {
        if read_by_buildah(name) {
            // In buildah's environment it would change how buildah itself works (a `PATH`
            // without runc, an `HTTP_PROXY` for its pulls), so it goes inline; the caller
            // passes no secret as a build argument.
            args.extend(["--build-arg".into(), format!("{name}={value}")]);
        } else {
            // Without a value buildah reads it from its environment, so no value shows in
            // the process list.
            args.extend(["--build-arg".into(), name.clone()]);
            env.insert(name.clone(), value.clone());
        }
    }
    args.extend(registry_access);
    args.push(input.context.display().to_string());
    StepSpec {
        name: DOCKERFILE_STEP.to_string(),
        command: StepCommand::Exec {
            program: buildah.display().to_string(),
            args,
        },
        cwd: input.context.to_path_buf(),
        env,
        timeout: None,
        stdin: None,
        // SIGTERM to buildah's group is enough: buildah then stops the `RUN`'s container and
        // removes it (the timeout and Ctrl-C tests find none of its processes left).
        stopper: None,
    }
}

/// Whether buildah, or the containers libraries in it, read a variable of this name from its
/// environment.
fn read_by_buildah(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    BUILDAH_HOST_VARIABLES.contains(&name)
        || [
            "BUILDAH_",
            "CONTAINERS_",
            "REGISTRY_",
            "STORAGE_",
            "DOCKER_",
            "XDG_",
            "TMP",
        ]
        .iter()
        .any(|prefix| upper.starts_with(prefix))
        || ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"].contains(&upper.as_str())
}

/// A directory for buildah's OCI layout inside the store, so that a large image is written on
/// the store's file system rather than in a small `/tmp`; removed when dropped. The `oci:`
/// transport cannot name a path with a colon, so such a store gets one in the temporary
/// directory instead.
fn output_dir(store: &ImageStore) -> Result<tempfile::TempDir, DockerfileError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".buildah-");
    let result = if store.root().as_os_str().to_string_lossy().contains(':') {
        builder.tempdir()
    } else {
        builder.tempdir_in(store.root())
    };
    result.map_err(|source| DockerfileError::Output {
        store: store.root().to_path_buf(),
        source,
    })
}

/// buildah's arguments to pull base images from the environment's registry: its CA as the
/// only file of a certificate directory, its credentials in an auth file readable by this user
/// only, both in `private` (a directory of mode 0700 that the caller removes).
fn registry_access(private: &Path, registry: &PushTarget) -> Result<Vec<String>, DockerfileError> {
    let failed = |source| DockerfileError::Credentials { source };
    let mut args = Vec::new();
    if let Some(ca) = &registry.options.ca_certificate {
        let certs = private.join("certs");
        fs_err::create_dir(&certs).map_err(failed)?;
        // containers/image reads `*.crt` files of the directory as CA certificates.
        fs_err::copy(ca, certs.join("ca.crt")).map_err(failed)?;
        args.extend(["--cert-dir".into(), certs.display().to_string()]);
    }
    if let Some(credentials) = &registry.options.credentials {
        let auth_file = private.join("auth.json");
        let auth = serde_json::json!({
            "auths": { registry.repository.registry.as_str(): { "auth": credentials.auth_file_value() } }
        });
        let mut file = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&auth_file)
            .map_err(failed)?;
        file.write_all(auth.to_string().as_bytes())
            .map_err(failed)?;
        args.extend(["--authfile".into(), auth_file.display().to_string()]);
    }
    if registry.options.plain_http {
        // buildah has no per-registry switch on its command line: this one allows plain http
        // (and unverified https) for every registry the Dockerfile pulls from.
        args.push("--tls-verify=false".into());
    }
    Ok(args)
}

/// The [`BuiltImage`] of an imported image, whose application layer is its top one (what the
/// Dockerfile added last); `None` for an image without layers.
fn built_image(descriptor: &Descriptor, image: &ResolvedImage) -> Option<BuiltImage> {
    let top = image.manifest.layers.last()?;
    Some(BuiltImage {
        manifest_digest: descriptor.digest.clone(),
        manifest_size: descriptor.size,
        config_digest: image.manifest.config.digest.clone(),
        layer_digest: top.digest.clone(),
        diff_id: image.config.rootfs.diff_ids.last()?.clone(),
        size: top.size,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::registry::{Credentials, RegistryOptions};

    #[test]
    fn the_dockerfile_is_the_named_one_or_the_one_at_the_root() {
        let checkout = tempfile::tempdir().unwrap();
        assert_eq!(dockerfile_of(checkout.path(), None).unwrap(), None);
        fs_err::write(checkout.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        assert_eq!(
            dockerfile_of(checkout.path(), None).unwrap(),
            Some(PathBuf::from("Dockerfile"))
        );
        let error =
            dockerfile_of(checkout.path(), Some(Path::new("docker/app.Dockerfile"))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the Dockerfile `docker/app.Dockerfile` named by `dockerfile` in upkeep.yml is not in the commit"
        );
        fs_err::create_dir(checkout.path().join("docker")).unwrap();
        fs_err::write(checkout.path().join("docker/app.Dockerfile"), "FROM x\n").unwrap();
        assert_eq!(
            dockerfile_of(checkout.path(), Some(Path::new("docker/app.Dockerfile"))).unwrap(),
            Some(PathBuf::from("docker/app.Dockerfile"))
        );
    }

    #[test]
    fn registry_credentials_go_to_a_private_auth_file_never_to_the_arguments() {
        let private = tempfile::tempdir().unwrap();
        let ca = private.path().join("registry-ca.pem");
        fs_err::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let target = PushTarget {
            repository: "127.0.0.1:5000/shop/app".parse().unwrap(),
            options: RegistryOptions {
                credentials: Some(Credentials {
                    username: "ci".to_string(),
                    password: "pa55word".to_string(),
                }),
                ca_certificate: Some(ca),
                ..RegistryOptions::default()
            },
        };
        let args = registry_access(private.path(), &target).unwrap();
        let auth_file = private.path().join("auth.json");
        assert_eq!(
            args,
            [
                "--cert-dir".to_string(),
                private.path().join("certs").display().to_string(),
                "--authfile".to_string(),
                auth_file.display().to_string(),
            ]
        );
        assert!(!args.join(" ").contains("pa55word"));
        assert!(private.path().join("certs/ca.crt").is_file());
        let auth: serde_json::Value =
            serde_json::from_slice(&fs_err::read(&auth_file).unwrap()).unwrap();
        // base64 of `ci:pa55word`.
        assert_eq!(auth["auths"]["127.0.0.1:5000"]["auth"], "Y2k6cGE1NXdvcmQ=");
        let mode = fs_err::metadata(&auth_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn build_arguments_reach_buildah_by_environment_unless_buildah_reads_the_name() {
        let store_dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open_or_create(store_dir.path()).unwrap();
        let build_args: IndexMap<String, String> = [
            ("APPLICATION_ENV", "staging"),
            ("PATH", "/app/vendor/bin:/usr/bin"),
            ("http_proxy", "http://proxy.internal:3128"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
        let labels =
            BTreeMap::from([("dev.upkeep.environment".to_string(), "staging".to_string())]);
        let input = DockerfileInput {
            context: Path::new("/work/checkout"),
            dockerfile: Path::new("docker/Dockerfile"),
            build_args: &build_args,
            labels: &labels,
            created: 1_700_000_000,
            registry: None,
            store: &store,
        };
        let host = |name: &str| match name {
            "PATH" => Some("/usr/sbin:/usr/bin".to_string()),
            "CONTAINERS_CONF" => Some("/etc/upkeep/containers.conf".to_string()),
            _ => None,
        };
        let spec = bud_step(
            Path::new("/usr/bin/buildah"),
            &input,
            Path::new("/store/.buildah-x/layout"),
            vec!["--authfile".to_string(), "/tmp/p/auth.json".to_string()],
            &host,
        );
        let StepCommand::Exec { program, args } = &spec.command else {
            panic!("{spec:?}");
        };
        assert_eq!(program, "/usr/bin/buildah");
        assert_eq!(
            args.join(" "),
            "bud --file /work/checkout/docker/Dockerfile --tag oci:/store/.buildah-x/layout:image \
             --timestamp 1700000000 --identity-label=false --disable-compression=false \
             --label dev.upkeep.environment=staging --build-arg APPLICATION_ENV \
             --build-arg PATH=/app/vendor/bin:/usr/bin \
             --build-arg http_proxy=http://proxy.internal:3128 --authfile /tmp/p/auth.json \
             /work/checkout"
        );
        // buildah keeps the host's PATH; nothing of the host beyond the listed variables.
        assert_eq!(
            spec.env,
            BTreeMap::from([
                ("APPLICATION_ENV".to_string(), "staging".to_string()),
                (
                    "CONTAINERS_CONF".to_string(),
                    "/etc/upkeep/containers.conf".to_string()
                ),
                ("PATH".to_string(), "/usr/sbin:/usr/bin".to_string()),
            ])
        );
    }

    #[test]
    fn a_missing_buildah_names_the_debian_package() {
        let error = DockerfileError::BuildahMissing {
            dockerfile: PathBuf::from("Dockerfile"),
        };
        let hint = upkeep_hint::Hint::hint(&error).unwrap();
        assert!(
            hint.starts_with("install the Debian package `buildah`"),
            "{hint}"
        );
    }
}
