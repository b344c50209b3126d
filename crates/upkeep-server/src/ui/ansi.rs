//! Colours in logs: the SGR escape sequences (`ESC [ 1;31 m`) tools write for a terminal,
//! turned into text segments with CSS classes (`ansi-bold ansi-fg-1`); every other escape
//! sequence is dropped. The page script does the same for the lines that arrive live.

/// A run of text in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Space-separated CSS classes; empty for plain text.
    pub classes: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Weight {
    #[default]
    Normal,
    Bold,
    Dim,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    weight: Weight,
    italic: bool,
    underline: bool,
    /// 0–15: the 8 colours, then their bright forms.
    foreground: Option<u8>,
    background: Option<u8>,
}

impl Style {
    fn classes(self) -> String {
        let mut classes = Vec::new();
        match self.weight {
            Weight::Normal => {}
            Weight::Bold => classes.push("ansi-bold".to_string()),
            Weight::Dim => classes.push("ansi-dim".to_string()),
        }
        if self.italic {
            classes.push("ansi-italic".to_string());
        }
        if self.underline {
            classes.push("ansi-underline".to_string());
        }
        if let Some(colour) = self.foreground {
            classes.push(format!("ansi-fg-{colour}"));
        }
        if let Some(colour) = self.background {
            classes.push(format!("ansi-bg-{colour}"));
        }
        classes.join(" ")
    }

    /// Applies one SGR parameter list (`1;31`, empty = reset).
    fn apply(&mut self, parameters: &str) {
        // A code that is no byte is none of those below.
        let codes: Vec<u8> = if parameters.is_empty() {
            vec![0]
        } else {
            parameters
                .split(';')
                .map(|code| code.parse().unwrap_or(u8::MAX))
                .collect()
        };
        let mut codes = codes.into_iter();
        while let Some(code) = codes.next() {
            match code {
                0 => *self = Self::default(),
                1 => self.weight = Weight::Bold,
                2 => self.weight = Weight::Dim,
                3 => self.italic = true,
                4 => self.underline = true,
                22 => self.weight = Weight::Normal,
                23 => self.italic = false,
                24 => self.underline = false,
                30..=37 => self.foreground = Some(code - 30),
                39 => self.foreground = None,
                40..=47 => self.background = Some(code - 40),
                49 => self.background = None,
                90..=97 => self.foreground = Some(code - 90 + 8),
                100..=107 => self.background = Some(code - 100 + 8),
                // 256-colour and true-colour forms: their arguments are skipped, the colour
                // is not shown (a palette of 16 is what the page styles).
                38 | 48 => match codes.next() {
                    Some(5) => {
                        codes.next();
                    }
                    Some(2) => {
                        codes.next();
                        codes.next();
                        codes.next();
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
}

fn flush(text: &mut String, style: Style, segments: &mut Vec<Segment>) {
    if !text.is_empty() {
        segments.push(Segment {
            classes: style.classes(),
            text: std::mem::take(text),
        });
    }
}

/// The segments of one log line.
pub fn segments(line: &str) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut style = Style::default();
    let mut text = String::new();
    let mut chars = line.chars().peekable();
    while let Some(character) = chars.next() {
        if character != '\u{1b}' {
            // Other control characters would be invalid in the page; tabs stay.
            if !character.is_control() || character == '\t' {
                text.push(character);
            }
            continue;
        }
        if chars.peek() != Some(&'[') {
            // A two-character escape (`ESC c`, `ESC =`): dropped.
            chars.next();
            continue;
        }
        chars.next();
        let mut parameters = String::new();
        let mut last = None;
        for next in chars.by_ref() {
            if next.is_ascii_digit() || matches!(next, ';' | '?' | ':') {
                parameters.push(next);
            } else {
                last = Some(next);
                break;
            }
        }
        if last == Some('m') {
            flush(&mut text, style, &mut segments);
            style.apply(&parameters);
        }
    }
    flush(&mut text, style, &mut segments);
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(line: &str) -> Vec<(String, String)> {
        segments(line)
            .into_iter()
            .map(|segment| (segment.classes, segment.text))
            .collect()
    }

    #[test]
    fn plain_text_is_one_segment() {
        assert_eq!(render("hello"), [(String::new(), "hello".to_string())]);
        assert_eq!(render(""), Vec::<(String, String)>::new());
    }

    #[test]
    fn colours_and_resets_become_classes() {
        assert_eq!(
            render("\u{1b}[1;31merror:\u{1b}[0m file \u{1b}[92mok\u{1b}[m"),
            [
                ("ansi-bold ansi-fg-1".to_string(), "error:".to_string()),
                (String::new(), " file ".to_string()),
                ("ansi-fg-10".to_string(), "ok".to_string()),
            ]
        );
    }

    #[test]
    fn other_sequences_and_control_characters_are_dropped() {
        assert_eq!(
            render("\u{1b}[2K\u{1b}[1Gdone\u{7}\r\tx \u{1b}[38;5;208morange"),
            [
                (String::new(), "done\tx ".to_string()),
                (String::new(), "orange".to_string()),
            ]
        );
    }

    #[test]
    fn a_cut_sequence_at_the_end_does_not_panic() {
        assert_eq!(render("a\u{1b}["), [(String::new(), "a".to_string())]);
        assert_eq!(render("a\u{1b}"), [(String::new(), "a".to_string())]);
        assert_eq!(
            render("\u{1b}[99999999999mx"),
            [(String::new(), "x".to_string())]
        );
    }
}
