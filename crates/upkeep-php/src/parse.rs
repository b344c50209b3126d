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

/// Parses PHP source into `arena`. Never fails: syntax errors are in `program.errors`.
pub fn parse_php<'arena>(arena: &'arena Bump, text: &[u8]) -> &'arena Program<'arena> {
    mago_syntax::parser::parse_file_content(arena, MagoFileId::zero(), text)
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
