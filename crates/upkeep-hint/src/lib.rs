//! The one convention for "what to do next": an error says what happened in its message and
//! what to do about it through [`Hint`], never as a `hint:` line inside the message. The binary
//! prints the hint on a line of its own (`hint: …`); the server shows it under the message.
//! Every library's errors implement it; a wrapping error passes on the hint of its source.
//!
//! ```
//! use upkeep_hint::Hint;
//!
//! #[derive(Debug)]
//! struct NoLockFile;
//!
//! impl Hint for NoLockFile {
//!     fn hint(&self) -> Option<String> {
//!         Some("run `composer install` first".to_string())
//!     }
//! }
//! assert_eq!(NoLockFile.hint().as_deref(), Some("run `composer install` first"));
//! ```

/// What to do about an error, said separately from what happened.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}
