//! `upkeep deploy --env NAME`: the Deployment sub-pipeline alone (and the deployment step of the
//! main pipeline), and `upkeep deploy rollback --env NAME`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use upkeep_deploy::build::{latest_tag, load_exports};
use upkeep_deploy::deployment::{DeploymentRequest, deploy};
use upkeep_deploy::layout::ImageStore;
use upkeep_deploy::queue::DeploymentQueue;
use upkeep_deploy::target::LocalTarget;
use upkeep_pipeline::project_file::{DeployType, Stage};
use upkeep_pipeline::record::{RunStatus, SubPipelineRecord};

use super::build::relative_to_root;
use super::context::ProjectContext;
use super::session::RunSession;
use super::{CommandError, EnvironmentArgs, parse_deploy_type};
use crate::{Outcome, output};

#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub action: Option<DeployAction>,

    /// The environment, as named under `environments:` in upkeep.yml.
    #[arg(long = "env", value_name = "NAME", required = true)]
    pub environment: Option<String>,

    /// The repository root, which holds upkeep.yml.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Keep runs, logs and images here instead of `<PATH>/.upkeep`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// `normal` keeps data, `destructive` resets it (default: the environment's `deploy-type`).
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_deploy_type)]
    pub deploy_type: Option<DeployType>,

    /// The image to deploy: a tag or digest in the local image store (default:
    /// `<env>-latest`, the newest image `upkeep build` made for the environment).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,

    /// Do not echo step output to standard error (it is still in the run's logs).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum DeployAction {
    /// Make the release that was active before the current one active again.
    Rollback(EnvironmentArgs),
}

pub fn run(args: &DeployArgs) -> Result<Outcome, CommandError> {
    match (&args.action, &args.environment) {
        (Some(DeployAction::Rollback(environment)), _) => rollback(environment),
        (None, Some(environment)) => deploy_alone(args, environment),
        // clap requires --env without a subcommand.
        (None, None) => Err(CommandError::input(
            "missing --env NAME",
            "`upkeep deploy --env staging` deploys the newest image built for staging",
        )),
    }
}

fn deploy_alone(args: &DeployArgs, environment: &str) -> Result<Outcome, CommandError> {
    let context = ProjectContext::load(&args.path, environment, args.state_dir.as_deref())?;
    let deploy_type = args.deploy_type.unwrap_or(context.environment.deploy_type);
    let reference = args
        .image
        .clone()
        .unwrap_or_else(|| latest_tag(&context.environment.name));
    let mut session = RunSession::start(
        &context,
        Some(format!("Deployment of {}", context.environment.name)),
    )?;
    session.record.deploy_type = Some(deploy_type);
    let status = deployment_sub_pipeline(
        &context,
        &mut session,
        deploy_type,
        &reference,
        None,
        !args.quiet,
    )?;
    session.finish(status)?;
    Ok(outcome_of(status))
}

/// The exit status of a finished run.
pub fn outcome_of(status: RunStatus) -> Outcome {
    match status {
        RunStatus::Succeeded | RunStatus::WaitingForApproval => Outcome::Success,
        _ => Outcome::ProblemsFound,
    }
}

/// Runs the Deployment sub-pipeline of a run and records it. `exported` are the variables of
/// the build in this run; without them, those kept with the image are used.
pub fn deployment_sub_pipeline(
    context: &ProjectContext,
    session: &mut RunSession,
    deploy_type: DeployType,
    image_reference: &str,
    exported: Option<BTreeMap<String, String>>,
    echo: bool,
) -> Result<RunStatus, CommandError> {
    let store = open_store(context)?;
    let image = store.resolve(image_reference).map_err(|error| {
        CommandError::input(
            error.to_string(),
            format!(
                "build an image first: `upkeep build --env {}`",
                context.environment.name
            ),
        )
    })?;
    let exported = exported.unwrap_or_else(|| load_exports(&store, &image.manifest_digest));
    // Secrets are masked with the values of both the running and the new image.
    let target = open_target(context)?;
    let new_environment = upkeep_deploy::image::image_environment(&image);
    let running_environment = target
        .running()
        .ok()
        .flatten()
        .map(|running| running.environment)
        .unwrap_or_default();
    session.masker = context.masker(new_environment.iter().chain(running_environment.iter()));
    session.record.sub_pipelines.push(SubPipelineRecord {
        name: "Deployment".to_string(),
        status: RunStatus::Running,
        stages: Vec::new(),
    });
    session.save()?;
    let queue = open_queue(context)?;
    let buildspecs: BTreeMap<Stage, PathBuf> = Stage::ALL
        .into_iter()
        .filter(|stage| stage.is_deployment())
        .filter_map(|stage| {
            context
                .environment
                .buildspec
                .get(stage)
                .map(|path| (stage, relative_to_root(context, path)))
        })
        .collect();
    let secrets = context.secrets_from_process();
    let runner = session.stage_runner(context, &secrets, echo);
    let label = session.id().to_string();
    let outcome = deploy(
        &runner,
        &DeploymentRequest {
            project_name: &context.project.project,
            label: &label,
            deploy_type,
            image: &image,
            image_reference,
            store: &store,
            target: &target,
            queue: &queue,
            buildspecs: &buildspecs,
            exported,
            keep_releases: context.environment.keep_releases,
        },
    );
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            if let Some(deployment) = session.record.sub_pipelines.last_mut() {
                deployment.status = RunStatus::Failed;
            }
            session
                .record
                .notes
                .push(format!("deployment failed: {error}"));
            session.save()?;
            return Err(CommandError::environment(error.to_string()));
        }
    };
    session.record.notes.extend(outcome.notes);
    if let Some(deployment) = session.record.sub_pipelines.last_mut() {
        deployment.status = outcome.status;
        deployment.stages = outcome.stages;
    }
    session.save()?;
    Ok(outcome.status)
}

fn rollback(args: &EnvironmentArgs) -> Result<Outcome, CommandError> {
    let context = ProjectContext::load(&args.path, &args.environment, args.state_dir.as_deref())?;
    let target = open_target(&context)?;
    let queue = open_queue(&context)?;
    // A rollback switches `current` too, so it waits for a running deployment like any other.
    let ticket = queue
        .enter_with("rollback", |event| eprintln!("upkeep: {event}"))
        .map_err(|error| CommandError::environment(error.to_string()))?;
    let (from, to) = target.rollback().map_err(|error| {
        CommandError::input(
            error.to_string(),
            "a rollback needs an earlier release that was active before the current one",
        )
    })?;
    // Leave the queue before writing: a closed stdout ends the process without running drops.
    drop(ticket);
    writeln!(
        output::stdout(),
        "rolled back {}: {} -> {}",
        context.environment.name,
        from.id,
        to.id
    );
    Ok(Outcome::Success)
}

fn open_store(context: &ProjectContext) -> Result<ImageStore, CommandError> {
    ImageStore::open_or_create(context.image_store_dir())
        .map_err(|error| CommandError::environment(error.to_string()))
}

/// The environment's deployment queue, beside its releases.
fn open_queue(context: &ProjectContext) -> Result<DeploymentQueue, CommandError> {
    DeploymentQueue::open(context.target_dir().join(".queue"))
        .map_err(|error| CommandError::environment(error.to_string()))
}

fn open_target(context: &ProjectContext) -> Result<LocalTarget, CommandError> {
    LocalTarget::open(context.target_dir())
        .map_err(|error| CommandError::environment(error.to_string()))
}
