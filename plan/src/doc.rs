//! A plan file as a tree of values that remember their line and column,
//! read key by key: every key a reader does not take is an error that
//! names it, where it is, and what was expected.

use cairn::{Error, Result};
use std::sync::Arc;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Line and column (both from 1) in a plan file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// One value and where it was written.
#[derive(Clone, Debug)]
pub struct Item {
    value: Value,
    at: Pos,
    file: Arc<str>,
}

#[derive(Clone, Debug)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Array(Vec<Item>),
    Table(Table),
    Other(&'static str),
}

/// A table whose keys are taken one by one; [`Table::finish`] rejects the
/// rest.
#[derive(Clone, Debug)]
pub struct Table {
    entries: Vec<(String, Pos, Item)>,
    asked: Vec<&'static str>,
    at: Pos,
    file: Arc<str>,
    /// Dotted path of this table, for messages (`component "db".settings`).
    path: String,
}

fn pos_of(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    Pos { line, col }
}

struct Conv<'t> {
    text: &'t str,
    file: Arc<str>,
}

impl Conv<'_> {
    fn at(&self, span: std::ops::Range<usize>) -> Pos {
        pos_of(self.text, span.start)
    }

    fn item(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Item {
        let at = self.at(v.span());
        let value = match v.get_ref() {
            DeValue::String(s) => Value::Str(s.to_string()),
            DeValue::Integer(i) => {
                match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                    Ok(n) => Value::Int(n),
                    Err(_) => Value::Other("an integer out of range"),
                }
            }
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Float(_) => Value::Other("a float"),
            DeValue::Datetime(_) => Value::Other("a date"),
            DeValue::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| self.item(x, &format!("{path}[{i}]")))
                    .collect(),
            ),
            DeValue::Table(t) => Value::Table(self.table(t, at, path)),
        };
        Item {
            value,
            at,
            file: self.file.clone(),
        }
    }

    fn table(&self, t: &DeTable<'_>, at: Pos, path: &str) -> Table {
        let mut entries: Vec<(String, Pos, Item)> = t
            .iter()
            .map(|(k, v)| {
                let key = k.get_ref().to_string();
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                (key, self.at(k.span()), self.item(v, &sub))
            })
            .collect();
        entries.sort_by_key(|(_, p, _)| (p.line, p.col));
        Table {
            entries,
            asked: Vec::new(),
            at,
            file: self.file.clone(),
            path: path.to_string(),
        }
    }
}

/// An error at a place in a plan file.
pub fn error_at(file: &str, at: Pos, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{file}:{}:{}: {msg}", at.line, at.col))
}

impl Table {
    /// Parses a whole document; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<Table> {
        let doc = DeTable::parse(text).map_err(|e| {
            let at = e.span().map(|s| pos_of(text, s.start)).unwrap_or_default();
            error_at(file, at, format!("not valid TOML: {}", e.message().trim()))
        })?;
        let conv = Conv {
            text,
            file: Arc::from(file),
        };
        Ok(conv.table(doc.get_ref(), Pos { line: 1, col: 1 }, ""))
    }

    /// An empty table (for a section a file left out).
    pub fn empty(file: &str, at: Pos, path: &str) -> Table {
        Table {
            entries: Vec::new(),
            asked: Vec::new(),
            at,
            file: Arc::from(file),
            path: path.to_string(),
        }
    }

    /// Takes every remaining key without looking at it (for components
    /// whose adapter is not built yet).
    pub fn drain(&mut self) {
        self.entries.clear();
    }

    /// Whether the key holds a table.
    pub fn is_table(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(k, _, i)| k == key && matches!(i.value, Value::Table(_)))
    }

    /// The file name used in messages.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Renames this table in messages (and the tables inside it): a
    /// component's table reads `component "db"`, not `component[0]`.
    pub fn rename(&mut self, path: &str) {
        let old = std::mem::replace(&mut self.path, path.to_string());
        for (_, _, item) in &mut self.entries {
            item.rename_prefix(&old, path);
        }
    }

    /// Where this table starts.
    pub fn pos(&self) -> Pos {
        self.at
    }

    /// An error about this table.
    pub fn error(&self, msg: impl std::fmt::Display) -> Error {
        error_at(&self.file, self.at, msg)
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn take(&mut self, key: &'static str) -> Option<Item> {
        self.asked.push(key);
        let i = self.entries.iter().position(|(k, _, _)| k == key)?;
        Some(self.entries.remove(i).2)
    }

    fn wrong(&self, key: &str, item: &Item, want: &str) -> Error {
        error_at(
            &item.file,
            item.at,
            format!(
                "`{}` must be {want}, not {}",
                self.key_path(key),
                item.kind()
            ),
        )
    }

    /// A string, with `${VAR}` replaced by the environment's value.
    pub fn str(&mut self, key: &'static str) -> Result<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(item) => match &item.value {
                Value::Str(s) => expand_env(s).map(Some).map_err(|e| {
                    error_at(
                        &item.file,
                        item.at,
                        format!("`{}`: {e}", self.key_path(key)),
                    )
                }),
                _ => Err(self.wrong(key, &item, "a string")),
            },
        }
    }

    /// A string that must be present.
    pub fn req_str(&mut self, key: &'static str) -> Result<String> {
        self.str(key)?
            .ok_or_else(|| self.error(format!("`{}` is missing", self.key_path(key))))
    }

    /// A string with its position (for messages about its value).
    pub fn str_at(&mut self, key: &'static str) -> Result<Option<(String, Pos)>> {
        let at = self
            .entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, i)| i.at);
        Ok(self.str(key)?.zip(at))
    }

    /// A boolean.
    pub fn bool(&mut self, key: &'static str) -> Result<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(Item {
                value: Value::Bool(b),
                ..
            }) => Ok(Some(b)),
            Some(item) => Err(self.wrong(key, &item, "true or false")),
        }
    }

    /// An integer.
    pub fn int(&mut self, key: &'static str) -> Result<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(Item {
                value: Value::Int(n),
                ..
            }) => Ok(Some(n)),
            Some(item) => Err(self.wrong(key, &item, "an integer")),
        }
    }

    /// A list of strings (a single string counts as a list of one).
    pub fn strs(&mut self, key: &'static str) -> Result<Vec<String>> {
        let Some(item) = self.take(key) else {
            return Ok(Vec::new());
        };
        let items = match &item.value {
            Value::Str(_) => vec![item.clone()],
            Value::Array(a) => a.clone(),
            _ => return Err(self.wrong(key, &item, "a string or a list of strings")),
        };
        items
            .into_iter()
            .map(|i| match &i.value {
                Value::Str(s) => expand_env(s)
                    .map_err(|e| error_at(&i.file, i.at, format!("`{}`: {e}", self.key_path(key)))),
                _ => Err(self.wrong(key, &i, "a string")),
            })
            .collect()
    }

    /// A sub-table.
    pub fn table(&mut self, key: &'static str) -> Result<Option<Table>> {
        match self.take(key) {
            None => Ok(None),
            Some(Item {
                value: Value::Table(t),
                ..
            }) => Ok(Some(t)),
            Some(item) => Err(self.wrong(key, &item, "a table")),
        }
    }

    /// An array of tables (`[[key]]`).
    pub fn tables(&mut self, key: &'static str) -> Result<Vec<Table>> {
        let Some(item) = self.take(key) else {
            return Ok(Vec::new());
        };
        let Value::Array(a) = &item.value else {
            return Err(self.wrong(key, &item, "an array of tables ([[...]])"));
        };
        a.iter()
            .map(|i| match &i.value {
                Value::Table(t) => Ok(t.clone()),
                _ => Err(self.wrong(key, i, "a table")),
            })
            .collect()
    }

    /// Rejects every key not taken, naming the first one, where it is, and
    /// the keys this table accepts.
    pub fn finish(self) -> Result<()> {
        let Some((key, at, _)) = self.entries.first() else {
            return Ok(());
        };
        let mut known: Vec<&str> = self.asked.clone();
        known.sort_unstable();
        known.dedup();
        let place = if self.path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{}`", self.path)
        };
        Err(error_at(
            &self.file,
            *at,
            format!(
                "unknown key `{key}` {place} (known keys: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ))
    }
}

impl Item {
    fn rename_prefix(&mut self, old: &str, new: &str) {
        match &mut self.value {
            Value::Table(t) => {
                let rest = t.path.strip_prefix(old).unwrap_or("").to_string();
                t.rename(&format!("{new}{rest}"));
            }
            Value::Array(a) => a.iter_mut().for_each(|i| i.rename_prefix(old, new)),
            _ => {}
        }
    }

    fn kind(&self) -> &'static str {
        match &self.value {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a boolean",
            Value::Array(_) => "a list",
            Value::Table(_) => "a table",
            Value::Other(k) => k,
        }
    }
}

/// Replaces `${NAME}` with the variable's value; `$${` stands for a
/// literal `${`. An unset variable is an error, never an empty string.
pub fn expand_env(s: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(lit) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = lit;
        } else if let Some(var) = after.strip_prefix("${") {
            let end = var
                .find('}')
                .ok_or_else(|| format!("unterminated `${{` in {s:?}"))?;
            let name = &var[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad variable name {name:?} in {s:?}"));
            }
            let value = std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set"))?;
            out.push_str(&value);
            rest = &var[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named_with_line_and_column() {
        let text = "name = \"p\"\n\n[[component]]\nname = \"db\"\n  colour = 3\n";
        let mut t = Table::parse("plan.toml", text).expect("parse");
        assert_eq!(t.req_str("name").expect("name"), "p");
        let mut comps = t.tables("component").expect("components");
        t.finish().expect("top level complete");
        let mut c = comps.remove(0);
        assert_eq!(c.req_str("name").expect("name"), "db");
        let e = c.finish().expect_err("colour is unknown").to_string();
        assert!(e.contains("plan.toml:5:3"), "{e}");
        assert!(e.contains("unknown key `colour`"), "{e}");
        assert!(e.contains("known keys: name"), "{e}");
    }

    #[test]
    fn wrong_types_and_bad_toml_say_where() {
        let mut t = Table::parse("p.toml", "a = 1\nb = [\"x\", 2]\n").expect("parse");
        let e = t.str("a").expect_err("not a string").to_string();
        assert!(
            e.contains("p.toml:1:5") && e.contains("`a` must be a string"),
            "{e}"
        );
        let e = t.strs("b").expect_err("2 is no string").to_string();
        assert!(e.contains("p.toml:2:11"), "{e}");
        let e = Table::parse("p.toml", "a = \n")
            .expect_err("bad")
            .to_string();
        assert!(
            e.contains("p.toml:1:") && e.contains("not valid TOML"),
            "{e}"
        );
    }

    #[test]
    fn environment_variables_expand_and_unset_ones_fail() {
        std::env::set_var("CAIRN_DOC_TEST_VAR", "v1");
        assert_eq!(
            expand_env("a-${CAIRN_DOC_TEST_VAR}-$${x}-$5").expect("expand"),
            "a-v1-${x}-$5"
        );
        let e = expand_env("${CAIRN_DOC_TEST_UNSET_VAR}").expect_err("unset");
        assert!(e.contains("CAIRN_DOC_TEST_UNSET_VAR is not set"), "{e}");
        assert!(expand_env("${oops").is_err());
    }
}
