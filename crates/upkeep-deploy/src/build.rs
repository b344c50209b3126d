//! The Build stage: runs the project's build buildspec in a clean checkout of the commit, then
//! writes the tree as a reproducible OCI image into the local image store, tagged
//! `<environment>-<commit>` — or, when the commit has a Dockerfile, has `buildah` build the
//! image from the checkout (see [`crate::dockerfile`]). The image is not deployable yet: it is promoted (tagged
//! `<environment>-latest`, see [`crate::promotion`]) only once its gate and approval allow it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use upkeep_pipeline::buildspec::Buildspec;
use upkeep_pipeline::deploy_file::DeployFile;
use upkeep_pipeline::project_file::Stage;
use upkeep_pipeline::record::{RunStatus, StageKind, StageRecord};

use crate::checkout::Commit;
use crate::dockerfile::{
    DockerfileError, DockerfileInput, build_with_buildah, dockerfile_of, find_buildah,
};
use crate::image::{BuiltImage, ImageError, ImageInput, build_image};
use crate::layout::{Digest, ImageStore, LayoutError, write_atomically};
use crate::registry::{BlobOutcome, ImageReference, PushTarget, Registry};
use crate::stage::{StageError, StageRunner, project_buildspec};

/// Image labels upkeep sets (the `org.opencontainers` ones are the OCI annotation names).
pub const LABEL_REVISION: &str = "org.opencontainers.image.revision";
pub const LABEL_TITLE: &str = "org.opencontainers.image.title";
pub const LABEL_ENVIRONMENT: &str = "dev.upkeep.environment";

/// Where the variables a build exported are kept, per image, beside the OCI layout.
const EXPORTS_DIR: &str = "upkeep-exports";

/// What to build.
pub struct BuildInput<'a> {
    /// The clean checkout of `commit`; the build runs in it and it becomes the image.
    pub checkout: &'a Path,
    pub commit: &'a Commit,
    /// `SPRYKER_PROJECT_NAME`.
    pub project_name: &'a str,
    pub environment: &'a str,
    /// The environment's deploy file, read from the checkout.
    pub deploy_file: &'a DeployFile,
    /// The project's build buildspec relative to the repository root; `None` runs the built-in one.
    pub buildspec: Option<&'a Path>,
    /// The environment's Dockerfile relative to the repository root; `None`: `Dockerfile` at
    /// the root when the commit has one, else upkeep's own image build.
    pub dockerfile: Option<&'a Path>,
    pub store: &'a ImageStore,
    /// Where to push the image after it is built; `None` keeps it in the store only.
    pub push: Option<&'a PushTarget>,
}

/// How the build went.
#[derive(Debug)]
pub struct BuildOutcome {
    pub record: StageRecord,
    /// The image, when the buildspec succeeded.
    pub image: Option<TaggedBuild>,
    pub exported: BTreeMap<String, String>,
}

/// A built image and the tag it is known by.
#[derive(Debug, Clone)]
pub struct TaggedBuild {
    /// `<environment>-<12 hex of the commit>`.
    pub reference: String,
    pub built: BuiltImage,
    /// Where it was pushed, pinned by digest, when the build had a push target.
    pub pushed: Option<ImageReference>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Dockerfile(#[from] DockerfileError),
    #[error("the build buildspec `{}` is not in the commit", path.display())]
    MissingBuildspec { path: PathBuf },
    #[error("cannot keep the exported variables of the build in {}: {source}", path.display())]
    Exports {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the commit time {time} is not a valid timestamp")]
    CommitTime { time: i64 },
}

impl upkeep_hint::Hint for BuildError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Image(error) => error.hint(),
            Self::Layout(error) => error.hint(),
            Self::Dockerfile(error) => error.hint(),
            Self::Stage(error) => error
                .hint()
                .or_else(|| Some("fix the build configuration and commit it".to_string())),
            _ => Some("fix the build configuration and commit it".to_string()),
        }
    }
}

/// The tag of the image built for `environment` from `commit`.
pub fn image_tag(environment: &str, commit: &Commit) -> String {
    format!("{environment}-{}", commit.short())
}

/// Runs the build buildspec in the checkout and, when it succeeds, builds and tags the image.
pub fn build(runner: &StageRunner<'_>, input: &BuildInput<'_>) -> Result<BuildOutcome, BuildError> {
    let buildspec = match input.buildspec {
        None => Buildspec::default_for(Stage::Build),
        Some(relative) => project_buildspec(input.checkout, relative)?.ok_or_else(|| {
            BuildError::MissingBuildspec {
                path: relative.to_path_buf(),
            }
        })?,
    };
    // A missing buildah is found before the buildspec has spent its time.
    let dockerfile = dockerfile_of(input.checkout, input.dockerfile)?;
    let buildah = dockerfile.as_deref().map(find_buildah).transpose()?;
    let image_environment = input.deploy_file.image_environment();
    let mut variables: BTreeMap<String, String> = image_environment
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    variables.insert("SPRYKER_PROJECT_NAME".into(), input.project_name.into());
    variables.insert(
        "UPKEEP_COMPOSER_MODE".into(),
        input.deploy_file.composer_mode().unwrap_or_default().into(),
    );
    variables.insert(
        "UPKEEP_COMPOSER_AUTOLOAD".into(),
        input
            .deploy_file
            .composer_autoload()
            .unwrap_or_default()
            .into(),
    );
    variables.insert("UPKEEP_COMMIT".into(), input.commit.id.clone());
    runner.say(&format!(
        "build: running {} in a clean checkout of {}",
        buildspec.source.display(),
        input.commit.short()
    ));
    let result = runner.run(StageKind::Build, &buildspec, input.checkout, &variables)?;
    if result.record.status != RunStatus::Succeeded {
        return Ok(BuildOutcome {
            record: result.record,
            image: None,
            exported: result.exported,
        });
    }
    let mut record = result.record;
    let dockerfile = dockerfile.zip(buildah);
    let Some(built) = make_image(runner, input, dockerfile, image_environment, &mut record)? else {
        return Ok(BuildOutcome {
            record,
            image: None,
            exported: result.exported,
        });
    };
    let reference = image_tag(input.environment, input.commit);
    let descriptor = built.manifest_descriptor();
    input.store.tag(&reference, &descriptor)?;
    // Exports holding a secret would be written in clear beside the image, which CI caches
    // publish: they go on to this run's deployment in memory only.
    let mut kept = result.exported.clone();
    for name in &result.secret_exports {
        kept.remove(name);
        runner.say(&format!(
            "build: the exported variable {name} holds a secret; it is handed to this run's deployment but not kept with the image, so a later `upkeep deploy` of the image does not have it"
        ));
    }
    save_exports(input.store, &built.manifest_digest, &kept)?;
    runner.say(&format!(
        "build: image {} ({}) written to {}",
        reference,
        built.manifest_digest,
        input.store.root().display()
    ));
    let mut pushed = None;
    if let Some(target) = input.push {
        pushed = push_step(runner, input.store, &built, &reference, target, &mut record)?;
        if pushed.is_none() {
            // Nothing is deployed from an image the environment's registry does not have.
            return Ok(BuildOutcome {
                record,
                image: None,
                exported: result.exported,
            });
        }
    }
    Ok(BuildOutcome {
        record,
        image: Some(TaggedBuild {
            reference,
            built,
            pushed,
        }),
        exported: result.exported,
    })
}

/// Makes the image of the built checkout: with buildah when `dockerfile` (the Dockerfile and
/// the buildah program) is given, else with upkeep's own layer build. `None` when buildah failed
/// (its step, in `record`, says why).
fn make_image(
    runner: &StageRunner<'_>,
    input: &BuildInput<'_>,
    dockerfile: Option<(PathBuf, PathBuf)>,
    image_environment: IndexMap<String, String>,
    record: &mut StageRecord,
) -> Result<Option<BuiltImage>, BuildError> {
    let labels = BTreeMap::from([
        (LABEL_REVISION.to_string(), input.commit.id.clone()),
        (LABEL_TITLE.to_string(), input.project_name.to_string()),
        (LABEL_ENVIRONMENT.to_string(), input.environment.to_string()),
    ]);
    let Some((dockerfile, buildah)) = dockerfile else {
        let created = jiff::Timestamp::from_second(input.commit.time).map_err(|_| {
            BuildError::CommitTime {
                time: input.commit.time,
            }
        })?;
        let image = ImageInput {
            root: input.checkout,
            environment: image_environment,
            labels,
            created,
            base: None,
        };
        return Ok(Some(build_image(input.store, &image)?));
    };
    let build_args = build_arguments(runner, &image_environment);
    let dockerfile_input = DockerfileInput {
        context: input.checkout,
        dockerfile: &dockerfile,
        build_args: &build_args,
        labels: &labels,
        created: input.commit.time,
        registry: input.push,
        store: input.store,
    };
    build_with_buildah(runner, &buildah, &dockerfile_input, record)
}

/// The deploy file's `image.environment` as a Dockerfile's build arguments, without the
/// variables whose value holds a secret: buildah records the build arguments a `RUN` sees in the
/// image's history, which the registry then serves to anyone who may pull.
fn build_arguments(
    runner: &StageRunner<'_>,
    image_environment: &IndexMap<String, String>,
) -> IndexMap<String, String> {
    image_environment
        .iter()
        .filter(|(name, value)| {
            let secret = runner.masker.mask_text(value) != **value;
            if secret {
                runner.say(&format!(
                    "build: {name} holds a secret; it is not passed to the Dockerfile as a build argument, since the image's history would show it"
                ));
            }
            !secret
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The Build stage's `push` step: pushes the image and adds the step to the stage's `record`;
/// on failure the stage fails and `None` is returned.
fn push_step(
    runner: &StageRunner<'_>,
    store: &ImageStore,
    built: &BuiltImage,
    reference: &str,
    target: &PushTarget,
    record: &mut StageRecord,
) -> Result<Option<ImageReference>, BuildError> {
    let mut pushed = None;
    let step = runner.run_own_step(StageKind::Build, "push", |say| {
        pushed = push(say, store, built, reference, target);
        pushed.is_some()
    })?;
    let failed = step.status != RunStatus::Succeeded;
    record.steps.push(step);
    if failed {
        record.status = RunStatus::Failed;
    }
    runner.observer.stage_finished(record);
    if failed {
        runner.say("build: the image was not pushed; see the build's push log");
    }
    Ok(pushed)
}

/// Pushes the built image to `target` tagged `reference`, saying what travelled; `None` (after
/// saying why) when the push failed.
fn push(
    say: &mut dyn FnMut(&str),
    store: &ImageStore,
    built: &BuiltImage,
    reference: &str,
    target: &PushTarget,
) -> Option<ImageReference> {
    let destination = target.repository.with_tag(reference);
    say(&format!("pushing {destination}"));
    let pushed = Registry::connect(&destination, &target.options)
        .and_then(|registry| registry.push(store, &built.manifest_digest, &destination, None));
    match pushed {
        Ok(report) => {
            let sent = report
                .blobs
                .iter()
                .filter(|(_, _, outcome)| matches!(outcome, BlobOutcome::Uploaded { .. }))
                .count();
            say(&format!(
                "pushed {} ({sent} of {} blobs sent, {} bytes; the others were there)",
                report.reference,
                report.blobs.len(),
                report.uploaded_bytes()
            ));
            Some(report.reference)
        }
        Err(error) => {
            say(&format!("the push to {destination} failed: {error}"));
            if let Some(hint) = upkeep_hint::Hint::hint(&error) {
                say(&format!("hint: {hint}"));
            }
            None
        }
    }
}

/// Keeps the variables a build exported with its image, so a later `upkeep deploy` of that
/// image hands them to the deployment stages as the pipeline run would.
fn save_exports(
    store: &ImageStore,
    digest: &Digest,
    exported: &BTreeMap<String, String>,
) -> Result<(), BuildError> {
    let path = exports_path(store, digest);
    let write = || -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let json = serde_json::to_vec_pretty(exported).map_err(std::io::Error::other)?;
        write_atomically(&path, &json)
    };
    write().map_err(|source| BuildError::Exports {
        path: path.clone(),
        source,
    })
}

/// The variables the build of this image exported; empty when it exported none (or the image
/// was built elsewhere).
pub fn load_exports(store: &ImageStore, digest: &Digest) -> BTreeMap<String, String> {
    fs_err::read(exports_path(store, digest))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn exports_path(store: &ImageStore, digest: &Digest) -> PathBuf {
    store
        .root()
        .join(EXPORTS_DIR)
        .join(format!("{}.json", digest.hex()))
}
