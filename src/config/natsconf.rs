//! Owns the reader for nats-server's own configuration syntax, exposed as a `config`
//! crate file format (`NatsConf`), so an existing nats-server config loads unchanged.
//!
//! The syntax follows nats-server 2.9's `conf` package: `#` and `//` comments; `=`, `:`
//! or plain whitespace between key and value; `{ }` blocks; `[ ]` arrays separated by
//! commas or new lines; "..." strings with `\t \n \r \" \\ \xHH` escapes; '...' raw
//! strings; `( ... )` multi-line blocks ending at a line holding only `)`; bare strings;
//! integers with size suffixes; floats; booleans (true/false/yes/no/on/off, any case);
//! Zulu date-times (kept as strings); `include file` (relative to the including file);
//! `$name` variables resolved from keys defined earlier in the enclosing blocks, then
//! from the process environment (whose value is parsed as a value, as nats does).
//!
//! Pure: the only I/O is reading include files and environment variables, both through
//! functions the caller may replace (tests do). No tokio.

use std::collections::BTreeSet;
use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use config::{FileStoredFormat, Format, Map, Value, ValueKind};

/// The `config` crate format for nats-server configuration files:
/// `config::File::new("edge.conf", NatsConf)` or `File::from_str(text, NatsConf)`.
/// Includes are read with `std::fs` and variables fall back to the process environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NatsConf;

impl Format for NatsConf {
    fn parse(
        &self,
        uri: Option<&String>,
        text: &str,
    ) -> Result<Map<String, Value>, Box<dyn Error + Send + Sync>> {
        parse_str(text, uri.map(Path::new))
            .map(|doc| doc.table)
            .map_err(|e| Box::new(e) as Box<dyn Error + Send + Sync>)
    }
}

impl FileStoredFormat for NatsConf {
    fn file_extensions(&self) -> &'static [&'static str] {
        &["conf"]
    }
}

/// A syntax error, with the file (when known) and the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfError {
    pub file: Option<String>,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for NatsConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        write!(f, "Parse error on line {}: {}", self.line, self.message)
    }
}

impl Error for NatsConfError {}

/// A parsed file: its top-level table, plus the keys whose values were referenced as
/// `$variables`. nats-server does not report such keys as unknown fields (they are
/// variable definitions), so the loader needs to know them. Each entry is the key path
/// from the top (e.g. `["TOKEN"]` or `["jetstream", "DIR"]`), spelled as in the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub table: Map<String, Value>,
    pub used_variables: BTreeSet<Vec<String>>,
}

/// Parses `text`; `file` (if any) names it in errors and value origins and is the base
/// for relative includes (the current directory otherwise).
pub fn parse_str(text: &str, file: Option<&Path>) -> Result<Document, NatsConfError> {
    let env = |name: &str| std::env::var(name).ok();
    let read = |path: &Path| std::fs::read_to_string(path);
    parse_with(text, file, &read, &env)
}

/// Reads and parses a file from disk (includes and environment as in [`parse_str`]).
pub fn parse_file(path: &Path) -> Result<Document, NatsConfError> {
    let text = std::fs::read_to_string(path).map_err(|e| NatsConfError {
        file: Some(path.display().to_string()),
        line: 0,
        message: format!("cannot read the file: {e}"),
    })?;
    parse_str(strip_bom(&text), Some(path))
}

/// The parser with its two outside dependencies injected: `read` loads an include file
/// and `env` looks up an environment variable.
pub fn parse_with(
    text: &str,
    file: Option<&Path>,
    read: &dyn Fn(&Path) -> io::Result<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Document, NatsConfError> {
    let expansion_left = std::cell::Cell::new(MAX_EXPANDED_VALUES);
    let ctx = Ctx {
        file: file.map(Path::to_path_buf),
        read,
        env,
        depth: 0,
        expansion_left: &expansion_left,
    };
    Parser::new(text, &ctx).document()
}

/// Drops a UTF-8 byte order mark, which some editors put at the start of files.
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Multiplier for a size suffix, as nats-server's config parser defines them: a single
/// letter is a power of 1000, the letter followed by `b`, `i` or `ib` a power of 1024.
/// Case-insensitive; an empty suffix is 1.
pub(crate) fn size_multiplier(suffix: &str) -> Option<i64> {
    let s = suffix.to_ascii_lowercase();
    let (letter, rest) = match s.char_indices().nth(1) {
        Some((i, _)) => s.split_at(i),
        None => (s.as_str(), ""),
    };
    let power: u32 = match letter {
        "" => return Some(1),
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        "e" => 6,
        _ => return None,
    };
    let base: i64 = match rest {
        "" => 1000,
        "b" | "i" | "ib" => 1024,
        _ => return None,
    };
    base.checked_pow(power)
}

/// Include files may include others; a cycle would otherwise recurse forever.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Blocks and arrays nest by recursion; a hostile file must get an error, not a stack
/// overflow.
const MAX_NESTING: usize = 64;

/// `$name` copies the value it names, so a few lines that each repeat the previous
/// variable several times grow exponentially; a real config copies a few hundred values.
const MAX_EXPANDED_VALUES: usize = 100_000;

/// Counts the values in `v`, stopping once the count passes `limit`.
fn count_values(v: &Value, limit: usize) -> usize {
    let mut n = 1;
    let children: Box<dyn Iterator<Item = &Value>> = match &v.kind {
        ValueKind::Table(t) => Box::new(t.values()),
        ValueKind::Array(a) => Box::new(a.iter()),
        _ => Box::new(std::iter::empty()),
    };
    for c in children {
        if n > limit {
            break;
        }
        n += count_values(c, limit - n);
    }
    n
}

struct Ctx<'a> {
    file: Option<PathBuf>,
    read: &'a dyn Fn(&Path) -> io::Result<String>,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Include nesting plus environment-value nesting (a variable's value may itself
    /// refer to a variable).
    depth: usize,
    /// How many more values `$variable` copies may create in this whole parse (shared
    /// with includes and environment values).
    expansion_left: &'a std::cell::Cell<usize>,
}

impl Ctx<'_> {
    fn file_name(&self) -> Option<String> {
        self.file.as_ref().map(|p| p.display().to_string())
    }

    fn base_dir(&self) -> PathBuf {
        match self.file.as_ref().and_then(|f| f.parent()) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// One block being built; variable lookups search these from the innermost outwards.
struct Frame {
    entries: Map<String, Value>,
    /// Key path from the top of the document; `None` inside arrays, where a path cannot
    /// name the block.
    path: Option<Vec<String>>,
}

/// Where a value sits, which decides what may follow it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Top,
    Block,
    Array,
}

/// What the separator after a value said about the enclosing block or array.
#[derive(PartialEq, Eq)]
enum After {
    More,
    Closed,
}

struct Parser<'c, 'a> {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    ctx: &'c Ctx<'a>,
    frames: Vec<Frame>,
    used: BTreeSet<Vec<String>>,
    /// Blocks and arrays currently open.
    nesting: usize,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_newline(c: char) -> bool {
    c == '\n' || c == '\r'
}

fn is_size_letter(c: char) -> bool {
    matches!(c.to_ascii_lowercase(), 'k' | 'm' | 'g' | 't' | 'p' | 'e')
}

/// Characters that end a bare (unquoted) value.
fn ends_bare(c: char) -> bool {
    is_blank(c) || is_newline(c) || matches!(c, ';' | ',' | ']' | '}')
}

fn show(c: char) -> String {
    match c {
        '\n' => "new line".into(),
        '\r' => "carriage return".into(),
        '\t' => "tab".into(),
        c => format!("'{c}'"),
    }
}

impl<'c, 'a> Parser<'c, 'a> {
    fn new(text: &str, ctx: &'c Ctx<'a>) -> Self {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            line: 1,
            ctx,
            frames: Vec::new(),
            used: BTreeSet::new(),
            nesting: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn err_at(&self, line: usize, message: impl Into<String>) -> NatsConfError {
        NatsConfError {
            file: self.ctx.file_name(),
            line,
            message: message.into(),
        }
    }

    fn err(&self, message: impl Into<String>) -> NatsConfError {
        self.err_at(self.line, message)
    }

    /// Origin recorded on each value: "file:line", so later errors can point at it.
    fn origin(&self, line: usize) -> String {
        match self.ctx.file_name() {
            Some(f) => format!("{f}:{line}"),
            None => format!("line {line}"),
        }
    }

    fn value(&self, line: usize, kind: ValueKind) -> Value {
        Value::new(Some(&self.origin(line)), kind)
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.bump();
        }
    }

    /// True when a comment starts here (`#` or `//`).
    fn at_comment(&self) -> bool {
        match self.peek() {
            Some('#') => true,
            Some('/') => self.peek_at(1) == Some('/'),
            _ => false,
        }
    }

    /// Skips a comment up to, not including, the end of its line.
    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|c| !is_newline(c)) {
            self.bump();
        }
    }

    /// Skips whitespace, new lines and comments.
    fn skip_space(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some(_) if self.at_comment() => self.skip_comment(),
                _ => return,
            }
        }
    }

    fn document(mut self) -> Result<Document, NatsConfError> {
        self.frames.push(Frame {
            entries: Map::new(),
            path: Some(Vec::new()),
        });
        loop {
            self.skip_space();
            match self.peek() {
                None => break,
                // nats-server accepts the whole file wrapped in one pair of braces.
                Some('{') | Some('}') => {
                    self.bump();
                }
                Some(_) => {
                    let key = self.entry()?;
                    self.after_value(Place::Top, key.as_deref())?;
                }
            }
        }
        let table = self.pop_frame()?;
        Ok(Document {
            table,
            used_variables: self.used,
        })
    }

    fn pop_frame(&mut self) -> Result<Map<String, Value>, NatsConfError> {
        match self.frames.pop() {
            Some(frame) => Ok(frame.entries),
            None => Err(self.err("internal error: block stack is empty")),
        }
    }

    /// One `key value` (or `include file`) into the innermost block. Returns the key,
    /// for error messages about what follows the value (`None` after an include).
    fn entry(&mut self) -> Result<Option<String>, NatsConfError> {
        let key_line = self.line;
        let (key, quoted) = self.key()?;
        if !quoted
            && key.eq_ignore_ascii_case("include")
            && self.peek().is_some_and(char::is_whitespace)
        {
            self.include(key_line)?;
            return Ok(None);
        }
        // Like nats-server, new lines may come between a key and its separator.
        self.skip_space_no_comment();
        match self.peek() {
            None => return Err(self.err(format!("key '{key}' has no value"))),
            Some('=') | Some(':') => {
                self.bump();
                self.skip_blanks();
                match self.peek() {
                    Some(c) if is_newline(c) => {
                        return Err(self.err(format!(
                            "expected a value for key '{key}' but found a new line"
                        )))
                    }
                    None => {
                        return Err(self.err(format!(
                            "expected a value for key '{key}' but found the end of the file"
                        )))
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        let path = self
            .frames
            .last()
            .and_then(|f| f.path.clone())
            .map(|mut p| {
                p.push(key.clone());
                p
            });
        let value = self.value_for(&key, path)?;
        match self.frames.last_mut() {
            Some(frame) => {
                frame.entries.insert(key.clone(), value);
                Ok(Some(key))
            }
            None => Err(self.err("internal error: block stack is empty")),
        }
    }

    fn skip_space_no_comment(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// A key: quoted with either quote (taken verbatim) or bare up to whitespace or a
    /// separator. Returns the key and whether it was quoted.
    fn key(&mut self) -> Result<(String, bool), NatsConfError> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                let start_line = self.line;
                self.bump();
                let mut key = String::new();
                loop {
                    match self.bump() {
                        Some(c) if c == q => return Ok((key, true)),
                        Some(c) => key.push(c),
                        None => {
                            return Err(self.err_at(
                                start_line,
                                format!(
                                    "quoted key {q}{key} is not closed before the end of the file"
                                ),
                            ))
                        }
                    }
                }
            }
            Some(c @ ('=' | ':')) => Err(self.err(format!(
                "found the separator '{c}' where a key was expected"
            ))),
            Some(c @ (',' | ';' | ']' | '[')) => {
                Err(self.err(format!("found '{c}' where a key was expected")))
            }
            _ => {
                let mut key = String::new();
                while let Some(c) = self.peek() {
                    // '{' and '[' also end a bare key so `cluster{...}` reads as meant.
                    if c.is_whitespace() || matches!(c, '=' | ':' | '{' | '[') {
                        break;
                    }
                    key.push(c);
                    self.bump();
                }
                Ok((key, false))
            }
        }
    }

    /// `include <file>`: the file is parsed on its own (its own variable scope, as in
    /// nats-server) and its keys are merged into the current block.
    fn include(&mut self, line: usize) -> Result<(), NatsConfError> {
        self.skip_blanks();
        let name =
            match self.peek() {
                None => {
                    return Err(
                        self.err("expected a file name after include, found the end of the file")
                    )
                }
                Some(c) if is_newline(c) => {
                    return Err(self.err("expected a file name after include, found a new line"))
                }
                Some(q @ ('"' | '\'')) => {
                    self.bump();
                    let mut name = String::new();
                    loop {
                        match self.bump() {
                            Some(c) if c == q => break,
                            Some(c) => name.push(c),
                            None => return Err(self.err_at(
                                line,
                                "quoted include file name is not closed before the end of the file",
                            )),
                        }
                    }
                    name
                }
                Some(c) if matches!(c, '[' | '{' | '(' | '-' | '\\') || c.is_ascii_digit() => {
                    return Err(self.err(format!(
                        "expected a file name after include, found {}",
                        show(c)
                    )))
                }
                Some(_) => {
                    let mut name = String::new();
                    while let Some(c) = self.peek() {
                        if c.is_whitespace() || c == ';' || c == '}' {
                            break;
                        }
                        name.push(c);
                        self.bump();
                    }
                    name
                }
            };
        if self.ctx.depth >= MAX_INCLUDE_DEPTH {
            return Err(self.err_at(
                line,
                format!("include '{name}' nests more than {MAX_INCLUDE_DEPTH} levels deep (an include cycle?)"),
            ));
        }
        let path = self.ctx.base_dir().join(&name);
        let text = (self.ctx.read)(&path).map_err(|e| {
            self.err_at(
                line,
                format!(
                    "cannot read include file '{name}' ({}): {e}",
                    path.display()
                ),
            )
        })?;
        let sub_ctx = Ctx {
            file: Some(path),
            read: self.ctx.read,
            env: self.ctx.env,
            depth: self.ctx.depth + 1,
            expansion_left: self.ctx.expansion_left,
        };
        let mut sub = Parser::new(strip_bom(&text), &sub_ctx);
        // Nesting counts across files, so includes cannot multiply the limit.
        sub.nesting = self.nesting;
        let doc = sub.document()?;
        let frame = match self.frames.last_mut() {
            Some(frame) => frame,
            None => return Err(self.err("internal error: block stack is empty")),
        };
        if let Some(prefix) = &frame.path {
            for used in doc.used_variables {
                let mut full = prefix.clone();
                full.extend(used);
                self.used.insert(full);
            }
        }
        frame.entries.extend(doc.table);
        Ok(())
    }

    /// After a value: blanks, then a comment or the separator the place allows.
    fn after_value(&mut self, place: Place, key: Option<&str>) -> Result<After, NatsConfError> {
        loop {
            self.skip_blanks();
            if self.at_comment() {
                self.skip_comment();
                continue;
            }
            let c = self.peek();
            let done = match (place, c) {
                (Place::Top, None) => return Ok(After::More),
                (Place::Top, Some(c)) if is_newline(c) || matches!(c, ';' | ',' | '}') => {
                    Some(After::More)
                }
                (Place::Block, Some(c)) if is_newline(c) || matches!(c, ';' | ',') => {
                    Some(After::More)
                }
                (Place::Block, Some('}')) => Some(After::Closed),
                (Place::Array, Some(c)) if is_newline(c) || c == ',' => Some(After::More),
                (Place::Array, Some(']')) => Some(After::Closed),
                _ => None,
            };
            if let Some(after) = done {
                self.bump();
                return Ok(after);
            }
            let what = match key {
                Some(k) => format!("the value of key '{k}'"),
                None if place == Place::Array => "an array element".to_string(),
                None => "an include".to_string(),
            };
            let expected = match place {
                Place::Top => "a new line, ';', ',' or a comment",
                Place::Block => "a new line, ';', ',', '}' or a comment",
                Place::Array => "a new line, ',', ']' or a comment",
            };
            return Err(match c {
                None => self.err(format!(
                    "expected {expected} after {what}, found the end of the file"
                )),
                Some(c) => self.err(format!(
                    "expected {expected} after {what}, found {}",
                    show(c)
                )),
            });
        }
    }

    /// A value for `key` (used in messages); `path` is the key path when it is known.
    fn value_for(&mut self, key: &str, path: Option<Vec<String>>) -> Result<Value, NatsConfError> {
        let line = self.line;
        match self.peek() {
            None => Err(self.err(format!(
                "expected a value for key '{key}' but found the end of the file"
            ))),
            Some(c) if is_newline(c) => Err(self.err(format!(
                "expected a value for key '{key}' but found a new line"
            ))),
            Some(c @ ('}' | ']' | ',' | ';')) => {
                Err(self.err(format!("expected a value for key '{key}' but found '{c}'")))
            }
            Some('{') => self.block(path),
            Some('[') => self.array(),
            Some('\'') => self.raw_string(),
            Some('"') => self.quoted_string(),
            Some('(') => self.paren_block(),
            Some('-') => self.negative_number(),
            Some('.') => Err(self.err(format!(
                "value of key '{key}': a number must start with a digit, not '.'"
            ))),
            Some(c) if c.is_ascii_digit() => self.number_like(),
            Some(_) => self.bare(line),
        }
    }

    /// Runs `f` one nesting level deeper, refusing to go past `MAX_NESTING`.
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, NatsConfError>,
    ) -> Result<T, NatsConfError> {
        if self.nesting >= MAX_NESTING {
            return Err(self.err(format!(
                "blocks and arrays nest more than {MAX_NESTING} levels deep"
            )));
        }
        self.nesting += 1;
        let result = f(self);
        self.nesting -= 1;
        result
    }

    fn block(&mut self, path: Option<Vec<String>>) -> Result<Value, NatsConfError> {
        self.nested(|p| p.block_inner(path))
    }

    fn array(&mut self) -> Result<Value, NatsConfError> {
        self.nested(Self::array_inner)
    }

    fn block_inner(&mut self, path: Option<Vec<String>>) -> Result<Value, NatsConfError> {
        let open_line = self.line;
        self.bump();
        self.frames.push(Frame {
            entries: Map::new(),
            path,
        });
        loop {
            self.skip_space();
            match self.peek() {
                None => {
                    return Err(self.err(format!(
                    "the block opened on line {open_line} is not closed before the end of the file"
                )))
                }
                Some('}') => {
                    self.bump();
                    break;
                }
                Some(_) => {
                    let key = self.entry()?;
                    if self.peek().is_none() {
                        return Err(self.err(format!(
                            "the block opened on line {open_line} is not closed before the end of the file"
                        )));
                    }
                    if self.after_value(Place::Block, key.as_deref())? == After::Closed {
                        break;
                    }
                }
            }
        }
        let entries = self.pop_frame()?;
        Ok(self.value(open_line, ValueKind::Table(entries)))
    }

    fn array_inner(&mut self) -> Result<Value, NatsConfError> {
        let open_line = self.line;
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => {
                    return Err(self.err(format!(
                    "the array opened on line {open_line} is not closed before the end of the file"
                )))
                }
                Some(']') => {
                    self.bump();
                    break;
                }
                Some(',') => {
                    return Err(self.err(format!(
                        "unexpected ',' in the array opened on line {open_line}"
                    )))
                }
                Some(_) => {
                    items.push(self.value_for("(array element)", None)?);
                    if self.peek().is_none() {
                        return Err(self.err(format!(
                            "the array opened on line {open_line} is not closed before the end of the file"
                        )));
                    }
                    if self.after_value(Place::Array, None)? == After::Closed {
                        break;
                    }
                }
            }
        }
        Ok(self.value(open_line, ValueKind::Array(items)))
    }

    fn raw_string(&mut self) -> Result<Value, NatsConfError> {
        let line = self.line;
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                Some('\'') => return Ok(self.value(line, ValueKind::String(s))),
                Some(c) => s.push(c),
                None => {
                    return Err(self.err_at(
                        line,
                        "string in single quotes is not closed before the end of the file",
                    ))
                }
            }
        }
    }

    fn quoted_string(&mut self) -> Result<Value, NatsConfError> {
        let line = self.line;
        self.bump();
        let mut bytes = Vec::new();
        loop {
            match self.bump() {
                Some('"') => break,
                Some('\\') => self.escape(&mut bytes)?,
                Some(c) => push_char(&mut bytes, c),
                None => {
                    return Err(self.err_at(
                        line,
                        "string in double quotes is not closed before the end of the file",
                    ))
                }
            }
        }
        let s = self.utf8(bytes)?;
        Ok(self.value(line, ValueKind::String(s)))
    }

    fn utf8(&self, bytes: Vec<u8>) -> Result<String, NatsConfError> {
        String::from_utf8(bytes)
            .map_err(|_| self.err("string is not valid UTF-8 after decoding its \\x escapes"))
    }

    /// One escape after a backslash (already consumed), appended as bytes since `\xHH`
    /// may produce any byte.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), NatsConfError> {
        let c = self.bump();
        match c {
            Some('t') => out.push(b'\t'),
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('"') => out.push(b'"'),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = [self.bump(), self.bump()].iter().flatten().collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) if hex.len() == 2 => out.push(b),
                    _ => {
                        return Err(self.err(format!(
                            "expected two hexadecimal digits after '\\x', found '{hex}'"
                        )))
                    }
                }
            }
            other => {
                let found = other
                    .map(show)
                    .unwrap_or_else(|| "the end of the file".into());
                return Err(self.err(format!(
                    "invalid escape '\\' followed by {found}; the escapes are \\xHH, \\t, \\n, \\r, \\\" and \\\\"
                )));
            }
        }
        Ok(())
    }

    /// `( ... )`: raw text up to a line that holds only `)`.
    fn paren_block(&mut self) -> Result<Value, NatsConfError> {
        let line = self.line;
        self.bump();
        let mut s = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(self.err_at(
                        line,
                        "the ( block is not closed by a line holding only ')' before the end of the file",
                    ))
                }
                Some('\n') if self.peek_at(1) == Some(')') => {
                    let closes = match self.peek_at(2) {
                        None | Some('\n') => true,
                        Some('\r') => matches!(self.peek_at(3), None | Some('\n')),
                        Some(_) => false,
                    };
                    if closes {
                        self.bump();
                        self.bump();
                        return Ok(self.value(line, ValueKind::String(s)));
                    }
                    s.push('\n');
                    self.bump();
                }
                Some(c) => {
                    s.push(c);
                    self.bump();
                }
            }
        }
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }

    fn text_from(&self, start: usize) -> String {
        self.chars[start..self.pos].iter().collect()
    }

    /// After the digits of a number (and possibly a size letter): whether the number
    /// ends here. A digit counts, so `1m30s` stops after `1m` and then fails, as in
    /// nats-server (which wants such durations quoted).
    fn number_ends_here(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) => ends_bare(c) || c.is_ascii_digit(),
        }
    }

    /// A value starting with a digit: integer (maybe with a size suffix), float,
    /// date-time, dotted address such as 127.0.0.1:4222, or a bare string like `2s`.
    fn number_like(&mut self) -> Result<Value, NatsConfError> {
        let line = self.line;
        let start = self.pos;
        self.digits();
        match self.peek() {
            Some('-') => {
                if self.pos - start != 4 {
                    return Err(self.err(format!(
                        "'{}-': a date must be in full Zulu form YYYY-MM-DDTHH:MM:SSZ",
                        self.text_from(start)
                    )));
                }
                self.datetime(start, line)
            }
            Some('.') => self.fraction(start, line),
            Some(c) if is_size_letter(c) => {
                self.bump();
                while self
                    .peek()
                    .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'b' | 'i'))
                {
                    self.bump();
                }
                if self.number_ends_here() {
                    let tok = self.text_from(start);
                    self.integer(&tok, line)
                } else {
                    self.pos = start;
                    self.bare(line)
                }
            }
            None => {
                let tok = self.text_from(start);
                self.integer(&tok, line)
            }
            Some(c) if ends_bare(c) => {
                let tok = self.text_from(start);
                self.integer(&tok, line)
            }
            Some(_) => {
                self.pos = start;
                self.bare(line)
            }
        }
    }

    fn negative_number(&mut self) -> Result<Value, NatsConfError> {
        let line = self.line;
        let start = self.pos;
        self.bump();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {}
            Some('.') => return Err(self.err("a number must start with a digit, not '.'")),
            other => {
                let found = other
                    .map(show)
                    .unwrap_or_else(|| "the end of the file".into());
                return Err(self.err(format!("expected a digit after '-', found {found}")));
            }
        }
        self.digits();
        match self.peek() {
            Some('.') => self.fraction(start, line),
            Some(c) if is_size_letter(c) => {
                self.bump();
                while self
                    .peek()
                    .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'b' | 'i'))
                {
                    self.bump();
                }
                if self.number_ends_here() {
                    let tok = self.text_from(start);
                    self.integer(&tok, line)
                } else {
                    self.pos = start;
                    self.bare(line)
                }
            }
            _ => {
                let tok = self.text_from(start);
                self.integer(&tok, line)
            }
        }
    }

    /// The part after the '.' of a float; a second '.' makes it an address string.
    fn fraction(&mut self, start: usize, line: usize) -> Result<Value, NatsConfError> {
        self.bump();
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            let found = self
                .peek()
                .map(show)
                .unwrap_or_else(|| "the end of the file".into());
            return Err(self.err(format!(
                "'{}': expected a digit after the '.', found {found}",
                self.text_from(start)
            )));
        }
        self.digits();
        if self.peek() == Some('.') {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '-'))
            {
                self.bump();
            }
            let s = self.text_from(start);
            return Ok(self.value(line, ValueKind::String(s)));
        }
        let tok = self.text_from(start);
        match tok.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(self.value(line, ValueKind::Float(f))),
            _ => Err(self.err(format!("float '{tok}' is out of range"))),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, with "YYYY" consumed; kept as a string.
    fn datetime(&mut self, start: usize, line: usize) -> Result<Value, NatsConfError> {
        const SHAPE: &str = "-00-00T00:00:00Z";
        for want in SHAPE.chars() {
            let got = self.peek();
            let ok = match (want, got) {
                ('0', Some(c)) => c.is_ascii_digit(),
                (w, Some(c)) => w == c,
                (_, None) => false,
            };
            if !ok {
                let found = got
                    .map(show)
                    .unwrap_or_else(|| "the end of the file".into());
                return Err(self.err(format!(
                    "date '{}': expected the form YYYY-MM-DDTHH:MM:SSZ, found {found}",
                    self.text_from(start)
                )));
            }
            self.bump();
        }
        let s = self.text_from(start);
        Ok(self.value(line, ValueKind::String(s)))
    }

    /// An integer token with an optional size suffix (`2MB`, `1k`, `-1`).
    fn integer(&self, tok: &str, line: usize) -> Result<Value, NatsConfError> {
        let n = parse_sized_integer(tok).map_err(|m| self.err_at(line, m))?;
        Ok(self.value(line, ValueKind::I64(n)))
    }

    /// A bare string up to a blank, new line, `;`, `,`, `]` or `}`; the words
    /// true/false/yes/no/on/off (any case) are booleans and `$name` is a variable.
    fn bare(&mut self, line: usize) -> Result<Value, NatsConfError> {
        let mut bytes = Vec::new();
        let mut escaped = false;
        while let Some(c) = self.peek() {
            if ends_bare(c) {
                break;
            }
            self.bump();
            if c == '\\' {
                escaped = true;
                self.escape(&mut bytes)?;
            } else {
                push_char(&mut bytes, c);
            }
        }
        let s = self.utf8(bytes)?;
        if escaped {
            return Ok(self.value(line, ValueKind::String(s)));
        }
        match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => return Ok(self.value(line, ValueKind::Boolean(true))),
            "false" | "no" | "off" => return Ok(self.value(line, ValueKind::Boolean(false))),
            _ => {}
        }
        match s.strip_prefix('$') {
            Some(name) => self.variable(name, line),
            None => Ok(self.value(line, ValueKind::String(s))),
        }
    }

    fn variable(&mut self, name: &str, line: usize) -> Result<Value, NatsConfError> {
        // A bcrypt hash ($2a$...) is a password, not a variable.
        if name.starts_with("2a$") {
            return Ok(self.value(line, ValueKind::String(format!("${name}"))));
        }
        for frame in self.frames.iter().rev() {
            if let Some(v) = frame.entries.get(name) {
                let left = self.ctx.expansion_left.get();
                let n = count_values(v, left);
                if n > left {
                    return Err(self.err_at(
                        line,
                        format!("variable reference '${name}': variables expand to more than {MAX_EXPANDED_VALUES} values in this file; refusing to grow further"),
                    ));
                }
                self.ctx.expansion_left.set(left - n);
                let v = v.clone();
                if let Some(path) = &frame.path {
                    let mut full = path.clone();
                    full.push(name.to_string());
                    self.used.insert(full);
                }
                return Ok(v);
            }
        }
        match (self.ctx.env)(name) {
            Some(text) => self.env_value(name, &text, line),
            None => Err(self.err_at(
                line,
                format!(
                    "variable reference '${name}' can not be found: no key '{name}' is defined earlier in this block or an enclosing one, and there is no such environment variable"
                ),
            )),
        }
    }

    /// An environment variable's text read as a value (so "4333" is an integer and
    /// "2MB" a size), as nats-server does.
    fn env_value(&mut self, name: &str, text: &str, line: usize) -> Result<Value, NatsConfError> {
        let fail = |m: String| {
            self.err_at(
                line,
                format!(
                    "variable reference '${name}' could not be parsed from the environment: {m}"
                ),
            )
        };
        if self.ctx.depth >= MAX_INCLUDE_DEPTH {
            return Err(fail(
                "variables refer to each other too deeply (a cycle?)".into(),
            ));
        }
        if text.trim().is_empty() {
            return Ok(self.value(line, ValueKind::String(String::new())));
        }
        let sub_ctx = Ctx {
            file: None,
            read: self.ctx.read,
            env: self.ctx.env,
            depth: self.ctx.depth + 1,
            expansion_left: self.ctx.expansion_left,
        };
        let mut sub = Parser::new(text, &sub_ctx);
        sub.nesting = self.nesting;
        sub.frames.push(Frame {
            entries: Map::new(),
            path: None,
        });
        sub.skip_blanks();
        let mut v = sub.value_for(name, None).map_err(|e| {
            // A nested variable already explains itself; do not wrap it once per level.
            if e.message.starts_with("variable reference") {
                self.err_at(line, e.message)
            } else {
                fail(e.message)
            }
        })?;
        sub.skip_space();
        if let Some(c) = sub.peek() {
            return Err(fail(format!("unexpected {} after the value", show(c))));
        }
        // Environment values that refer to each other multiply like `$name` copies do.
        let left = self.ctx.expansion_left.get();
        let n = count_values(&v, left);
        if n > left {
            return Err(fail(format!(
                "variables expand to more than {MAX_EXPANDED_VALUES} values; refusing to grow further"
            )));
        }
        self.ctx.expansion_left.set(left - n);
        // Point errors about this value at the line that used the variable.
        v = relabel(v, &self.origin(line));
        Ok(v)
    }
}

/// Re-labels a value (recursively) with a new origin.
fn relabel(v: Value, origin: &str) -> Value {
    let kind = match v.kind {
        ValueKind::Table(t) => ValueKind::Table(
            t.into_iter()
                .map(|(k, v)| (k, relabel(v, origin)))
                .collect(),
        ),
        ValueKind::Array(a) => {
            ValueKind::Array(a.into_iter().map(|v| relabel(v, origin)).collect())
        }
        other => other,
    };
    Value::new(Some(&origin.to_string()), kind)
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// `-12`, `2MB`, `1k`...: digits (with an optional leading '-') and a size suffix.
/// Shared with the loader, which accepts the same sizes inside strings.
pub(crate) fn parse_sized_integer(tok: &str) -> Result<i64, String> {
    let tok = tok.trim();
    let digits_end = tok
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(tok.len());
    let (num, suffix) = tok.split_at(digits_end);
    let n: i64 = num.parse().map_err(|e: std::num::ParseIntError| {
        if matches!(
            e.kind(),
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
        ) {
            format!("integer '{tok}' is out of range")
        } else {
            format!("expected an integer, found '{tok}'")
        }
    })?;
    let suffix = suffix.trim();
    let mult = size_multiplier(suffix).ok_or_else(|| {
        format!(
            "'{tok}': unknown size suffix '{suffix}' (sizes take k, m, g, t, p, e for powers of 1000, or kb/ki/kib, mb/mi/mib, ... for powers of 1024)"
        )
    })?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("integer '{tok}' is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn no_files(p: &Path) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no file {}", p.display()),
        ))
    }

    fn parse(text: &str) -> Result<Map<String, Value>, NatsConfError> {
        parse_with(text, None, &no_files, &no_env).map(|d| d.table)
    }

    fn ok(text: &str) -> Map<String, Value> {
        match parse(text) {
            Ok(m) => m,
            Err(e) => panic!("parse failed for {text:?}: {e}"),
        }
    }

    fn kind<'m>(m: &'m Map<String, Value>, key: &str) -> &'m ValueKind {
        &m.get(key).unwrap_or_else(|| panic!("missing {key}")).kind
    }

    fn int(m: &Map<String, Value>, key: &str) -> i64 {
        match kind(m, key) {
            ValueKind::I64(n) => *n,
            other => panic!("{key} is {other:?}"),
        }
    }

    fn string(m: &Map<String, Value>, key: &str) -> String {
        match kind(m, key) {
            ValueKind::String(s) => s.clone(),
            other => panic!("{key} is {other:?}"),
        }
    }

    fn boolean(m: &Map<String, Value>, key: &str) -> bool {
        match kind(m, key) {
            ValueKind::Boolean(b) => *b,
            other => panic!("{key} is {other:?}"),
        }
    }

    fn table<'m>(m: &'m Map<String, Value>, key: &str) -> &'m Map<String, Value> {
        match kind(m, key) {
            ValueKind::Table(t) => t,
            other => panic!("{key} is {other:?}"),
        }
    }

    fn array<'m>(m: &'m Map<String, Value>, key: &str) -> &'m Vec<Value> {
        match kind(m, key) {
            ValueKind::Array(a) => a,
            other => panic!("{key} is {other:?}"),
        }
    }

    fn err(text: &str) -> NatsConfError {
        match parse(text) {
            Ok(m) => panic!("expected an error for {text:?}, got {m:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn every_separator() {
        let m = ok("a = 1\nb: 2\nc 3\nd=4\ne:5\nf\t6\ng  =  7\n");
        for (k, v) in [
            ("a", 1),
            ("b", 2),
            ("c", 3),
            ("d", 4),
            ("e", 5),
            ("f", 6),
            ("g", 7),
        ] {
            assert_eq!(int(&m, k), v, "{k}");
        }
    }

    #[test]
    fn top_level_terminators_and_braces() {
        let m = ok("a: 1; b: 2, c: 3\n");
        assert_eq!((int(&m, "a"), int(&m, "b"), int(&m, "c")), (1, 2, 3));
        let m = ok("{ port: 4222 }\n");
        assert_eq!(int(&m, "port"), 4222);
        let m = ok("{\n  port: 4222\n}\n");
        assert_eq!(int(&m, "port"), 4222);
        // CRLF line endings.
        let m = ok("a: 1\r\nb: \"x\"\r\n");
        assert_eq!((int(&m, "a"), string(&m, "b")), (1, "x".into()));
    }

    #[test]
    fn comments() {
        let m = ok("# hash\n// slashes\na: 1 # trailing\nb: 2 // trailing\n  # indented\nc { # in block\n d: 3 // x\n}\nurl: nats://h:4222\n");
        assert_eq!(int(&m, "a"), 1);
        assert_eq!(int(&m, "b"), 2);
        assert_eq!(int(table(&m, "c"), "d"), 3);
        // `//` inside a bare value is part of it, not a comment.
        assert_eq!(string(&m, "url"), "nats://h:4222");
    }

    #[test]
    fn blocks() {
        let m = ok("jetstream {\n  store_dir: \"/data\"\n  max_mem: 1G\n}\nouter { inner { x: 1 }, y: 2; z: 3 }\nnosep{a:1}\nnl\n{\n b: 2\n}\nempty {}\n");
        let js = table(&m, "jetstream");
        assert_eq!(string(js, "store_dir"), "/data");
        assert_eq!(int(js, "max_mem"), 1_000_000_000);
        let outer = table(&m, "outer");
        assert_eq!(int(table(outer, "inner"), "x"), 1);
        assert_eq!((int(outer, "y"), int(outer, "z")), (2, 3));
        assert_eq!(int(table(&m, "nosep"), "a"), 1);
        assert_eq!(int(table(&m, "nl"), "b"), 2);
        assert!(table(&m, "empty").is_empty());
    }

    #[test]
    fn arrays() {
        let m = ok("a: [1, 2, 3]\nb: [\n  \"x\"\n  'y'\n  z, # comment\n]\nc: []\nd: [ {u: 1}, {u: 2} ]\ne: [[1,2],[3]]\nf: [1,]\n");
        let a: Vec<_> = array(&m, "a").iter().map(|v| v.kind.clone()).collect();
        assert_eq!(
            a,
            vec![ValueKind::I64(1), ValueKind::I64(2), ValueKind::I64(3)]
        );
        let b: Vec<_> = array(&m, "b").iter().map(|v| v.kind.clone()).collect();
        assert_eq!(
            b,
            vec![
                ValueKind::String("x".into()),
                ValueKind::String("y".into()),
                ValueKind::String("z".into())
            ]
        );
        assert!(array(&m, "c").is_empty());
        assert_eq!(array(&m, "d").len(), 2);
        assert_eq!(array(&m, "e").len(), 2);
        assert_eq!(array(&m, "f").len(), 1);
        assert!(err("a: [1,,2]\n").message.contains("','"));
        assert!(err("a: [1 2]\n").message.contains("array element"));
    }

    #[test]
    fn strings() {
        let m = ok(concat!(
            "a: \"tab\\tnl\\ncr\\rq\\\"bs\\\\x\\x41\"\n",
            "b: 'raw \\t $x'\n",
            "c: bare-string_1/2\n",
            "d: \"with # and // inside\"\n",
            "e: \"multi\nline\"\n",
            "f: 127.0.0.1:4222\n",
            "g: 0.0.0.0\n",
            "h: \"\"\n",
            "'quoted key': 1\n",
            "\"dq key\" = 2\n",
            "i: bare\\x41\n",
        ));
        assert_eq!(string(&m, "a"), "tab\tnl\ncr\rq\"bs\\xA");
        assert_eq!(string(&m, "b"), "raw \\t $x");
        assert_eq!(string(&m, "c"), "bare-string_1/2");
        assert_eq!(string(&m, "d"), "with # and // inside");
        assert_eq!(string(&m, "e"), "multi\nline");
        assert_eq!(string(&m, "f"), "127.0.0.1:4222");
        assert_eq!(string(&m, "g"), "0.0.0.0");
        assert_eq!(string(&m, "h"), "");
        assert_eq!(int(&m, "quoted key"), 1);
        assert_eq!(int(&m, "dq key"), 2);
        assert_eq!(string(&m, "i"), "bareA");
        assert!(err("a: \"bad \\q\"\n").message.contains("escape"));
        assert!(err("a: \"open\n").message.contains("not closed"));
        assert!(err("a: 'open\n").message.contains("not closed"));
    }

    #[test]
    fn paren_block_string() {
        let m = ok("text (\n  line one\n  line two )\n)\nafter: 1\n");
        assert_eq!(string(&m, "text"), "\n  line one\n  line two )");
        assert_eq!(int(&m, "after"), 1);
        assert!(err("text (\n abc\n").message.contains("not closed"));
    }

    #[test]
    fn numbers_and_sizes() {
        let m = ok(concat!(
            "a: 42\nb: -1\nc: 1.5\nd: -2.25\n",
            "k: 1k\nkb: 1kb\nki: 1Ki\nkib: 1KiB\n",
            "m: 2M\nmb: 2MB\nmi: 2mi\nmib: 2MiB\n",
            "g: 1g\ngb: 1GB\nt: 1T\ntb: 1TB\np: 1p\npb: 1pb\ne: 1e\neb: 2eb\n",
            "neg: -1k\n",
        ));
        assert_eq!(int(&m, "a"), 42);
        assert_eq!(int(&m, "b"), -1);
        assert_eq!(kind(&m, "c"), &ValueKind::Float(1.5));
        assert_eq!(kind(&m, "d"), &ValueKind::Float(-2.25));
        assert_eq!(int(&m, "k"), 1000);
        for k in ["kb", "ki", "kib"] {
            assert_eq!(int(&m, k), 1024, "{k}");
        }
        assert_eq!(int(&m, "m"), 2_000_000);
        for k in ["mb", "mi", "mib"] {
            assert_eq!(int(&m, k), 2 * 1024 * 1024, "{k}");
        }
        assert_eq!(int(&m, "g"), 1_000_000_000);
        assert_eq!(int(&m, "gb"), 1 << 30);
        assert_eq!(int(&m, "t"), 1_000_000_000_000);
        assert_eq!(int(&m, "tb"), 1 << 40);
        assert_eq!(int(&m, "p"), 1_000_000_000_000_000);
        assert_eq!(int(&m, "pb"), 1 << 50);
        assert_eq!(int(&m, "e"), 1_000_000_000_000_000_000);
        assert_eq!(int(&m, "eb"), 2 << 60);
        assert_eq!(int(&m, "neg"), -1000);
        assert!(err("a: 16eb\n").message.contains("out of range"));
        assert!(err("a: 99999999999999999999\n")
            .message
            .contains("out of range"));
        assert!(err("a: 1kbb\n").message.contains("suffix"));
        assert!(err("a: .5\n").message.contains("digit"));
        assert!(err("a: 1.x\n").message.contains("digit"));
    }

    #[test]
    fn durations_stay_strings_like_nats() {
        let m = ok("a: 2s\nb: 500ms\nc: \"1m30s\"\nd: 1h\ne: '10m'\nf: 1m\n");
        assert_eq!(string(&m, "a"), "2s");
        assert_eq!(string(&m, "b"), "500ms");
        assert_eq!(string(&m, "c"), "1m30s");
        assert_eq!(string(&m, "d"), "1h");
        assert_eq!(string(&m, "e"), "10m");
        // Unquoted `1m` is a size (one million) in nats-server too.
        assert_eq!(int(&m, "f"), 1_000_000);
        // Unquoted 1m30s is rejected by nats-server as well; it must be quoted.
        let e = err("port: 1\nping_interval: 1m30s\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("ping_interval"), "{e}");
        assert!(e.message.contains("'3'"), "{e}");
        assert!(err("a: 1.5s\n").message.contains("'s'"));
    }

    #[test]
    fn booleans_any_case() {
        let m = ok("a: true\nb: FALSE\nc: Yes\nd: no\ne: ON\nf: off\ng: \"true\"\n");
        for (k, v) in [
            ("a", true),
            ("b", false),
            ("c", true),
            ("d", false),
            ("e", true),
            ("f", false),
        ] {
            assert_eq!(boolean(&m, k), v, "{k}");
        }
        assert_eq!(string(&m, "g"), "true");
    }

    #[test]
    fn datetime_kept_as_string() {
        let m = ok("t: 2016-05-04T18:53:41Z\n");
        assert_eq!(string(&m, "t"), "2016-05-04T18:53:41Z");
        assert!(err("t: 2016-05-04\n")
            .message
            .contains("YYYY-MM-DDTHH:MM:SSZ"));
        assert!(err("t: 12-3\n").message.contains("Zulu"));
    }

    #[test]
    fn variables_block_scoped_then_parent() {
        let m = ok(concat!(
            "size: 2MB\n",
            "name = \"top\"\n",
            "a { name: \"inner\", x: $name, y: $size }\n",
            "b: $name\n",
            "c { d { e: $size } }\n",
        ));
        let a = table(&m, "a");
        assert_eq!(string(a, "x"), "inner");
        assert_eq!(int(a, "y"), 2 * 1024 * 1024);
        assert_eq!(string(&m, "b"), "top");
        assert_eq!(int(table(table(&m, "c"), "d"), "e"), 2 * 1024 * 1024);
        // Only keys defined earlier count.
        let e = err("a: $later\nlater: 1\n");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("$later"), "{e}");
        // A bcrypt hash is not a variable.
        let m = ok("pass: $2a$11$abc\n");
        assert_eq!(string(&m, "pass"), "$2a$11$abc");
    }

    #[test]
    fn used_variables_are_reported() {
        let doc = parse_with(
            "TOKEN: 1\nx: $TOKEN\njetstream { D: 2, store_dir: $D }\n",
            None,
            &no_files,
            &no_env,
        )
        .expect("parses");
        assert!(doc.used_variables.contains(&vec!["TOKEN".to_string()]));
        assert!(doc
            .used_variables
            .contains(&vec!["jetstream".to_string(), "D".to_string()]));
        assert!(!doc.used_variables.contains(&vec!["x".to_string()]));
    }

    #[test]
    fn environment_variables_parsed_as_values() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("EL_PORT", "4333"),
            ("EL_SIZE", "2MB"),
            ("EL_NAME", "edge-1"),
            ("EL_BOOL", "yes"),
            ("EL_EMPTY", ""),
            ("EL_BAD", "two words"),
            ("EL_INDIRECT", "$EL_PORT"),
            ("EL_SELF", "$EL_SELF"),
            ("shadowed", "from-env"),
        ]);
        let lookup = |n: &str| env.get(n).map(|s| s.to_string());
        let p = |t: &str| parse_with(t, None, &no_files, &lookup).map(|d| d.table);
        let m = p("port: $EL_PORT\nsize: $EL_SIZE\nname: $EL_NAME\nb: $EL_BOOL\ne: $EL_EMPTY\ni: $EL_INDIRECT\nshadowed: 1\ns: $shadowed\n")
            .expect("parses");
        assert_eq!(int(&m, "port"), 4333);
        assert_eq!(int(&m, "size"), 2 * 1024 * 1024);
        assert_eq!(string(&m, "name"), "edge-1");
        assert!(boolean(&m, "b"));
        assert_eq!(string(&m, "e"), "");
        assert_eq!(int(&m, "i"), 4333);
        // Keys in scope win over the environment.
        assert_eq!(int(&m, "s"), 1);
        let e = p("x: 1\nbad: $EL_BAD\n").expect_err("two words");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("$EL_BAD"), "{e}");
        let e = p("x: $EL_SELF\n").expect_err("cycle");
        assert!(e.message.contains("$EL_SELF"), "{e}");
        let e = p("x: $EL_MISSING\n").expect_err("missing");
        assert!(e.message.contains("can not be found"), "{e}");
    }

    #[test]
    fn process_environment_is_the_default() {
        // A name no other test uses, so parallel tests cannot disturb it.
        std::env::set_var("EDGELEAF_NATSCONF_TEST_ONLY_PORT", "4555");
        let doc = parse_str("port: $EDGELEAF_NATSCONF_TEST_ONLY_PORT\n", None).expect("parses");
        assert_eq!(int(&doc.table, "port"), 4555);
    }

    #[test]
    fn include_relative_to_including_file() {
        let files: HashMap<PathBuf, &str> = HashMap::from([
            (
                PathBuf::from("/etc/edge/limits.conf"),
                "max_payload: 2MB\ninclude 'sub/more.conf'\n",
            ),
            (PathBuf::from("/etc/edge/sub/more.conf"), "ping_max: 5\n"),
            (
                PathBuf::from("/etc/edge/js.conf"),
                "store_dir: \"/var/x\"\n",
            ),
            (PathBuf::from("/etc/edge/loop.conf"), "include loop.conf\n"),
            (PathBuf::from("/etc/edge/broken.conf"), "a: 1\nb: [\n"),
            (PathBuf::from("/etc/edge/vars.conf"), "V: 7\nx: $V\n"),
        ]);
        let read = |p: &Path| {
            files
                .get(p)
                .map(|s| s.to_string())
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found"))
        };
        let main = Path::new("/etc/edge/main.conf");
        let p = |t: &str| parse_with(t, Some(main), &read, &no_env);
        let doc = p("port: 1\ninclude \"limits.conf\"\njetstream {\n  include js.conf\n}\nafter: $ping_max\nINCLUDE vars.conf\n")
            .expect("parses");
        let m = &doc.table;
        assert_eq!(int(m, "port"), 1);
        assert_eq!(int(m, "max_payload"), 2 * 1024 * 1024);
        assert_eq!(int(m, "ping_max"), 5);
        assert_eq!(string(table(m, "jetstream"), "store_dir"), "/var/x");
        assert_eq!(int(m, "after"), 5);
        assert_eq!(int(m, "x"), 7);
        assert!(doc.used_variables.contains(&vec!["V".to_string()]));
        assert!(doc.used_variables.contains(&vec!["ping_max".to_string()]));
        // Origins point at the included file and line.
        assert_eq!(
            m.get("ping_max").and_then(|v| v.origin()),
            Some("/etc/edge/sub/more.conf:1")
        );
        let e = p("a: 1\ninclude missing.conf\n").expect_err("missing include");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("missing.conf"), "{e}");
        let e = p("include loop.conf\n").expect_err("cycle");
        assert!(e.message.contains("include"), "{e}");
        let e = p("include broken.conf\n").expect_err("broken include");
        assert_eq!(e.file.as_deref(), Some("/etc/edge/broken.conf"));
        assert_eq!(e.line, 3);
        assert!(
            e.to_string()
                .starts_with("/etc/edge/broken.conf: Parse error on line 3: "),
            "{e}"
        );
        // `include` followed by a separator is an ordinary key.
        let m = ok("include: 5\n");
        assert_eq!(int(&m, "include"), 5);
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = err("port: 4222\nhttp: 8222\nserver_name: \n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("server_name"), "{e}");
        assert!(e.to_string().starts_with("Parse error on line 3: "), "{e}");
        let e = err("a: 1\nb {\n c: 1\n");
        assert!(e.message.contains("line 2"), "{e}");
        let e = err("a: 1\n= 2\n");
        assert_eq!(e.line, 2);
        let e = err("port: 4222 4333\n");
        assert!(e.message.contains("port"), "{e}");
        let e = err("lonely\n");
        assert!(e.message.contains("lonely"), "{e}");
        let e = err("a { b: 1 c: 2 }\n");
        assert!(e.message.contains("'b'"), "{e}");
    }

    #[test]
    fn no_panic_on_garbage() {
        let samples = [
            "",
            "{",
            "}",
            "[",
            "]",
            "\"",
            "'",
            "(",
            "a",
            "a:",
            "a=",
            "a: [",
            "a: {",
            "a: (",
            "a: \"\\x4",
            "a: \\",
            "$",
            "a: $",
            "a: -",
            "a: -.",
            "1: 2",
            "::",
            "a: 1..2",
            "a: 2016-",
            "a: 2016-01-01T00:00:00",
            "include",
            "include ",
            "include \"x",
            "a: \u{feff}",
            "ä: ö",
            "a: \"\\xff\"",
            "a: 1e",
            "a { include }",
            "a: [1,\n",
            "/",
            "/ x",
            "a: //",
            "#",
            "a: 9223372036854775807",
            "a: -9223372036854775808",
        ];
        for s in samples {
            let _ = parse(s);
            let _ = parse(&format!("{s}\n"));
        }
        assert_eq!(int(&ok("a: -9223372036854775808\n"), "a"), i64::MIN);
        // Deep nesting is an error, not a stack overflow.
        let deep = format!("a: {}\n", "[".repeat(100_000));
        assert!(err(&deep).message.contains("nest"));
        let deep = format!("a: {}\n", "{b: ".repeat(100_000));
        assert!(err(&deep).message.contains("nest"));
        let fine = format!("a: {}1{}\n", "[".repeat(60), "]".repeat(60));
        ok(&fine);
    }

    /// Found while writing the config_parser fuzz target (see fuzz/README.md): `$name`
    /// deep-copies the referenced value, so each line can multiply the document and a few
    /// hundred bytes expanded to billions of values (438 bytes ran out of memory).
    #[test]
    fn environment_expansion_is_bounded_too() {
        let env = |name: &str| -> Option<String> {
            let i: usize = name.strip_prefix('A')?.parse().ok()?;
            Some(if i == 0 {
                "[1,1,1,1,1,1,1,1]".into()
            } else {
                format!("[{}]", vec![format!("$A{}", i - 1); 8].join(","))
            })
        };
        let r = parse_with(
            "x = $A9\n",
            None,
            &|_| Err(io::ErrorKind::NotFound.into()),
            &env,
        );
        assert!(r.is_err(), "8^10 values from the environment were accepted");
    }

    #[test]
    fn variable_expansion_is_bounded() {
        let mut text = String::from("a0 = [1,1,1,1,1,1,1,1]\n");
        for i in 1..6 {
            let refs = vec![format!("$a{}", i - 1); 8].join(",");
            text += &format!("a{i} = [{refs}]\n");
        }
        assert!(
            parse(&text).is_err(),
            "{} bytes expanded to 8^6 values without complaint",
            text.len()
        );
    }

    #[test]
    fn format_impl_works_with_config_crate() {
        let built = config::Config::builder()
            .add_source(config::File::from_str(
                "port: 4333\njetstream { store_dir: /d }\n",
                NatsConf,
            ))
            .build()
            .expect("builds");
        assert_eq!(built.get_int("port").expect("port"), 4333);
        assert_eq!(built.get_string("jetstream.store_dir").expect("dir"), "/d");
        let bad = config::Config::builder()
            .add_source(config::File::from_str("a: [\n", NatsConf))
            .build();
        assert!(bad.is_err());
        assert_eq!(NatsConf.file_extensions(), &["conf"]);
    }

    #[test]
    fn size_multiplier_table() {
        assert_eq!(size_multiplier(""), Some(1));
        assert_eq!(size_multiplier("K"), Some(1000));
        assert_eq!(size_multiplier("KIB"), Some(1024));
        assert_eq!(size_multiplier("x"), None);
        assert_eq!(size_multiplier("kx"), None);
        assert_eq!(parse_sized_integer("64MB"), Ok(64 << 20));
        assert_eq!(parse_sized_integer("1 MB"), Ok(1 << 20));
        assert!(parse_sized_integer("MB").is_err());
    }

    proptest::proptest! {
        /// The file is user input: whatever it holds, the parser returns, never panics.
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,80}") {
            let _ = parse(&text);
        }

        /// The same, from an alphabet dense in the syntax's special characters.
        #[test]
        fn never_panics_on_syntax_soup(
            text in "[a-z0-9kmgbiKMGBI :=\\{\\}\\[\\],;#/\"'\\\\$()\n\r\t.x-]{0,80}"
        ) {
            let _ = parse(&text);
        }
    }
}
