//! The resolved plan of one environment's main pipeline: its sub-pipelines in order, and for
//! each stage the buildspec it runs, the hook command with the place that defined it, and where
//! it runs. `upkeep pipeline plan --env NAME` prints it; runs follow it.
//!
//! Buildspecs are named, not parsed, here: [`BuildspecSource`] says which one a stage uses.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::deploy_file::{DeployFile, DeployFileError, SourcedValue};
use crate::mask::Masker;
use crate::project_file::{
    DeployType, Environment, Executor, GatePolicy, ProjectFile, SshHost, Stage, Target,
    UnknownEnvironment, format_duration,
};

/// What the main pipeline of an environment will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// `*** staging Pipeline ***`.
    pub pipeline: String,
    pub project: String,
    pub environment: String,
    pub branch: Option<String>,
    pub project_root: PathBuf,
    pub deploy_file: PathBuf,
    /// The files merged into the deploy file, in the order they were read.
    pub deploy_file_imports: Vec<PathBuf>,
    pub target: Target,
    /// Where the deployment stages run: `local`, or `container` with its options.
    pub executor: Executor,
    pub keep_releases: usize,
    pub step_timeout_seconds: u64,
    pub secrets: Vec<String>,
    /// Build, Quality gate, Approval, Deployment.
    pub sub_pipelines: Vec<SubPipeline>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SubPipeline {
    Build {
        stage: StagePlan,
    },
    QualityGate {
        policy: GatePolicy,
    },
    Approval {
        required: bool,
    },
    Deployment {
        deploy_type: DeployType,
        chosen_by: DeployTypeChoice,
        /// pre-deploy, install, post-deploy.
        stages: Vec<StagePlan>,
    },
}

/// Who decided the deployment type of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployTypeChoice {
    /// `deploy-type` of the environment in `upkeep.yml` (or its default, normal).
    Environment,
    /// `--type` on the command line.
    CommandLine,
}

/// One stage: the buildspec it runs, its hook, its variables and where it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StagePlan {
    pub stage: Stage,
    pub buildspec: BuildspecSource,
    /// The docker-sdk hook of a deployment stage; `None` for build.
    pub hook: Option<HookPlan>,
    /// Variables upkeep sets for the stage's buildspec (besides the image environment).
    pub variables: Vec<PlannedVariable>,
    pub runs_in: RunsIn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildspecSource {
    /// The built-in buildspec of the stage.
    Default(Stage),
    /// The project's own buildspec (absolute path).
    File(PathBuf),
}

/// The hook variable of a deployment stage and the command it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookPlan {
    pub variable: String,
    /// `None` when neither the deploy file nor a built-in default gives the command: the
    /// project's buildspec decides what runs.
    pub command: Option<String>,
    pub origin: ValueOrigin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedVariable {
    pub name: String,
    pub value: String,
    pub origin: ValueOrigin,
}

/// Where a command or value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueOrigin {
    /// The built-in default of the stage.
    DefaultBuildspec,
    /// The project's buildspec of the stage.
    ProjectBuildspec(PathBuf),
    /// A value of the deploy file or one of its imports.
    DeployFile { file: PathBuf, line: usize },
}

impl From<&SourcedValue> for ValueOrigin {
    fn from(value: &SourcedValue) -> Self {
        ValueOrigin::DeployFile {
            file: value.origin.file.clone(),
            line: value.origin.line,
        }
    }
}

/// Where a stage runs. Deployment stages run in a release of the target, each in the one that
/// plays its role (running, new, active): on this machine, or for an `ssh` target on its
/// first host (`host`, as `[user@]host[:port]`), where the paths are the host's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RunsIn {
    /// A fresh checkout of the commit being built.
    CleanCheckout,
    /// The release serving before this deployment (`<target>/current`).
    RunningRelease {
        path: PathBuf,
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// The release this run unpacks (`<target>/releases/<id>`), not yet active.
    NewRelease {
        releases: PathBuf,
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// The release serving after the switch (`<target>/current`).
    ActiveRelease {
        path: PathBuf,
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    UnknownEnvironment(#[from] UnknownEnvironment),
    #[error("deploy file of environment `{environment}`: {source}")]
    DeployFile {
        environment: String,
        #[source]
        source: DeployFileError,
    },
    #[error(
        "the {stage} buildspec of environment `{environment}` does not exist: {}",
        path.display()
    )]
    MissingBuildspec {
        environment: String,
        stage: Stage,
        path: PathBuf,
    },
}

impl upkeep_hint::Hint for PlanError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownEnvironment(error) => error.hint(),
            Self::DeployFile { .. } => None,
            Self::MissingBuildspec {
                environment, stage, ..
            } => Some(format!(
                "fix `environments.{environment}.buildspec.{stage}` in upkeep.yml, or remove it to use the built-in one"
            )),
        }
    }
}

impl Plan {
    /// Resolves the plan of `environment`: reads its deploy file (with imports) and checks that
    /// the project's buildspecs exist. `deploy_type_override` is `--type` of the command line.
    pub fn resolve(
        project: &ProjectFile,
        environment: &str,
        deploy_type_override: Option<DeployType>,
    ) -> Result<Plan, PlanError> {
        let environment = project.environment(environment)?;
        let deploy_file =
            DeployFile::load(&environment.deploy_file, project.root()).map_err(|source| {
                PlanError::DeployFile {
                    environment: environment.name.clone(),
                    source,
                }
            })?;
        for stage in Stage::ALL {
            if let Some(path) = environment.buildspec.get(stage)
                && !path.is_file()
            {
                return Err(PlanError::MissingBuildspec {
                    environment: environment.name.clone(),
                    stage,
                    path: path.to_path_buf(),
                });
            }
        }
        let (deploy_type, chosen_by) = match deploy_type_override {
            Some(deploy_type) => (deploy_type, DeployTypeChoice::CommandLine),
            None => (environment.deploy_type, DeployTypeChoice::Environment),
        };
        let deployment_stages = deployment_stages(environment, &deploy_file, deploy_type);
        let build = StagePlan {
            stage: Stage::Build,
            buildspec: buildspec_source(environment, Stage::Build),
            hook: None,
            variables: composer_variables(&deploy_file),
            runs_in: RunsIn::CleanCheckout,
        };
        Ok(Plan {
            pipeline: format!("*** {} Pipeline ***", environment.name),
            project: project.project.clone(),
            environment: environment.name.clone(),
            branch: environment.branch.clone(),
            project_root: project.root().to_path_buf(),
            deploy_file: environment.deploy_file.clone(),
            deploy_file_imports: deploy_file
                .imports()
                .iter()
                .map(|import| import.file.clone())
                .collect(),
            target: environment.target.clone(),
            executor: environment.executor.clone(),
            keep_releases: environment.keep_releases,
            step_timeout_seconds: environment.timeout.as_secs(),
            secrets: environment.secrets.clone(),
            sub_pipelines: vec![
                SubPipeline::Build { stage: build },
                SubPipeline::QualityGate {
                    policy: environment.gate,
                },
                SubPipeline::Approval {
                    required: environment.approval,
                },
                SubPipeline::Deployment {
                    deploy_type,
                    chosen_by,
                    stages: deployment_stages,
                },
            ],
        })
    }

    /// The plan with every secret value `masker` knows replaced by `***` in hook commands and
    /// variable values, for showing it (text or JSON) as runs show their logs. Runs follow the
    /// unmasked plan.
    #[must_use]
    pub fn masked(&self, masker: &Masker) -> Plan {
        let mut plan = self.clone();
        for sub_pipeline in &mut plan.sub_pipelines {
            let stages: &mut [StagePlan] = match sub_pipeline {
                SubPipeline::Build { stage } => std::slice::from_mut(stage),
                SubPipeline::Deployment { stages, .. } => stages,
                SubPipeline::QualityGate { .. } | SubPipeline::Approval { .. } => continue,
            };
            for stage in stages {
                if let Some(command) = stage.hook.as_mut().and_then(|hook| hook.command.as_mut()) {
                    *command = masker.mask_text(command);
                }
                for variable in &mut stage.variables {
                    variable.value = masker.mask_text(&variable.value);
                }
            }
        }
        plan
    }

    /// The plan as readable text with a stable layout. Paths inside the project are shown
    /// relative to its root.
    /// `executor: container …` with its limits; `None` for the local executor.
    fn executor_line(&self) -> Option<String> {
        let Executor::Container(settings) = &self.executor else {
            return None;
        };
        let mut limits = Vec::new();
        if let Some(memory) = &settings.memory {
            limits.push(format!("memory {memory}"));
        }
        if let Some(cpus) = &settings.cpus {
            limits.push(format!("cpus {cpus}"));
        }
        if let Some(pids) = settings.pids {
            limits.push(format!("pids {pids}"));
        }
        limits.push(format!(
            "stop grace {}",
            format_duration(settings.stop_grace)
        ));
        Some(format!(
            "executor:     container: hooks run in containers of the images with podman ({})",
            limits.join(", ")
        ))
    }

    /// `target: <kind> <where> (…; keeps N releases)`; an ssh target names its hosts, the
    /// directory on them and upkeep's record on this machine.
    fn target_line(&self) -> String {
        let keeps = format!(
            "keeps {} release{}",
            self.keep_releases,
            if self.keep_releases == 1 { "" } else { "s" }
        );
        match &self.target {
            Target::Ssh {
                path: record,
                remote,
            } => format!(
                "target:       ssh {} {} (record {}; {keeps})",
                remote
                    .hosts
                    .iter()
                    .map(|host| ssh_destination(remote.user.as_deref(), host))
                    .collect::<Vec<_>>()
                    .join(", "),
                remote.path,
                self.display_path(record),
            ),
            target => format!(
                "target:       {} {} ({keeps})",
                target.kind(),
                self.display_path(target.path()),
            ),
        }
    }

    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let path = |path: &Path| self.display_path(path);
        let _ = writeln!(out, "{}", self.pipeline);
        let _ = writeln!(out, "project:      {}", self.project);
        let _ = writeln!(
            out,
            "branch:       {}",
            self.branch
                .as_deref()
                .unwrap_or("(none: started by hand only)")
        );
        let _ = writeln!(out, "deploy file:  {}", path(&self.deploy_file));
        for import in &self.deploy_file_imports {
            let _ = writeln!(out, "  imports     {}", path(import));
        }
        let _ = writeln!(out, "{}", self.target_line());
        if let Some(line) = self.executor_line() {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "step timeout: {}",
            format_duration(std::time::Duration::from_secs(self.step_timeout_seconds))
        );
        if !self.secrets.is_empty() {
            let _ = writeln!(
                out,
                "secrets:      {} (masked in logs)",
                self.secrets.join(", ")
            );
        }
        for (number, sub_pipeline) in self.sub_pipelines.iter().enumerate() {
            let _ = writeln!(out);
            let number = number + 1;
            match sub_pipeline {
                SubPipeline::Build { stage } => {
                    let _ = writeln!(out, "{number}. Build");
                    self.render_stage(&mut out, stage, "   ");
                }
                SubPipeline::QualityGate { policy } => {
                    let _ = writeln!(out, "{number}. Quality gate");
                    let meaning = match policy {
                        GatePolicy::Block => "a failing gate stops the run before deployment",
                        GatePolicy::Warn => "a failing gate is reported, the deployment goes on",
                        GatePolicy::Off => "the gate does not run",
                    };
                    let _ = writeln!(out, "   policy: {policy} ({meaning})");
                }
                SubPipeline::Approval { required } => {
                    let _ = writeln!(out, "{number}. Approval");
                    let _ = writeln!(
                        out,
                        "   {}",
                        if *required {
                            "required: the run waits for an authorised person to approve it"
                        } else {
                            "not required"
                        }
                    );
                }
                SubPipeline::Deployment {
                    deploy_type,
                    chosen_by,
                    stages,
                } => {
                    let chosen_by = match chosen_by {
                        DeployTypeChoice::Environment => "from upkeep.yml",
                        DeployTypeChoice::CommandLine => "from --type",
                    };
                    let _ = writeln!(out, "{number}. Deployment: {deploy_type} ({chosen_by})");
                    for stage in stages {
                        let _ = writeln!(out, "   {}", stage.stage);
                        self.render_stage(&mut out, stage, "     ");
                    }
                }
            }
        }
        out
    }

    fn render_stage(&self, out: &mut String, stage: &StagePlan, indent: &str) {
        let buildspec = match &stage.buildspec {
            BuildspecSource::Default(_) => "built-in default".to_string(),
            BuildspecSource::File(path) => format!("{} (project)", self.display_path(path)),
        };
        let _ = writeln!(out, "{indent}buildspec: {buildspec}");
        if let Some(hook) = &stage.hook {
            let _ = writeln!(out, "{indent}hook:      {}", hook.variable);
            let command = hook.command.as_deref().map_or_else(
                || "(decided by the project buildspec)".to_string(),
                shell_display,
            );
            let _ = writeln!(out, "{indent}command:   {command}");
            let _ = writeln!(
                out,
                "{indent}from:      {}",
                self.display_origin(&hook.origin)
            );
            if let (BuildspecSource::File(path), Some(_)) = (&stage.buildspec, &hook.command) {
                let _ = writeln!(
                    out,
                    "{indent}note:      {} decides whether it runs the hook",
                    self.display_path(path)
                );
            }
        }
        for variable in &stage.variables {
            let _ = writeln!(
                out,
                "{indent}variable:  {}={}  ({})",
                variable.name,
                shell_display(&variable.value),
                self.display_origin(&variable.origin)
            );
        }
        // A host's paths are its own: never shortened against the project root.
        let place = |path: &Path, host: &Option<String>| match host {
            Some(host) => format!(" on {host} at {}", path.display()),
            None => format!(", {}", self.display_path(path)),
        };
        let runs_in = match &stage.runs_in {
            RunsIn::CleanCheckout => "a clean checkout of the commit".to_string(),
            RunsIn::RunningRelease { path, host } => {
                format!("the running release{}", place(path, host))
            }
            RunsIn::NewRelease { releases, host } => format!(
                "the new release{}/<id>, before it is activated",
                place(releases, host)
            ),
            RunsIn::ActiveRelease { path, host } => {
                format!("the now active release{}", place(path, host))
            }
        };
        let _ = writeln!(out, "{indent}runs in:   {runs_in}");
        if stage.stage == Stage::PreDeploy {
            // The running release brought its own deploy file: what runs is its hook.
            let _ = writeln!(
                out,
                "{indent}note:      runs the running release's hook, so a change to it applies from the next deployment"
            );
        }
    }

    fn display_origin(&self, origin: &ValueOrigin) -> String {
        match origin {
            ValueOrigin::DefaultBuildspec => "built-in default".to_string(),
            ValueOrigin::ProjectBuildspec(path) => self.display_path(path),
            ValueOrigin::DeployFile { file, line } => {
                format!("{}:{line}", self.display_path(file))
            }
        }
    }

    fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.project_root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// pre-deploy, install and post-deploy, each in the release that plays its role.
fn deployment_stages(
    environment: &Environment,
    deploy_file: &DeployFile,
    deploy_type: DeployType,
) -> Vec<StagePlan> {
    // An ssh target's stages run on its first host, in the releases there.
    let (releases_path, host) = match &environment.target {
        Target::Ssh { remote, .. } => (
            PathBuf::from(&remote.path),
            remote
                .hosts
                .first()
                .map(|host| ssh_destination(remote.user.as_deref(), host)),
        ),
        target => (target.path().to_path_buf(), None),
    };
    let current = releases_path.join("current");
    [
        (
            Stage::PreDeploy,
            RunsIn::RunningRelease {
                path: current.clone(),
                host: host.clone(),
            },
        ),
        (
            Stage::Install,
            RunsIn::NewRelease {
                releases: releases_path.join("releases"),
                host: host.clone(),
            },
        ),
        (
            Stage::PostDeploy,
            RunsIn::ActiveRelease {
                path: current,
                host,
            },
        ),
    ]
    .into_iter()
    .map(|(stage, runs_in)| StagePlan {
        stage,
        buildspec: buildspec_source(environment, stage),
        hook: hook_plan(environment, deploy_file, stage, deploy_type),
        variables: Vec::new(),
        runs_in,
    })
    .collect()
}

/// `user@host[:port]`, or the host alone when ssh picks the user.
fn ssh_destination(user: Option<&str>, host: &SshHost) -> String {
    match user {
        Some(user) => format!("{user}@{host}"),
        None => host.to_string(),
    }
}

fn buildspec_source(environment: &Environment, stage: Stage) -> BuildspecSource {
    environment
        .buildspec
        .get(stage)
        .map_or(BuildspecSource::Default(stage), |path| {
            BuildspecSource::File(path.to_path_buf())
        })
}

/// The deploy file's value wins; without it the built-in buildspec runs the docker-sdk default,
/// and a project buildspec decides for itself.
fn hook_plan(
    environment: &Environment,
    deploy_file: &DeployFile,
    stage: Stage,
    deploy_type: DeployType,
) -> Option<HookPlan> {
    let hook = stage.hook(deploy_type)?;
    let (command, origin) = match deploy_file.image_variable(hook.variable) {
        Some(value) => (Some(value.value.clone()), ValueOrigin::from(&value)),
        None => match environment.buildspec.get(stage) {
            Some(path) => (None, ValueOrigin::ProjectBuildspec(path.to_path_buf())),
            None => (
                Some(hook.default_command.to_string()),
                ValueOrigin::DefaultBuildspec,
            ),
        },
    };
    Some(HookPlan {
        variable: hook.variable.to_string(),
        command,
        origin,
    })
}

/// `composer.mode` and `composer.autoload` of the deploy file, handed to the build buildspec.
fn composer_variables(deploy_file: &DeployFile) -> Vec<PlannedVariable> {
    [
        ("UPKEEP_COMPOSER_MODE", "mode"),
        ("UPKEEP_COMPOSER_AUTOLOAD", "autoload"),
    ]
    .into_iter()
    .map(
        |(name, key)| match deploy_file.sourced_value(&["composer", key]) {
            Some(value) => PlannedVariable {
                name: name.to_string(),
                origin: ValueOrigin::from(&value),
                value: value.value,
            },
            None => PlannedVariable {
                name: name.to_string(),
                value: String::new(),
                origin: ValueOrigin::DefaultBuildspec,
            },
        },
    )
    .collect()
}

/// An empty value would vanish on screen; show it as `''`.
fn shell_display(value: &str) -> String {
    if value.is_empty() {
        "''".to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unit tests run in the package directory.
    fn shop() -> ProjectFile {
        ProjectFile::load(Path::new("tests/fixtures/shop/upkeep.yml")).expect("valid project file")
    }

    fn plan(environment: &str, deploy_type: Option<DeployType>) -> Plan {
        Plan::resolve(&shop(), environment, deploy_type).expect("the plan resolves")
    }

    #[test]
    fn staging_plan_text() {
        assert_eq!(
            plan("staging", None).render_text(),
            "\
*** staging Pipeline ***
project:      my-shop
branch:       develop
deploy file:  deploy.my-shop-staging.yml
  imports     config/deploy-templates/base.deploy.yml
  imports     config/deploy-templates/services.deploy.yml
target:       local /srv/my-shop/staging (keeps 3 releases)
step timeout: 30m
secrets:      DB_PASSWORD (masked in logs)

1. Build
   buildspec: built-in default
   variable:  UPKEEP_COMPOSER_MODE=''  (deploy.my-shop-staging.yml:20)
   variable:  UPKEEP_COMPOSER_AUTOLOAD=''  (deploy.my-shop-staging.yml:21)
   runs in:   a clean checkout of the commit

2. Quality gate
   policy: warn (a failing gate is reported, the deployment goes on)

3. Approval
   not required

4. Deployment: destructive (from upkeep.yml)
   pre-deploy
     buildspec: built-in default
     hook:      SPRYKER_HOOK_BEFORE_DEPLOY
     command:   vendor/bin/install -r pre-deploy-eu -vvv
     from:      config/deploy-templates/base.deploy.yml:18
     runs in:   the running release, /srv/my-shop/staging/current
     note:      runs the running release's hook, so a change to it applies from the next deployment
   install
     buildspec: built-in default
     hook:      SPRYKER_HOOK_DESTRUCTIVE_INSTALL
     command:   vendor/bin/install -r destructive --no-ansi -vvv
     from:      built-in default
     runs in:   the new release, /srv/my-shop/staging/releases/<id>, before it is activated
   post-deploy
     buildspec: built-in default
     hook:      SPRYKER_HOOK_AFTER_DEPLOY
     command:   vendor/bin/console cache:warmup
     from:      deploy.my-shop-staging.yml:17
     runs in:   the now active release, /srv/my-shop/staging/current
"
        );
    }

    #[test]
    fn production_plan_text_with_a_project_buildspec() {
        assert_eq!(
            plan("production", None).render_text(),
            "\
*** production Pipeline ***
project:      my-shop
branch:       main
deploy file:  deploy.yml
  imports     config/deploy-templates/base.deploy.yml
  imports     config/deploy-templates/services.deploy.yml
target:       local /srv/my-shop/production (keeps 5 releases)
step timeout: 1h

1. Build
   buildspec: built-in default
   variable:  UPKEEP_COMPOSER_MODE=--no-dev  (deploy.yml:21)
   variable:  UPKEEP_COMPOSER_AUTOLOAD=--classmap-authoritative  (deploy.yml:22)
   runs in:   a clean checkout of the commit

2. Quality gate
   policy: block (a failing gate stops the run before deployment)

3. Approval
   required: the run waits for an authorised person to approve it

4. Deployment: normal (from upkeep.yml)
   pre-deploy
     buildspec: built-in default
     hook:      SPRYKER_HOOK_BEFORE_DEPLOY
     command:   vendor/bin/install -r pre-deploy-eu -vvv
     from:      config/deploy-templates/base.deploy.yml:18
     runs in:   the running release, /srv/my-shop/production/current
     note:      runs the running release's hook, so a change to it applies from the next deployment
   install
     buildspec: ci/install.yml (project)
     hook:      SPRYKER_HOOK_INSTALL
     command:   vendor/bin/install -r production-eu --no-ansi -vvv
     from:      deploy.yml:17
     note:      ci/install.yml decides whether it runs the hook
     runs in:   the new release, /srv/my-shop/production/releases/<id>, before it is activated
   post-deploy
     buildspec: built-in default
     hook:      SPRYKER_HOOK_AFTER_DEPLOY
     command:   true
     from:      built-in default
     runs in:   the now active release, /srv/my-shop/production/current
"
        );
    }

    #[test]
    fn the_command_line_type_picks_the_install_hook() {
        let plan = plan("production", Some(DeployType::Destructive));
        let Some(SubPipeline::Deployment {
            deploy_type,
            chosen_by,
            stages,
        }) = plan.sub_pipelines.last()
        else {
            panic!("the last sub-pipeline is the deployment");
        };
        assert_eq!(
            (*deploy_type, *chosen_by),
            (DeployType::Destructive, DeployTypeChoice::CommandLine)
        );
        let root = shop().root().to_path_buf();
        // The deploy file sets only the normal install hook, and the project buildspec decides.
        assert_eq!(
            stages[1].hook,
            Some(HookPlan {
                variable: "SPRYKER_HOOK_DESTRUCTIVE_INSTALL".to_string(),
                command: None,
                origin: ValueOrigin::ProjectBuildspec(root.join("ci/install.yml")),
            })
        );
        assert_eq!(
            stages[1].buildspec,
            BuildspecSource::File(root.join("ci/install.yml"))
        );
    }

    #[test]
    fn sub_pipelines_run_in_order_and_stages_in_their_releases() {
        let plan = plan("staging", None);
        let kinds: Vec<&str> = plan
            .sub_pipelines
            .iter()
            .map(|sub_pipeline| match sub_pipeline {
                SubPipeline::Build { .. } => "build",
                SubPipeline::QualityGate { .. } => "quality-gate",
                SubPipeline::Approval { .. } => "approval",
                SubPipeline::Deployment { .. } => "deployment",
            })
            .collect();
        assert_eq!(kinds, ["build", "quality-gate", "approval", "deployment"]);
        let Some(SubPipeline::Deployment { stages, .. }) = plan.sub_pipelines.last() else {
            panic!("the last sub-pipeline is the deployment");
        };
        let runs_in: Vec<&RunsIn> = stages.iter().map(|stage| &stage.runs_in).collect();
        assert_eq!(
            runs_in,
            [
                &RunsIn::RunningRelease {
                    path: PathBuf::from("/srv/my-shop/staging/current"),
                    host: None,
                },
                &RunsIn::NewRelease {
                    releases: PathBuf::from("/srv/my-shop/staging/releases"),
                    host: None,
                },
                &RunsIn::ActiveRelease {
                    path: PathBuf::from("/srv/my-shop/staging/current"),
                    host: None,
                },
            ]
        );
    }

    #[test]
    fn the_plan_serializes_to_json_with_kinds_and_origins() {
        let plan = plan("staging", None);
        let json = serde_json::to_value(&plan).expect("serializable");
        let root = shop().root().to_path_buf();
        assert_eq!(json["pipeline"], "*** staging Pipeline ***");
        assert_eq!(json["step_timeout_seconds"], 1800);
        assert_eq!(
            json["target"],
            serde_json::json!({"local": {"path": "/srv/my-shop/staging"}})
        );
        assert_eq!(
            json["sub_pipelines"][1],
            serde_json::json!({"kind": "quality-gate", "policy": "warn"})
        );
        assert_eq!(json["sub_pipelines"][3]["deploy_type"], "destructive");
        assert_eq!(
            json["sub_pipelines"][3]["stages"][0]["hook"],
            serde_json::json!({
                "variable": "SPRYKER_HOOK_BEFORE_DEPLOY",
                "command": "vendor/bin/install -r pre-deploy-eu -vvv",
                "origin": {"deploy-file": {
                    "file": root.join("config/deploy-templates/base.deploy.yml").display().to_string(),
                    "line": 18,
                }},
            })
        );
        assert_eq!(
            json["sub_pipelines"][3]["stages"][1]["hook"]["origin"],
            "default-buildspec"
        );
        assert_eq!(
            json["sub_pipelines"][3]["stages"][1]["runs_in"],
            serde_json::json!({"kind": "new-release", "releases": "/srv/my-shop/staging/releases"})
        );
        assert_eq!(
            json["sub_pipelines"][0]["stage"]["buildspec"],
            serde_json::json!({"default": "build"})
        );
    }

    /// Issue 11, item 11: `pipeline plan` printed secret values found in hook commands.
    #[test]
    fn a_masked_plan_hides_secret_values_in_commands_and_variables() {
        let plan = plan("staging", None);
        let masker = Masker::new(["pre-deploy-eu", "cache:warmup"]);
        let hidden = plan.masked(&masker);
        let text = hidden.render_text();
        assert!(
            text.contains("command:   vendor/bin/install -r *** -vvv"),
            "{text}"
        );
        assert!(text.contains("command:   vendor/bin/console ***"), "{text}");
        assert!(
            !text.contains("pre-deploy-eu") && !text.contains("cache:warmup"),
            "{text}"
        );
        let json = serde_json::to_string(&hidden).unwrap();
        assert!(
            !json.contains("pre-deploy-eu") && !json.contains("cache:warmup"),
            "{json}"
        );
        // Nothing else changes, and the plan runs follow keeps the commands.
        assert_eq!(plan.masked(&Masker::default()), plan);
        assert!(plan.render_text().contains("pre-deploy-eu"));
    }

    #[test]
    fn an_unknown_environment_is_an_error() {
        let error = Plan::resolve(&shop(), "prod", None).expect_err("not defined");
        assert!(
            matches!(&error, PlanError::UnknownEnvironment(unknown) if unknown.suggestion() == Some("production"))
        );
    }

    fn project_in(directory: &Path, environment: &str, deploy_file: &str) -> ProjectFile {
        let upkeep = directory.join("upkeep.yml");
        fs_err::write(&upkeep, format!("project: shop\nenvironments:\n  staging:\n{environment}    target: {{local: {{path: /srv/shop}}}}\n"))
            .expect("write");
        fs_err::write(directory.join("deploy.yml"), deploy_file).expect("write");
        ProjectFile::load(&upkeep).expect("valid project file")
    }

    #[test]
    fn an_ssh_plan_names_the_hosts_and_runs_the_deployment_stages_on_the_first() {
        let directory = tempfile::tempdir().expect("temp dir");
        let upkeep = directory.path().join("upkeep.yml");
        fs_err::write(
            &upkeep,
            "project: shop\nenvironments:\n  production:\n    keep-releases: 3\n    target:\n      ssh:\n        \
             hosts: [web1.example.com, 'web2.example.com:2222']\n        user: deploy\n        \
             path: /srv/my-shop/production\n        record: .upkeep/targets/production\n",
        )
        .expect("write");
        fs_err::write(directory.path().join("deploy.yml"), "version: '0.1'\n").expect("write");
        let project = ProjectFile::load(&upkeep).expect("valid project file");
        let plan = Plan::resolve(&project, "production", None).expect("the plan resolves");
        let text = plan.render_text();
        let lines: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("target:") || line.contains("runs in:"))
            .collect();
        assert_eq!(
            lines,
            [
                "target:       ssh deploy@web1.example.com, deploy@web2.example.com:2222 \
                 /srv/my-shop/production (record .upkeep/targets/production; keeps 3 releases)",
                "   runs in:   a clean checkout of the commit",
                "     runs in:   the running release on deploy@web1.example.com at /srv/my-shop/production/current",
                "     runs in:   the new release on deploy@web1.example.com at \
                 /srv/my-shop/production/releases/<id>, before it is activated",
                "     runs in:   the now active release on deploy@web1.example.com at /srv/my-shop/production/current",
            ]
        );
        let json = serde_json::to_value(&plan).expect("serializable");
        assert_eq!(
            json["target"]["ssh"]["hosts"],
            serde_json::json!(["web1.example.com", "web2.example.com:2222"])
        );
        assert_eq!(json["target"]["ssh"]["path"], "/srv/my-shop/production");
        assert_eq!(
            json["target"]["ssh"]["record"],
            project
                .root()
                .join(".upkeep/targets/production")
                .display()
                .to_string()
        );
        assert_eq!(
            json["sub_pipelines"][3]["stages"][1]["runs_in"],
            serde_json::json!({
                "kind": "new-release",
                "releases": "/srv/my-shop/production/releases",
                "host": "deploy@web1.example.com",
            })
        );
    }

    #[test]
    fn a_missing_project_buildspec_is_an_error_with_a_hint() {
        let directory = tempfile::tempdir().expect("temp dir");
        let project = project_in(
            directory.path(),
            "    buildspec: {post-deploy: ci/post.yml}\n",
            "version: '0.1'\n",
        );
        let error = Plan::resolve(&project, "staging", None).expect_err("missing buildspec");
        let message = error
            .to_string()
            .replace(&project.root().display().to_string(), "<root>");
        assert_eq!(
            message,
            "the post-deploy buildspec of environment `staging` does not exist: <root>/ci/post.yml"
        );
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some(
                "fix `environments.staging.buildspec.post-deploy` in upkeep.yml, or remove it to use the built-in one"
            )
        );
    }

    #[test]
    fn a_deploy_file_error_names_the_environment() {
        let directory = tempfile::tempdir().expect("temp dir");
        let project = project_in(
            directory.path(),
            "",
            "version: '0.1'\nimage:\n    tag: [8.3]\n",
        );
        let error = Plan::resolve(&project, "staging", None).expect_err("invalid deploy file");
        let message = error
            .to_string()
            .replace(&project.root().display().to_string(), "<root>");
        assert_eq!(
            message,
            "deploy file of environment `staging`: <root>/deploy.yml:3:10: at `image.tag`: expected a string, \
             found a sequence; for example tag: spryker/php:8.3"
        );
    }
}
