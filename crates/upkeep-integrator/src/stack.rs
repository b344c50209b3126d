//! Adding and removing an entry of a plugin stack in a method of a project class, in the
//! shapes real projects write them: an array literal returned directly, through
//! `array_merge(...)` or from a variable; calls on a collection (`$collection->add(...)`,
//! also inside `$container->extend(...)`); and `$stack[] = ...` appends. Edits only touch the
//! entry's lines and the imports; the file's indentation and line ending are followed.

use crate::php::{
    ArrayView, CallStatement, Edit, Imports, Layout, MethodView, PhpView, apply_edits, indentation,
    line_end, line_start, normalized, starts_line,
};

/// One stack entry, with PHP code whose class names are fully qualified (they are shortened
/// against the file's imports when written).
#[derive(Debug, Clone, Default)]
pub struct StackEntry {
    /// The plugin (or widget) class, without the leading backslash.
    pub class: String,
    /// `Class::class` instead of `new Class(...)` (widgets).
    pub class_name_only: bool,
    pub constructor: Vec<String>,
    /// The key in an array stack.
    pub key: Option<String>,
    /// Arguments of the collection call before and after the plugin.
    pub prepend: Vec<String>,
    pub append: Vec<String>,
    pub condition: Option<String>,
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// The collection method to call when the method has no call to copy yet, on its first
    /// parameter (`addRelationship` for Glue relationships).
    pub default_call: Option<&'static str>,
    /// The stack method may be the project's own (a manifest's `call` names the method that
    /// merges it in): when neither the project nor the core has it, it starts as an empty
    /// array.
    pub project_method: bool,
}

/// Where the entry goes.
enum Site<'v> {
    Array(&'v ArrayView),
    Call(&'v CallStatement),
    FirstParameter(&'static str),
}

fn same_class(a: &str, b: &str) -> bool {
    a.trim_start_matches('\\')
        .eq_ignore_ascii_case(b.trim_start_matches('\\'))
}

fn text_of(text: &str, (start, end): (usize, usize)) -> &str {
    &text[start..end]
}

/// `text` with `entry` added to the stack `method` of class `class` returns; `Ok(None)` when
/// the entry is there already.
pub fn wire(
    text: &str,
    class: &str,
    method: &str,
    entry: &StackEntry,
) -> Result<Option<String>, String> {
    let view = PhpView::read(text);
    let class_view = view.require_class(class)?;
    let method_view = class_view
        .method(method)
        .ok_or_else(|| format!("{class} has no method {method}"))?;
    if is_wired(text, method_view, entry) {
        return Ok(None);
    }
    let layout = Layout::of(text);
    let mut imports = Imports::of(&view);
    let expression = render_expression(entry, &mut imports);
    let key = entry.key.as_ref().map(|key| imports.shorten(key));
    let condition = entry.condition.as_ref().map(|code| imports.shorten(code));
    let site = site(method_view, entry)?;
    let anchor_after = last_matching(method_view, &entry.after);
    let anchor_before = first_matching(method_view, &entry.before);
    let mut edits = match site {
        Site::Array(array) => {
            let element = match &key {
                Some(key) => format!("{key} => {expression}"),
                None => expression.clone(),
            };
            match &condition {
                Some(condition) => conditional_append(
                    text,
                    method_view,
                    array,
                    &expression,
                    key.as_deref(),
                    condition,
                    &layout,
                )?,
                None => array_insert(text, array, &element, &entry.after, &entry.before, &layout),
            }
        }
        Site::Call(call) => {
            let statement =
                call_statement(text, call, entry, &expression, key.as_deref(), &mut imports);
            let anchor = anchor_after
                .map(|(_, statement)| statement)
                .or(anchor_before.map(|(_, statement)| statement));
            statement_insert(
                text,
                call,
                anchor,
                &statement,
                condition.as_deref(),
                anchor_before.is_some() && anchor_after.is_none(),
                &layout,
            )
        }
        Site::FirstParameter(method_name) => {
            let parameter = method_view
                .parameters
                .first()
                .ok_or_else(|| format!("{method} takes no collection to add to"))?;
            let mut arguments: Vec<String> =
                entry.prepend.iter().map(|a| imports.shorten(a)).collect();
            arguments.push(expression.clone());
            arguments.extend(entry.append.iter().map(|a| imports.shorten(a)));
            let statement = format!(
                "{}->{method_name}({});",
                parameter.variable,
                arguments.join(", ")
            );
            first_statement_insert(text, method_view, &statement, condition.as_deref(), &layout)?
        }
    };
    edits.extend(imports.edits(&view, text, &layout));
    Ok(Some(apply_edits(text, edits)))
}

/// The entry is in the method: the same class, and the same key and arguments when given.
fn is_wired(text: &str, method: &MethodView, entry: &StackEntry) -> bool {
    let key = entry.key.as_deref().map(normalized);
    let constructor = (!entry.constructor.is_empty())
        .then(|| normalized(&format!("({})", entry.constructor.join(", "))));
    let call_arguments: Vec<String> = entry
        .prepend
        .iter()
        .chain(&entry.append)
        .map(|argument| normalized(argument))
        .collect();
    method
        .instantiations
        .iter()
        .filter(|instantiation| {
            instantiation.is_class_constant == entry.class_name_only
                && same_class(&instantiation.class, &entry.class)
        })
        .any(|instantiation| {
            if let Some(constructor) = &constructor {
                let written = instantiation
                    .arguments
                    .map(|arguments| normalized(text_of(text, arguments)))
                    .unwrap_or_default();
                if &written != constructor {
                    return false;
                }
            }
            let element = method
                .arrays
                .iter()
                .flat_map(|array| &array.elements)
                .find(|element| element.value.0 == instantiation.span.0);
            // The innermost call: `$container->extend(..., function ... { $c->add(new P()); })`
            // holds the plugin too.
            let call = method
                .calls
                .iter()
                .filter(|call| {
                    call.arguments.iter().any(|argument| {
                        argument.0 <= instantiation.span.0 && instantiation.span.1 <= argument.1
                    })
                })
                .min_by_key(|call| call.statement.1 - call.statement.0);
            if let Some(key) = &key {
                let written = element
                    .and_then(|element| element.key)
                    .map(|range| normalized(text_of(text, range)))
                    .or_else(|| {
                        // `$stack[KEY] = new Plugin();`
                        call.filter(|call| call.method.is_none()).map(|call| {
                            let statement = text_of(text, call.statement);
                            normalized(statement)
                        })
                    });
                if !written
                    .is_some_and(|written| written == *key || written.contains(&format!("[{key}]")))
                {
                    return false;
                }
            }
            if !call_arguments.is_empty()
                && let Some(call) = call
            {
                let written: Vec<String> = call
                    .arguments
                    .iter()
                    .map(|argument| normalized(text_of(text, *argument)))
                    .collect();
                return call_arguments
                    .iter()
                    .all(|argument| written.contains(argument));
            }
            true
        })
}

fn render_expression(entry: &StackEntry, imports: &mut Imports) -> String {
    let class = imports.name(&entry.class);
    if entry.class_name_only {
        return format!("{class}::class");
    }
    let arguments: Vec<String> = entry
        .constructor
        .iter()
        .map(|argument| imports.shorten(argument))
        .collect();
    format!("new {class}({})", arguments.join(", "))
}

/// Where stack entries of `method` are: array elements and call statements, with the class.
fn entries(method: &MethodView) -> Vec<(&str, (usize, usize), Option<&CallStatement>)> {
    let mut found: Vec<(&str, (usize, usize), Option<&CallStatement>)> = Vec::new();
    for array in &method.arrays {
        for element in &array.elements {
            if let Some(class) = &element.class {
                found.push((class, element.span, None));
            }
        }
    }
    for call in &method.calls {
        if let Some(class) = &call.class {
            found.push((class, call.statement, Some(call)));
        }
    }
    found.sort_by_key(|(_, span, _)| span.0);
    found
}

fn last_matching<'m>(
    method: &'m MethodView,
    classes: &[String],
) -> Option<((usize, usize), &'m CallStatement)> {
    find_matching(method, classes, true)
}

fn first_matching<'m>(
    method: &'m MethodView,
    classes: &[String],
) -> Option<((usize, usize), &'m CallStatement)> {
    find_matching(method, classes, false)
}

/// The first (or last) collection call that adds one of `classes`, with its span. (Anchors in
/// an array literal are found by [`array_anchor`].)
fn find_matching<'m>(
    method: &'m MethodView,
    classes: &[String],
    last: bool,
) -> Option<((usize, usize), &'m CallStatement)> {
    let mut matching = entries(method).into_iter().filter(|(class, _, call)| {
        call.is_some() && classes.iter().any(|wanted| same_class(class, wanted))
    });
    let found = if last {
        matching.next_back()
    } else {
        matching.next()
    };
    found.and_then(|(_, span, call)| call.map(|call| (span, call)))
}

/// The element of `array` to insert after (or before) for the position lists.
fn array_anchor(array: &ArrayView, classes: &[String], last: bool) -> Option<usize> {
    let mut positions = array.elements.iter().enumerate().filter(|(_, element)| {
        element
            .class
            .as_ref()
            .is_some_and(|class| classes.iter().any(|wanted| same_class(class, wanted)))
    });
    let found = if last {
        positions.next_back()
    } else {
        positions.next()
    };
    found.map(|(index, _)| index)
}

fn site<'m>(method: &'m MethodView, entry: &StackEntry) -> Result<Site<'m>, String> {
    let holds_entries =
        |array: &&ArrayView| array.elements.iter().any(|element| element.class.is_some());
    let wanted: Vec<&String> = entry.after.iter().chain(&entry.before).collect();
    let arrays: Vec<&ArrayView> = method.arrays.iter().filter(holds_entries).collect();
    // The array that holds a position anchor, else the last array of entries.
    let anchored = arrays.iter().find(|array| {
        array.elements.iter().any(|element| {
            element
                .class
                .as_ref()
                .is_some_and(|class| wanted.iter().any(|wanted| same_class(class, wanted)))
        })
    });
    let calls: Vec<&CallStatement> = method
        .calls
        .iter()
        .filter(|call| call.class.is_some())
        .collect();
    if let Some(array) = anchored {
        return Ok(Site::Array(array));
    }
    if let Some(call) = calls.iter().find(|call| {
        call.class
            .as_ref()
            .is_some_and(|class| wanted.iter().any(|wanted| same_class(class, wanted)))
    }) {
        return Ok(Site::Call(call));
    }
    if let Some(array) = arrays.last() {
        return Ok(Site::Array(array));
    }
    if let Some(call) = calls.last() {
        return Ok(Site::Call(call));
    }
    // An empty stack: `return [];`, `array_merge(parent::x(), [])` or `$stack = [];`.
    let in_return = |array: &&ArrayView| {
        array.elements.is_empty()
            && (method.returns.iter().any(|r#return| {
                r#return.statement.0 <= array.open && array.close < r#return.statement.1
            }) || method
                .assignments
                .iter()
                .any(|(_, value)| value.0 <= array.open && array.close < value.1))
    };
    if let Some(array) = method.arrays.iter().rfind(in_return) {
        return Ok(Site::Array(array));
    }
    if let Some(call) = entry.default_call {
        return Ok(Site::FirstParameter(call));
    }
    Err(format!(
        "{} builds its stack in a way upkeep does not recognise (no array literal, collection call or `$stack[] =` of plugins)",
        method.name
    ))
}

/// Inserts `element` into `array`: after the last entry of `after`, else before the first of
/// `before`, else at the end; on its own line in a multi-line array.
fn array_insert(
    text: &str,
    array: &ArrayView,
    element: &str,
    after: &[String],
    before: &[String],
    layout: &Layout,
) -> Vec<Edit> {
    let newline = layout.newline;
    if array.elements.is_empty() {
        let outer = indentation(text, array.open);
        return vec![Edit::replace(
            (array.open + 1, array.close),
            format!("{newline}{outer}{}{element},{newline}{outer}", layout.unit),
        )];
    }
    let multi_line = text[array.open..array.close].contains('\n');
    let before_index = array_anchor(array, before, false);
    let after_index = array_anchor(array, after, true)
        .or_else(|| before_index.is_none().then_some(array.elements.len() - 1));
    let element_indentation = |index: usize| {
        let span = array.elements[index].span;
        if starts_line(text, span.0) {
            indentation(text, span.0).to_string()
        } else {
            format!("{}{}", indentation(text, array.open), layout.unit)
        }
    };
    if let Some(index) = after_index {
        let anchor = &array.elements[index];
        if !multi_line {
            return match anchor.comma_end {
                Some(comma) if index + 1 < array.elements.len() => {
                    vec![Edit::insert(comma, format!(" {element},"))]
                }
                Some(comma) => vec![Edit::insert(comma, format!(" {element}"))],
                None => vec![Edit::insert(anchor.span.1, format!(", {element}"))],
            };
        }
        let indent = element_indentation(index);
        let mut edits = Vec::new();
        let end = if let Some(comma) = anchor.comma_end {
            comma
        } else {
            edits.push(Edit::insert(anchor.span.1, ","));
            anchor.span.1
        };
        let trailing_comma = anchor.comma_end.is_some() || index + 1 < array.elements.len();
        let comma = if trailing_comma { "," } else { "" };
        let at = line_end(text, end);
        if at > array.close {
            // The closing bracket is on the anchor's line.
            edits.push(Edit::insert(
                end,
                format!("{newline}{indent}{element}{comma}"),
            ));
        } else {
            edits.push(Edit::insert(
                at,
                format!("{indent}{element}{comma}{newline}"),
            ));
        }
        return edits;
    }
    let index = before_index.unwrap_or(0);
    let anchor = &array.elements[index];
    if !multi_line || !starts_line(text, anchor.span.0) {
        return vec![Edit::insert(anchor.span.0, format!("{element}, "))];
    }
    let indent = element_indentation(index);
    let at = comment_lines_start(text, line_start(text, anchor.span.0), array.open);
    vec![Edit::insert(at, format!("{indent}{element},{newline}"))]
}

/// The start of the comment lines right above `line` (a docblock that belongs to the entry
/// there), not going above `floor`.
fn comment_lines_start(text: &str, line: usize, floor: usize) -> usize {
    let mut at = line;
    while at > floor + 1 {
        let previous = line_start(text, at - 1);
        if previous <= floor {
            break;
        }
        let content = text[previous..at].trim();
        if content.starts_with("/*")
            || content.starts_with('*')
            || content.starts_with("//")
            || content.starts_with('#')
        {
            at = previous;
        } else {
            break;
        }
    }
    at
}

/// `$stack[] = new Plugin();` under `if (condition)`, where the stack is a variable the method
/// returns; a stack returned directly is first assigned to a variable.
fn conditional_append(
    text: &str,
    method: &MethodView,
    array: &ArrayView,
    expression: &str,
    key: Option<&str>,
    condition: &str,
    layout: &Layout,
) -> Result<Vec<Edit>, String> {
    let newline = layout.newline;
    let unit = &layout.unit;
    let append = |variable: &str, indent: &str| {
        let target = key.map_or_else(
            || format!("{variable}[]"),
            |key| format!("{variable}[{key}]"),
        );
        format!(
            "{indent}if ({condition}) {{{newline}{indent}{unit}{target} = {expression};{newline}{indent}}}{newline}"
        )
    };
    // `$plugins = [...]; ... return $plugins;`
    if let Some((variable, _)) = method
        .assignments
        .iter()
        .find(|(_, value)| value.0 <= array.open && array.close < value.1)
        && let Some(r#return) = method.returns.iter().find(|r#return| {
            r#return
                .value
                .is_some_and(|value| text_of(text, value).trim() == variable)
        })
    {
        let indent = indentation(text, r#return.statement.0);
        let at = line_start(text, r#return.statement.0);
        return Ok(vec![Edit::insert(
            at,
            format!("{}{newline}", append(variable, indent)),
        )]);
    }
    // `return [...];` or `return array_merge(..., [...]);`
    if let Some(r#return) = method.returns.iter().find(|r#return| {
        r#return
            .value
            .is_some_and(|value| value.0 <= array.open && array.close < value.1)
    }) && let Some(value) = r#return.value
    {
        let variable = ["$plugins", "$pluginStack", "$stack"]
            .into_iter()
            .find(|name| {
                !method.variables.contains(name.trim_start_matches('$'))
                    && !method.variables.contains(*name)
            })
            .ok_or("no free variable name for the stack")?;
        let indent = indentation(text, r#return.statement.0);
        return Ok(vec![
            Edit::replace((r#return.keyword.0, value.0), format!("{variable} = ")),
            Edit::insert(
                r#return.statement.1,
                format!(
                    "{newline}{newline}{}{newline}{newline}{indent}return {variable};",
                    append(variable, indent).trim_end_matches(['\r', '\n'])
                ),
            ),
        ]);
    }
    Err(format!(
        "{} does not return its stack from a variable or directly, so the condition has no place",
        method.name
    ))
}

/// The statement that adds the entry the way `call` adds its plugin.
fn call_statement(
    text: &str,
    call: &CallStatement,
    entry: &StackEntry,
    expression: &str,
    key: Option<&str>,
    imports: &mut Imports,
) -> String {
    let receiver = text_of(text, call.receiver);
    match &call.method {
        None => match key {
            Some(key) => format!("{receiver}[{key}] = {expression};"),
            None => format!("{receiver}[] = {expression};"),
        },
        Some(method) => {
            let mut arguments: Vec<String> =
                entry.prepend.iter().map(|a| imports.shorten(a)).collect();
            arguments.push(expression.to_string());
            arguments.extend(entry.append.iter().map(|a| imports.shorten(a)));
            format!("{receiver}->{method}({});", arguments.join(", "))
        }
    }
}

/// Inserts `statement` after `anchor` (or before it when `before`), else after the last
/// call of the stack (`call`), on a line of its own with the anchor's indentation.
fn statement_insert(
    text: &str,
    call: &CallStatement,
    anchor: Option<&CallStatement>,
    statement: &str,
    condition: Option<&str>,
    before: bool,
    layout: &Layout,
) -> Vec<Edit> {
    let newline = layout.newline;
    let anchor = anchor.unwrap_or(call);
    let indent = indentation(text, anchor.statement.0);
    let block = match condition {
        Some(condition) => format!(
            "{indent}if ({condition}) {{{newline}{indent}{}{statement}{newline}{indent}}}{newline}",
            layout.unit
        ),
        None => format!("{indent}{statement}{newline}"),
    };
    if before {
        let at = comment_lines_start(text, line_start(text, anchor.statement.0), 0);
        vec![Edit::insert(at, block)]
    } else {
        vec![Edit::insert(line_end(text, anchor.statement.1), block)]
    }
}

/// The first call of a collection that is still empty: before the method's first `return`.
fn first_statement_insert(
    text: &str,
    method: &MethodView,
    statement: &str,
    condition: Option<&str>,
    layout: &Layout,
) -> Result<Vec<Edit>, String> {
    let r#return = method
        .returns
        .last()
        .ok_or_else(|| format!("{} does not return its collection", method.name))?;
    let newline = layout.newline;
    let indent = indentation(text, r#return.statement.0);
    let block = match condition {
        Some(condition) => format!(
            "{indent}if ({condition}) {{{newline}{indent}{}{statement}{newline}{indent}}}{newline}{newline}",
            layout.unit
        ),
        None => format!("{indent}{statement}{newline}{newline}"),
    };
    Ok(vec![Edit::insert(
        line_start(text, r#return.statement.0),
        block,
    )])
}

/// `text` without the entries of `entry.class` in the stack of `method` (only those with the
/// entry's constructor arguments, when it has some), and without the import that only they
/// used; `Ok(None)` when the stack does not hold it.
pub fn unwire(
    text: &str,
    class: &str,
    method: &str,
    entry: &StackEntry,
) -> Result<Option<String>, String> {
    let view = PhpView::read(text);
    let class_view = view.require_class(class)?;
    let Some(method_view) = class_view.method(method) else {
        // The project does not override the stack: nothing of it to remove.
        return Ok(None);
    };
    let constructor = (!entry.constructor.is_empty())
        .then(|| normalized(&format!("({})", entry.constructor.join(", "))));
    let matches = |value: (usize, usize)| {
        method_view.instantiations.iter().any(|instantiation| {
            instantiation.span.0 >= value.0
                && instantiation.span.1 <= value.1
                && instantiation.is_class_constant == entry.class_name_only
                && same_class(&instantiation.class, &entry.class)
                && constructor.as_ref().is_none_or(|constructor| {
                    instantiation.arguments.is_some_and(|arguments| {
                        &normalized(text_of(text, arguments)) == constructor
                    })
                })
        })
    };
    let mut edits = Vec::new();
    for array in &method_view.arrays {
        for (index, element) in array.elements.iter().enumerate() {
            if element.class.is_some() && matches(element.value) {
                edits.push(remove_element(text, array, index));
            }
        }
    }
    for call in &method_view.calls {
        if call.class.is_some() && call.arguments.iter().any(|argument| matches(*argument)) {
            edits.push(remove_statement(text, call.statement));
        }
    }
    if edits.is_empty() {
        return Ok(None);
    }
    let changed = apply_edits(text, edits);
    Ok(Some(drop_unused_import(&changed, &entry.class)))
}

fn remove_element(text: &str, array: &ArrayView, index: usize) -> Edit {
    let element = &array.elements[index];
    let end = element.comma_end.unwrap_or(element.span.1);
    let multi_line = text[array.open..array.close].contains('\n');
    if multi_line && starts_line(text, element.span.0) {
        let after = line_end(text, end);
        if text[end..after].trim().is_empty() {
            return Edit::replace((line_start(text, element.span.0), after), "");
        }
    }
    if element.comma_end.is_some() {
        let spaces = text[end..].len() - text[end..].trim_start_matches([' ', '\t']).len();
        return Edit::replace((element.span.0, end + spaces), "");
    }
    // The last element without a comma: take the comma before it.
    let start = index
        .checked_sub(1)
        .and_then(|previous| array.elements[previous].comma_end)
        .map_or(element.span.0, |comma| comma - 1);
    Edit::replace((start, element.span.1), "")
}

fn remove_statement(text: &str, statement: (usize, usize)) -> Edit {
    let after = line_end(text, statement.1);
    if starts_line(text, statement.0) && text[statement.1..after].trim().is_empty() {
        Edit::replace((line_start(text, statement.0), after), "")
    } else {
        Edit::replace(statement, "")
    }
}

/// Removes `use Class;` when nothing else in the file names its alias any more.
fn drop_unused_import(text: &str, class: &str) -> String {
    let view = PhpView::read(text);
    let Some(import) = view
        .uses
        .iter()
        .find(|import| import.single && same_class(&import.name, class))
    else {
        return text.to_string();
    };
    let (start, end) = import.statement;
    let rest = format!("{}{}", &text[..start], &text[end..]);
    let alias = import.alias.as_str();
    let used = rest.match_indices(alias).any(|(at, _)| {
        let before = rest[..at].chars().next_back();
        let after = rest[at + alias.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '\\' || c == '$')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '\\')
    });
    if used {
        return text.to_string();
    }
    apply_edits(text, vec![remove_statement(text, import.statement)])
}

/// `text` with `$this->callee()` added to the `array_merge(...)` that method `caller` of
/// `class` returns, before the argument calling `before` (or after the one calling `after`,
/// else last), for a stack that another method merges in (a manifest's `call`); a value
/// returned otherwise is wrapped in `array_merge(value, $this->callee())`. `Ok(None)` when
/// `caller` calls it already.
pub fn ensure_called(
    text: &str,
    class: &str,
    merging: &str,
    merged: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<Option<String>, String> {
    let view = PhpView::read(text);
    let class_view = view.require_class(class)?;
    let method = class_view.method(merging).ok_or_else(|| {
        format!("{class} has no method {merging} to call {merged} from; add the call by hand")
    })?;
    let (start, end) = method.body.unwrap_or(method.span);
    let body = &text[start..end];
    let merged_already = [format!("->{merged}("), format!("::{merged}(")]
        .iter()
        .any(|call| body.contains(call.as_str()));
    if merged_already {
        return Ok(None);
    }
    let call = format!("$this->{merged}()");
    let last_return = method.returns.last();
    let Some(merge) = last_return.and_then(|r#return| {
        method.merges.iter().find(|merge| {
            r#return.statement.0 <= merge.right_parenthesis
                && merge.right_parenthesis < r#return.statement.1
        })
    }) else {
        // `return [...];` (or any other value) becomes `return array_merge([...], $this->x());`.
        let value = last_return
            .and_then(|r#return| r#return.value)
            .ok_or_else(|| {
                format!(
                    "{merging} returns nothing to merge $this->{merged}() into; add the call by hand"
                )
            })?;
        return Ok(Some(apply_edits(
            text,
            vec![
                Edit::insert(value.0, "array_merge("),
                Edit::insert(value.1, format!(", {call})")),
            ],
        )));
    };
    let calls = |argument: &(usize, usize), name: Option<&str>| {
        name.is_some_and(|name| {
            let name = name.rsplit("::").next().unwrap_or(name);
            text[argument.0..argument.1].contains(&format!("{name}("))
        })
    };
    let newline = Layout::of(text).newline;
    let anchor = merge
        .arguments
        .iter()
        .position(|argument| calls(argument, before))
        .or_else(|| {
            merge
                .arguments
                .iter()
                .position(|argument| calls(argument, after))
                .map(|index| index + 1)
                .filter(|index| *index < merge.arguments.len())
        });
    let edit = if let Some(index) = anchor {
        let argument = merge.arguments[index];
        if starts_line(text, argument.0) {
            let indent = indentation(text, argument.0);
            Edit::insert(
                line_start(text, argument.0),
                format!("{indent}{call},{newline}"),
            )
        } else {
            Edit::insert(argument.0, format!("{call}, "))
        }
    } else {
        let Some(last) = merge.arguments.last() else {
            return Err(format!("{merging}'s array_merge() has no arguments"));
        };
        if starts_line(text, last.0) {
            let indent = indentation(text, last.0);
            Edit::insert(last.1, format!(",{newline}{indent}{call}"))
        } else {
            Edit::insert(last.1, format!(", {call}"))
        }
    };
    Ok(Some(apply_edits(text, vec![edit])))
}
