//! Cursor pagination of every list: `?limit=N&cursor=…` in, the list's items and
//! `next_cursor` out (`null` on the last page). Lists are newest first; the cursor is opaque to
//! clients (it names the list and the last row given, so a cursor of one list is refused by
//! another), and the store continues after it by keyset, never by `OFFSET`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use upkeep_store::{Page, PageRequest};
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult};

/// How many items a page holds unless `limit` says.
pub const DEFAULT_LIMIT: u32 = 20;
/// The most a page holds.
pub const MAX_LIMIT: u32 = 100;

/// Which page of a list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page; without it, the newest items.
    cursor: Option<String>,
}

impl PageQuery {
    /// The cursor asked for; none for the first page.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The store's page request for the list named `list`.
    pub fn request(&self, list: &str) -> ApiResult<PageRequest> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "limit",
                        format!("`limit` must be a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let before = self
            .cursor
            .as_deref()
            .map(|cursor| decode(list, cursor))
            .transpose()?;
        Ok(PageRequest { before, limit })
    }
}

/// The cursor of the page after `page` of `list`, when one follows.
pub fn next_cursor<T>(list: &str, page: &Page<T>) -> Option<String> {
    page.next
        .map(|id| URL_SAFE_NO_PAD.encode(format!("{list}:{id}")))
}

fn decode(list: &str, cursor: &str) -> ApiResult<i64> {
    let invalid = || ApiError {
        field: Some("cursor".to_string()),
        ..ApiError::bad_request(
            "invalid_cursor",
            "`cursor` is not one this list gave out; take `next_cursor` from the previous page, or leave `cursor` out to start again",
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid)?;
    let (named, id) = text.split_once(':').ok_or_else(invalid)?;
    let id: i64 = id.parse().map_err(|_| invalid())?;
    if named != list || id <= 0 {
        return Err(invalid());
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, cursor: Option<&str>) -> PageQuery {
        PageQuery {
            limit: limit.map(str::to_string),
            cursor: cursor.map(str::to_string),
        }
    }

    #[test]
    fn a_cursor_leads_back_to_where_its_page_ended() {
        let page = Page {
            items: vec![9, 8],
            next: Some(8),
        };
        let cursor = next_cursor("runs", &page).unwrap();
        let request = query(Some("2"), Some(&cursor)).request("runs").unwrap();
        assert_eq!(request.before, Some(8));
        assert_eq!(request.limit, 2);
        let last = Page::<i64> {
            items: vec![7],
            next: None,
        };
        assert_eq!(next_cursor("runs", &last), None);
    }

    #[test]
    fn bad_limits_and_cursors_name_their_field() {
        assert_eq!(
            query(None, None).request("runs").unwrap().limit,
            DEFAULT_LIMIT
        );
        for limit in ["0", "101", "-1", "ten", ""] {
            let error = query(Some(limit), None).request("runs").unwrap_err();
            assert_eq!(
                (error.code, error.field.as_deref()),
                ("invalid_field", Some("limit"))
            );
        }
        let of_audit = next_cursor(
            "audit",
            &Page {
                items: vec![1],
                next: Some(5),
            },
        )
        .unwrap();
        let forged = URL_SAFE_NO_PAD.encode("runs:-3");
        for cursor in [
            "not base64!",
            "bm9jb2xvbg",
            of_audit.as_str(),
            forged.as_str(),
        ] {
            let error = query(None, Some(cursor)).request("runs").unwrap_err();
            assert_eq!(
                (error.status.as_u16(), error.code, error.field.as_deref()),
                (400, "invalid_cursor", Some("cursor")),
                "{cursor}"
            );
        }
    }
}
