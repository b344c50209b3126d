//! What every page shares: the base layout's header (the workspace switcher and the account
//! menu), the flash area, the assets' addresses, and the status badge.

use upkeep_store::{Role, WorkspaceId, WorkspaceStore};

use super::UiResult;
use super::assets::{SCRIPT, STYLESHEET};
use super::request::{Flash, Visitor};
use crate::AppState;

/// The base layout's data; every page struct has it as `layout`.
pub struct Layout {
    pub title: String,
    /// The header's menus, for a signed-in visitor.
    pub nav: Option<Nav>,
    pub flash: Option<Flash>,
    pub stylesheet: &'static str,
    pub script: &'static str,
    /// Seconds after which the page reloads itself (something on it is running), unless the
    /// visitor is typing into it.
    pub refresh: Option<u32>,
}

pub struct Nav {
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    /// For the sign-out form in the account menu.
    pub csrf: String,
    pub workspaces: Vec<WorkspaceLink>,
    /// The workspace the page belongs to, shown in the switcher.
    pub current: Option<WorkspaceLink>,
}

#[derive(Clone)]
pub struct WorkspaceLink {
    pub id: i64,
    pub name: String,
    pub is_super_user: bool,
}

impl Layout {
    /// The layout of a page for someone not signed in (and of error pages).
    pub fn anonymous(title: &str, flash: Option<Flash>) -> Self {
        Self {
            title: title.to_string(),
            nav: None,
            flash,
            stylesheet: &STYLESHEET.path,
            script: &SCRIPT.path,
            refresh: None,
        }
    }

    /// The layout of a signed-in visitor's page, of `current` workspace if it is one.
    pub async fn of(
        state: &AppState,
        visitor: &Visitor,
        title: &str,
        current: Option<WorkspaceId>,
    ) -> UiResult<Self> {
        let workspaces: Vec<WorkspaceLink> = state
            .inner
            .store
            .workspaces_of(visitor.caller.account.id)
            .await
            .map_err(crate::api::error::ApiError::from)?
            .into_iter()
            .map(|(workspace, role)| WorkspaceLink {
                id: workspace.id.0,
                name: workspace.name,
                is_super_user: role == Role::SuperUser,
            })
            .collect();
        let current = current.and_then(|current| {
            workspaces
                .iter()
                .find(|workspace| workspace.id == current.0)
                .cloned()
        });
        let account = &visitor.caller.account;
        Ok(Self {
            nav: Some(Nav {
                name: account.display_name.clone(),
                email: account.email.clone(),
                is_admin: account.is_admin,
                csrf: visitor.csrf.clone(),
                workspaces,
                current,
            }),
            ..Self::anonymous(title, visitor.flash.clone())
        })
    }

    pub fn refreshing(mut self, seconds: Option<u32>) -> Self {
        self.refresh = seconds;
        self
    }
}

/// The visitor's role in a workspace, if it is at least `needed`, and the workspace's name: what
/// every page of a workspace starts with.
pub async fn workspace_of(
    state: &AppState,
    visitor: &Visitor,
    workspace: WorkspaceId,
    needed: Role,
) -> UiResult<(Role, String)> {
    let role = crate::auth::require_role(state, &visitor.caller, workspace, needed).await?;
    let name = state
        .inner
        .store
        .workspace(workspace)
        .await
        .map_err(crate::api::error::ApiError::from)?
        .map_or_else(String::new, |found| found.name);
    Ok((role, name))
}

/// A status as a coloured badge: the class is the status's name, the label its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub class: &'static str,
    pub label: String,
}

impl Badge {
    pub fn of(status: &'static str) -> Self {
        Self {
            class: status,
            label: status.replace('_', " "),
        }
    }
}
