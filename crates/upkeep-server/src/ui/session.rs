//! Signing in and out, setting the server up from its setup link, accepting an invitation (as a
//! newcomer or with one's account), and one's account: password and API tokens.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use upkeep_store::{
    AccountStore, ApiTokenId, ApiTokenStore, AuditStore, PageRequest, SessionStore, WorkspaceStore,
};

use super::layout::Layout;
use super::request::{
    Flash, NoFields, Posted, Submitted, Visitor, anonymous_flash, local_path, redirect,
    sign_in_path,
};
use super::time::Moment;
use super::{UiError, UiResult, render, render_once};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::{check_password, people, session, setup, tokens};
use crate::secrets::{hash_password, verify_password};

/// An error to show above a form that is shown again, filled in as it was sent (but secrets).
pub struct FormError {
    pub code: &'static str,
    pub message: String,
    /// The field it is about, named as the API names it (and as the form's input is named).
    pub field: Option<String>,
}

impl FormError {
    /// Whether the error is about the input `name`, to be shown beside it.
    pub fn is_at(&self, name: &str) -> bool {
        self.field.as_deref() == Some(name)
    }
}

impl From<ApiError> for FormError {
    fn from(error: ApiError) -> Self {
        Self {
            code: error.code,
            message: error.message,
            field: error.field,
        }
    }
}

/// A redirect that also sets (or clears) the session cookie.
fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `/`: one's first workspace, or the sign-in page.
pub async fn home(State(state): State<AppState>, visitor: Option<Visitor>) -> UiResult<Response> {
    let Some(visitor) = visitor else {
        return Ok(redirect("/sign-in", None));
    };
    let workspaces = state
        .inner
        .store
        .workspaces_of(visitor.caller.account.id)
        .await
        .map_err(ApiError::from)?;
    // The flash of the post that led here goes on to the page it ends on.
    let flash = visitor.flash;
    Ok(match workspaces.first() {
        Some((workspace, _)) => redirect(&format!("/workspaces/{}", workspace.id.0), flash),
        None => redirect("/workspaces", flash),
    })
}

#[derive(Template)]
#[template(path = "session/sign_in.html")]
struct SignInPage {
    layout: Layout,
    set_up: bool,
    next: String,
    email: String,
    error: Option<FormError>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

async fn sign_in_form(
    state: &AppState,
    flash: Option<Flash>,
    next: &str,
    email: String,
    error: Option<FormError>,
) -> UiResult<SignInPage> {
    let accounts = state
        .inner
        .store
        .count_accounts()
        .await
        .map_err(ApiError::from)?;
    Ok(SignInPage {
        layout: Layout::anonymous("Sign in", flash),
        set_up: accounts > 0,
        next: next.to_string(),
        email,
        error,
    })
}

pub async fn sign_in_page(
    State(state): State<AppState>,
    visitor: Option<Visitor>,
    Query(query): Query<NextQuery>,
    headers: HeaderMap,
) -> UiResult<Response> {
    let next = local_path(query.next.as_deref());
    if visitor.is_some() {
        return Ok(redirect(next, None));
    }
    let page = sign_in_form(&state, anonymous_flash(&headers), next, String::new(), None).await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<AppState>,
    Submitted { form, .. }: Submitted<SignInForm>,
) -> UiResult<Response> {
    let next = local_path(form.next.as_deref());
    match session::sign_in_with_password(&state, &form.email, &form.password).await {
        Ok((_, cookie, _)) => Ok(with_cookie(redirect(next, None), &cookie)),
        Err(error) => {
            let status = error.status;
            let page = sign_in_form(&state, None, next, form.email, Some(error.into())).await?;
            Ok(render(status, &page))
        }
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> UiResult<Response> {
    let expired = session::end_session(&state, &visitor.caller).await?;
    Ok(with_cookie(
        redirect("/sign-in", Some(Flash::notice("You are signed out."))),
        &expired,
    ))
}

#[derive(Template)]
#[template(path = "session/setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    email: String,
    display_name: String,
    workspace: String,
    error: Option<FormError>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn setup_page(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> UiResult<Response> {
    if !state.setup_pending() {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            "setup_token",
            "this server is set up already: sign in instead",
        ));
    }
    Ok(render(
        StatusCode::OK,
        &SetupPage {
            layout: Layout::anonymous("Set up Upkeep", None),
            token: query.token,
            email: String::new(),
            display_name: String::new(),
            workspace: String::new(),
            error: None,
        },
    ))
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    workspace: String,
}

pub async fn set_up(
    State(state): State<AppState>,
    Submitted { form, .. }: Submitted<SetupForm>,
) -> UiResult<Response> {
    let request = setup::FirstAccount {
        token: form.token,
        email: form.email,
        display_name: form.display_name,
        password: form.password,
        workspace: form.workspace,
    };
    match setup::set_up(&state, &request).await {
        Ok((done, cookie)) => {
            let welcome = Flash::notice(format!(
                "Welcome to Upkeep. Next: connect {}'s repository.",
                done.workspace.name
            ));
            let to = format!("/workspaces/{}", done.workspace.id);
            Ok(with_cookie(redirect(&to, Some(welcome)), &cookie))
        }
        // Without the link's token there is no form to show again.
        Err(error) if error.code == "setup_token" => Err(error.into()),
        Err(error) => {
            let status = error.status;
            let page = SetupPage {
                layout: Layout::anonymous("Set up Upkeep", None),
                token: request.token,
                email: request.email,
                display_name: request.display_name,
                workspace: request.workspace,
                error: Some(error.into()),
            };
            Ok(render(status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "session/invitation.html")]
struct InvitationPage {
    layout: Layout,
    token: String,
    email: String,
    workspace: String,
    role: String,
    inviter: String,
    /// What the visitor can do with it.
    way: Way,
    /// For [`Way::SignIn`]: the sign-in page, coming back here.
    sign_in: String,
    display_name: String,
    error: Option<FormError>,
}

#[derive(PartialEq, Eq)]
enum Way {
    /// No account has the invited email: create one.
    NewAccount,
    /// The invited email has an account: sign in with it first.
    SignIn,
    /// Signed in as the invited email: join.
    Join,
    /// Signed in as someone else.
    OtherAccount(String),
}

async fn invitation_page_for(
    state: &AppState,
    visitor: Option<&Visitor>,
    token: String,
    display_name: String,
    error: Option<FormError>,
) -> UiResult<InvitationPage> {
    let invitation = people::usable_invitation(state, &token).await?;
    let store = &state.inner.store;
    let workspace = store
        .workspace(invitation.workspace)
        .await
        .map_err(ApiError::from)?
        .map_or_else(
            || format!("#{}", invitation.workspace.0),
            |found| found.name,
        );
    let inviter = store
        .account(invitation.invited_by)
        .await
        .map_err(ApiError::from)?
        .map_or_else(|| "Someone".to_string(), |account| account.display_name);
    let existing = store
        .account_by_email(&invitation.email)
        .await
        .map_err(ApiError::from)?;
    let way = match (visitor, existing) {
        (Some(visitor), _) if visitor.caller.account.email == invitation.email => Way::Join,
        (Some(visitor), _) => Way::OtherAccount(visitor.caller.account.email.clone()),
        (None, Some(_)) => Way::SignIn,
        (None, None) => Way::NewAccount,
    };
    let here = format!(
        "/invitations/accept?{}",
        serde_urlencoded::to_string([("token", token.as_str())]).unwrap_or_default()
    );
    let layout = match visitor {
        Some(visitor) => Layout::of(state, visitor, "Join a workspace", None).await?,
        None => Layout::anonymous("Join a workspace", None),
    };
    Ok(InvitationPage {
        layout,
        token,
        email: invitation.email,
        workspace,
        role: invitation.role.as_str().replace('_', " "),
        inviter,
        way,
        sign_in: sign_in_path(&here),
        display_name,
        error,
    })
}

pub async fn invitation_page(
    State(state): State<AppState>,
    visitor: Option<Visitor>,
    Query(query): Query<TokenQuery>,
) -> UiResult<Response> {
    let page =
        invitation_page_for(&state, visitor.as_ref(), query.token, String::new(), None).await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    token: String,
    display_name: Option<String>,
    password: Option<String>,
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    Submitted { visitor, form }: Submitted<AcceptForm>,
) -> UiResult<Response> {
    let request = people::Acceptance {
        token: form.token.clone(),
        display_name: form.display_name.clone(),
        password: form.password,
    };
    let caller = visitor.as_ref().map(|visitor| visitor.caller.clone());
    match people::accept(&state, caller, request).await {
        Ok((accepted, cookie)) => {
            let name = state
                .inner
                .store
                .workspace(upkeep_store::WorkspaceId(accepted.workspace))
                .await
                .ok()
                .flatten()
                .map_or_else(String::new, |workspace| workspace.name);
            let joined = Flash::notice(format!(
                "You joined {name} as {}.",
                accepted.role.replace('_', " ")
            ));
            let response = redirect(&format!("/workspaces/{}", accepted.workspace), Some(joined));
            Ok(match cookie {
                Some(cookie) => with_cookie(response, &cookie),
                None => response,
            })
        }
        Err(error) if error.code == "invalid_field" => {
            let status = error.status;
            let page = invitation_page_for(
                &state,
                visitor.as_ref(),
                form.token,
                form.display_name.unwrap_or_default(),
                Some(error.into()),
            )
            .await?;
            Ok(render(status, &page))
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Template)]
#[template(path = "session/account.html")]
struct AccountPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    /// A token just created, shown this once.
    created: Option<tokens::CreatedToken>,
    error: Option<FormError>,
}

struct TokenRow {
    id: i64,
    name: String,
    created: Moment,
    last_used: Option<Moment>,
    revoked: bool,
}

async fn account_page_for(
    state: &AppState,
    visitor: &Visitor,
    created: Option<tokens::CreatedToken>,
    error: Option<FormError>,
) -> UiResult<AccountPage> {
    let page = state
        .inner
        .store
        .api_tokens(visitor.caller.account.id, PageRequest::first(100))
        .await
        .map_err(ApiError::from)?;
    Ok(AccountPage {
        layout: Layout::of(state, visitor, "Your account", None).await?,
        tokens: page
            .items
            .into_iter()
            .map(|token| TokenRow {
                id: token.id.0,
                name: token.name,
                created: Moment::now_relative(token.created_at),
                last_used: token.last_used_at.map(Moment::now_relative),
                revoked: token.revoked_at.is_some(),
            })
            .collect(),
        created,
        error,
    })
}

pub async fn account_page(State(state): State<AppState>, visitor: Visitor) -> UiResult<Response> {
    let page = account_page_for(&state, &visitor, None, None).await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// Changes one's password: the current one first, the new one under the same rule as at
/// sign-up.
pub async fn change_password(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<PasswordForm>,
) -> UiResult<Response> {
    let changed = async {
        let account = &visitor.caller.account;
        if !verify_password(&form.current_password, &account.password_hash) {
            return Err(ApiError::invalid_field(
                "current_password",
                "`current_password` is not your password",
            ));
        }
        check_password(&form.new_password).map_err(|mut error| {
            error.message = error.message.replace("`password`", "`new_password`");
            error
        })?;
        let hash = hash_password(&form.new_password).map_err(|error| ApiError::internal(&error))?;
        let store = &state.inner.store;
        store.set_password_hash(account.id, &hash).await?;
        // Whoever else was signed in with the old password is signed out.
        let ended = store
            .delete_other_sessions(account.id, visitor.caller.session.as_deref())
            .await?;
        store
            .record_audit(
                None,
                Some(account.id),
                "account.password_changed",
                &format!(
                    "{} changed their password; {ended} other session(s) ended",
                    account.email
                ),
            )
            .await?;
        Ok(())
    }
    .await;
    match changed {
        Ok(()) => Ok(redirect(
            "/account",
            Some(Flash::notice(
                "Your password is changed, and your other sessions are signed out.",
            )),
        )),
        Err(error) => {
            let status = error.status;
            let page = account_page_for(&state, &visitor, None, Some(error.into())).await?;
            Ok(render(status, &page))
        }
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<TokenForm>,
) -> UiResult<Response> {
    match tokens::create_token(&state, &visitor.caller, &form.name).await {
        Ok(created) => {
            let page = account_page_for(&state, &visitor, Some(created), None).await?;
            Ok(render_once(&page))
        }
        Err(error) => {
            let status = error.status;
            let page = account_page_for(&state, &visitor, None, Some(error.into())).await?;
            Ok(render(status, &page))
        }
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> UiResult<Response> {
    tokens::revoke_token(&state, &visitor.caller, ApiTokenId(id)).await?;
    Ok(redirect(
        "/account",
        Some(Flash::notice("The token is revoked: it no longer works.")),
    ))
}
