//! `upkeep build --env NAME`: the Build sub-pipeline alone, and the build step of the main
//! pipeline. A clean checkout of the commit, the build buildspec, a reproducible image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use upkeep_deploy::build::{BuildInput, TaggedBuild, build};
use upkeep_deploy::checkout::{export_tree, resolve_commit};
use upkeep_deploy::layout::ImageStore;
use upkeep_pipeline::deploy_file::DeployFile;
use upkeep_pipeline::project_file::Stage;
use upkeep_pipeline::record::{RunStatus, SubPipelineRecord};

use super::context::ProjectContext;
use super::session::RunSession;
use super::{CommandError, EnvironmentArgs};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// The commit to build (a branch, tag or commit id).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub commit: String,

    /// Do not echo step output to standard error (it is still in the run's logs).
    #[arg(long, short)]
    pub quiet: bool,
}

/// The result of the Build sub-pipeline.
pub struct Built {
    /// The checkout the image was made from (the gate runs on it).
    pub checkout: PathBuf,
    pub image: Option<TaggedBuild>,
    pub exported: BTreeMap<String, String>,
}

pub fn run(args: &BuildArgs) -> Result<Outcome, CommandError> {
    let context = ProjectContext::load(
        &args.environment.path,
        &args.environment.environment,
        args.environment.state_dir.as_deref(),
    )?;
    let mut session = RunSession::start(
        &context,
        Some(format!("Build of {}", context.environment.name)),
    )?;
    let built = build_sub_pipeline(&context, &mut session, &args.commit, !args.quiet)?;
    // The image holds the tree now; the checkout is not needed any more.
    let _ = fs_err::remove_dir_all(&built.checkout);
    if let Some(image) = &built.image {
        session.finish(RunStatus::Succeeded)?;
        writeln!(
            output::stdout(),
            "{} {}",
            image.reference,
            image.built.manifest_digest
        );
        return Ok(Outcome::Success);
    }
    let status = session
        .record
        .sub_pipelines
        .last()
        .map_or(RunStatus::Failed, |build| build.status);
    session.finish(status)?;
    Ok(Outcome::ProblemsFound)
}

/// Runs the Build sub-pipeline of a run and records it.
pub fn build_sub_pipeline(
    context: &ProjectContext,
    session: &mut RunSession,
    revision: &str,
    echo: bool,
) -> Result<Built, CommandError> {
    let commit = resolve_commit(context.root(), revision).map_err(|error| {
        CommandError::input(
            error.to_string(),
            "upkeep builds committed code: commit your changes, or pass --commit with a branch, tag or commit id",
        )
    })?;
    session.record.commit = Some(commit.id.clone());
    session.record.sub_pipelines.push(SubPipelineRecord {
        name: "Build".to_string(),
        status: RunStatus::Running,
        stages: Vec::new(),
    });
    session.save()?;

    let checkout = session.dir.join("checkout");
    export_tree(context.root(), &commit, &checkout)
        .map_err(|error| CommandError::environment(error.to_string()))?;
    let deploy_file_path =
        checkout.join(relative_to_root(context, &context.environment.deploy_file));
    let deploy_file = DeployFile::load(&deploy_file_path, &checkout).map_err(|error| {
        CommandError::input(
            error.to_string(),
            format!(
                "the deploy file is read from commit {}; fix it there (`upkeep deploy-file show FILE` checks it)",
                commit.short()
            ),
        )
    })?;
    session.masker = context.masker(deploy_file.image_environment().iter());
    let store = ImageStore::open_or_create(context.image_store_dir())
        .map_err(|error| CommandError::environment(error.to_string()))?;
    let secrets = context.secrets_from_process();
    let runner = session.stage_runner(context, &secrets, echo);
    let buildspec = context
        .environment
        .buildspec
        .get(Stage::Build)
        .map(|path| relative_to_root(context, path));
    let outcome = build(
        &runner,
        &BuildInput {
            checkout: &checkout,
            commit: &commit,
            project_name: &context.project.project,
            environment: &context.environment.name,
            deploy_file: &deploy_file,
            buildspec: buildspec.as_deref(),
            store: &store,
        },
    );
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            if let Some(build) = session.record.sub_pipelines.last_mut() {
                build.status = RunStatus::Failed;
            }
            session.record.notes.push(format!("build failed: {error}"));
            session.save()?;
            return Err(CommandError::input(
                error.to_string(),
                "fix the build configuration and commit it",
            ));
        }
    };
    if let Some(build) = session.record.sub_pipelines.last_mut() {
        build.status = outcome.record.status;
        build.stages.push(outcome.record);
    }
    session.save()?;
    Ok(Built {
        checkout,
        image: outcome.image,
        exported: outcome.exported,
    })
}

/// A path of upkeep.yml (resolved against the repository root) as a path inside the repository.
pub fn relative_to_root(context: &ProjectContext, path: &Path) -> PathBuf {
    path.strip_prefix(context.root())
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}
