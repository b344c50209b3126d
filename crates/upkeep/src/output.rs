//! Standard output for a command's data (reports, plans, logs), and what a failed write means.
//!
//! Rust ignores SIGPIPE, so when the reader of a pipe goes away early (`upkeep rules | head -1`)
//! a write fails with `BrokenPipe`, and `println!` would panic. The reader has all it wanted, so
//! upkeep ends quietly, with the status a shell reports for `cat` or `git` ended by SIGPIPE
//! (141): never 0, since the command did not finish (a gate that found errors must not pass under
//! `set -o pipefail`). Any other write error is a failure of the run (status 2). Progress and
//! messages go to stderr and do not pass here.
//!
//! ```ignore
//! let mut out = output::stdout();
//! writeln!(out, "{} {}", image.reference, image.digest);
//! ```

use std::fmt;
use std::io::{BufWriter, ErrorKind, StdoutLock, Write};

use crate::{Outcome, print_error};

/// Standard output, locked and buffered for the life of the value; flushed when dropped.
///
/// Its `write_fmt` returns nothing, so `write!` and `writeln!` work on it without a `Result` to
/// handle: a failed write never comes back to the command, it ends the process.
pub struct Stdout {
    writer: BufWriter<StdoutLock<'static>>,
}

pub fn stdout() -> Stdout {
    Stdout {
        writer: BufWriter::new(std::io::stdout().lock()),
    }
}

impl Stdout {
    pub fn write_fmt(&mut self, args: fmt::Arguments<'_>) {
        exit_on_error(self.writer.write_fmt(args));
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) {
        exit_on_error(self.writer.write_all(bytes));
    }

    /// Hands what is buffered to the reader now, e.g. before a message on stderr that must
    /// come after it.
    pub fn flush(&mut self) {
        exit_on_error(self.writer.flush());
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        // Flushing here means no command can forget to. Not while unwinding: exiting then
        // would hide the panic.
        if !std::thread::panicking() {
            self.flush();
        }
    }
}

/// 128 + SIGPIPE: what a shell reports for a program that a closed pipe ended.
pub const CLOSED_PIPE_STATUS: i32 = 141;

/// Ends the process if a write failed. Exiting skips destructors on the stack, so callers keep
/// values whose drop matters (locks, tickets) out of scope while they write.
fn exit_on_error(written: std::io::Result<()>) {
    let Err(error) = written else { return };
    if error.kind() == ErrorKind::BrokenPipe {
        std::process::exit(CLOSED_PIPE_STATUS);
    }
    print_error(&format!("cannot write to standard output: {error}"), None);
    std::process::exit(Outcome::Failed as i32);
}
