//! What every page shares: the base layout's header (the workspace switcher and the account
//! menu), the flash area, the assets' addresses, the status badge, the links between the pages
//! of a list, and people's names.

use std::collections::HashMap;

use upkeep_store::{AccountId, AccountStore, Page, Role, WorkspaceId, WorkspaceStore};

use super::UiResult;
use super::assets::{SCRIPT, STYLESHEET};
use super::request::{Flash, Visitor};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::page::{PageQuery, next_cursor};

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
            .map_err(ApiError::from)?
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
        .map_err(ApiError::from)?
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

/// The links between the pages of a list that the API's cursor pages, newest first: back to
/// the newest, and on to older ones (`?cursor=`, the API's own cursor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pager {
    pub newest: Option<String>,
    pub older: Option<String>,
}

impl Pager {
    /// The links of `page` of the list `list`, shown at `path` (with `anchor`, the list's
    /// section on it, e.g. `#audit`), asked for with `query`.
    pub fn of<T>(path: &str, anchor: &str, list: &str, query: &PageQuery, page: &Page<T>) -> Self {
        Self {
            newest: query.cursor().map(|_| format!("{path}{anchor}")),
            older: next_cursor(list, page).map(|cursor| {
                let query = serde_urlencoded::to_string([("cursor", cursor)]).unwrap_or_default();
                format!("{path}?{query}{anchor}")
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.newest.is_none() && self.older.is_none()
    }
}

/// The names of accounts (their display names), for the lists that say who did something.
pub async fn account_names(
    state: &AppState,
    accounts: Vec<AccountId>,
) -> UiResult<HashMap<AccountId, String>> {
    let mut names = HashMap::new();
    for account in accounts {
        if names.contains_key(&account) {
            continue;
        }
        if let Some(found) = state
            .inner
            .store
            .account(account)
            .await
            .map_err(ApiError::from)?
        {
            names.insert(account, found.display_name);
        }
    }
    Ok(names)
}
