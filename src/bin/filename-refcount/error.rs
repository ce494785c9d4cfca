//! One-line errors: `error: FILE: message` or `error: message`.

use std::fmt;

/// An error the user can act on; always printed as one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError {
    file: Option<String>,
    message: String,
}

/// Newlines would break the one-line promise: fold them.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

impl CliError {
    /// An error about `file`.
    pub fn file(file: &str, message: impl Into<String>) -> CliError {
        CliError {
            file: Some(one_line(file)),
            message: one_line(&message.into()),
        }
    }

    /// An error about the command line.
    pub fn plain(message: impl Into<String>) -> CliError {
        CliError {
            file: None,
            message: one_line(&message.into()),
        }
    }

    /// The message without the `error: FILE:` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "error: {file}: {}", self.message),
            None => write!(f, "error: {}", self.message),
        }
    }
}
