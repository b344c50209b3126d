//! Doc-block comments: their tags (`@method`, `@var`, `@param`, `@return`, `@deprecated`, ...)
//! with the byte offset where each starts, so findings can point at them.

/// One `@tag` of a doc block; `text` is everything after the tag name up to the next tag,
/// with the comment decoration (`*`) removed and lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocTag {
    pub name: String,
    pub text: String,
    /// Byte offset of the `@` in the file.
    pub offset: u32,
}

/// A parsed doc block: its tags. The free text before the first tag is not kept: nothing
/// checks it, and in core's long "Specification:" blocks it would dominate the index's memory.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DocBlock {
    pub tags: Vec<DocTag>,
}

/// A `@method` tag: `@method [static] ReturnType name(parameters) description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMethod<'a> {
    pub is_static: bool,
    pub return_type: Option<&'a str>,
    pub name: &'a str,
}

impl DocBlock {
    /// Parses the raw comment text `/** ... */` that starts at byte `offset` of its file.
    pub fn parse(raw: &str, offset: u32) -> Self {
        let mut block = DocBlock::default();
        let body_start = raw.find("/**").map_or(0, |start| start + 3);
        let body_end = raw
            .rfind("*/")
            .filter(|&end| end >= body_start)
            .unwrap_or(raw.len());
        let mut line_offset = body_start;
        for line in raw[body_start..body_end].split('\n') {
            let this_line_offset = line_offset;
            line_offset += line.len() + 1;
            let trimmed_start = line.len() - line.trim_start().len();
            let mut content = line.trim_start();
            let mut content_offset = this_line_offset + trimmed_start;
            if let Some(rest) = content.strip_prefix('*') {
                content = rest;
                content_offset += 1;
                let spaces = content.len() - content.trim_start().len();
                content = content.trim_start();
                content_offset += spaces;
            }
            let content = content.trim_end();
            if let Some(tag) = content.strip_prefix('@') {
                let name_len = tag
                    .find(|c: char| c.is_whitespace() || c == '(')
                    .unwrap_or(tag.len());
                block.tags.push(DocTag {
                    name: tag[..name_len].to_string(),
                    text: tag[name_len..].trim().to_string(),
                    offset: offset + u32::try_from(content_offset).unwrap_or(0),
                });
            } else if let Some(last) = block.tags.last_mut()
                && !content.is_empty()
            {
                if !last.text.is_empty() {
                    last.text.push('\n');
                }
                last.text.push_str(content);
            }
        }
        block
    }

    pub fn tags_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s DocTag> + 's {
        self.tags
            .iter()
            .filter(move |tag| tag.name.eq_ignore_ascii_case(name))
    }

    pub fn has_tag(&self, name: &str) -> bool {
        self.tags_named(name).next().is_some()
    }

    /// The text of `@deprecated`, if the block has one (empty text when it says nothing more).
    pub fn deprecation(&self) -> Option<&str> {
        self.tags_named("deprecated")
            .next()
            .map(|tag| tag.text.as_str())
    }

    /// The `@method` tags, parsed.
    pub fn methods(&self) -> Vec<DocMethod<'_>> {
        self.tags_named("method")
            .filter_map(|tag| parse_method_tag(&tag.text))
            .collect()
    }

    /// The type of the first `@var` tag (`@var Type [$name]`).
    pub fn var_type(&self) -> Option<&str> {
        self.tags_named("var")
            .next()
            .and_then(|tag| first_type(&tag.text))
    }

    /// The type of the first `@return` tag.
    pub fn return_type(&self) -> Option<&str> {
        self.tags_named("return")
            .next()
            .and_then(|tag| first_type(&tag.text))
    }

    /// `(type, $name)` of every `@param Type $name` tag.
    pub fn params(&self) -> Vec<(&str, &str)> {
        self.tags_named("param")
            .filter_map(|tag| {
                let ty = first_type(&tag.text)?;
                let name = tag.text[ty.len()..].split_whitespace().next()?;
                name.starts_with('$')
                    .then_some((ty, name.trim_start_matches('$')))
            })
            .collect()
    }
}

/// The leading type expression of a tag's text (stops at the first whitespace outside `<>`/`()`).
fn first_type(text: &str) -> Option<&str> {
    let mut depth = 0i32;
    for (index, character) in text.char_indices() {
        match character {
            '<' | '(' | '{' => depth += 1,
            '>' | ')' | '}' => depth -= 1,
            c if c.is_whitespace() && depth <= 0 => return (index > 0).then(|| &text[..index]),
            _ => {}
        }
    }
    (!text.is_empty() && !text.starts_with('$')).then_some(text)
}

fn parse_method_tag(text: &str) -> Option<DocMethod<'_>> {
    let paren = text.find('(')?;
    let head = text[..paren].trim();
    let mut words: Vec<&str> = head.split_whitespace().collect();
    let name = words.pop()?;
    let is_static = words.first().is_some_and(|word| *word == "static") && !words.is_empty();
    let words = if is_static { &words[1..] } else { &words[..] };
    let return_type = words.last().copied();
    let valid_name = name.chars().all(|c| c.is_alphanumeric() || c == '_');
    valid_name.then_some(DocMethod {
        is_static,
        return_type,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_with_offsets_and_continuations() {
        let raw = "/**\n * Reads products.\n *\n * @deprecated Use {@link Reader} instead.\n *   Removed in the next major.\n * @param int $id The id\n * @return \\Foo\\Bar|null\n */";
        let block = DocBlock::parse(raw, 100);
        assert_eq!(block.tags.len(), 3);
        assert_eq!(
            block.deprecation(),
            Some("Use {@link Reader} instead.\nRemoved in the next major.")
        );
        assert_eq!(
            block.tags[0].offset,
            100 + u32::try_from(raw.find("@deprecated").unwrap()).unwrap()
        );
        assert_eq!(block.params(), vec![("int", "id")]);
        assert_eq!(block.return_type(), Some("\\Foo\\Bar|null"));
    }

    #[test]
    fn parses_method_and_var_tags() {
        let raw = "/**\n * @method \\Pyz\\Zed\\Product\\Business\\ProductBusinessFactory getFactory()\n * @method static Foo create(int $a)\n * @method (broken\n * @var array<int, \\Foo> $items\n */";
        let block = DocBlock::parse(raw, 0);
        let methods = block.methods();
        assert_eq!(methods.len(), 2);
        assert_eq!(methods[0].name, "getFactory");
        assert_eq!(
            methods[0].return_type,
            Some("\\Pyz\\Zed\\Product\\Business\\ProductBusinessFactory")
        );
        assert!(!methods[0].is_static);
        assert!(methods[1].is_static);
        assert_eq!(methods[1].return_type, Some("Foo"));
        assert_eq!(block.var_type(), Some("array<int, \\Foo>"));
    }

    #[test]
    fn one_line_block_and_garbage_do_not_break() {
        assert_eq!(
            DocBlock::parse("/** @var Foo */", 0).var_type(),
            Some("Foo")
        );
        assert_eq!(DocBlock::parse("/** */", 0), DocBlock::default());
        assert!(DocBlock::parse("@", 0).tags[0].name.is_empty());
        assert_eq!(DocBlock::parse("/** @var */", 0).var_type(), None);
    }
}
