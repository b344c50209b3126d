//! Escaping for the XML reports (`JUnit`, Checkstyle).

/// Whether XML 1.0 allows `c` at all, even as a character reference.
fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text for an attribute value in double quotes. Tabs and line breaks become character
/// references because a parser would otherwise normalise them to spaces; characters XML
/// cannot hold at all (most control characters) become U+FFFD.
pub fn attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if allowed_in_xml(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Text for element content. A carriage return is kept as a reference because parsers turn a
/// literal one into a line feed.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if allowed_in_xml(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_quotes_breaks_and_tabs_and_drop_what_xml_cannot_hold() {
        assert_eq!(
            attribute("a<b & \"c\" 'd'\t\r\n\u{1}\u{FFFE}é"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&#9;&#13;&#10;\u{FFFD}\u{FFFD}é"
        );
    }

    #[test]
    fn text_keeps_line_feeds_and_tabs_literally() {
        assert_eq!(text("x > 1 &&\n\ty\r"), "x &gt; 1 &amp;&amp;\n\ty&#13;");
    }
}
