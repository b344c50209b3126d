//! The one convention for "what to do next": an error says what happened in its message and
//! what to do about it through [`Hint`], never as a `hint:` line inside the message. The binary
//! prints the hint on a line of its own; the server shows it under the message.

/// What to do about an error, said separately from what happened.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}
