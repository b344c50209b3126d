//! The Deployment sub-pipeline, and the guard rails in front of every deployment: only images
//! promoted for the environment are deployed, an image built for another environment needs
//! `--from-env`, a destructive deployment needs the environment's permission or a confirmation.

use std::collections::BTreeMap;
use std::path::PathBuf;

use upkeep_deploy::build::load_exports;
use upkeep_deploy::containers::{ContainerExecutor, ContainerImageError};
use upkeep_deploy::deployment::{DeploymentError, DeploymentRequest, deploy};
use upkeep_deploy::image::image_environment;
use upkeep_deploy::layout::{ImageStore, LayoutError, ResolvedImage};
use upkeep_deploy::promotion::{Promotions, built_for, latest_tag};
use upkeep_deploy::registry::{ImageReference, Registry, RegistryError};
use upkeep_pipeline::project_file::{DeployType, Executor, Stage};
use upkeep_pipeline::record::{RunStatus, SubPipelineKind, SubPipelineRecord};

use crate::context::EnvironmentContext;
use crate::error::RunError;
use crate::jobs::build::push_target;
use crate::observer::RunObserver;
use crate::session::RunSession;

/// The guard rails a person may override, each on purpose and recorded in the run.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Deploy an image that was never promoted for the environment; run a commit that is not
    /// on the environment's branch.
    pub force: bool,
    /// Deploy an image built for this other environment.
    pub from_env: Option<String>,
    /// `--confirm-destructive <env>`: the name of the environment whose data may be reset.
    pub confirm_destructive: Option<String>,
}

/// A deployment the guard rails let through: the image, and what the run should record.
pub struct Authorized {
    pub reference: String,
    pub image: ResolvedImage,
    pub from_environment: Option<String>,
    /// Guard rails overridden, in words.
    pub overrides: Vec<String>,
}

/// Refuses a destructive deployment of an environment that does not allow them, unless it is
/// confirmed with the environment's name.
pub fn check_destructive(
    context: &EnvironmentContext,
    deploy_type: DeployType,
    overrides: &Overrides,
) -> Result<Option<String>, RunError> {
    if deploy_type != DeployType::Destructive || context.environment.destructive_allowed {
        return Ok(None);
    }
    if overrides.confirm_destructive.as_deref() == Some(context.name()) {
        return Ok(Some(format!(
            "destructive deployment of `{}` confirmed on the command line",
            context.name()
        )));
    }
    Err(RunError::DestructiveNotConfirmed {
        environment: context.name().to_string(),
    })
}

/// Finds the image to deploy (`<env>-latest`, the newest promoted one, by default) and checks
/// that the environment may deploy it.
pub fn authorize_image(
    context: &EnvironmentContext,
    store: &ImageStore,
    reference: Option<&str>,
    overrides: &Overrides,
) -> Result<Authorized, RunError> {
    let environment = context.name();
    let approval = if context.environment.approval {
        " and was approved"
    } else {
        ""
    };
    let (reference, image) = if let Some(reference) = reference {
        (reference.to_string(), store.resolve(reference)?)
    } else {
        let latest = latest_tag(environment);
        match store.resolve(&latest) {
            Ok(image) => (latest, image),
            Err(LayoutError::UnknownImage { .. }) => {
                return Err(RunError::NothingPromoted {
                    environment: environment.to_string(),
                    approval,
                });
            }
            Err(error) => return Err(error.into()),
        }
    };
    let mut authorized = Authorized {
        reference: reference.clone(),
        image,
        from_environment: None,
        overrides: Vec::new(),
    };
    let built_for = built_for(&authorized.image).map(str::to_string);
    // The environment whose promotion counts: the image's own.
    let source = match (&built_for, &overrides.from_env) {
        (Some(built_for), _) if built_for == environment => environment.to_string(),
        (Some(built_for), Some(given)) if given == built_for => {
            authorized.from_environment = Some(built_for.clone());
            authorized.overrides.push(format!(
                "deployed an image built for `{built_for}` (--from-env {built_for})"
            ));
            built_for.clone()
        }
        (Some(built_for), Some(given)) => {
            return Err(RunError::WrongSourceEnvironment {
                given: given.clone(),
                built_for: built_for.clone(),
                reference,
            });
        }
        (Some(built_for), None) if !overrides.force => {
            return Err(RunError::OtherEnvironment {
                environment: environment.to_string(),
                built_for: built_for.clone(),
                reference,
            });
        }
        (Some(built_for), None) => {
            authorized.overrides.push(format!(
                "deployed an image built for `{built_for}` (--force)"
            ));
            built_for.clone()
        }
        (None, _) => environment.to_string(),
    };
    let promoted = Promotions::of(store, &source).find(&authorized.image.manifest_digest)?;
    match promoted {
        Some(_) => {}
        None if overrides.force => authorized.overrides.push(format!(
            "deployed image {reference}, which was never promoted for `{source}` (--force)"
        )),
        None => {
            return Err(RunError::NotPromoted {
                environment: source,
                reference,
                digest: authorized.image.manifest_digest.to_string(),
                approval,
            });
        }
    }
    Ok(authorized)
}

/// Fetches the image the build pushed, by digest, from the environment's registry, so that
/// what is deployed is what the registry holds; blobs the store has already are not fetched
/// again. A registry that cannot be reached, or holds other content, stops the run before any
/// stage of the deployment.
pub fn pull_pushed(
    context: &EnvironmentContext,
    pushed: &str,
    observer: &dyn RunObserver,
) -> Result<ResolvedImage, RunError> {
    let pull_error = |source| RunError::RegistryPull {
        image: pushed.to_string(),
        source,
    };
    let secrets = context.secret_store();
    let Some(target) = push_target(context, &secrets)? else {
        return Err(pull_error(RegistryError::BadAnswer {
            what: "upkeep.yml".to_string(),
            reason: "the environment has no `registry:` any more".to_string(),
        }));
    };
    let reference: ImageReference = pushed.parse().map_err(RunError::RegistryImage)?;
    let store = context.open_store()?;
    let registry = Registry::connect(&reference, &target.options).map_err(pull_error)?;
    let image = registry.pull(&store, &reference).map_err(pull_error)?;
    observer.message(&format!(
        "deploy: pulled {pushed} from the environment's registry"
    ));
    Ok(image)
}

/// Runs the Deployment sub-pipeline of a run and records it. `exported` are the variables of
/// the build in this run; without them, those kept with the image are used.
pub fn run(
    context: &EnvironmentContext,
    session: &mut RunSession,
    deploy_type: DeployType,
    reference: &str,
    image: &ResolvedImage,
    exported: Option<BTreeMap<String, String>>,
    observer: &dyn RunObserver,
) -> Result<RunStatus, RunError> {
    let store = context.open_store()?;
    let exported = exported.unwrap_or_else(|| load_exports(&store, &image.manifest_digest));
    // Secrets are masked with the values of both the running and the new image.
    let target = context.open_target()?;
    let new_environment = image_environment(image);
    let running_environment = target
        .running()
        .ok()
        .flatten()
        .map(|running| running.environment)
        .unwrap_or_default();
    session.set_masker(context.masker(new_environment.iter().chain(running_environment.iter())));
    session.update(|record| {
        record.sub_pipelines.push(SubPipelineRecord::new(
            SubPipelineKind::Deployment,
            RunStatus::Running,
        ));
    })?;
    let queue = context.open_queue()?;
    let buildspecs: BTreeMap<Stage, PathBuf> = Stage::ALL
        .into_iter()
        .filter(|stage| stage.is_deployment())
        .filter_map(|stage| {
            context
                .environment
                .buildspec
                .get(stage)
                .map(|path| (stage, context.relative_to_root(path)))
        })
        .collect();
    let secrets = context.secret_store();
    let provided = context.provided.environment();
    let label = session.id().to_string();
    // podman is looked for before anything is prepared: missing, nothing is deployed.
    let containers = match &context.environment.executor {
        Executor::Local => None,
        Executor::Container(settings) => Some(
            ContainerExecutor::new(settings)
                .map_err(|error| DeploymentError::from(ContainerImageError::from(error)))?,
        ),
    };
    let app = context.app_containers()?;
    let remote = context.remote_hosts()?;
    let recording = session.recording(SubPipelineKind::Deployment, observer);
    let runner = session.stage_runner(context, &secrets, &provided, &recording);
    let outcome = deploy(
        &runner,
        &DeploymentRequest {
            project_name: &context.project.project,
            label: &label,
            deploy_type,
            image,
            image_reference: reference,
            store: &store,
            target: &target,
            queue: &queue,
            buildspecs: &buildspecs,
            exported,
            keep_releases: context.environment.keep_releases,
            containers: containers.as_ref(),
            app: app.as_ref(),
            remote: remote.as_ref(),
        },
    )?;
    session.update(|record| {
        record.notes.extend(outcome.notes.iter().cloned());
        if let Some(deployment) = record.sub_pipeline_mut(SubPipelineKind::Deployment) {
            deployment.status = outcome.status;
            deployment.stages.clone_from(&outcome.stages);
        }
    })?;
    Ok(outcome.status)
}
