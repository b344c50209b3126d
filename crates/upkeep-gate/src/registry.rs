//! The list of all rules. Registering a rule is one line here.

use crate::rule::{Category, Rule, RuleMeta};
use crate::rules;

/// Every rule, in documentation order.
pub static RULES: &[&dyn Rule] = &[
    &rules::syntax::parse_error::ParseError,
    &rules::syntax::unmatched_suppression::UnmatchedSuppression,
    &rules::dependency_provider::dependency_provider_additional_logic::DependencyProviderAdditionalLogic,
    &rules::dependency_provider::container_set_returns_array::ContainerSetReturnsArray,
    &rules::dependency_provider::multidimensional_plugin_array::MultidimensionalPluginArray,
    &rules::dependency_provider::single_plugin_argument::SinglePluginArgument,
    &rules::dependency_provider::plugin_restriction_docblock::PluginRestrictionDocblock,
    &rules::packages::spryker_dev_package::SprykerDevPackage,
    &rules::packages::minimum_shop_version::MinimumShopVersion,
    &rules::packages::php_version::PhpVersion,
    &rules::packages::security_advisory::SecurityAdvisory,
    &rules::packages::npm_advisory::NpmAdvisory,
    &rules::packages::discouraged_package::DiscouragedPackage,
    &rules::private_api::private_api_extension::PrivateApiExtension,
    &rules::private_api::private_api_method_overridden::PrivateApiMethodOverridden,
    &rules::private_api::private_api_facade::PrivateApiFacade,
    &rules::private_api::private_api_persistence::PrivateApiPersistence,
    &rules::private_api::private_api_core_persistence_usage::PrivateApiCorePersistenceUsage,
    &rules::private_api::private_api_dependency::PrivateApiDependency,
    &rules::private_api::private_api_dependency_in_business_model::PrivateApiDependencyInBusinessModel,
    &rules::private_api::private_api_object_initialization::PrivateApiObjectInitialization,
    &rules::private_api::private_api_persistence_in_business_model::PrivateApiPersistenceInBusinessModel,
    &rules::not_unique::not_unique_constant::NotUniqueConstant,
    &rules::not_unique::not_unique_method::NotUniqueMethod,
    &rules::not_unique::not_unique_transfer_name::NotUniqueTransferName,
    &rules::not_unique::not_unique_transfer_property::NotUniqueTransferProperty,
    &rules::not_unique::not_unique_database_table::NotUniqueDatabaseTable,
    &rules::not_unique::not_unique_database_column::NotUniqueDatabaseColumn,
    &rules::not_unique::not_unique_module_name::NotUniqueModuleName,
    &rules::core_compatibility::dead_code::DeadCode,
    &rules::core_compatibility::deprecated_core_usage::DeprecatedCoreUsage,
    &rules::core_compatibility::core_signature_mismatch::CoreSignatureMismatch,
];

/// The rules whose findings can come with an automatic fix (`upkeep gate --fix`, `--diff`).
/// A test runs every rule's bad example and checks this list against the fixes it produces.
const FIXABLE: &[&str] = &["not-unique-constant", "not-unique-method"];

/// Whether findings of `rule` can come with an automatic fix.
pub fn is_fixable(rule: &RuleMeta) -> bool {
    FIXABLE.contains(&rule.name)
}

pub fn all() -> impl Iterator<Item = &'static dyn Rule> {
    RULES.iter().copied()
}

/// The rule with this name or Spryker id (case-insensitive).
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    all().find(|rule| rule.meta().answers_to(id))
}

pub fn meta(id: &str) -> Option<&'static RuleMeta> {
    find(id).map(Rule::meta)
}

/// An id given by the user that names no rule and no category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule `{id}`{}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
pub struct UnknownRule {
    pub id: String,
    pub suggestion: Option<&'static str>,
}

/// Expands rule names, Spryker ids and category names into rule names.
pub fn expand(ids: &[String]) -> Result<Vec<&'static str>, UnknownRule> {
    let mut names = Vec::new();
    for id in ids.iter().map(|id| id.trim()).filter(|id| !id.is_empty()) {
        if let Some(category) = Category::ALL
            .iter()
            .find(|category| category.name().eq_ignore_ascii_case(id))
        {
            names.extend(
                all()
                    .map(Rule::meta)
                    .filter(|meta| meta.category == *category)
                    .map(|meta| meta.name),
            );
        } else if let Some(rule) = find(id) {
            names.push(rule.meta().name);
        } else {
            return Err(UnknownRule {
                id: id.to_string(),
                suggestion: closest_name(id),
            });
        }
    }
    names.dedup();
    Ok(names)
}

/// The rule name closest to a misspelt id, when it is close enough to be a likely typo.
fn closest_name(id: &str) -> Option<&'static str> {
    let id = id.to_ascii_lowercase();
    let id_chars = id.chars().count();
    all()
        .map(|rule| rule.meta().name)
        // The distance is at least the difference in length: a name that differs in length by
        // more than it allows cannot match, and the quadratic distance is not computed (a
        // 2 MB id took 10 s).
        .filter(|name| id_chars.abs_diff(name.len()) <= name.len() / 3)
        .map(|name| (edit_distance(&id, name), name))
        .filter(|(distance, name)| *distance <= name.len() / 3)
        .min()
        .map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
