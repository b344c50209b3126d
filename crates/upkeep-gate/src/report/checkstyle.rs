//! Checkstyle XML, the report format `PHP_CodeSniffer` and `PHPStan` also write, so tools that
//! read theirs (Jenkins Warnings, reviewdog, IDE plugins) read ours:
//!
//! ```xml
//! <checkstyle version="4.3">
//!   <file name="src/Pyz/Zed/Product/ProductDependencyProvider.php">
//!     <error line="31" column="20" severity="error" message="..." source="upkeep.parse-error"/>
//!   </file>
//! </checkstyle>
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{ci_path, xml};
use crate::engine::GateReport;
use crate::finding::Finding;

pub fn render(report: &GateReport) -> String {
    let mut by_file: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for finding in &report.findings {
        by_file
            .entry(ci_path(report, &finding.location.file))
            .or_default()
            .push(finding);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<checkstyle version=\"4.3\">\n");
    for (file, findings) in by_file {
        let _ = writeln!(out, "  <file name=\"{}\">", xml::attribute(&file));
        for finding in findings {
            let _ = writeln!(
                out,
                "    <error line=\"{}\" column=\"{}\" severity=\"{}\" message=\"{}\" source=\"upkeep.{}\"/>",
                finding.location.start.line,
                finding.location.start.column,
                finding.severity.as_str(),
                xml::attribute(&finding.message),
                xml::attribute(finding.rule.name),
            );
        }
        out.push_str("  </file>\n");
    }
    out.push_str("</checkstyle>\n");
    out
}
