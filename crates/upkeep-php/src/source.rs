//! Positions in source text: byte spans and their 1-based line and column.

/// A byte range `start..end` in one file's text.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct TextSpan {
    pub start: u32,
    pub end: u32,
}

impl TextSpan {
    pub const fn new(start: u32, end: u32) -> Self {
        Self { start, end }
    }

    pub fn contains(self, offset: u32) -> bool {
        self.start <= offset && offset < self.end
    }
}

impl From<mago_span::Span> for TextSpan {
    fn from(span: mago_span::Span) -> Self {
        Self::new(span.start.offset, span.end.offset)
    }
}

/// A 1-based line and column; the column counts characters, not bytes, so it
/// matches what editors show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineColumn {
    pub line: u32,
    pub column: u32,
}

/// Start offsets of every line of a text, to turn byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &[u8]) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.iter()
                .enumerate()
                .filter(|&(_, &byte)| byte == b'\n')
                .map(|(index, _)| u32::try_from(index + 1).unwrap_or(u32::MAX)),
        );
        Self { line_starts }
    }

    /// The 0-based line that holds `offset`.
    fn line_of(&self, offset: u32) -> usize {
        self.line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }

    pub fn line_column(&self, text: &[u8], offset: u32) -> LineColumn {
        let offset = offset.min(u32::try_from(text.len()).unwrap_or(u32::MAX));
        let line = self.line_of(offset);
        let line_start = self.line_starts[line] as usize;
        let prefix = &text[line_start..offset as usize];
        let column = String::from_utf8_lossy(prefix).chars().count();
        LineColumn {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    /// The text of the 1-based `line`, without its line break.
    pub fn line_text<'t>(&self, text: &'t [u8], line: u32) -> &'t [u8] {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1) as usize) else {
            return &[];
        };
        let end = self
            .line_starts
            .get(line as usize)
            .map_or(text.len(), |&next| next as usize);
        let line_bytes = &text[start as usize..end];
        let line_bytes = line_bytes.strip_suffix(b"\n").unwrap_or(line_bytes);
        line_bytes.strip_suffix(b"\r").unwrap_or(line_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let text = "<?php\n$ä = 1;\r\nfoo();".as_bytes();
        let index = LineIndex::new(text);
        assert_eq!(
            index.line_column(text, 0),
            LineColumn { line: 1, column: 1 }
        );
        assert_eq!(
            index.line_column(text, 6),
            LineColumn { line: 2, column: 1 }
        );
        // `=` comes after `$ä ` where `ä` is two bytes but one character.
        assert_eq!(
            index.line_column(text, 10),
            LineColumn { line: 2, column: 4 }
        );
        assert_eq!(index.line_text(text, 2), b"$\xc3\xa4 = 1;");
        assert_eq!(index.line_text(text, 3), b"foo();");
        assert_eq!(index.line_text(text, 9), b"");
    }
}
