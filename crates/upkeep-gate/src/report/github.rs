//! GitHub Actions workflow commands: one `::error` or `::warning` annotation per finding,
//! shown on the changed lines of a pull request, then a `::notice` with the summary.
//!
//! ```text
//! ::error file=src/Pyz/Zed/Product/ProductDependencyProvider.php,line=31,col=20,endLine=31,endColumn=37,title=parse-error::message
//! ```

use std::fmt::Write;

use super::{ci_path, is_whole_file, summary_line};
use crate::engine::GateReport;
use crate::finding::Severity;

/// Escapes a command's message: the runner decodes `%25`, `%0D` and `%0A`.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value, where `:` and `,` would end the value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &GateReport) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let command = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let location = &finding.location;
        let end_line = location.end.line.max(location.start.line);
        let position = if is_whole_file(location) {
            // The annotation goes on the file itself.
            String::new()
        } else if end_line == location.start.line {
            format!(
                ",line={},col={},endLine={end_line},endColumn={}",
                location.start.line,
                location.start.column,
                location.end.column.max(location.start.column)
            )
        } else {
            // GitHub's annotations take columns only within one line (its check-run API says
            // to omit them otherwise), so a span over several lines gives lines only.
            format!(",line={},endLine={end_line}", location.start.line)
        };
        let _ = writeln!(
            out,
            "::{command} file={}{position},title={}::{}",
            escape_property(&ci_path(report, &location.file)),
            escape_property(finding.rule.name),
            escape_data(&format!(
                "{}\nguideline: {}",
                finding.message, finding.rule.guideline
            ))
        );
    }
    for notice in &report.notices {
        let _ = writeln!(
            out,
            "::notice title={}::{}",
            escape_property(notice.rule),
            escape_data(&notice.message)
        );
    }
    let _ = writeln!(
        out,
        "::notice::upkeep gate: {}",
        escape_data(&summary_line(report))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_properties_are_escaped_as_the_runner_decodes_them() {
        assert_eq!(escape_data("100% a:b,c\r\nd"), "100%25 a:b,c%0D%0Ad");
        assert_eq!(
            escape_property("100% a:b,c\r\nd"),
            "100%25 a%3Ab%2Cc%0D%0Ad"
        );
    }
}
