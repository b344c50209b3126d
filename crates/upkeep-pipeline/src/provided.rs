//! Variables and secrets a run is given from outside the repository: the server's settings of a
//! workspace and of an environment. Every step of the run receives them as environment
//! variables; secret values are masked wherever the run writes (logs, records, notes) and are
//! the secret store that buildspecs' `env.secrets` name. Runs from the command line have none:
//! there, secrets come from upkeep's own environment (`secrets:` in `upkeep.yml`).

use std::collections::BTreeMap;

use crate::buildspec::is_variable_name;

/// Names upkeep sets itself for every step: a provided variable of that name would change what
/// a hook believes about the deployment, so they are refused.
const RESERVED_NAMES: [&str; 3] = ["SPRYKER_PIPELINE_TYPE", "SPRYKER_PROJECT_NAME", "PATH"];
const RESERVED_PREFIXES: [&str; 2] = ["UPKEEP_", "SPRYKER_HOOK_"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableNameError {
    #[error(
        "invalid variable name `{0}`: a variable is passed as an environment variable, so use letters, digits and `_`, not starting with a digit"
    )]
    Invalid(String),
    #[error("`{0}` is set by upkeep itself for every step and cannot be provided")]
    Reserved(String),
}

/// Checks that `name` can be given to steps as an environment variable.
pub fn check_variable_name(name: &str) -> Result<(), VariableNameError> {
    if !is_variable_name(name) {
        return Err(VariableNameError::Invalid(name.to_string()));
    }
    if RESERVED_NAMES.contains(&name)
        || RESERVED_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
    {
        return Err(VariableNameError::Reserved(name.to_string()));
    }
    Ok(())
}

/// What a run is given, by name. A name is either plain or secret, never both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvidedVariables {
    plain: BTreeMap<String, String>,
    secret: BTreeMap<String, String>,
}

impl ProvidedVariables {
    /// Adds a variable, replacing one of the same name (plain or secret): later layers (an
    /// environment's settings after the workspace's) win.
    pub fn set(&mut self, name: &str, value: &str, secret: bool) -> Result<(), VariableNameError> {
        check_variable_name(name)?;
        self.plain.remove(name);
        self.secret.remove(name);
        let layer = if secret {
            &mut self.secret
        } else {
            &mut self.plain
        };
        layer.insert(name.to_string(), value.to_string());
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.secret.is_empty()
    }

    /// Every variable, plain and secret, as a step's environment receives them.
    pub fn environment(&self) -> BTreeMap<String, String> {
        self.plain
            .iter()
            .chain(&self.secret)
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    /// The secret ones: their values are masked, and buildspecs' `env.secrets` may name them.
    pub fn secrets(&self) -> &BTreeMap<String, String> {
        &self.secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_layer_replaces_a_name_whatever_its_kind() {
        let mut provided = ProvidedVariables::default();
        provided.set("DB_HOST", "db.internal", false).unwrap();
        provided.set("DB_PASSWORD", "hunter2-long", true).unwrap();
        provided.set("DB_HOST", "secret-host", true).unwrap();
        assert_eq!(
            provided.environment(),
            BTreeMap::from([
                ("DB_HOST".to_string(), "secret-host".to_string()),
                ("DB_PASSWORD".to_string(), "hunter2-long".to_string()),
            ])
        );
        assert_eq!(provided.secrets().len(), 2);
    }

    #[test]
    fn names_that_are_no_variables_or_that_upkeep_sets_are_refused() {
        let mut provided = ProvidedVariables::default();
        assert_eq!(
            provided.set("2FA", "x", false),
            Err(VariableNameError::Invalid("2FA".to_string()))
        );
        for reserved in [
            "SPRYKER_PIPELINE_TYPE",
            "UPKEEP_COMMIT",
            "SPRYKER_HOOK_INSTALL",
        ] {
            assert_eq!(
                provided.set(reserved, "x", false),
                Err(VariableNameError::Reserved(reserved.to_string()))
            );
        }
        assert!(provided.is_empty());
        assert!(check_variable_name("APPLICATION_ENV").is_ok());
    }
}
