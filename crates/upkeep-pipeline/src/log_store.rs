//! Per-step log files: one line per record, `<timestamp> <stream> <text>`, for example
//! `2025-05-01T12:00:03.125Z o Installing dependencies`. The timestamp is RFC 3339 in UTC with
//! milliseconds; the stream is `o` (stdout), `e` (stderr) or `s` (a line written by upkeep itself,
//! such as "timed out"). Text is already masked when it gets here (see [`crate::mask`]).
//!
//! A reader resumes with byte offsets: [`LogStore::read_from`] returns only complete lines and the
//! offset just after the last one, so a viewer that reconnects with that offset gets no gaps and
//! no duplicates even while the step is still writing.
//!
//! ```
//! use upkeep_pipeline::log_store::{LogLine, LogStore, Stream, LineSink};
//! let run_dir = tempfile::tempdir()?; // `<repo>/.upkeep/runs/<run id>`
//! let store = LogStore::new(run_dir.path());
//! let mut log = store.create_step_log("install", "hook")?;
//! log.write_line(&LogLine::now(Stream::Stdout, "hello"))?;
//! let bytes = log.finish()?;
//! let (lines, next) = LogStore::read_from(&store.step_log_path("install", "hook"), 0)?;
//! assert_eq!((lines.len(), next), (1, bytes));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::{self, Write as _};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
    /// Written by upkeep about the step (timeouts, cancellation, skipped work).
    System,
}

impl Stream {
    /// The one-letter code stored in log files.
    pub fn code(self) -> char {
        match self {
            Self::Stdout => 'o',
            Self::Stderr => 'e',
            Self::System => 's',
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "o" => Some(Self::Stdout),
            "e" => Some(Self::Stderr),
            "s" => Some(Self::System),
            _ => None,
        }
    }
}

/// One record of a step log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub timestamp: Timestamp,
    pub stream: Stream,
    /// The text without its line break.
    pub text: String,
}

impl LogLine {
    /// A line stamped with the current time.
    pub fn now(stream: Stream, text: impl Into<String>) -> Self {
        Self {
            timestamp: Timestamp::now(),
            stream,
            text: text.into(),
        }
    }

    /// Parses one stored record (without its line break).
    pub fn parse(record: &str) -> Option<Self> {
        let (timestamp, rest) = record.split_once(' ')?;
        let (stream, text) = rest.split_once(' ').unwrap_or((rest, ""));
        Some(Self {
            timestamp: timestamp.parse().ok()?,
            stream: Stream::from_code(stream)?,
            text: text.to_string(),
        })
    }
}

/// The stored form, without the line break. A line break inside the text (which the executor
/// never produces) is stored as a space, so one record stays one line.
impl fmt::Display for LogLine {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} {} ",
            self.timestamp.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            self.stream.code(),
        )?;
        // Written piece by piece: this runs for every line of every step.
        for (index, piece) in self.text.split('\n').enumerate() {
            if index > 0 {
                formatter.write_char(' ')?;
            }
            formatter.write_str(piece)?;
        }
        Ok(())
    }
}

/// Somewhere lines of a running step go: a [`LogWriter`], a terminal, a test's `Vec`.
pub trait LineSink {
    fn write_line(&mut self, line: &LogLine) -> io::Result<()>;

    /// Hands buffered lines on (to the file, the terminal). The executor calls it whenever it has
    /// no more output waiting, so a live reader lags by at most one burst of output.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl LineSink for Vec<LogLine> {
    fn write_line(&mut self, line: &LogLine) -> io::Result<()> {
        self.push(line.clone());
        Ok(())
    }
}

/// Appends records to one step log. Records are buffered and written whole (at the latest when
/// the buffer holds [`WRITE_BUFFER_BYTES`], or on [`LineSink::flush`]), so readers only ever see
/// whole lines, without a system call per line; [`LogWriter::finish`] syncs the file to disk.
#[derive(Debug)]
pub struct LogWriter {
    file: fs_err::File,
    bytes: u64,
    buffer: Vec<u8>,
}

/// How many bytes of records a [`LogWriter`] holds before writing them.
pub const WRITE_BUFFER_BYTES: usize = 64 * 1024;

impl LogWriter {
    /// Opens `path` for appending, creating it and its parent directories when missing.
    pub fn open(path: &Path) -> Result<Self, LogError> {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let file = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let bytes = file.metadata()?.len();
        Ok(Self {
            file,
            bytes,
            buffer: Vec::with_capacity(WRITE_BUFFER_BYTES),
        })
    }

    /// The size of the log so far, in bytes.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Writes what is buffered, syncs the log to disk and returns its size in bytes.
    pub fn finish(mut self) -> Result<u64, LogError> {
        LineSink::flush(&mut self)?;
        self.file.sync_all()?;
        Ok(self.bytes)
    }
}

impl LineSink for LogWriter {
    fn write_line(&mut self, line: &LogLine) -> io::Result<()> {
        let before = self.buffer.len();
        writeln!(self.buffer, "{line}")?;
        self.bytes += (self.buffer.len() - before) as u64;
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            LineSink::flush(self)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            self.file.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

/// The logs of one run: `<run dir>/logs/<stage>/<step>.log`.
#[derive(Debug, Clone)]
pub struct LogStore {
    run_dir: PathBuf,
}

impl LogStore {
    pub fn new(run_dir: impl Into<PathBuf>) -> Self {
        Self {
            run_dir: run_dir.into(),
        }
    }

    /// The log path relative to the run directory (as stored in the run record).
    pub fn relative_step_log_path(stage: &str, step: &str) -> PathBuf {
        Path::new("logs")
            .join(file_name_part(stage))
            .join(format!("{}.log", file_name_part(step)))
    }

    /// The absolute log path of a step.
    pub fn step_log_path(&self, stage: &str, step: &str) -> PathBuf {
        self.run_dir.join(Self::relative_step_log_path(stage, step))
    }

    /// Opens a step's log for appending (creating directories as needed).
    pub fn create_step_log(&self, stage: &str, step: &str) -> Result<LogWriter, LogError> {
        LogWriter::open(&self.step_log_path(stage, step))
    }

    /// The start of the first line at or after byte `offset`: `offset` itself when a line starts
    /// there, else the byte after the next line end (a reader given an offset inside a line goes
    /// on from the next whole line). A log that does not exist yet keeps the offset.
    pub fn line_start_at_or_after(path: &Path, offset: u64) -> Result<u64, LogError> {
        if offset == 0 {
            return Ok(0);
        }
        let mut file = match fs_err::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(offset),
            Err(error) => return Err(error.into()),
        };
        file.seek(SeekFrom::Start(offset - 1))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        if bytes.first().is_none_or(|&byte| byte == b'\n') {
            return Ok(offset);
        }
        Ok(match bytes.iter().position(|&byte| byte == b'\n') {
            Some(end) => offset + end as u64,
            None => offset - 1 + bytes.len() as u64,
        })
    }

    /// The complete lines from byte `offset` on, and the offset after the last of them: pass it
    /// to the next call to continue without gaps or duplicates. A partly written last line is
    /// left for a later call. A log that does not exist yet reads as empty.
    pub fn read_from(path: &Path, offset: u64) -> Result<(Vec<LogLine>, u64), LogError> {
        let mut file = match fs_err::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok((Vec::new(), offset));
            }
            Err(error) => return Err(error.into()),
        };
        file.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let complete = bytes
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |last| last + 1);
        let lines = parse_records(path, &bytes[..complete], offset)?;
        Ok((lines, offset + complete as u64))
    }

    /// At most `limit` whole lines that end at or before byte `before` (the last ones of the
    /// log for `u64::MAX`), read backwards from there, so that the tail of a long log costs
    /// what the lines cost, not what the log does. Returns the lines, where the first of them
    /// starts and where the last ends. A partly written last line is left out, as by
    /// [`LogStore::read_from`]; a log that does not exist yet reads as empty.
    pub fn read_before(
        path: &Path,
        before: u64,
        limit: usize,
    ) -> Result<(Vec<LogLine>, u64, u64), LogError> {
        Self::read_before_in_chunks(path, before, limit, BACKWARD_CHUNK_BYTES)
    }

    fn read_before_in_chunks(
        path: &Path,
        before: u64,
        limit: usize,
        chunk_bytes: u64,
    ) -> Result<(Vec<LogLine>, u64, u64), LogError> {
        let mut file = match fs_err::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok((Vec::new(), 0, 0));
            }
            Err(error) => return Err(error.into()),
        };
        let bound = before.min(file.metadata()?.len());
        // Chunks read so far, the latest (earliest in the file) last; `start` is where the
        // earliest begins, `end` where the last whole line ends once a line end was seen.
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let mut start = bound;
        let mut end = None;
        let mut line_starts = 0;
        while start > 0 && line_starts < limit {
            let from = start.saturating_sub(chunk_bytes);
            let mut chunk = vec![0; usize::try_from(start - from).unwrap_or(usize::MAX)];
            file.seek(SeekFrom::Start(from))?;
            file.read_exact(&mut chunk)?;
            // Walk the chunk backwards: the first line end seen closes the last whole line,
            // every later one opens the line after it.
            for index in (0..chunk.len()).rev() {
                if chunk[index] != b'\n' {
                    continue;
                }
                let after = from + index as u64 + 1;
                if end.is_none() {
                    end = Some(after);
                } else {
                    line_starts += 1;
                    if line_starts == limit {
                        chunk.drain(..=index);
                        start = after;
                        break;
                    }
                }
            }
            if line_starts < limit {
                start = from;
            }
            chunks.push(chunk);
        }
        let Some(end) = end else {
            // No line ends before `bound`: nothing before it (or nothing asked for).
            return Ok((Vec::new(), start, start));
        };
        let mut bytes: Vec<u8> = chunks.into_iter().rev().flatten().collect();
        bytes.truncate(usize::try_from(end - start).unwrap_or(usize::MAX));
        Ok((parse_records(path, &bytes, start)?, start, end))
    }
}

/// How many bytes [`LogStore::read_before`] reads at a time.
const BACKWARD_CHUNK_BYTES: u64 = 64 * 1024;

/// The records of `bytes` (whole lines, each ending with a line break), which start at byte
/// `offset` of the log at `path`.
fn parse_records(path: &Path, bytes: &[u8], offset: u64) -> Result<Vec<LogLine>, LogError> {
    let mut lines = Vec::new();
    let mut line_offset = offset;
    for record in bytes.split_inclusive(|&byte| byte == b'\n') {
        let text = String::from_utf8_lossy(&record[..record.len() - 1]);
        let line = LogLine::parse(&text).ok_or_else(|| LogError::Malformed {
            path: path.to_path_buf(),
            offset: line_offset,
        })?;
        lines.push(line);
        line_offset += record.len() as u64;
    }
    Ok(lines)
}

/// Stage and step names become path parts: anything but letters, digits, `.`, `_` and `-` is
/// replaced, and a name cannot climb out of the log directory.
fn file_name_part(name: &str) -> String {
    let part: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    match part.as_str() {
        "" | "." | ".." => "_".to_string(),
        _ => part,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("{}: malformed log record at byte {offset}", path.display())]
    Malformed { path: PathBuf, offset: u64 },
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_offset_inside_a_line_goes_on_at_the_next_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("step.log");
        fs_err::write(&path, "abc\ndefg\nhi\n").expect("write");
        let start = |offset| LogStore::line_start_at_or_after(&path, offset).expect("read");
        assert_eq!(start(0), 0);
        assert_eq!(start(4), 4);
        for inside in 1..=3 {
            assert_eq!(start(inside), 4, "offset {inside}");
        }
        assert_eq!(start(5), 9);
        assert_eq!(start(9), 9);
        assert_eq!(start(10), 12);
        assert_eq!(start(12), 12);
        assert_eq!(start(40), 40);
        assert_eq!(
            LogStore::line_start_at_or_after(&dir.path().join("none.log"), 7).expect("missing"),
            7
        );
    }
    use super::*;
    use std::time::Duration;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("valid timestamp")
    }

    #[test]
    fn record_format_round_trips() {
        let line = LogLine {
            timestamp: at("2025-05-01T12:00:03.125Z"),
            stream: Stream::Stderr,
            text: "warning: x  y".to_string(),
        };
        assert_eq!(line.to_string(), "2025-05-01T12:00:03.125Z e warning: x  y");
        assert_eq!(LogLine::parse(&line.to_string()), Some(line));
        let empty = LogLine {
            timestamp: at("2025-05-01T12:00:03Z"),
            stream: Stream::Stdout,
            text: String::new(),
        };
        assert_eq!(empty.to_string(), "2025-05-01T12:00:03.000Z o ");
        assert_eq!(LogLine::parse("2025-05-01T12:00:03.000Z o"), Some(empty));
        assert_eq!(LogLine::parse("yesterday o hi"), None);
        assert_eq!(LogLine::parse("2025-05-01T12:00:03.000Z x hi"), None);
    }

    #[test]
    fn writes_and_reads_back_with_offsets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LogStore::new(dir.path());
        let mut log = store.create_step_log("pre-deploy", "hook").expect("open");
        log.write_line(&LogLine::now(Stream::Stdout, "one"))
            .expect("write");
        log.write_line(&LogLine::now(Stream::Stderr, "two\nlines"))
            .expect("write");
        let size = log.finish().expect("finish");
        let path = dir.path().join("logs/pre-deploy/hook.log");
        assert_eq!(store.step_log_path("pre-deploy", "hook"), path);
        assert_eq!(fs_err::metadata(&path).expect("metadata").len(), size);

        let (lines, next) = LogStore::read_from(&path, 0).expect("read");
        let texts: Vec<_> = lines
            .iter()
            .map(|line| (line.stream, line.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [(Stream::Stdout, "one"), (Stream::Stderr, "two lines")]
        );
        assert_eq!(next, size);
        let first_len = lines[0].to_string().len() as u64 + 1;
        let (rest, next) = LogStore::read_from(&path, first_len).expect("read");
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].text, "two lines");
        assert_eq!(next, size);
        assert_eq!(
            LogStore::read_from(&path, size).expect("read"),
            (Vec::new(), size)
        );

        // Appending to an existing log continues its byte count.
        let mut again = LogWriter::open(&path).expect("reopen");
        assert_eq!(again.bytes_written(), size);
        again
            .write_line(&LogLine::now(Stream::System, "three"))
            .expect("write");
        assert!(again.finish().expect("finish") > size);
    }

    #[test]
    fn a_missing_log_reads_as_empty_and_a_broken_one_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nope.log");
        assert_eq!(
            LogStore::read_from(&path, 7).expect("read"),
            (Vec::new(), 7)
        );
        fs_err::write(&path, "2025-05-01T12:00:03.000Z o fine\ngarbage\n").expect("write");
        let error = LogStore::read_from(&path, 0).expect_err("malformed");
        assert!(
            matches!(error, LogError::Malformed { offset: 32, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn reading_backwards_gives_the_whole_lines_that_end_before_an_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("step.log");
        let texts = ["", "one", "a longer second line", "3", "", "the fifth one"];
        let mut log = String::new();
        // (start, end, text) of every whole line, as a forward reader sees them.
        let mut whole = Vec::new();
        for text in texts {
            let start = log.len() as u64;
            let _ = writeln!(log, "2025-05-01T12:00:03.000Z o {text}");
            whole.push((start, log.len() as u64, text));
        }
        // A line being written is never read.
        log.push_str("2025-05-01T12:00:04.000Z o half");
        fs_err::write(&path, &log).expect("write");
        let size = log.len() as u64;
        for chunk in [1, 2, 7, 31, 64 * 1024] {
            for before in (0..=size + 2).chain([u64::MAX]) {
                for limit in 1..=7 {
                    let fits: Vec<_> = whole.iter().filter(|(_, end, _)| *end <= before).collect();
                    let wanted = &fits[fits.len().saturating_sub(limit)..];
                    let (lines, start, end) =
                        LogStore::read_before_in_chunks(&path, before, limit, chunk).expect("read");
                    let label = format!("chunk {chunk}, before {before}, limit {limit}");
                    let got: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
                    let expected: Vec<&str> = wanted.iter().map(|(_, _, text)| *text).collect();
                    assert_eq!(got, expected, "{label}");
                    let (first, last) = match (wanted.first(), wanted.last()) {
                        (Some(first), Some(last)) => (first.0, last.1),
                        _ => (0, 0),
                    };
                    assert_eq!((start, end), (first, last), "{label}");
                }
            }
        }
        assert_eq!(
            LogStore::read_before(&dir.path().join("none.log"), 100, 5).expect("missing"),
            (Vec::new(), 0, 0)
        );
        fs_err::write(&path, "2025-05-01T12:00:03.000Z o fine\ngarbage\n").expect("write");
        assert!(matches!(
            LogStore::read_before(&path, u64::MAX, 1),
            Err(LogError::Malformed { offset: 32, .. })
        ));
    }

    #[test]
    fn step_names_cannot_escape_the_log_directory() {
        assert_eq!(
            LogStore::relative_step_log_path("..", "a/../b c"),
            Path::new("logs/_/a-..-b-c.log")
        );
    }

    #[test]
    fn a_resuming_reader_sees_every_line_once_while_a_writer_appends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("live.log");
        let writer_path = path.clone();
        let count = 300;
        // The writer writes each record in two pieces with a pause between them, so the reader
        // regularly sees a half-written last line.
        let writer = std::thread::spawn(move || {
            let mut file = fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&writer_path)
                .expect("open");
            for index in 0..count {
                let record = format!(
                    "{}\n",
                    LogLine::now(Stream::Stdout, format!("line {index}"))
                );
                let (first, second) = record.split_at(record.len() / 2);
                file.write_all(first.as_bytes()).expect("write");
                file.flush().expect("flush");
                if index % 10 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                file.write_all(second.as_bytes()).expect("write");
            }
        });
        let mut offset = 0;
        let mut seen = Vec::new();
        let mut reads = 0;
        while seen.len() < count {
            let (lines, next) = LogStore::read_from(&path, offset).expect("read");
            assert!(next >= offset);
            offset = next;
            seen.extend(lines.into_iter().map(|line| line.text));
            reads += 1;
            assert!(reads < 1_000_000, "reader never caught up");
        }
        writer.join().expect("writer");
        let expected: Vec<String> = (0..count).map(|index| format!("line {index}")).collect();
        assert_eq!(seen, expected);
        assert_eq!(offset, fs_err::metadata(&path).expect("metadata").len());
    }
}
