//! Pages of a list, newest first, by keyset on a row id: a page asks for the rows whose id is
//! below the last one seen, so rows added meanwhile neither shift nor repeat a page, and a
//! database reads an index range instead of skipping rows as `OFFSET` would.

/// Which page of a list: the rows whose id is below `before` (from the newest when `None`),
/// at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub before: Option<i64>,
    pub limit: u32,
}

impl PageRequest {
    /// The newest `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self {
            before: None,
            limit,
        }
    }

    /// The bound to bind as `id < $n`.
    pub(crate) fn before_bound(self) -> i64 {
        self.before.unwrap_or(i64::MAX)
    }

    /// How many rows to fetch: one more than the page holds, to know whether more follow.
    pub(crate) fn fetch(self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// A page of rows, newest first, and where the next page starts when more rows follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id to pass as the next request's `before`; `None` on the last page.
    pub next: Option<i64>,
}

impl<T> Page<T> {
    /// The page of `rows` fetched for `request` (up to `limit + 1`, newest first).
    pub(crate) fn of(mut rows: Vec<T>, request: PageRequest, id: impl Fn(&T) -> i64) -> Self {
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&id)
        } else {
            None
        };
        Self { items: rows, next }
    }
}
