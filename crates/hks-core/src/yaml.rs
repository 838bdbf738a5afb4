//! YAML read as a JSON value, with where in the text each value is.
//!
//! A project file is YAML that people edit, so a problem found in it (by
//! serde or by validation, long after parsing) must point at a line and a
//! column. serde has no spans, so the text is read here with an event
//! parser into a [`serde_json::Value`] (which the typed readers then take
//! with field paths) and a table from each value's path to the place of its
//! key (or, in a list, of the item) in the text.
//!
//! The rules are YAML 1.2's core schema (`yes` and `on` are text, as in
//! Kubernetes' own reader), with what a configuration file does not need
//! refused rather than half supported: aliases (`*name`, which can also
//! expand a small text into a huge value), tags other than the core
//! schema's, keys that are not scalars, a key given twice, and more than one
//! document.

use std::collections::HashMap;
use std::fmt;

use granit_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

/// One step of a path: a key of a mapping or an index in a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A place in the text: line and column, both counted from 1 (columns in
/// characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    fn of(m: &Marker) -> Self {
        Self {
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Where each value of a document is: the position of its key (of the item,
/// in a list), by path.
#[derive(Debug, Clone, Default)]
pub struct Positions(HashMap<Vec<Segment>, Position>);

impl Positions {
    /// The position of `path`, or of its nearest ancestor the text has (a
    /// field that is missing is reported where its parent is).
    pub fn find(&self, path: &[Segment]) -> Option<Position> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.0.get(&path[..n]).copied())
    }
}

/// A text that is not YAML this reader takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at {position})")]
pub struct YamlError {
    pub message: String,
    pub position: Position,
}

impl YamlError {
    fn at(m: &Marker, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            position: Position::of(m),
        }
    }
}

/// Reads `text` as one YAML document. An empty text (or only comments) is
/// `null`.
pub fn read(text: &str) -> Result<(Value, Positions), YamlError> {
    let mut reader = Reader {
        events: Parser::new_from_str(text),
        positions: Positions::default(),
        path: Vec::new(),
    };
    let (value, positions) = reader.document()?;
    Ok((value, positions))
}

struct Reader<'a> {
    events: Parser<'a, granit_parser::StrInput<'a>>,
    positions: Positions,
    path: Vec<Segment>,
}

/// One node's start, as the parser gave it.
enum Start<'a> {
    Scalar(std::borrow::Cow<'a, str>, ScalarStyle, Option<Tag>),
    Sequence(Option<Tag>),
    Mapping(Option<Tag>),
    End,
}

impl<'a> Reader<'a> {
    /// The next event that is not a comment, with where it starts.
    fn next(&mut self) -> Result<(Event<'a>, Marker), YamlError> {
        loop {
            match self.events.next() {
                None => {
                    return Err(YamlError {
                        message: "the text ends in the middle of the document".into(),
                        position: Position { line: 1, column: 1 },
                    });
                }
                Some(Err(e)) => return Err(YamlError::at(e.marker(), e.info())),
                // Comments and anchors' names are presentation, not data.
                Some(Ok((Event::Comment(..) | Event::Anchor(..), _))) => continue,
                Some(Ok((event, span))) => return Ok((event, span.start)),
            }
        }
    }

    fn document(&mut self) -> Result<(Value, Positions), YamlError> {
        let (event, at) = self.next()?;
        if !matches!(event, Event::StreamStart) {
            return Err(YamlError::at(&at, "expected the start of the text"));
        }
        let (event, at) = self.next()?;
        let value = match event {
            Event::StreamEnd => return Ok((Value::Null, self.take_positions())),
            Event::DocumentStart(..) => {
                self.positions.0.insert(vec![], Position::of(&at));
                let (event, at) = self.next()?;
                let value = match self.start(event, &at)? {
                    Start::End => Value::Null,
                    start => self.node(start, &at)?,
                };
                // The node's events are consumed: the document ends.
                let (end, at) = self.next()?;
                if !matches!(end, Event::DocumentEnd) {
                    return Err(YamlError::at(&at, "expected the end of the document"));
                }
                value
            }
            _ => return Err(YamlError::at(&at, "expected a document")),
        };
        let (event, at) = self.next()?;
        match event {
            Event::StreamEnd => Ok((value, self.take_positions())),
            _ => Err(YamlError::at(
                &at,
                "a second document (after `---`): a project file is one document",
            )),
        }
    }

    fn take_positions(&mut self) -> Positions {
        std::mem::take(&mut self.positions)
    }

    /// What a node event starts; `End` for the end of a collection or document.
    fn start(&self, event: Event<'a>, at: &Marker) -> Result<Start<'a>, YamlError> {
        match event {
            Event::Scalar(text, style, _, tag) => Ok(Start::Scalar(
                text,
                style,
                tag.map(std::borrow::Cow::into_owned),
            )),
            Event::SequenceStart(_, _, tag) => {
                Ok(Start::Sequence(tag.map(std::borrow::Cow::into_owned)))
            }
            Event::MappingStart(_, _, tag) => {
                Ok(Start::Mapping(tag.map(std::borrow::Cow::into_owned)))
            }
            Event::SequenceEnd | Event::MappingEnd | Event::DocumentEnd => Ok(Start::End),
            Event::Alias(_) | Event::UnresolvedAlias(_) => Err(YamlError::at(
                at,
                "aliases (`*name`) are not supported in a project file: write the value out",
            )),
            _ => Err(YamlError::at(at, "unexpected YAML here")),
        }
    }

    fn node(&mut self, start: Start<'a>, at: &Marker) -> Result<Value, YamlError> {
        match start {
            Start::Scalar(text, style, tag) => scalar(&text, style, tag.as_ref(), at),
            Start::Sequence(tag) => {
                collection_tag(tag.as_ref(), "seq", at)?;
                let mut items = Vec::new();
                loop {
                    let (event, at) = self.next()?;
                    let start = self.start(event, &at)?;
                    if matches!(start, Start::End) {
                        return Ok(Value::Array(items));
                    }
                    self.path.push(Segment::Index(items.len()));
                    self.positions
                        .0
                        .insert(self.path.clone(), Position::of(&at));
                    let item = self.node(start, &at);
                    self.path.pop();
                    items.push(item?);
                }
            }
            Start::Mapping(tag) => {
                collection_tag(tag.as_ref(), "map", at)?;
                let mut map = Map::new();
                loop {
                    let (event, key_at) = self.next()?;
                    let key = match self.start(event, &key_at)? {
                        Start::End => return Ok(Value::Object(map)),
                        Start::Scalar(text, _, _) => text.into_owned(),
                        Start::Sequence(_) | Start::Mapping(_) => {
                            return Err(YamlError::at(
                                &key_at,
                                "a key that is a list or a mapping: keys are names",
                            ));
                        }
                    };
                    if map.contains_key(&key) {
                        return Err(YamlError::at(
                            &key_at,
                            format!("the key '{key}' is given twice"),
                        ));
                    }
                    self.path.push(Segment::Key(key.clone()));
                    self.positions
                        .0
                        .insert(self.path.clone(), Position::of(&key_at));
                    let value =
                        self.next()
                            .and_then(|(event, at)| match self.start(event, &at)? {
                                Start::End => Err(YamlError::at(&at, "a key without a value")),
                                start => self.node(start, &at),
                            });
                    self.path.pop();
                    map.insert(key, value?);
                }
            }
            Start::End => Err(YamlError::at(at, "expected a value")),
        }
    }
}

/// A tag on a list or mapping: only the core schema's own (`!!seq`, `!!map`).
fn collection_tag(tag: Option<&Tag>, core: &str, at: &Marker) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) if t.core_suffix() == Some(core) => Ok(()),
        Some(t) => Err(unsupported_tag(t, at)),
    }
}

fn unsupported_tag(t: &Tag, at: &Marker) -> YamlError {
    YamlError::at(
        at,
        format!(
            "the tag '{}{}' is not supported in a project file",
            t.handle(),
            t.suffix()
        ),
    )
}

/// A scalar's value under YAML 1.2's core schema: a plain scalar may be
/// null, a boolean or a number; a quoted or block one is always text.
fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    at: &Marker,
) -> Result<Value, YamlError> {
    let as_tagged =
        |kind: &str| YamlError::at(at, format!("'{text}' is not a {kind}, as its tag says"));
    match tag {
        None if style == ScalarStyle::Plain => Ok(plain(text)),
        None => Ok(Value::String(text.to_owned())),
        Some(t) if t.is_yaml_core_schema() => match t.core_suffix().unwrap_or_default() {
            "str" => Ok(Value::String(text.to_owned())),
            "null" => match plain(text) {
                Value::Null => Ok(Value::Null),
                _ => Err(as_tagged("null")),
            },
            "bool" => match plain(text) {
                v @ Value::Bool(_) => Ok(v),
                _ => Err(as_tagged("boolean")),
            },
            "int" => match plain(text) {
                v @ Value::Number(_) if int(text).is_some() => Ok(v),
                _ => Err(as_tagged("whole number")),
            },
            "float" => match plain(text) {
                v @ Value::Number(_) => Ok(v),
                _ => Err(as_tagged("number")),
            },
            _ => Err(unsupported_tag(t, at)),
        },
        Some(t) => Err(unsupported_tag(t, at)),
    }
}

/// A plain scalar, resolved.
fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = int(text) {
        return Value::Number(n);
    }
    if is_float(text)
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    // `.inf` and `.nan` have no JSON number: they stay text, which is what
    // every field of a project file that is not a number wants anyway.
    Value::String(text.to_owned())
}

/// An integer of the core schema: decimal, `0o` octal or `0x` hexadecimal.
fn int(text: &str) -> Option<Number> {
    let (digits, radix) = if let Some(d) = text.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = text.strip_prefix("0x") {
        (d, 16)
    } else {
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return match text.parse::<i64>() {
            Ok(n) => Some(n.into()),
            Err(_) => text
                .trim_start_matches('+')
                .parse::<u64>()
                .ok()
                .map(Into::into),
        };
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok().map(Into::into)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((whole, frac)) => digits(whole) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// Formats a path as HKS's field paths are written: `cronjobs.nightly.env[2].name`,
/// with a key that is not a plain name in brackets (`labels["app/tier"]`).
pub fn path_text(path: &[Segment]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Segment::Index(i) => s.push_str(&format!("[{i}]")),
            Segment::Key(k) if is_plain_key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Segment::Key(k) => {
                s.push('[');
                s.push_str(&serde_json::to_string(k).unwrap_or_default());
                s.push(']');
            }
        }
    }
    s
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads a field path as [`path_text`] writes it (and as validation writes
/// them: `spec.labels["team"]`). Unreadable parts end the path there.
pub fn parse_path(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('[') {
            if r.starts_with('"') {
                // A JSON string, then `]`.
                let mut de = serde_json::Deserializer::from_str(r).into_iter::<String>();
                match de.next() {
                    Some(Ok(key)) => {
                        let used = de.byte_offset();
                        out.push(Segment::Key(key));
                        rest = r[used..].strip_prefix(']').unwrap_or("");
                    }
                    _ => break,
                }
            } else {
                let Some((n, r)) = r.split_once(']') else {
                    break;
                };
                match n.parse() {
                    Ok(i) => out.push(Segment::Index(i)),
                    Err(_) => break,
                }
                rest = r;
            }
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        out.push(Segment::Key(rest[..end].to_owned()));
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        read(text).unwrap().0
    }

    fn error(text: &str) -> (String, u32, u32) {
        let e = read(text).unwrap_err();
        (e.message, e.position.line, e.position.column)
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        assert_eq!(
            value(
                "a: yes\nb: on\nc: true\nd: ~\ne:\nf: 0o17\ng: 0x1F\nh: 1e3\ni: -4\nj: '12'\nk: .inf\nl: 1.5\nm: 0 3 * * *\n"
            ),
            json!({"a": "yes", "b": "on", "c": true, "d": null, "e": null, "f": 15, "g": 31,
                   "h": 1000.0, "i": -4, "j": "12", "k": ".inf", "l": 1.5, "m": "0 3 * * *"})
        );
        assert_eq!(
            value("a: !!str 12\nb: !!int 7\nc: |\n  x\n  y\n"),
            json!({"a": "12", "b": 7, "c": "x\ny\n"})
        );
        assert_eq!(value(""), Value::Null);
        assert_eq!(value("# only a comment\n"), Value::Null);
        assert_eq!(value("---\n[1, 2]\n...\n"), json!([1, 2]));
    }

    #[test]
    fn positions_point_at_keys_and_items() {
        let text = "cronjobs:\n  nightly:\n    schedule: '0 3 * * *'\n    env:\n      - name: A\n      - {name: B}\n";
        let (_, pos) = read(text).unwrap();
        let at = |p: &str| pos.find(&parse_path(p)).unwrap().to_string();
        assert_eq!(at("cronjobs"), "1:1");
        assert_eq!(at("cronjobs.nightly.schedule"), "3:5");
        assert_eq!(at("cronjobs.nightly.env[1]"), "6:9");
        assert_eq!(at("cronjobs.nightly.env[1].name"), "6:10");
        // A field the text does not have: its parent.
        assert_eq!(at("cronjobs.nightly.timeZone"), "2:3");
    }

    #[test]
    fn what_a_project_file_does_not_need_is_refused_where_it_is() {
        let (m, line, col) = error("a: 1\na: 2\n");
        assert!(m.contains("'a' is given twice"), "{m}");
        assert_eq!((line, col), (2, 1));
        let (m, line, _) = error("a: &x 1\nb: *x\n");
        assert!(m.contains("aliases"), "{m}");
        assert_eq!(line, 2);
        let (m, _, _) = error("a: !custom 1\n");
        assert!(m.contains("tag"), "{m}");
        let (m, line, _) = error("a: 1\n---\nb: 2\n");
        assert!(m.contains("second document"), "{m}");
        assert_eq!(line, 2);
        let (m, line, _) = error("? [a]\n: 1\n");
        assert!(m.contains("key that is a list"), "{m}");
        assert_eq!(line, 1);
        let (_, line, _) = error("a:\n  b: 1\n c: 2\n");
        assert_eq!(line, 3);
        let (m, _, _) = error("a: !!int x\n");
        assert!(m.contains("not a whole number"), "{m}");
    }

    #[test]
    fn paths_are_written_and_read_alike() {
        for text in [
            "cronjobs.nightly.env[2].name",
            "cronjobs.nightly.labels[\"app/tier\"]",
            "stateless[\"a.b\"].image",
            "",
        ] {
            assert_eq!(path_text(&parse_path(text)), text);
        }
        assert_eq!(
            parse_path("spec.labels[\"team\"]"),
            [
                Segment::Key("spec".into()),
                Segment::Key("labels".into()),
                Segment::Key("team".into())
            ]
        );
    }
}
