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

fn parse_document(text: &str) -> Result<roxmltree::Document<'_>, XmlProblem> {
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
