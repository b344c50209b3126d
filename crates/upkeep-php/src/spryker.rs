//! Spryker's code layout: which classes are the project's and which are core, and what
//! application layer, module and role a class has.
//!
//! Spryker names classes `<Organisation>\<Layer>\<Module>\<Area>\...\<ShortName>`, e.g.
//! `Pyz\Zed\Product\Business\ProductFacade`; the short name's suffix gives its role.

use crate::names::short_name;

/// Namespaces (prefix match) whose classes are Spryker core.
pub const CORE_NAMESPACE_PREFIXES: &[&str] = &[
    "Spryker",
    "SprykerShop",
    "SprykerEco",
    "SprykerFeature",
    "SprykerMerchantPortal",
    "SprykerSdk",
];

/// Where a class comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Origin {
    /// One of the project's namespaces (`Pyz` by default).
    Project,
    /// A Spryker core namespace.
    Core,
    /// Anything else (third-party libraries, PHP itself).
    Other,
}

/// Spryker's application layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ApplicationLayer {
    Zed,
    Yves,
    Glue,
    Client,
    Service,
    Shared,
}

impl ApplicationLayer {
    pub fn from_segment(segment: &str) -> Option<Self> {
        Some(match segment {
            "Zed" => Self::Zed,
            "Yves" => Self::Yves,
            "Glue" => Self::Glue,
            "Client" => Self::Client,
            "Service" => Self::Service,
            "Shared" => Self::Shared,
            _ => return None,
        })
    }
}

/// What a class is for, from its short name (and for business models, from what it is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ClassRole {
    Facade,
    Factory,
    DependencyProvider,
    Config,
    Repository,
    EntityManager,
    QueryContainer,
    Plugin,
    Controller,
    Client,
    Service,
    Widget,
    EventSubscriber,
    Transfer,
    Exception,
    BusinessModel,
}

/// Short-name suffixes that are not business models, with their role, most specific first.
const ROLE_SUFFIXES: &[(&str, ClassRole)] = &[
    ("DependencyProvider", ClassRole::DependencyProvider),
    ("DependencyInjector", ClassRole::DependencyProvider),
    ("QueryContainer", ClassRole::QueryContainer),
    ("EntityManager", ClassRole::EntityManager),
    ("Repository", ClassRole::Repository),
    ("Factory", ClassRole::Factory),
    ("Facade", ClassRole::Facade),
    ("Config", ClassRole::Config),
    ("Controller", ClassRole::Controller),
    ("Service", ClassRole::Service),
    ("Client", ClassRole::Client),
    ("Widget", ClassRole::Widget),
    ("Plugin", ClassRole::Plugin),
    ("EventSubscriber", ClassRole::EventSubscriber),
];

impl ClassRole {
    /// The kernel's service classes, which Spryker's kernel finds by naming convention and
    /// never hands to a template: facades, factories, dependency providers, configs,
    /// repositories, entity managers, query containers, clients and services.
    pub fn is_kernel_service(self) -> bool {
        matches!(
            self,
            Self::Facade
                | Self::Factory
                | Self::DependencyProvider
                | Self::Config
                | Self::Repository
                | Self::EntityManager
                | Self::QueryContainer
                | Self::Client
                | Self::Service
        )
    }

    /// The role of a class by its short name, ignoring a trailing `Interface`.
    pub fn of(short: &str) -> Self {
        let base = short
            .strip_suffix("Interface")
            .filter(|base| !base.is_empty())
            .unwrap_or(short);
        if let Some((_, role)) = ROLE_SUFFIXES
            .iter()
            .find(|(suffix, _)| base.ends_with(suffix))
        {
            return *role;
        }
        if base.ends_with("Transfer") {
            return Self::Transfer;
        }
        if base.ends_with("Exception") {
            return Self::Exception;
        }
        Self::BusinessModel
    }

    /// Spryker's definition of a business model: none of the non-model suffixes.
    /// (Transfers and exceptions count as models here; rules that exempt them say so.)
    pub fn is_business_model_name(short: &str) -> bool {
        matches!(
            Self::of(short),
            Self::BusinessModel | Self::Transfer | Self::Exception
        )
    }
}

/// The Spryker reading of one fully qualified class name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SprykerLayout {
    pub origin: Origin,
    /// The first namespace segment (`Pyz`, `Spryker`, `SprykerShop`, ...).
    pub organisation: String,
    pub layer: Option<ApplicationLayer>,
    pub module: Option<String>,
    pub role: ClassRole,
}

/// Which namespaces are the project's (from `KernelConstants::PROJECT_NAMESPACES`, or `Pyz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectNamespaces(pub Vec<String>);

impl Default for ProjectNamespaces {
    fn default() -> Self {
        Self(vec!["Pyz".to_string()])
    }
}

impl ProjectNamespaces {
    pub fn is_project(&self, organisation: &str) -> bool {
        self.0.iter().any(|namespace| namespace == organisation)
    }

    /// Reads `$config[KernelConstants::PROJECT_NAMESPACES] = ['Pyz', ...];` from the text of
    /// `config/Shared/config_default.php`; `None` when the file does not set it.
    pub fn from_config_default(text: &str) -> Option<Self> {
        let key = text.find("KernelConstants::PROJECT_NAMESPACES")?;
        let after_key = &text[key..];
        let assign = after_key.find('=')?;
        let value = &after_key[assign + 1..];
        let end = value.find(';')?;
        let value = &value[..end];
        let namespaces: Vec<String> = value
            .split(['\'', '"'])
            .skip(1)
            .step_by(2)
            .map(|namespace| namespace.trim_matches('\\').to_string())
            .filter(|namespace| !namespace.is_empty())
            .collect();
        (!namespaces.is_empty()).then_some(Self(namespaces))
    }
}

pub fn is_core_organisation(organisation: &str) -> bool {
    CORE_NAMESPACE_PREFIXES
        .iter()
        .any(|prefix| organisation.starts_with(prefix))
}

impl SprykerLayout {
    pub fn of(full_name: &str, project: &ProjectNamespaces) -> Self {
        let mut segments = full_name.split('\\');
        let organisation = segments.next().unwrap_or_default().to_string();
        let origin = if project.is_project(&organisation) {
            Origin::Project
        } else if is_core_organisation(&organisation) {
            Origin::Core
        } else {
            Origin::Other
        };
        let layer = segments.next().and_then(ApplicationLayer::from_segment);
        let module = layer
            .and(segments.next())
            .filter(|module| !module.is_empty())
            .map(str::to_string);
        Self {
            origin,
            organisation,
            layer,
            module,
            role: ClassRole::of(short_name(full_name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_project_and_core_classes() {
        let project = ProjectNamespaces::default();
        let layout = SprykerLayout::of("Pyz\\Zed\\Product\\Business\\ProductFacade", &project);
        assert_eq!(layout.origin, Origin::Project);
        assert_eq!(layout.layer, Some(ApplicationLayer::Zed));
        assert_eq!(layout.module.as_deref(), Some("Product"));
        assert_eq!(layout.role, ClassRole::Facade);
        let core = SprykerLayout::of(
            "SprykerShop\\Yves\\CartPage\\Controller\\CartController",
            &project,
        );
        assert_eq!(core.origin, Origin::Core);
        assert_eq!(core.role, ClassRole::Controller);
        assert_eq!(
            SprykerLayout::of("Symfony\\Component\\Foo", &project).origin,
            Origin::Other
        );
        assert_eq!(
            SprykerLayout::of(
                "Acme\\Zed\\Foo\\Bar",
                &ProjectNamespaces(vec!["Acme".into()])
            )
            .origin,
            Origin::Project
        );
    }

    #[test]
    fn roles_come_from_short_name_suffixes() {
        assert_eq!(ClassRole::of("ProductBusinessFactory"), ClassRole::Factory);
        assert_eq!(ClassRole::of("ProductFacadeInterface"), ClassRole::Facade);
        assert_eq!(
            ClassRole::of("ProductDependencyProvider"),
            ClassRole::DependencyProvider
        );
        assert_eq!(ClassRole::of("ProductReader"), ClassRole::BusinessModel);
        assert_eq!(ClassRole::of("Interface"), ClassRole::BusinessModel);
        assert!(ClassRole::is_business_model_name("ProductTransfer"));
        assert!(!ClassRole::is_business_model_name("ProductStoragePlugin"));
    }

    #[test]
    fn reads_project_namespaces_from_config_default() {
        let text = "<?php\n$config[KernelConstants::PROJECT_NAMESPACES] = [\n    'Pyz',\n    \"Acme\",\n];\n";
        assert_eq!(
            ProjectNamespaces::from_config_default(text),
            Some(ProjectNamespaces(vec!["Pyz".into(), "Acme".into()]))
        );
        assert_eq!(
            ProjectNamespaces::from_config_default("<?php\n$config['x'] = 1;"),
            None
        );
    }
}
