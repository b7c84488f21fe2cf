//! A YAML tree that remembers where every node came from (file and line), so that
//! loader errors can name both. Anchors, aliases and `<<` merge keys are resolved here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::LoadError;

/// Alias expansions allowed per document (guards against "billion laughs").
const MAX_NODES: usize = 200_000;
/// Nesting allowed per document (guards the recursive walkers against stack overflow).
const MAX_DEPTH: usize = 200;

/// Where a node was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    pub file: Arc<Path>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// A scalar's text; `plain` is false for quoted and block scalars (never null/bool).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// The compose merge tags: `!reset` (the attribute is removed) and `!override` (it replaces
/// the base's instead of merging with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeTag {
    Reset,
    Override,
}

impl MergeTag {
    fn of(tag: Option<&yaml_rust2::parser::Tag>) -> Option<Self> {
        let tag = tag?;
        match (tag.handle.as_str(), tag.suffix.as_str()) {
            ("!", "reset") => Some(Self::Reset),
            ("!", "override") => Some(Self::Override),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
    /// `!reset` or `!override` written on this node (dealt with by [`crate::merge`]).
    pub merge: Option<MergeTag>,
}

impl Node {
    pub fn new(pos: Pos, value: Value) -> Self {
        Self {
            pos,
            value,
            merge: None,
        }
    }

    pub fn str(pos: Pos, text: impl Into<String>) -> Self {
        Self::new(
            pos,
            Value::Scalar {
                text: text.into(),
                plain: false,
            },
        )
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        match &mut self.value {
            Value::Map(m) => {
                let i = m.iter().position(|(k, _)| k == key)?;
                Some(m.remove(i).1)
            }
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses the first YAML document of `text`; `file` is used for positions and errors.
pub fn parse(text: &str, file: &Path) -> Result<Node, LoadError> {
    let file: Arc<Path> = Arc::from(file);
    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        error: None,
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        return Err(LoadError::Syntax {
            file: file.to_path_buf(),
            line: e.marker().line(),
            message: e.info().to_string(),
        });
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Node::new(
        Pos {
            file: file.clone(),
            line: 1,
        },
        Value::Null,
    )))
}

enum Frame {
    Seq(Node, usize),
    Map {
        node: Node,
        anchor: usize,
        key: Option<(String, Pos)>,
    },
}

struct Builder {
    file: Arc<Path>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<LoadError>,
    nodes: usize,
}

impl Builder {
    fn pos(&self, mark: Marker) -> Pos {
        Pos {
            file: self.file.clone(),
            line: mark.line(),
        }
    }

    fn fail(&mut self, line: usize, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(LoadError::Syntax {
                file: self.file.to_path_buf(),
                line,
                message: message.into(),
            });
        }
    }

    fn count(&mut self, node: &Node) -> bool {
        self.nodes += count_nodes(node);
        if self.nodes > MAX_NODES {
            self.fail(node.pos.line, "document too large (alias expansion limit)");
            return false;
        }
        true
    }

    /// Attaches a finished node to its parent (or makes it the root).
    fn push(&mut self, node: Node) {
        if self.error.is_some() {
            return;
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(seq, _)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map { node: map, key, .. }) => match key.take() {
                None => {
                    let k = match node.value {
                        Value::Scalar { text, .. } => text,
                        Value::Null => String::new(),
                        _ => {
                            let line = node.pos.line;
                            self.fail(line, "mapping keys must be scalars");
                            return;
                        }
                    };
                    *key = Some((k, node.pos));
                }
                Some((k, kpos)) => {
                    if let Value::Map(entries) = &mut map.value {
                        if entries.iter().any(|(e, _)| *e == k) {
                            let line = kpos.line;
                            self.fail(line, format!("duplicate key {k:?}"));
                            return;
                        }
                        entries.push((k, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == TScalarStyle::Plain;
                let value = if plain && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Value::Null
                } else {
                    Value::Scalar { text, plain }
                };
                let mut node = Node::new(self.pos(mark), value);
                node.merge = MergeTag::of(tag.as_ref());
                self.nodes += 1;
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => {
                    if self.count(&node) {
                        self.push(node);
                    }
                }
                None => self.fail(mark.line(), "unknown alias"),
            },
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(mark.line(), "document nested too deeply");
                    return;
                }
                let is_seq = matches!(ev, Event::SequenceStart(..));
                let mut node = Node::new(
                    self.pos(mark),
                    if is_seq {
                        Value::Seq(Vec::new())
                    } else {
                        Value::Map(Vec::new())
                    },
                );
                node.merge = MergeTag::of(tag.as_ref());
                self.stack.push(if is_seq {
                    Frame::Seq(node, anchor)
                } else {
                    Frame::Map {
                        node,
                        anchor,
                        key: None,
                    }
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(node, anchor)) = self.stack.pop() {
                    self.nodes += 1;
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push(node);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    mut node, anchor, ..
                }) = self.stack.pop()
                {
                    self.nodes += 1;
                    if let Err(line) = apply_merge_keys(&mut node) {
                        self.fail(line, "the value of a `<<` merge key must be a mapping or a sequence of mappings");
                        return;
                    }
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push(node);
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(_, v)| count_nodes(v)).sum::<usize>(),
        _ => 1,
    }
}

/// YAML 1.1 merge keys: `<<: *base` or `<<: [*a, *b]`; explicit keys win, earlier sources win.
fn apply_merge_keys(node: &mut Node) -> Result<(), usize> {
    let Some(merge) = node.remove("<<") else {
        return Ok(());
    };
    let sources: Vec<Node> = match merge.value {
        Value::Map(_) => vec![merge],
        Value::Seq(items) => items,
        _ => return Err(merge.pos.line),
    };
    let Value::Map(entries) = &mut node.value else {
        return Ok(());
    };
    for source in sources {
        let Value::Map(src) = source.value else {
            return Err(source.pos.line);
        };
        for (k, v) in src {
            if !entries.iter().any(|(e, _)| *e == k) {
                entries.push((k, v));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Node, LoadError> {
        parse(text, Path::new("compose.yaml"))
    }

    #[test]
    fn keeps_lines_and_plain_flags() {
        let n = p("a:\n  b: 1\n  c: 'x'\n  d: ~\n").unwrap();
        let b = n.get("a").unwrap().get("b").unwrap();
        assert_eq!(b.pos.line, 2);
        assert_eq!(
            b.value,
            Value::Scalar {
                text: "1".into(),
                plain: true
            }
        );
        let c = n.get("a").unwrap().get("c").unwrap();
        assert_eq!(
            c.value,
            Value::Scalar {
                text: "x".into(),
                plain: false
            }
        );
        assert!(n.get("a").unwrap().get("d").unwrap().is_null());
    }

    #[test]
    fn resolves_anchors_and_merge_keys() {
        let n = p("base: &b\n  x: 1\n  y: 2\nother: &o\n  z: 3\nsvc:\n  <<: [*b, *o]\n  y: 9\n")
            .unwrap();
        let svc = n.get("svc").unwrap();
        let get = |k: &str| match &svc.get(k).unwrap().value {
            Value::Scalar { text, .. } => text.clone(),
            _ => panic!(),
        };
        assert_eq!(get("x"), "1");
        assert_eq!(get("y"), "9");
        assert_eq!(get("z"), "3");
        assert!(svc.get("<<").is_none());
    }

    #[test]
    fn rejects_duplicate_keys_with_line() {
        let e = p("a: 1\nb: 2\na: 3\n").unwrap_err().to_string();
        assert!(e.contains("compose.yaml:3"), "{e}");
        assert!(e.contains("duplicate key \"a\""), "{e}");
    }

    #[test]
    fn syntax_error_names_line() {
        let e = p("a:\n  b: [1, 2\n").unwrap_err().to_string();
        assert!(e.starts_with("compose.yaml:"), "{e}");
    }

    #[test]
    fn alias_bomb_is_an_error() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = p(&text).unwrap_err().to_string();
        assert!(e.contains("alias expansion limit"), "{e}");
    }
}
