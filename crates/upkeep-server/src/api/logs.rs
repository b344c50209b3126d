//! Logs as the API serves them, for a pipeline step's log and an upgrade run's alike: lines
//! read from a byte offset, the last lines or those before an offset (read backwards from
//! there, so that a page of a 100 MB log costs what the page does), and a live stream of
//! server-sent events that resumes where a client left off (`Last-Event-ID`). Where a log is
//! and whether it is still written is the caller's to say, through [`LogSource`].

use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use upkeep_pipeline::log_store::LogStore;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogRange {
    /// A byte offset in the log (default 0); one inside a line starts at the next line.
    #[param(value_type = Option<u64>, minimum = 0)]
    offset: Option<String>,
}

impl LogRange {
    /// The offset asked for; read here rather than by serde, so that a bad one is named.
    pub fn offset(&self) -> ApiResult<u64> {
        self.offset.as_deref().map_or(Ok(0), byte_offset("offset"))
    }

    /// Where a live stream starts: after the last event a reconnecting client received, else
    /// at the offset asked for.
    pub fn resume_at(&self, headers: &HeaderMap) -> ApiResult<u64> {
        let last_event = headers
            .get("last-event-id")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        match last_event {
            Some(offset) => Ok(offset),
            None => self.offset(),
        }
    }
}

/// A byte offset given as query parameter `field`; read here rather than by serde, so that a
/// bad one is named.
fn byte_offset(field: &'static str) -> impl Fn(&str) -> ApiResult<u64> {
    move |text| {
        text.parse().map_err(|_| {
            ApiError::invalid_field(
                field,
                format!("`{field}` must be a byte offset (0 or more)"),
            )
        })
    }
}

/// The most lines one read of a log gives by `tail` or `limit`.
pub const MAX_PAGE_LINES: usize = 10_000;
/// The lines a read `before` an offset gives without a `limit`.
const DEFAULT_PAGE_LINES: usize = 200;

/// Which lines of a log to read: from an offset on (the default), the last ones (`tail`), or
/// those before an offset (`before` and `limit`), to page back from the tail.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogPage {
    /// A byte offset in the log (default 0): the lines from there on; one inside a line starts
    /// at the next line.
    #[param(value_type = Option<u64>, minimum = 0)]
    offset: Option<String>,
    /// The last N whole lines of the log (1–10,000), instead of lines from an offset.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    tail: Option<String>,
    /// A byte offset (an answer's `previous_offset`): the `limit` whole lines that end at or
    /// before it, to page back from the tail.
    #[param(value_type = Option<u64>, minimum = 0)]
    before: Option<String>,
    /// With `before`: how many lines (1–10,000, default 200).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    limit: Option<String>,
}

/// A read of a log, as [`LogPage`] asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRead {
    /// Every whole line from the first at or after this offset.
    From(u64),
    /// At most `limit` whole lines that end at or before `before` (`u64::MAX`: the last ones).
    Before { before: u64, limit: usize },
}

impl LogPage {
    /// The read asked for, each wrong or clashing parameter named.
    pub fn read(&self) -> ApiResult<LogRead> {
        let lines = |field: &'static str, text: &str| {
            text.parse::<usize>()
                .ok()
                .filter(|count| (1..=MAX_PAGE_LINES).contains(count))
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        field,
                        format!("`{field}` must be a number of lines from 1 to {MAX_PAGE_LINES}"),
                    )
                })
        };
        let clash = |field: &str, other: &str| {
            ApiError::invalid_field(field, format!("`{field}` does not go with `{other}`"))
        };
        if let Some(tail) = &self.tail {
            if self.offset.is_some() {
                return Err(clash("tail", "offset"));
            }
            if self.before.is_some() {
                return Err(clash("tail", "before"));
            }
            if self.limit.is_some() {
                return Err(clash("limit", "tail"));
            }
            return Ok(LogRead::Before {
                before: u64::MAX,
                limit: lines("tail", tail)?,
            });
        }
        if let Some(before) = &self.before {
            if self.offset.is_some() {
                return Err(clash("before", "offset"));
            }
            return Ok(LogRead::Before {
                before: byte_offset("before")(before)?,
                limit: self
                    .limit
                    .as_deref()
                    .map_or(Ok(DEFAULT_PAGE_LINES), |limit| lines("limit", limit))?,
            });
        }
        if self.limit.is_some() {
            return Err(ApiError::invalid_field(
                "limit",
                "`limit` goes with `before` (use `tail` for the last lines)",
            ));
        }
        Ok(LogRead::From(
            self.offset
                .as_deref()
                .map_or(Ok(0), byte_offset("offset"))?,
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct LogLine {
    #[schema(format = DateTime)]
    pub time: String,
    /// `o` (standard output), `e` (standard error) or `s` (upkeep's own lines).
    pub stream: String,
    pub text: String,
}

/// Lines of a log.
#[derive(Serialize, ToSchema)]
pub struct LogLines {
    /// Where these lines start.
    pub offset: u64,
    /// Where the next read starts (as `offset`, or to follow the log live).
    pub next_offset: u64,
    /// Where the lines before these end: pass it as `before` to page back; `null` when these
    /// start the log.
    pub previous_offset: Option<u64>,
    pub lines: Vec<LogLine>,
}

/// The lines of a log that `read` asks for: where the first starts, where to continue, and
/// the lines.
pub fn read_log(path: &Path, read: LogRead) -> ApiResult<LogLines> {
    let internal = |error: upkeep_pipeline::log_store::LogError| ApiError::internal(&error);
    let (lines, start, next) = match read {
        LogRead::From(offset) => {
            let start = LogStore::line_start_at_or_after(path, offset).map_err(internal)?;
            let (lines, next) = LogStore::read_from(path, start).map_err(internal)?;
            (lines, start, next)
        }
        LogRead::Before { before, limit } => {
            LogStore::read_before(path, before, limit).map_err(internal)?
        }
    };
    Ok(LogLines {
        offset: start,
        next_offset: next,
        previous_offset: (start > 0).then_some(start),
        lines: lines
            .into_iter()
            .map(|line| LogLine {
                time: line.timestamp.to_string(),
                stream: line.stream.code().to_string(),
                text: line.text,
            })
            .collect(),
    })
}

/// Where a followed log stands now.
pub enum LogState {
    /// Not written yet, but it may be.
    NotYet,
    /// Being written at this path.
    Writing(PathBuf),
    /// Written for good (at this path, when there is a log at all), with the result that the
    /// stream's `end` event carries.
    Done {
        path: Option<PathBuf>,
        result: String,
    },
}

/// Tells a live stream where its log stands; asked again whenever the stream waits.
pub trait LogSource: Send + 'static {
    fn state(&self) -> impl Future<Output = LogState> + Send;
}

/// How long a live stream waits before it looks for new lines again.
const POLL: Duration = Duration::from_millis(50);

/// A log as server-sent events: every line from `offset` on, then new lines as they are
/// written, each event's data the line as JSON (`{"time", "stream", "text"}`, as
/// [`LogLine`]) and its id the offset after the line, so that a reconnecting client loses and
/// repeats nothing; at last an `end` event with the result as plain text.
pub fn live_events<S: LogSource>(
    source: S,
    offset: u64,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let follower = Follower {
        source,
        offset,
        ended: false,
        pending: Vec::new(),
    };
    let events = stream::unfold(follower, |mut follower| async move {
        let event = follower.next().await?;
        Some((Ok(event), follower))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

struct Follower<S> {
    source: S,
    offset: u64,
    ended: bool,
    /// Events read but not sent yet, the next one last.
    pending: Vec<Event>,
}

impl<S: LogSource> Follower<S> {
    /// The next event, waiting for the log to grow; `None` after the end event.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            // The state is read before the lines: a log that is done then has all its lines.
            let (path, result) = match self.source.state().await {
                LogState::NotYet => (None, None),
                LogState::Writing(path) => (Some(path), None),
                LogState::Done { path, result } => (path, Some(result)),
            };
            let mut events = match &path {
                Some(path) => self.read_new_lines(path),
                None => Vec::new(),
            };
            if events.is_empty()
                && let Some(result) = result
            {
                self.ended = true;
                events.push(Event::default().event("end").data(result));
            }
            if events.is_empty() {
                tokio::time::sleep(POLL).await;
                continue;
            }
            events.reverse();
            self.pending = events;
        }
    }

    /// The whole lines written since the last read, as events.
    fn read_new_lines(&mut self, path: &Path) -> Vec<Event> {
        let start = LogStore::line_start_at_or_after(path, self.offset).unwrap_or(self.offset);
        let Ok((lines, next)) = LogStore::read_from(path, start) else {
            return Vec::new();
        };
        let mut offset = start;
        let events = lines
            .into_iter()
            .map(|line| {
                offset += line.to_string().len() as u64 + 1;
                let id = offset.to_string();
                let line = LogLine {
                    time: line.timestamp.to_string(),
                    stream: line.stream.code().to_string(),
                    text: line.text,
                };
                // JSON, not the bare text: an event whose data is empty is dropped by
                // browsers (and axum writes no data field for it), which would lose blank lines.
                Event::default()
                    .id(&id)
                    .json_data(&line)
                    .unwrap_or_else(|_| Event::default().id(id).data(line.text))
            })
            .collect();
        self.offset = next;
        events
    }
}
