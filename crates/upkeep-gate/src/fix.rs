//! `--fix` and `--diff`: turning the [`Fix`]es of findings into file changes.
//!
//! A [`FixPlan`] takes the fixes of a report in order and keeps a fix only if every one of
//! its edits can be made: the file is readable, the span lies in it, and no edit overlaps one
//! of a fix already taken (identical edits, e.g. two findings renaming the same use, are
//! merged). A fix is all or nothing, across all its files. A PHP file that would no longer
//! parse is left unchanged, together with every fix that touches it. Everything outside the
//! edited spans stays byte for byte as it was.
//!
//! ```no_run
//! # fn demo(report: &upkeep_gate::GateReport) -> std::io::Result<()> {
//! use upkeep_gate::fix::FixPlan;
//! let plan = FixPlan::new(&report.root, &report.findings);
//! print!("{}", String::from_utf8_lossy(&plan.diff()));
//! plan.write(&report.root)?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use upkeep_php::parse::{parse_php, syntax_problems};
use upkeep_php::source::{LineIndex, TextSpan};

use crate::finding::{Finding, Fix};

/// Lines of unchanged text around each change in `--diff` output.
const DIFF_CONTEXT: usize = 3;

/// Which finding a fix belongs to, for messages: `file:line:column [rule] description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixLabel {
    pub rule: &'static str,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub description: String,
}

impl FixLabel {
    fn of(finding: &Finding, fix: &Fix) -> Self {
        Self {
            rule: finding.rule.name,
            file: finding.location.file.clone(),
            line: finding.location.start.line,
            column: finding.location.start.column,
            description: fix.description.clone(),
        }
    }
}

impl fmt::Display for FixLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{} [{}] {}",
            self.file, self.line, self.column, self.rule, self.description
        )
    }
}

/// A fix that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFix {
    pub fix: FixLabel,
    pub reason: String,
}

/// One file as the plan changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the project root, with `/` separators.
    pub path: String,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
}

/// The fixes of a report that can be applied together, and the files they change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixPlan {
    /// Changed files, sorted by path.
    pub files: Vec<FileChange>,
    /// The fixes the plan makes, in report order.
    pub applied: Vec<FixLabel>,
    pub skipped: Vec<SkippedFix>,
}

/// One edit of a candidate fix, checked against its file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PlacedEdit {
    start: usize,
    end: usize,
    replacement: String,
}

impl PlacedEdit {
    /// Two edits conflict when their spans intersect or they start at the same offset (two
    /// insertions there, or one before a replacement: any order would be a guess). The same
    /// edit twice does not conflict; it is made once.
    fn conflicts_with(&self, other: &Self) -> bool {
        self != other
            && ((self.start < other.end && other.start < self.end) || self.start == other.start)
    }
}

/// A fix whose edits all fit their files: edits per file, sorted.
struct Candidate {
    label: FixLabel,
    edits: BTreeMap<String, Vec<PlacedEdit>>,
}

impl FixPlan {
    /// Plans the fixes of `findings` (in report order; findings without a fix are passed
    /// over), reading the files they edit from `root`.
    pub fn new(root: &Path, findings: &[Finding]) -> Self {
        let mut files = FileCache {
            root,
            texts: BTreeMap::new(),
        };
        let mut skipped = Vec::new();
        let mut accepted: Vec<Candidate> = Vec::new();
        for finding in findings {
            let Some(fix) = &finding.fix else { continue };
            if fix.edits.is_empty() {
                continue;
            }
            let label = FixLabel::of(finding, fix);
            let candidate = match Candidate::place(label.clone(), fix, &mut files) {
                Ok(candidate) => candidate,
                Err(reason) => {
                    skipped.push(SkippedFix { fix: label, reason });
                    continue;
                }
            };
            if let Some(taken) = accepted.iter().find(|taken| taken.overlaps(&candidate)) {
                skipped.push(SkippedFix {
                    fix: label,
                    reason: format!(
                        "its edits overlap those of the fix for {}:{}:{} [{}], which is applied instead",
                        taken.label.file, taken.label.line, taken.label.column, taken.label.rule
                    ),
                });
                continue;
            }
            accepted.push(candidate);
        }

        // Leave out every fix that touches a PHP file the fixes would break, until none does:
        // dropping a fix can only undo edits, so this ends.
        loop {
            let changes = apply_all(&accepted, &files);
            let broken: Vec<(String, String)> = changes
                .iter()
                .filter_map(|change| {
                    breakage(&change.path, &change.before, &change.after)
                        .map(|why| (change.path.clone(), why))
                })
                .collect();
            if broken.is_empty() {
                let applied = accepted
                    .into_iter()
                    .map(|candidate| candidate.label)
                    .collect();
                return Self {
                    files: changes
                        .into_iter()
                        .filter(|change| change.before != change.after)
                        .collect(),
                    applied,
                    skipped,
                };
            }
            let (dropped, kept): (Vec<Candidate>, Vec<Candidate>) =
                accepted.into_iter().partition(|candidate| {
                    broken
                        .iter()
                        .any(|(path, _)| candidate.edits.contains_key(path))
                });
            for candidate in dropped {
                let (path, why) = broken
                    .iter()
                    .find(|(path, _)| candidate.edits.contains_key(path))
                    .expect("dropped for a broken file");
                skipped.push(SkippedFix {
                    fix: candidate.label,
                    reason: format!(
                        "the fixes would leave {path} unparsable ({why}); it was left unchanged"
                    ),
                });
            }
            accepted = kept;
        }
    }

    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// A unified diff of every changed file (`--- a/path`, `+++ b/path`, hunks with three
    /// lines of context), ready for `git apply` or `patch -p1` in the project root.
    pub fn diff(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for change in &self.files {
            out.extend(unified_diff(&change.path, &change.before, &change.after));
        }
        out
    }

    /// Writes the changed files under `root`, each atomically (a temporary file beside it,
    /// then a rename) with its permissions kept. Before writing anything it checks that no
    /// file changed on disk since the plan read it, so a fix is never half-applied because of
    /// a concurrent edit. Returns the paths written.
    pub fn write(&self, root: &Path) -> io::Result<Vec<String>> {
        for change in &self.files {
            let current = fs_err::read(root.join(&change.path))?;
            if current != change.before {
                return Err(io::Error::other(format!(
                    "{} changed on disk while upkeep ran; nothing was written",
                    change.path
                )));
            }
        }
        let mut written = Vec::new();
        for change in &self.files {
            write_atomically(&root.join(&change.path), &change.after)?;
            written.push(change.path.clone());
        }
        Ok(written)
    }
}

impl Candidate {
    /// Checks every edit of `fix` against its file; any problem rejects the whole fix.
    fn place(label: FixLabel, fix: &Fix, files: &mut FileCache<'_>) -> Result<Self, String> {
        let mut edits: BTreeMap<String, Vec<PlacedEdit>> = BTreeMap::new();
        for edit in &fix.edits {
            let text = files.get(&edit.file)?;
            let TextSpan { start, end } = edit.span;
            let (start, end) = (start as usize, end as usize);
            if start > end || end > text.len() {
                return Err(format!(
                    "an edit of {} covers bytes {start}..{end}, outside the file ({} bytes)",
                    edit.file,
                    text.len()
                ));
            }
            edits
                .entry(edit.file.clone())
                .or_default()
                .push(PlacedEdit {
                    start,
                    end,
                    replacement: edit.replacement.clone(),
                });
        }
        for (file, file_edits) in &mut edits {
            file_edits.sort();
            file_edits.dedup();
            if file_edits
                .windows(2)
                .any(|pair| pair[0].conflicts_with(&pair[1]))
            {
                return Err(format!("two of its edits of {file} overlap"));
            }
        }
        Ok(Self { label, edits })
    }

    fn overlaps(&self, other: &Self) -> bool {
        self.edits.iter().any(|(file, edits)| {
            other.edits.get(file).is_some_and(|others| {
                edits
                    .iter()
                    .any(|edit| others.iter().any(|other| edit.conflicts_with(other)))
            })
        })
    }
}

/// The project's files as first read, so every fix sees the same text.
struct FileCache<'root> {
    root: &'root Path,
    texts: BTreeMap<String, Result<Vec<u8>, String>>,
}

impl FileCache<'_> {
    fn get(&mut self, file: &str) -> Result<&[u8], String> {
        let root = self.root;
        let entry = self.texts.entry(file.to_string()).or_insert_with(|| {
            if !is_inside_project(file) {
                return Err(format!(
                    "it edits {file}, which is not a path inside the project"
                ));
            }
            std::fs::read(root.join(file)).map_err(|error| format!("cannot read {file}: {error}"))
        });
        entry.as_deref().map_err(Clone::clone)
    }

    fn text(&self, file: &str) -> &[u8] {
        self.texts
            .get(file)
            .and_then(|text| text.as_deref().ok())
            .expect("placed edits only name files that were read")
    }
}

/// A relative path that stays under the root (no `..`, not absolute).
fn is_inside_project(file: &str) -> bool {
    !file.is_empty()
        && Path::new(file)
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir))
}

/// The text of every file the accepted fixes edit, before and after.
fn apply_all(accepted: &[Candidate], files: &FileCache<'_>) -> Vec<FileChange> {
    let mut by_file: BTreeMap<&str, BTreeSet<&PlacedEdit>> = BTreeMap::new();
    for candidate in accepted {
        for (file, edits) in &candidate.edits {
            by_file.entry(file).or_default().extend(edits);
        }
    }
    by_file
        .into_iter()
        .map(|(file, edits)| {
            let before = files.text(file);
            let mut after = Vec::with_capacity(before.len());
            let mut position = 0;
            // Sorted and without conflicts: each edit starts at or after the previous end.
            for edit in edits {
                after.extend_from_slice(&before[position..edit.start]);
                after.extend_from_slice(edit.replacement.as_bytes());
                position = edit.end;
            }
            after.extend_from_slice(&before[position..]);
            FileChange {
                path: file.to_string(),
                before: before.to_vec(),
                after,
            }
        })
        .collect()
}

/// Why `after` is a worse PHP file than `before` (a syntax error it did not have), if it is.
fn breakage(path: &str, before: &[u8], after: &[u8]) -> Option<String> {
    if !Path::new(path)
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("php"))
    {
        return None;
    }
    let arena = bumpalo::Bump::new();
    let problems_after = syntax_problems(parse_php(&arena, after));
    let first = problems_after.first()?;
    let problems_before = syntax_problems(parse_php(&arena, before)).len();
    if problems_after.len() <= problems_before {
        return None;
    }
    let position = LineIndex::new(after).line_column(after, first.offset);
    Some(format!(
        "{} at {}:{}",
        first.message, position.line, position.column
    ))
}

/// Replaces `path` with `bytes` through a temporary file in the same directory, keeping the
/// file's permissions (and, on Unix, its owner where allowed). A symbolic link is followed,
/// so the file it points to is replaced, not the link.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let path = fs_err::canonicalize(path)?;
    let metadata = fs_err::metadata(&path)?;
    let directory = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary: PathBuf =
        directory.join(format!(".{name}.upkeep-fix-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs_err::File::create_new(&temporary)?;
        file.write_all(bytes)?;
        file.set_permissions(metadata.permissions())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // Only root may give a file away; for others the new file is theirs already.
            let _ =
                std::os::unix::fs::fchown(file.file(), Some(metadata.uid()), Some(metadata.gid()));
        }
        file.sync_all()?;
        fs_err::rename(&temporary, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// How one line of the old text relates to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineOp {
    Equal,
    Delete,
    Insert,
}

/// A unified diff of `before` and `after` under the name `path` (empty when they are equal).
pub fn unified_diff(path: &str, before: &[u8], after: &[u8]) -> Vec<u8> {
    if before == after {
        return Vec::new();
    }
    let old: Vec<&[u8]> = before.split_inclusive(|&byte| byte == b'\n').collect();
    let new: Vec<&[u8]> = after.split_inclusive(|&byte| byte == b'\n').collect();
    let script = line_script(&old, &new);

    let mut out = Vec::new();
    out.extend_from_slice(format!("--- a/{path}\n+++ b/{path}\n").as_bytes());
    // Where each op starts in the old and the new text.
    let mut positions = Vec::with_capacity(script.len() + 1);
    let (mut old_line, mut new_line) = (0, 0);
    for op in &script {
        positions.push((old_line, new_line));
        match op {
            LineOp::Equal => {
                old_line += 1;
                new_line += 1;
            }
            LineOp::Delete => old_line += 1,
            LineOp::Insert => new_line += 1,
        }
    }
    positions.push((old_line, new_line));

    for (first, last) in hunk_ranges(&script) {
        let (old_start, new_start) = positions[first];
        let (old_end, new_end) = positions[last];
        out.extend_from_slice(
            format!(
                "@@ -{} +{} @@\n",
                hunk_range(old_start, old_end - old_start),
                hunk_range(new_start, new_end - new_start)
            )
            .as_bytes(),
        );
        for (index, op) in script[first..last].iter().enumerate() {
            let (old_index, new_index) = positions[first + index];
            let (marker, line) = match op {
                LineOp::Equal => (b' ', old[old_index]),
                LineOp::Delete => (b'-', old[old_index]),
                LineOp::Insert => (b'+', new[new_index]),
            };
            out.push(marker);
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.extend_from_slice(b"\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// `start,count` of a hunk header: 1-based, `,count` left out when it is 1, and for an empty
/// range the line before it.
fn hunk_range(start: usize, count: usize) -> String {
    match count {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{count}", start + 1),
    }
}

/// The op ranges `first..last` of the hunks: each change with up to [`DIFF_CONTEXT`] equal
/// lines around it, changes closer than twice that sharing one hunk.
fn hunk_ranges(script: &[LineOp]) -> Vec<(usize, usize)> {
    let changes: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, op)| **op != LineOp::Equal)
        .map(|(index, _)| index)
        .collect();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for index in changes {
        let first = index.saturating_sub(DIFF_CONTEXT);
        let last = (index + 1 + DIFF_CONTEXT).min(script.len());
        match ranges.last_mut() {
            Some(range) if first <= range.1 => range.1 = last,
            _ => ranges.push((first, last)),
        }
    }
    ranges
}

/// The shortest edit script from `old` to `new`, one op per line, deletions before insertions
/// within each change.
fn line_script(old: &[&[u8]], new: &[&[u8]]) -> Vec<LineOp> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut script = vec![LineOp::Equal; prefix];
    script.extend(myers(
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    ));
    script.extend(std::iter::repeat_n(LineOp::Equal, suffix));
    // Within a run of changes the order is free; people expect the old lines first.
    let mut start = 0;
    while start < script.len() {
        if script[start] == LineOp::Equal {
            start += 1;
            continue;
        }
        let end = script[start..]
            .iter()
            .position(|op| *op == LineOp::Equal)
            .map_or(script.len(), |length| start + length);
        script[start..end].sort_by_key(|op| *op != LineOp::Delete);
        start = end;
    }
    script
}

/// Myers' greedy O(ND) search for a shortest edit script. `frontiers[d]` keeps, for each
/// diagonal `k` in `-d..=d`, how far along `a` the furthest path with `d` changes reached; the
/// path is then walked back from the end.
// The names are those of Myers' paper (a, b, n, m, d, k, x, y), which the code follows.
#[allow(clippy::many_single_char_names)]
fn myers(a: &[&[u8]], b: &[&[u8]]) -> Vec<LineOp> {
    let (n, m) = (to_signed(a.len()), to_signed(b.len()));
    if n == 0 || m == 0 {
        let mut script = vec![LineOp::Delete; a.len()];
        script.extend(std::iter::repeat_n(LineOp::Insert, b.len()));
        return script;
    }
    let max = n + m;
    // Diagonal `k` lives at `k + max + 1`, so `k - 1` and `k + 1` are always in bounds.
    let index = |k: isize| to_unsigned(k + max + 1);
    let mut reach = vec![0_isize; to_unsigned(2 * max + 3)];
    let mut frontiers: Vec<Vec<isize>> = Vec::new();
    let mut changes = 0;
    'search: for d in 0..=max {
        for k in (-d..=d).step_by(2) {
            let down = k == -d || (k != d && reach[index(k - 1)] < reach[index(k + 1)]);
            let mut x = if down {
                reach[index(k + 1)]
            } else {
                reach[index(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[to_unsigned(x)] == b[to_unsigned(y)] {
                x += 1;
                y += 1;
            }
            reach[index(k)] = x;
            if x >= n && y >= m {
                changes = d;
                break 'search;
            }
        }
        frontiers.push(reach[index(-d)..=index(d)].to_vec());
    }

    let mut reversed = Vec::with_capacity(a.len() + b.len());
    let (mut x, mut y) = (n, m);
    for d in (1..=changes).rev() {
        let k = x - y;
        // The frontier after `d - 1` changes covers diagonals `-(d - 1)..=d - 1`.
        let previous = &frontiers[to_unsigned(d - 1)];
        let at = |diagonal: isize| previous[to_unsigned(diagonal + d - 1)];
        let down = k == -d || (k != d && at(k - 1) < at(k + 1));
        let previous_k = if down { k + 1 } else { k - 1 };
        let previous_x = at(previous_k);
        let previous_y = previous_x - previous_k;
        let (snake_x, snake_y) = if down {
            (previous_x, previous_y + 1)
        } else {
            (previous_x + 1, previous_y)
        };
        while x > snake_x && y > snake_y {
            reversed.push(LineOp::Equal);
            x -= 1;
            y -= 1;
        }
        reversed.push(if down { LineOp::Insert } else { LineOp::Delete });
        x = previous_x;
        y = previous_y;
    }
    // What is left is the snake from the start, before the first change.
    debug_assert_eq!(x, y);
    reversed.extend(std::iter::repeat_n(LineOp::Equal, to_unsigned(x)));
    reversed.reverse();
    reversed
}

fn to_signed(value: usize) -> isize {
    isize::try_from(value).expect("a file has fewer lines than isize::MAX")
}

fn to_unsigned(value: isize) -> usize {
    usize::try_from(value).expect("indices are not negative")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Edit, Location};
    use crate::rules::syntax::parse_error;

    const PHP: &str = "<?php\n\nnamespace Pyz\\Shared\\Product;\n\ninterface ProductConstants\n{\n    public const FOO = 'foo';\n    public const BAR = 'bar';\n}\n";

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        dir
    }

    fn span_of(text: &str, needle: &str) -> TextSpan {
        let start = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not in text"));
        TextSpan::new(
            u32::try_from(start).unwrap(),
            u32::try_from(start + needle.len()).unwrap(),
        )
    }

    fn edit(file: &str, span: TextSpan, replacement: &str) -> Edit {
        Edit {
            file: file.to_string(),
            span,
            replacement: replacement.to_string(),
        }
    }

    fn fixing(line: u32, description: &str, edits: Vec<Edit>) -> Finding {
        let mut location = Location::whole_file(&edits[0].file);
        location.start.line = line;
        location.end.line = line;
        Finding::new(&parse_error::META, location, "m").with_fix(Fix {
            description: description.to_string(),
            edits,
        })
    }

    fn diff_text(plan: &FixPlan) -> String {
        String::from_utf8(plan.diff()).unwrap()
    }

    #[test]
    fn fixes_of_several_findings_in_one_file_are_merged_and_the_rest_stays_byte_for_byte() {
        // CRLF line ends, a tab and no final newline must all survive.
        let text = "<?php\r\nclass A\r\n{\r\n\tconst FOO = 1;\r\n\tconst BAR = FOO;\r\n}";
        let dir = project(&[("src/A.php", text)]);
        let foo_uses = [
            edit("src/A.php", span_of(text, "FOO ="), "PYZ_FOO ="),
            edit("src/A.php", span_of(text, "= FOO"), "= PYZ_FOO"),
        ];
        let findings = [
            fixing(4, "rename FOO", foo_uses.to_vec()),
            fixing(
                5,
                "rename BAR",
                vec![edit("src/A.php", span_of(text, "BAR"), "PYZ_BAR")],
            ),
        ];
        let plan = FixPlan::new(dir.path(), &findings);
        assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
        assert_eq!(plan.applied.len(), 2);
        assert_eq!(
            plan.applied[0].to_string(),
            "src/A.php:4:1 [parse-error] rename FOO"
        );
        let expected =
            "<?php\r\nclass A\r\n{\r\n\tconst PYZ_FOO = 1;\r\n\tconst PYZ_BAR = PYZ_FOO;\r\n}";
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.files[0].after, expected.as_bytes());
        assert_eq!(
            diff_text(&plan),
            "--- a/src/A.php\n+++ b/src/A.php\n@@ -1,6 +1,6 @@\n <?php\r\n class A\r\n {\r\n\
             -\tconst FOO = 1;\r\n-\tconst BAR = FOO;\r\n+\tconst PYZ_FOO = 1;\r\n+\tconst PYZ_BAR = PYZ_FOO;\r\n \
             }\n\\ No newline at end of file\n"
        );

        assert_eq!(plan.write(dir.path()).unwrap(), ["src/A.php"]);
        assert_eq!(
            std::fs::read(dir.path().join("src/A.php")).unwrap(),
            expected.as_bytes()
        );
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path().join("src"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["A.php"]);
    }

    #[test]
    fn overlapping_fixes_are_skipped_whole_and_identical_edits_merge() {
        let dir = project(&[("src/A.php", PHP), ("src/B.php", "<?php\necho FOO;\n")]);
        let b = "<?php\necho FOO;\n";
        let first = fixing(
            7,
            "rename FOO",
            vec![
                edit("src/A.php", span_of(PHP, "FOO"), "PYZ_FOO"),
                edit("src/B.php", span_of(b, "FOO"), "PYZ_FOO"),
            ],
        );
        // Overlaps the first in A.php: its B.php edit must not be made either.
        let overlapping = fixing(
            7,
            "rename FOO differently",
            vec![
                edit("src/B.php", TextSpan::new(0, 5), "<?php"),
                edit("src/A.php", span_of(PHP, "FOO = 'foo'"), "X = 'x'"),
            ],
        );
        // The same edit as the first's in B.php, plus its own: compatible.
        let sharing = fixing(
            8,
            "rename BAR",
            vec![
                edit("src/B.php", span_of(b, "FOO"), "PYZ_FOO"),
                edit("src/A.php", span_of(PHP, "BAR"), "PYZ_BAR"),
            ],
        );
        let plan = FixPlan::new(dir.path(), &[first, overlapping, sharing]);
        let applied: Vec<&str> = plan
            .applied
            .iter()
            .map(|fix| fix.description.as_str())
            .collect();
        assert_eq!(applied, ["rename FOO", "rename BAR"]);
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.skipped[0].fix.description, "rename FOO differently");
        assert_eq!(
            plan.skipped[0].reason,
            "its edits overlap those of the fix for src/A.php:7:1 [parse-error], which is applied instead"
        );
        assert_eq!(plan.files[1].after, b"<?php\necho PYZ_FOO;\n");
        assert_eq!(
            String::from_utf8_lossy(&plan.files[0].after),
            PHP.replace("FOO", "PYZ_FOO").replace("BAR", "PYZ_BAR")
        );
    }

    #[test]
    fn insertions_at_the_same_offset_conflict_but_touching_edits_do_not() {
        let insert = PlacedEdit {
            start: 5,
            end: 5,
            replacement: "a".into(),
        };
        let other_insert = PlacedEdit {
            start: 5,
            end: 5,
            replacement: "b".into(),
        };
        let replace = PlacedEdit {
            start: 5,
            end: 8,
            replacement: "c".into(),
        };
        let before = PlacedEdit {
            start: 2,
            end: 5,
            replacement: "d".into(),
        };
        assert!(insert.conflicts_with(&other_insert));
        assert!(insert.conflicts_with(&replace));
        assert!(!insert.conflicts_with(&insert.clone()));
        assert!(!before.conflicts_with(&replace));
        assert!(!before.conflicts_with(&insert));
        assert!(before.conflicts_with(&PlacedEdit {
            start: 4,
            end: 6,
            replacement: String::new()
        }));
    }

    #[test]
    fn bad_edits_reject_their_whole_fix() {
        let dir = project(&[("src/A.php", PHP)]);
        let findings = [
            fixing(
                1,
                "past the end",
                vec![
                    edit("src/A.php", span_of(PHP, "FOO"), "PYZ_FOO"),
                    edit("src/A.php", TextSpan::new(10_000, 10_001), "x"),
                ],
            ),
            fixing(
                2,
                "missing file",
                vec![edit("src/Missing.php", TextSpan::new(0, 0), "x")],
            ),
            fixing(
                3,
                "escapes",
                vec![edit("../outside.php", TextSpan::new(0, 0), "x")],
            ),
            fixing(
                4,
                "self overlap",
                vec![
                    edit("src/A.php", TextSpan::new(0, 3), "x"),
                    edit("src/A.php", TextSpan::new(2, 4), "y"),
                ],
            ),
        ];
        let plan = FixPlan::new(dir.path(), &findings);
        assert!(plan.is_empty());
        assert!(plan.applied.is_empty());
        let reasons: Vec<&str> = plan
            .skipped
            .iter()
            .map(|skip| skip.reason.as_str())
            .collect();
        assert_eq!(
            reasons[0],
            format!(
                "an edit of src/A.php covers bytes 10000..10001, outside the file ({} bytes)",
                PHP.len()
            )
        );
        assert!(
            reasons[1].starts_with("cannot read src/Missing.php: "),
            "{}",
            reasons[1]
        );
        assert_eq!(
            reasons[2],
            "it edits ../outside.php, which is not a path inside the project"
        );
        assert_eq!(reasons[3], "two of its edits of src/A.php overlap");
    }

    #[test]
    fn a_fix_that_breaks_php_is_left_out_with_every_fix_of_that_file() {
        let b = "<?php\necho \\Pyz\\Shared\\Product\\ProductConstants::FOO;\n";
        let dir = project(&[
            ("src/A.php", PHP),
            ("src/B.php", b),
            ("src/C.php", "<?php\n"),
        ]);
        let breaking = fixing(
            7,
            "break",
            vec![
                edit("src/A.php", span_of(PHP, "FOO"), "FOO("),
                edit("src/B.php", span_of(b, "FOO"), "PYZ_FOO"),
            ],
        );
        let same_file = fixing(
            8,
            "fine alone",
            vec![edit("src/A.php", span_of(PHP, "BAR"), "PYZ_BAR")],
        );
        let elsewhere = fixing(
            1,
            "elsewhere",
            vec![edit("src/C.php", TextSpan::new(6, 6), "echo 1;\n")],
        );
        let plan = FixPlan::new(dir.path(), &[breaking, same_file, elsewhere]);
        let applied: Vec<&str> = plan
            .applied
            .iter()
            .map(|fix| fix.description.as_str())
            .collect();
        assert_eq!(applied, ["elsewhere"]);
        assert_eq!(plan.skipped.len(), 2);
        assert!(
            plan.skipped[0]
                .reason
                .starts_with("the fixes would leave src/A.php unparsable ("),
            "{}",
            plan.skipped[0].reason
        );
        assert!(
            plan.skipped[0].reason.contains(" at 7:"),
            "{}",
            plan.skipped[0].reason
        );
        assert!(plan.skipped[0].reason.ends_with("; it was left unchanged"));
        // B.php parses either way, but its edit belongs to the breaking fix.
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.files[0].path, "src/C.php");
        plan.write(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/A.php")).unwrap(),
            PHP
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/B.php")).unwrap(),
            b
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/C.php")).unwrap(),
            "<?php\necho 1;\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn writing_keeps_permissions_follows_links_and_refuses_changed_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = project(&[("src/A.php", PHP)]);
        let path = dir.path().join("src/A.php");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("A.php", dir.path().join("src/Link.php")).unwrap();
        let plan = FixPlan::new(
            dir.path(),
            &[fixing(
                7,
                "rename",
                vec![edit("src/Link.php", span_of(PHP, "FOO"), "PYZ_FOO")],
            )],
        );
        plan.write(dir.path()).unwrap();
        let link = std::fs::symlink_metadata(dir.path().join("src/Link.php")).unwrap();
        assert!(link.file_type().is_symlink());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            PHP.replace("FOO", "PYZ_FOO")
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );

        let renamed = PHP.replace("FOO", "PYZ_FOO");
        let plan = FixPlan::new(
            dir.path(),
            &[fixing(
                8,
                "rename",
                vec![edit("src/A.php", span_of(&renamed, "BAR"), "PYZ_BAR")],
            )],
        );
        assert_eq!(plan.applied.len(), 1, "{:?}", plan.skipped);
        std::fs::write(&path, "<?php\n// edited meanwhile\n").unwrap();
        let error = plan.write(dir.path()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "src/A.php changed on disk while upkeep ran; nothing was written"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "<?php\n// edited meanwhile\n"
        );
    }

    #[test]
    fn diff_has_headers_context_and_merged_hunks() {
        let before: String = (1..=20)
            .flat_map(|n| ["line ".to_string(), format!("{n}\n")])
            .collect();
        let after = before
            .replace("line 2\n", "line two\n")
            .replace("line 8\n", "line eight\n")
            .replace("line 17\n", "");
        let diff = String::from_utf8(unified_diff(
            "src/A.php",
            before.as_bytes(),
            after.as_bytes(),
        ))
        .unwrap();
        assert_eq!(
            diff,
            "--- a/src/A.php\n+++ b/src/A.php\n\
             @@ -1,11 +1,11 @@\n line 1\n-line 2\n+line two\n line 3\n line 4\n line 5\n line 6\n line 7\n-line 8\n+line eight\n line 9\n line 10\n line 11\n\
             @@ -14,7 +14,6 @@\n line 14\n line 15\n line 16\n-line 17\n line 18\n line 19\n line 20\n"
        );
        assert!(unified_diff("a", b"same\n", b"same\n").is_empty());
    }

    #[test]
    fn diff_marks_a_missing_final_newline_and_empty_ranges() {
        let diff = String::from_utf8(unified_diff("a.php", b"a\nb", b"a\nc")).unwrap();
        assert_eq!(
            diff,
            "--- a/a.php\n+++ b/a.php\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
        let diff = String::from_utf8(unified_diff("a.php", b"", b"x\n")).unwrap();
        assert_eq!(diff, "--- a/a.php\n+++ b/a.php\n@@ -0,0 +1 @@\n+x\n");
        let diff = String::from_utf8(unified_diff(
            "a.php",
            b"1\n2\n3\n4\n5\n",
            b"1\n2\n3\n4\n5\nnew\n",
        ))
        .unwrap();
        assert_eq!(
            diff,
            "--- a/a.php\n+++ b/a.php\n@@ -3,3 +3,4 @@\n 3\n 4\n 5\n+new\n"
        );
    }

    #[test]
    fn edit_scripts_are_minimal_and_rebuild_both_texts() {
        // Small exhaustive-ish check against an LCS table on short texts.
        let samples: [&[u8]; 6] = [b"abcabba", b"cbabac", b"", b"aaaa", b"xyz", b"abxcd"];
        for old in samples {
            for new in samples {
                let a: Vec<&[u8]> = old.chunks(1).collect();
                let b: Vec<&[u8]> = new.chunks(1).collect();
                let script = line_script(&a, &b);
                let (mut i, mut j, mut rebuilt_old, mut rebuilt_new) =
                    (0, 0, Vec::new(), Vec::new());
                for op in &script {
                    match op {
                        LineOp::Equal => {
                            assert_eq!(a[i], b[j]);
                            rebuilt_old.push(a[i]);
                            rebuilt_new.push(b[j]);
                            i += 1;
                            j += 1;
                        }
                        LineOp::Delete => {
                            rebuilt_old.push(a[i]);
                            i += 1;
                        }
                        LineOp::Insert => {
                            rebuilt_new.push(b[j]);
                            j += 1;
                        }
                    }
                }
                assert_eq!((rebuilt_old, rebuilt_new), (a.clone(), b.clone()));
                let equal = script.iter().filter(|op| **op == LineOp::Equal).count();
                assert_eq!(equal, lcs_length(&a, &b), "{old:?} -> {new:?}");
            }
        }
    }

    fn lcs_length(a: &[&[u8]], b: &[&[u8]]) -> usize {
        let mut table = vec![vec![0; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                table[i][j] = if a[i] == b[j] {
                    table[i + 1][j + 1] + 1
                } else {
                    table[i + 1][j].max(table[i][j + 1])
                };
            }
        }
        table[0][0]
    }
}
