//! The Build sub-pipeline: a clean checkout of the commit, the build buildspec, the image.

use std::collections::BTreeMap;
use std::path::PathBuf;

use upkeep_deploy::build::{BuildInput, TaggedBuild, build};
use upkeep_deploy::checkout::{Commit, export_tree};
use upkeep_deploy::registry::{Credentials, ImageReference, PushTarget, RegistryOptions};
use upkeep_pipeline::deploy_file::DeployFile;
use upkeep_pipeline::project_file::Stage;
use upkeep_pipeline::record::{ImageRecord, RunStatus, SubPipelineKind, SubPipelineRecord};

use crate::context::EnvironmentContext;
use crate::error::RunError;
use crate::observer::RunObserver;
use crate::session::RunSession;

/// The result of the Build sub-pipeline.
pub struct Built {
    /// The checkout the image was made from (the gate runs on it); removed by the caller.
    pub checkout: PathBuf,
    pub status: RunStatus,
    pub image: Option<TaggedBuild>,
    pub exported: BTreeMap<String, String>,
}

/// Runs the Build sub-pipeline of a run and records it.
pub fn run(
    context: &EnvironmentContext,
    session: &mut RunSession,
    commit: &Commit,
    observer: &dyn RunObserver,
) -> Result<Built, RunError> {
    session.update(|record| {
        record.sub_pipelines.push(SubPipelineRecord::new(
            SubPipelineKind::Build,
            RunStatus::Running,
        ));
    })?;
    let checkout = session.dir().join("checkout");
    export_tree(context.root(), commit, &checkout).map_err(|source| RunError::Commit { source })?;
    let deploy_file_path =
        checkout.join(context.relative_to_root(&context.environment.deploy_file));
    let deploy_file =
        DeployFile::load(&deploy_file_path, &checkout).map_err(|source| RunError::DeployFile {
            commit: commit.short().to_string(),
            source,
        })?;
    session.set_masker(context.masker(deploy_file.image_environment().iter()));
    let store = context.open_store()?;
    let secrets = context.secret_store();
    let push = push_target(context, &secrets)?;
    let provided = context.provided.environment();
    let buildspec = context
        .environment
        .buildspec
        .get(Stage::Build)
        .map(|path| context.relative_to_root(path));
    let recording = session.recording(SubPipelineKind::Build, observer);
    let runner = session.stage_runner(context, &secrets, &provided, &recording);
    let outcome = build(
        &runner,
        &BuildInput {
            checkout: &checkout,
            commit,
            project_name: &context.project.project,
            environment: context.name(),
            deploy_file: &deploy_file,
            buildspec: buildspec.as_deref(),
            dockerfile: context.environment.dockerfile.as_deref(),
            store: &store,
            push: push.as_ref(),
        },
    )?;
    let status = outcome.record.status;
    session.update(|record| {
        if let Some(build) = record.sub_pipeline_mut(SubPipelineKind::Build) {
            build.status = status;
            build.stages = vec![outcome.record.clone()];
        }
        if let Some(image) = &outcome.image {
            record.image = Some(ImageRecord {
                reference: image.reference.clone(),
                digest: image.built.manifest_digest.to_string(),
                environment: Some(context.name().to_string()),
                promoted: false,
                pushed: image.pushed.as_ref().map(ToString::to_string),
            });
        }
    })?;
    Ok(Built {
        checkout,
        status,
        image: outcome.image,
        exported: outcome.exported,
    })
}

/// The environment's registry with its credentials from the run's secrets; `None` when the
/// environment has no registry.
pub(crate) fn push_target(
    context: &EnvironmentContext,
    secrets: &BTreeMap<String, String>,
) -> Result<Option<PushTarget>, RunError> {
    let Some(settings) = &context.environment.registry else {
        return Ok(None);
    };
    let repository: ImageReference = settings.image.parse().map_err(RunError::RegistryImage)?;
    let secret = |key: &'static str, name: &Option<String>| -> Result<Option<String>, RunError> {
        let Some(name) = name else { return Ok(None) };
        match secrets.get(name) {
            Some(value) => Ok(Some(value.clone())),
            None => Err(RunError::MissingSecret {
                environment: context.name().to_string(),
                key,
                name: name.clone(),
            }),
        }
    };
    let username = secret("registry.username-secret", &settings.username_secret)?;
    let password = secret("registry.password-secret", &settings.password_secret)?;
    let credentials = match (username, password) {
        (None, None) => None,
        (username, password) => Some(Credentials {
            username: username.unwrap_or_default(),
            password: password.unwrap_or_default(),
        }),
    };
    Ok(Some(PushTarget {
        repository,
        options: RegistryOptions {
            credentials,
            ca_certificate: settings.ca_certificate.clone(),
            plain_http: settings.plain_http,
            ..RegistryOptions::default()
        },
    }))
}
