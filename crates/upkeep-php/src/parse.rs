//! Parsing one PHP file with mago-syntax into an arena, and its syntax errors as problems.

use bumpalo::Bump;
use mago_database::file::FileId as MagoFileId;
use mago_span::HasSpan;
use mago_syntax::ast::Program;

/// A syntax error: what the parser expected and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxProblem {
    pub message: String,
    pub offset: u32,
    pub end: u32,
}

/// Parses PHP source into `arena`. Never fails: syntax errors are in `program.errors`. A file
/// that [`hostile_input`] refuses parses as an empty program (see [`parse_php_checked`]).
pub fn parse_php<'arena>(arena: &'arena Bump, text: &[u8]) -> &'arena Program<'arena> {
    parse_php_checked(arena, text).0
}

/// [`parse_php`], with the reason when the text was refused before parsing. mago-syntax
/// recurses once per level of nesting, in its lexer too (string interpolation), so a file
/// nested thousands deep overflows the stack and aborts the process: such a file is checked
/// here first and parsed as an empty program.
pub fn parse_php_checked<'arena>(
    arena: &'arena Bump,
    text: &[u8],
) -> (&'arena Program<'arena>, Option<SyntaxProblem>) {
    let refused = match hostile_input(text) {
        Some(problem) => problem,
        None => match parse_within_budget(arena, text) {
            Ok(program) => return (program, None),
            Err(problem) => problem,
        },
    };
    (
        mago_syntax::parser::parse_file_content(arena, MagoFileId::zero(), b""),
        Some(refused),
    )
}

/// What a parse may allocate: a fixed part plus this many bytes per byte of text. Real code
/// takes about 65 (measured on 70 KB files); text the parser keeps recovering from takes
/// thousands (2 MB of `a,` took 3.9 GB).
const ARENA_BYTES_PER_BYTE: usize = 256;
const ARENA_BASE_BYTES: usize = 32 * 1024 * 1024;
/// No single file may take more than this, however long it is.
const ARENA_MAX_BYTES: usize = 768 * 1024 * 1024;

fn arena_budget(len: usize) -> usize {
    ARENA_BASE_BYTES
        .saturating_add(len.saturating_mul(ARENA_BYTES_PER_BYTE))
        .min(ARENA_MAX_BYTES)
}

thread_local! {
    /// Set while this thread parses within a budget: a panic then is the arena refusing to
    /// grow, which [`parse_within_budget`] reports; the panic hook stays quiet about it.
    static IN_BUDGETED_PARSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Parses with the arena capped at [`arena_budget`]. bumpalo panics when its limit is hit
/// (mago-syntax allocates without a fallible path), so the panic is caught here and becomes a
/// problem; a panic hook installed once keeps it off stderr and passes every other panic on.
fn parse_within_budget<'arena>(
    arena: &'arena Bump,
    text: &[u8],
) -> Result<&'arena Program<'arena>, SyntaxProblem> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_BUDGETED_PARSE.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let budget = arena_budget(text.len());
    arena.set_allocation_limit(Some(arena.allocated_bytes().saturating_add(budget)));
    IN_BUDGETED_PARSE.with(|flag| flag.set(true));
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mago_syntax::parser::parse_file_content(arena, MagoFileId::zero(), text)
    }));
    IN_BUDGETED_PARSE.with(|flag| flag.set(false));
    arena.set_allocation_limit(None);
    parsed.map_err(|_| SyntaxProblem {
        message: format!(
            "parsing this file needs more than {} MiB (the parser keeps recovering from errors); \
             the file is not parsed",
            budget / (1024 * 1024)
        ),
        offset: 0,
        end: 0,
    })
}

/// Deeper nesting than this is refused before parsing. Real code stays far below it (a few
/// dozen levels); mago-syntax overflowed a 2 MiB stack at about 2,500 levels of interpolation.
pub const MAX_NESTING: usize = 256;

/// Why a PHP text must not be given to the parser, if it must not: brackets (`(`, `[`, `{`),
/// strings with interpolation (`"…{$…}…"`, heredocs, backticks) and interpolated expressions
/// nested deeper than [`MAX_NESTING`]. One linear pass that knows comments and strings, so
/// brackets inside them do not count and cannot hide real ones.
pub fn hostile_input(text: &[u8]) -> Option<SyntaxProblem> {
    NestingScan::default().run(text)
}

/// Where the scan is: PHP code (with its open brackets) or inside a string that interpolates.
enum Context<'t> {
    /// Code; `interpolated` when it is a `{$…}` or `${…}` inside a string, which its `}` ends.
    Code {
        brackets: usize,
        interpolated: bool,
    },
    DoubleQuoted,
    Backtick,
    Heredoc {
        label: &'t [u8],
    },
}

#[derive(Default)]
struct NestingScan<'t> {
    stack: Vec<Context<'t>>,
    depth: usize,
}

impl<'t> NestingScan<'t> {
    fn run(mut self, text: &'t [u8]) -> Option<SyntaxProblem> {
        let mut at = 0;
        // Outside `<?php … ?>` nothing nests.
        while at < text.len() {
            let open = find(text, at, b"<?")?;
            at = open + 2;
            self.stack.push(Context::Code {
                brackets: 0,
                interpolated: false,
            });
            match self.code(text, at) {
                Ok(next) => at = next,
                Err(offset) => {
                    return Some(SyntaxProblem {
                        message: format!(
                            "nested more than {MAX_NESTING} levels deep (brackets, strings and \
                             interpolation); the file is not parsed"
                        ),
                        offset: u32::try_from(offset).unwrap_or(u32::MAX),
                        end: u32::try_from(offset + 1).unwrap_or(u32::MAX),
                    });
                }
            }
            self.stack.clear();
            self.depth = 0;
        }
        None
    }

    fn enter(&mut self, context: Context<'t>, at: usize) -> Result<(), usize> {
        self.stack.push(context);
        self.deeper(at)
    }

    fn deeper(&mut self, at: usize) -> Result<(), usize> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            Err(at)
        } else {
            Ok(())
        }
    }

    /// Scans from `at` until the code block ends (`?>` at the outermost level, or the end);
    /// returns where scanning resumes, or the offset where nesting went too deep.
    #[allow(clippy::too_many_lines)]
    fn code(&mut self, text: &'t [u8], mut at: usize) -> Result<usize, usize> {
        while at < text.len() {
            let byte = text[at];
            match self.stack.last_mut() {
                None => return Ok(at),
                Some(Context::Code {
                    brackets,
                    interpolated,
                }) => match byte {
                    b'(' | b'[' | b'{' => {
                        *brackets += 1;
                        self.deeper(at)?;
                    }
                    b')' | b']' | b'}' => {
                        if *brackets > 0 {
                            *brackets -= 1;
                            self.depth -= 1;
                        } else if *interpolated && byte == b'}' {
                            self.stack.pop();
                            self.depth -= 1;
                        }
                    }
                    b'\'' => at = skip_quoted(text, at + 1, b'\''),
                    b'"' => self.enter(Context::DoubleQuoted, at)?,
                    b'`' => self.enter(Context::Backtick, at)?,
                    b'#' if text.get(at + 1) != Some(&b'[') => at = skip_line_comment(text, at),
                    b'/' if text.get(at + 1) == Some(&b'/') => at = skip_line_comment(text, at),
                    b'/' if text.get(at + 1) == Some(&b'*') => {
                        at = find(text, at + 2, b"*/").map_or(text.len(), |end| end + 1);
                    }
                    b'?' if text.get(at + 1) == Some(&b'>') && !*interpolated => {
                        return Ok(at + 2);
                    }
                    b'<' if text[at..].starts_with(b"<<<") => {
                        let (label, nowdoc, body) = heredoc_label(text, at + 3);
                        if label.is_empty() {
                            at += 2;
                        } else if nowdoc {
                            at = heredoc_end(text, body, label);
                            continue;
                        } else {
                            self.enter(Context::Heredoc { label }, at)?;
                            at = body;
                            continue;
                        }
                    }
                    _ => {}
                },
                Some(Context::DoubleQuoted | Context::Backtick) => {
                    let close = if matches!(self.stack.last(), Some(Context::DoubleQuoted)) {
                        b'"'
                    } else {
                        b'`'
                    };
                    if byte == b'\\' {
                        at += 1;
                    } else if byte == close {
                        self.stack.pop();
                        self.depth -= 1;
                    } else {
                        at = self.interpolation(text, at)?;
                    }
                }
                Some(Context::Heredoc { label }) => {
                    let label = *label;
                    if byte == b'\\' {
                        at += 1;
                    } else if byte == b'\n' {
                        let line = at + 1;
                        let start = line
                            + text[line..]
                                .iter()
                                .take_while(|byte| matches!(byte, b' ' | b'\t'))
                                .count();
                        if text[start..].starts_with(label)
                            && !text
                                .get(start + label.len())
                                .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
                        {
                            self.stack.pop();
                            self.depth -= 1;
                            at = start + label.len();
                            continue;
                        }
                    } else {
                        at = self.interpolation(text, at)?;
                    }
                }
            }
            at += 1;
        }
        Ok(at)
    }

    /// Inside a string at `at`: enters `{$…}` or `${…}`; returns the offset of the last byte
    /// consumed.
    fn interpolation(&mut self, text: &'t [u8], at: usize) -> Result<usize, usize> {
        let next = text.get(at + 1).copied();
        if (text[at] == b'{' && next == Some(b'$')) || (text[at] == b'$' && next == Some(b'{')) {
            self.enter(
                Context::Code {
                    brackets: 0,
                    interpolated: true,
                },
                at,
            )?;
            return Ok(at + 1);
        }
        Ok(at)
    }
}

fn find(text: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    text.get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| from + position)
}

/// The offset of the closing quote of a string starting at `from` (or the end).
fn skip_quoted(text: &[u8], mut from: usize, quote: u8) -> usize {
    while from < text.len() {
        match text[from] {
            b'\\' => from += 1,
            byte if byte == quote => return from,
            _ => {}
        }
        from += 1;
    }
    text.len()
}

/// The offset of the last byte of a `//` or `#` comment (it ends before a newline or `?>`).
fn skip_line_comment(text: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < text.len() {
        if text[at] == b'\n' || text[at..].starts_with(b"?>") {
            return at - 1;
        }
        at += 1;
    }
    text.len()
}

/// After `<<<`: the label, whether it is a nowdoc (`'LABEL'`), and where the body starts.
fn heredoc_label(text: &[u8], from: usize) -> (&[u8], bool, usize) {
    let mut at = from;
    while text
        .get(at)
        .is_some_and(|byte| matches!(byte, b' ' | b'\t'))
    {
        at += 1;
    }
    let quote = text
        .get(at)
        .copied()
        .filter(|byte| matches!(byte, b'\'' | b'"'));
    if quote.is_some() {
        at += 1;
    }
    let start = at;
    while text
        .get(at)
        .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_' || *byte >= 0x80)
    {
        at += 1;
    }
    let label = &text[start..at];
    let body = find(text, at, b"\n").map_or(text.len(), |newline| newline);
    (label, quote == Some(b'\''), body)
}

/// The offset after the closing label of a nowdoc whose body starts at `from`.
fn heredoc_end(text: &[u8], from: usize, label: &[u8]) -> usize {
    let mut at = from;
    while let Some(newline) = find(text, at, b"\n") {
        let start = newline
            + 1
            + text[newline + 1..]
                .iter()
                .take_while(|byte| matches!(byte, b' ' | b'\t'))
                .count();
        if text[start..].starts_with(label) {
            return start + label.len();
        }
        at = newline + 1;
    }
    text.len()
}

/// The syntax errors of a parsed program, first one first.
pub fn syntax_problems(program: &Program<'_>) -> Vec<SyntaxProblem> {
    let mut problems: Vec<SyntaxProblem> = program
        .errors
        .iter()
        .map(|error| {
            let span = error.span();
            SyntaxProblem {
                message: error.to_string(),
                offset: span.start.offset,
                end: span.end.offset,
            }
        })
        .collect();
    problems.sort_by_key(|problem| problem.offset);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread with a small stack, as rayon's workers have: the parse must not overflow it.
    fn on_small_stack(text: Vec<u8>) -> (usize, Option<SyntaxProblem>) {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let arena = Bump::new();
                let (program, problem) = parse_php_checked(&arena, &text);
                (program.statements.len(), problem)
            })
            .unwrap()
            .join()
            .expect("the parse did not overflow the stack")
    }

    /// Reproducer `php/interpolation-nesting-stack-overflow`: `"{$a["{$a[…]}"]}"` nested 3,000
    /// deep overflowed the stack (SIGABRT, no report, no file named).
    #[test]
    fn deep_interpolation_is_refused_before_parsing() {
        let depth = 3000;
        let expr = format!("{}1{}", "\"{$a[".repeat(depth), "]}\"".repeat(depth));
        let text = format!(
            "<?php\nnamespace Pyz\\Zed\\Foo;\nclass Foo {{ public function x($a) {{ return {expr}; }} }}\n"
        );
        let (statements, problem) = on_small_stack(text.clone().into_bytes());
        assert_eq!(statements, 0);
        let problem = problem.expect("refused");
        assert_eq!(
            problem.message,
            "nested more than 256 levels deep (brackets, strings and interpolation); the file is not parsed"
        );
        // The offset is inside the expression, at the level that went too deep.
        let prefix = text.find("return ").unwrap() + "return ".len();
        assert!(problem.offset as usize > prefix, "{problem:?}");
    }

    #[test]
    fn deep_brackets_are_refused_but_brackets_in_strings_and_comments_do_not_count() {
        for open in ["(", "[", "{"] {
            let text = format!("<?php\n$a = {}1;", open.repeat(100_000));
            let (_, problem) = on_small_stack(text.into_bytes());
            assert!(problem.is_some(), "{open}");
        }
        let quiet = format!(
            "<?php\n// {0}\n# {0}\n/* {0} */\n$a = '{0}';\n$b = \"{0}\";\n$c = <<<'EOT'\n{0}\nEOT;\n$d = <<<EOT\n{0} {{$x}}\nEOT;\n?>{0}<?php $e = [[1]];",
            "(".repeat(1000)
        );
        assert_eq!(hostile_input(quiet.as_bytes()), None);
        let nested = format!("<?php $a = {}1{};", "(".repeat(200), ")".repeat(200));
        assert_eq!(hostile_input(nested.as_bytes()), None);
        // Closing brackets hidden in comments or strings do not lower the count.
        let hidden = format!("<?php $a = {}1;", "(/*)*/'('.".repeat(300));
        assert!(hostile_input(hidden.as_bytes()).is_some());
    }

    /// Reproducer `php/garbage-memory-blowup`: 2 MB of `a,` took 3.9 GB (and aborted under a
    /// memory limit). The parse now stops at its arena budget with a problem.
    #[test]
    fn text_the_parser_cannot_recover_from_cheaply_stops_at_its_budget() {
        let text = format!("<?php\n{}\n", "a,".repeat(1_000_000));
        let started = std::time::Instant::now();
        let arena = Bump::new();
        let (program, problem) = parse_php_checked(&arena, text.as_bytes());
        let elapsed = started.elapsed();
        assert!(program.statements.is_empty());
        let problem = problem.expect("over budget");
        assert_eq!(
            problem.message,
            "parsing this file needs more than 520 MiB (the parser keeps recovering from errors); \
             the file is not parsed"
        );
        // The budget and the empty program, not gigabytes.
        assert!(
            arena.allocated_bytes() < 600 * 1024 * 1024,
            "{}",
            arena.allocated_bytes()
        );
        assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
        // The arena is usable again, without a limit, for the next file.
        let clean = parse_php(&arena, b"<?php\nclass A {}\n");
        assert!(syntax_problems(clean).is_empty());
        assert_eq!(arena.allocation_limit(), None);
    }

    #[test]
    fn reports_syntax_errors_with_positions() {
        let arena = Bump::new();
        let program = parse_php(&arena, b"<?php\nclass A {\n  public function x( {}\n}\n");
        let problems = syntax_problems(program);
        assert!(!problems.is_empty());
        assert!(problems[0].offset >= 16, "{problems:?}");
        let clean = parse_php(&arena, b"<?php\nclass A {}\n");
        assert!(syntax_problems(clean).is_empty());
    }
}
