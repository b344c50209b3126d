//! Spryker's XML definitions: transfer objects (`*.transfer.xml`, namespace
//! `spryker:transfer-01`) and database schema (`*.schema.xml`, namespace `spryker:schema-01`).

use crate::model::FileId;
use crate::source::TextSpan;

/// `<transfer name="...">` with its `<property name="...">` children.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransferDefinition {
    pub file: FileId,
    pub name: String,
    pub span: TextSpan,
    pub properties: Vec<NamedElement>,
}

/// `<table name="...">` with its `<column name="...">` children.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchemaTable {
    pub file: FileId,
    pub name: String,
    pub span: TextSpan,
    pub columns: Vec<NamedElement>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NamedElement {
    pub name: String,
    pub span: TextSpan,
}

/// An XML file that is not well-formed: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlProblem {
    pub message: String,
    pub offset: u32,
}

/// Elements nested deeper than this are refused before parsing: roxmltree recurses once per
/// level and overflowed a 2 MiB stack at a few thousand. Spryker's files nest three or four deep.
pub const MAX_ELEMENT_DEPTH: usize = 256;

/// The offset of the element that opens level `MAX_ELEMENT_DEPTH + 1`, if any. Comments,
/// CDATA, processing instructions, declarations and quoted attribute values are skipped, so
/// their `<` and `>` count for nothing.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let after = |from: usize, needle: &[u8]| {
        bytes
            .get(from..)
            .and_then(|rest| {
                rest.windows(needle.len())
                    .position(|window| window == needle)
            })
            .map_or(bytes.len(), |position| from + position + needle.len())
    };
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|b| *b == b'<'))
    {
        let open = at + offset;
        let rest = &bytes[open..];
        if rest.starts_with(b"<!--") {
            at = after(open + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            at = after(open + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            at = after(open + 2, b"?>");
        } else if rest.starts_with(b"<!") {
            at = after(open + 2, b">");
        } else {
            // A start or end tag: find its `>` outside quoted attribute values.
            let mut quote = None;
            let mut end = open + 1;
            while end < bytes.len() {
                match (quote, bytes[end]) {
                    (None, b'"' | b'\'') => quote = Some(bytes[end]),
                    (Some(open_quote), byte) if byte == open_quote => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                end += 1;
            }
            if rest.starts_with(b"</") {
                depth = depth.saturating_sub(1);
            } else if bytes.get(end.wrapping_sub(1)) != Some(&b'/') {
                depth += 1;
                if depth > MAX_ELEMENT_DEPTH {
                    return Some(open);
                }
            }
            at = end + 1;
        }
    }
    None
}

fn parse_document(text: &str) -> Result<roxmltree::Document<'_>, XmlProblem> {
    if let Some(offset) = too_deep(text) {
        return Err(XmlProblem {
            message: format!(
                "elements nested more than {MAX_ELEMENT_DEPTH} levels deep; the file is not parsed"
            ),
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
        });
    }
    roxmltree::Document::parse(text).map_err(|error| {
        let position = error.pos();
        // roxmltree reports 1-based row/column; turn it back into a byte offset.
        let offset = text
            .split_inclusive('\n')
            .take(position.row.saturating_sub(1) as usize)
            .map(str::len)
            .sum::<usize>()
            + text
                .split_inclusive('\n')
                .nth(position.row.saturating_sub(1) as usize)
                .map_or(0, |line| {
                    line.char_indices()
                        .nth(position.col.saturating_sub(1) as usize)
                        .map_or(line.len(), |(index, _)| index)
                });
        XmlProblem {
            message: error.to_string(),
            offset: u32::try_from(offset).unwrap_or(0),
        }
    })
}

fn named_children(node: roxmltree::Node<'_, '_>, tag: &str) -> Vec<NamedElement> {
    node.children()
        .filter(|child| child.is_element() && child.tag_name().name() == tag)
        .filter_map(|child| {
            Some(NamedElement {
                name: child.attribute("name")?.to_string(),
                span: node_span(child),
            })
        })
        .collect()
}

fn node_span(node: roxmltree::Node<'_, '_>) -> TextSpan {
    let range = node.range();
    TextSpan::new(
        u32::try_from(range.start).unwrap_or(0),
        u32::try_from(range.end).unwrap_or(0),
    )
}

pub fn parse_transfers(text: &str, file: FileId) -> Result<Vec<TransferDefinition>, XmlProblem> {
    let document = parse_document(text)?;
    Ok(document
        .descendants()
        .filter(|node| node.is_element() && node.tag_name().name() == "transfer")
        .filter_map(|node| {
            Some(TransferDefinition {
                file,
                name: node.attribute("name")?.to_string(),
                span: node_span(node),
                properties: named_children(node, "property"),
            })
        })
        .collect())
}

pub fn parse_schema(text: &str, file: FileId) -> Result<Vec<SchemaTable>, XmlProblem> {
    let document = parse_document(text)?;
    Ok(document
        .descendants()
        .filter(|node| node.is_element() && node.tag_name().name() == "table")
        .filter_map(|node| {
            Some(SchemaTable {
                file,
                name: node.attribute("name")?.to_string(),
                span: node_span(node),
                columns: named_children(node, "column"),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_transfers_and_properties() {
        let text = r#"<?xml version="1.0"?>
<transfers xmlns="spryker:transfer-01">
    <transfer name="Product">
        <property name="sku" type="string"/>
        <property name="pyzColor" type="string"/>
    </transfer>
</transfers>"#;
        let transfers = parse_transfers(text, FileId(3)).unwrap();
        assert_eq!(transfers.len(), 1);
        assert_eq!(transfers[0].name, "Product");
        let names: Vec<_> = transfers[0]
            .properties
            .iter()
            .map(|property| property.name.as_str())
            .collect();
        assert_eq!(names, ["sku", "pyzColor"]);
        assert_eq!(
            &text[transfers[0].properties[1].span.start as usize..][..9],
            "<property"
        );
    }

    #[test]
    fn reads_tables_and_columns() {
        let text = r#"<database xmlns="spryker:schema-01" name="zed"><table name="pyz_brand"><column name="id_brand"/></table></database>"#;
        let tables = parse_schema(text, FileId(0)).unwrap();
        assert_eq!(tables[0].name, "pyz_brand");
        assert_eq!(tables[0].columns[0].name, "id_brand");
    }

    /// Runs `parse` on a thread with rayon's 2 MiB stack.
    fn on_small_stack<T: Send + 'static>(parse: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(parse)
            .unwrap()
            .join()
            .expect("the parse did not overflow the stack")
    }

    /// Reproducer `transfer-xml/nesting-stack-overflow`: `<transfer>` nested 5,000 deep
    /// overflowed the stack (SIGABRT, no report).
    #[test]
    fn deeply_nested_transfers_are_refused() {
        let n = 5000;
        let text = format!(
            "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n{}{}</transfers>\n",
            "<transfer name=\"Product\">\n".repeat(n),
            "</transfer>\n".repeat(n)
        );
        let problem =
            on_small_stack(move || parse_transfers(&text, FileId(0))).expect_err("too deep");
        assert_eq!(
            problem.message,
            "elements nested more than 256 levels deep; the file is not parsed"
        );
        // The 256th `<transfer>` (the 257th element) is where it went too deep.
        let header = "<?xml version=\"1.0\"?>\n<transfers xmlns=\"spryker:transfer-01\">\n".len();
        assert_eq!(
            problem.offset as usize,
            header + 255 * "<transfer name=\"Product\">\n".len()
        );
    }

    /// Reproducer `schema-xml/nesting-stack-overflow`: `<table>` opened 5,000 times, unclosed.
    #[test]
    fn unclosed_tables_opened_thousands_of_times_are_refused() {
        let text = format!(
            "<?xml version=\"1.0\"?>\n<database xmlns=\"spryker:schema-01\" name=\"zed\">\n{}</database>\n",
            "    <table name=\"pyz_product_badge\">\n".repeat(5000)
        );
        let problem = on_small_stack(move || parse_schema(&text, FileId(0))).expect_err("too deep");
        assert!(
            problem.message.starts_with("elements nested more than 256"),
            "{problem:?}"
        );
    }

    #[test]
    fn comments_self_closing_elements_and_attributes_do_not_count_as_depth() {
        let flat = format!(
            "<transfers>{}<!-- {} --><![CDATA[{}]]><transfer name=\"a>b\" note='x>y'>{}</transfer></transfers>",
            "<property name=\"p\"/>".repeat(1000),
            "<a>".repeat(1000),
            "<a>".repeat(1000),
            "<property name=\"q\" />".repeat(1000)
        );
        assert_eq!(too_deep(&flat), None);
        let transfers = parse_transfers(&flat, FileId(0)).unwrap();
        assert_eq!(transfers[0].properties.len(), 1000);
        let nested = format!("{}{}", "<a>".repeat(256), "</a>".repeat(256));
        assert_eq!(too_deep(&nested), None);
        assert_eq!(too_deep(&format!("<a>{nested}</a>")), Some(256 * 3));
    }

    #[test]
    fn malformed_xml_names_the_place() {
        let problem = parse_transfers(
            "<transfers>\n  <transfer name=\"A\">\n</transfers>",
            FileId(0),
        )
        .unwrap_err();
        assert!(problem.message.contains("3:"), "{}", problem.message);
        assert_eq!(problem.offset, 34);
    }
}
