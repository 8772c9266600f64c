//! A plan's text (YAML, or JSON, which YAML reads too) turned into a JSON value plus the
//! line each value starts on, so every problem found later can name its line.

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The 1-based line each value starts on, by its path (`applications[2].groups[0]`).
/// A plan has a path for every value, and a plan of 100,000 servers with their settings
/// has a million: the paths are kept as 64-bit hashes, a quarter of the memory the
/// strings take. Two paths sharing a hash (odds of about one in 10^7 for a million
/// paths) would only put a wrong line number in a problem's message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines(HashMap<u64, usize>);

impl Lines {
    /// The line of `path`, or of the nearest enclosing value that has one.
    pub fn of(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(line) = self.0.get(&path_key(path)) {
                return Some(*line);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

fn path_key(path: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    path.hash(&mut hasher);
    hasher.finish()
}

/// Why a text is not YAML at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The most values aliases may add to a plan: a plan names each server once, so this
/// is far above any real one, and a text whose aliases nest to expand exponentially
/// ("billion laughs") is refused before it takes the memory.
const MAX_ALIASED_VALUES: usize = 100_000;

/// Reads one YAML document: its value and the line of every value in it.
pub fn read(text: &str) -> Result<(Value, Lines), SyntaxError> {
    let (text, opening) = Opening::of(text);
    let mut builder = Builder {
        opening,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(&text);
    // Every document is read, so that what follows the plan is refused, not ignored.
    parser
        .load(&mut builder, true)
        .map_err(|error| opening.error(*error.marker(), error.info()))?;
    if let Some(problem) = builder.problem {
        return Err(problem);
    }
    Ok((builder.root.unwrap_or(Value::Null), Lines(builder.lines)))
}

/// Where a text that opens with a flow collection (`{` or `[`, as JSON does) opens.
///
/// YAML reads such an opening as a possible mapping key, and the scanner holds every
/// token until the collection closes to find out: for a JSON plan, every token of the
/// plan at once, several times the memory of the value built from them. After a
/// document marker a value cannot be a key, so the text is read with `--- ` in place
/// of the indentation before its opening: no line moves, and the columns of that line
/// are set back in every message.
#[derive(Debug, Clone, Copy, Default)]
struct Opening {
    /// The 1-based line of the opening; 0 when the text was read as it is.
    line: usize,
    /// Columns the marker takes on that line.
    added_columns: usize,
    /// Columns of indentation the marker replaced.
    indentation: usize,
}

impl Opening {
    const MARKER: &'static str = "--- ";

    fn of(text: &str) -> (Cow<'_, str>, Self) {
        let start = text.len() - text.trim_start().len();
        if !text[start..].starts_with(['{', '[']) {
            return (Cow::Borrowed(text), Self::default());
        }
        let line_start = text[..start].rfind('\n').map_or(0, |newline| newline + 1);
        let opening = Self {
            line: text[..line_start].matches('\n').count() + 1,
            added_columns: Self::MARKER.len(),
            indentation: start - line_start,
        };
        let read = format!("{}{}{}", &text[..line_start], Self::MARKER, &text[start..]);
        (Cow::Owned(read), opening)
    }

    /// The problem at `mark` of the text as read, placed in the text as given.
    fn error(self, mark: Marker, message: &str) -> SyntaxError {
        let mut column = mark.col() + 1;
        if mark.line() == self.line {
            column = (column + self.indentation)
                .saturating_sub(self.added_columns)
                .max(1);
        }
        SyntaxError {
            line: mark.line(),
            column,
            message: message.to_owned(),
        }
    }
}

/// A mapping or sequence being built, with the key awaiting its value.
enum Open {
    Mapping(Map<String, Value>, Option<String>, usize),
    Sequence(Vec<Value>, usize),
}

#[derive(Default)]
struct Builder {
    open: Vec<(Open, String)>,
    anchors: BTreeMap<usize, Value>,
    root: Option<Value>,
    lines: HashMap<u64, usize>,
    problem: Option<SyntaxError>,
    /// Values aliases added so far.
    aliased: usize,
    opening: Opening,
    documents: usize,
}

impl Builder {
    /// The path of the value about to be placed.
    fn next_path(&self) -> String {
        match self.open.last() {
            None => String::new(),
            Some((Open::Mapping(_, Some(key), _), path)) if path.is_empty() => key.clone(),
            Some((Open::Mapping(_, Some(key), _), path)) => format!("{path}.{key}"),
            Some((Open::Mapping(_, None, _), path)) => path.clone(),
            Some((Open::Sequence(items, _), path)) => format!("{path}[{}]", items.len()),
        }
    }

    /// Places a finished value where it belongs: a key, a value, an item or the root.
    fn place(&mut self, value: Value, mark: Marker) {
        let Some((open, _)) = self.open.last_mut() else {
            self.root = Some(value);
            return;
        };
        match open {
            Open::Sequence(items, _) => items.push(value),
            Open::Mapping(_, key @ None, _) => match value {
                Value::String(name) => *key = Some(name),
                Value::Number(_) | Value::Bool(_) => *key = Some(value.to_string()),
                _ => self.fail(mark, "a mapping key must be a scalar"),
            },
            Open::Mapping(map, key @ Some(_), _) => {
                let name = key.take().expect("matched Some");
                if map.insert(name.clone(), value).is_some() {
                    self.fail(mark, &format!("key `{name}` appears twice"));
                }
            }
        }
    }

    fn fail(&mut self, mark: Marker, message: &str) {
        let error = self.opening.error(mark, message);
        self.problem.get_or_insert(error);
    }

    fn remember(&mut self, anchor: usize, value: &Value) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
    }

    /// Records the line of a value that starts here, unless it is a mapping key.
    fn note_line(&mut self, mark: Marker) {
        let is_key = matches!(self.open.last(), Some((Open::Mapping(_, None, _), _)));
        if !is_key {
            let path = self.next_path();
            self.lines.entry(path_key(&path)).or_insert(mark.line());
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.problem.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(
                        mark,
                        "a plan is one YAML document; a second one starts here",
                    );
                }
            }
            Event::Scalar(text, style, anchor, _) => {
                self.note_line(mark);
                let value = scalar(text, style);
                self.remember(anchor, &value);
                self.place(value, mark);
            }
            Event::Alias(anchor) => {
                self.note_line(mark);
                let value = self.anchors.get(&anchor).cloned().unwrap_or(Value::Null);
                self.aliased += values_in(&value);
                if self.aliased > MAX_ALIASED_VALUES {
                    self.fail(
                        mark,
                        &format!("aliases expand the plan beyond {MAX_ALIASED_VALUES} values"),
                    );
                    return;
                }
                self.place(value, mark);
            }
            Event::MappingStart(anchor, _) => {
                self.note_line(mark);
                let path = self.next_path();
                self.open
                    .push((Open::Mapping(Map::new(), None, anchor), path));
            }
            Event::SequenceStart(anchor, _) => {
                self.note_line(mark);
                let path = self.next_path();
                self.open.push((Open::Sequence(Vec::new(), anchor), path));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some((open, _)) = self.open.pop() else {
                    return;
                };
                let (value, anchor) = match open {
                    Open::Mapping(map, _, anchor) => (Value::Object(map), anchor),
                    Open::Sequence(items, anchor) => (Value::Array(items), anchor),
                };
                self.remember(anchor, &value);
                self.place(value, mark);
            }
            _ => {}
        }
    }
}

/// How many values `value` holds, itself included.
fn values_in(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(values_in).sum(),
        Value::Object(map) => map.values().map(values_in).sum(),
        _ => 0,
    }
}

/// A scalar as YAML 1.2's core schema reads it: quoted text is always a string.
fn scalar(text: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(int) = text.parse::<i64>() {
        return Value::Number(int.into());
    }
    let numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
    if numeric {
        if let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(number);
        }
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aliases_that_nest_to_explode_are_refused_and_plain_ones_are_read() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let previous = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
            ));
        }
        let error = read(&text).unwrap_err();
        assert!(error.message.contains("aliases expand"), "{error}");
        assert!(error.line >= 5, "{error}");

        let (value, _) = read("d: &d { frequency: 12 }\ne: *d\n").unwrap();
        assert_eq!(value["e"], json!({ "frequency": 12 }));
    }

    #[test]
    fn yaml_becomes_a_value_with_the_line_of_each_part() {
        let text = "version: 1\napplications:\n  - name: shop\n    groups:\n      - name: web\n        servers: [web-01, \"007\"]\n";
        let (value, lines) = read(text).unwrap();
        assert_eq!(
            value,
            json!({"version": 1, "applications": [{"name": "shop", "groups": [{"name": "web", "servers": ["web-01", "007"]}]}]})
        );
        assert_eq!(lines.of("version"), Some(1));
        assert_eq!(lines.of("applications[0]"), Some(3));
        assert_eq!(lines.of("applications[0].groups[0].servers[1]"), Some(6));
        assert_eq!(
            lines.of("applications[0].groups[0].nothing"),
            Some(5),
            "the enclosing value"
        );
    }

    #[test]
    fn json_reads_too_and_anchors_are_followed() {
        let (value, _) = read(r#"{"version": 1, "x": [true, null, 2.5]}"#).unwrap();
        assert_eq!(value, json!({"version": 1, "x": [true, null, 2.5]}));
        let (value, _) = read("a: &base {t: 1}\nb: *base\n").unwrap();
        assert_eq!(value["b"], json!({"t": 1}));
    }

    #[test]
    fn json_keeps_its_lines_and_columns_read_after_a_document_marker() {
        let text = "\n  {\"version\": 1,\n   \"x\": [1, 2]}\n";
        let (value, lines) = read(text).unwrap();
        assert_eq!(value, json!({"version": 1, "x": [1, 2]}));
        assert_eq!(lines.of("version"), Some(2));
        assert_eq!(lines.of("x[1]"), Some(3));
        let error = read(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert_eq!((error.line, error.column), (1, 15), "{error}");
        let error = read("  {\"a\": [1, }").unwrap_err();
        assert_eq!(error.line, 1, "{error}");
        assert!(error.column <= 14, "{error}");
        let error = read(r#"{"a": 1}, "b""#).unwrap_err();
        assert_eq!((error.line, error.column), (1, 9), "{error}");
        let error = read("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        assert!(error.message.contains("one YAML document"), "{error}");
    }

    #[test]
    fn broken_yaml_and_repeated_keys_name_their_line() {
        let error = read("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.line >= 1, "{error}");
        let error = read("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.message.contains("`a` appears twice"), "{error}");
    }
}
