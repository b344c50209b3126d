//! Report formats: what a gate run found, written for people (`text`) and for CIs.

mod json;
mod text;

use std::fmt;
use std::str::FromStr;

use crate::engine::GateReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: each finding with its source line, then a summary.
    Text,
    /// Our own JSON: `findings` and `summary`.
    Json,
}

impl Format {
    pub const ALL: &'static [Format] = &[Self::Text, Self::Json];

    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|format| format.name().eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|format| format.name()).collect();
                format!(
                    "unknown format `{value}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Use ANSI colours (text format only).
    pub color: bool,
}

pub fn render(report: &GateReport, format: Format, options: &RenderOptions) -> String {
    match format {
        Format::Text => text::render(report, options),
        Format::Json => json::render(report),
    }
}
