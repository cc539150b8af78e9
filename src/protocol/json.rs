//! A small JSON reader for GLPI's replies (CONTACT, inventory status), bounded in depth so
//! that a hostile reply is a clear error, not a stack overflow.

use std::fmt;

/// Deepest nesting accepted (GLPI's replies use 3).
pub const MAX_DEPTH: usize = 32;
/// Most values (objects, arrays, strings, numbers… keys not counted apart) in one document,
/// as the XML reader bounds its elements: GLPI's replies hold a few dozen.
pub const MAX_VALUES: usize = 20_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JsonError {
    pub offset: usize,
    pub what: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "malformed JSON at byte {}: {}", self.offset, self.what)
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// Values read so far (bounded by [`MAX_VALUES`]).
    values: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &'static str) -> Result<T, JsonError> {
        Err(JsonError {
            offset: self.i,
            what,
        })
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return self.err("nested too deep");
        }
        self.values += 1;
        if self.values > MAX_VALUES {
            return self.err("too many values");
        }
        self.ws();
        match self.b.get(self.i) {
            None => self.err("unexpected end"),
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(Json::Obj(members));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return self.err("expected ':'");
                    }
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(Json::Obj(members));
                    }
                    return self.err("expected ',' or '}'");
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(Json::Arr(items));
                    }
                    return self.err("expected ',' or ']'");
                }
            }
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') if self.eat(b"true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Json::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Json::Null),
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                while self.i < self.b.len()
                    && matches!(
                        self.b[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
                match crate::core::decimal::parse_f64(text) {
                    Some(n) => Ok(Json::Num(n)),
                    None => self.err("bad number"),
                }
            }
            Some(_) => self.err("unexpected character"),
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        if !self.eat(b"\"") {
            return self.err("expected a string");
        }
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return self.err("unterminated string");
            };
            self.i += 1;
            match c {
                b'"' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let Some(&e) = self.b.get(self.i) else {
                        return self.err("unterminated escape");
                    };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self
                                .b
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok());
                            let code = hex.and_then(|h| u32::from_str_radix(h, 16).ok());
                            let Some(code) = code else {
                                return self.err("bad \\u escape");
                            };
                            self.i += 4;
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        _ => return self.err("bad escape"),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
}

/// Parses one JSON document (surrounding white space allowed).
pub fn parse(text: &[u8]) -> Result<Json, JsonError> {
    let mut p = Parser {
        b: text,
        i: 0,
        values: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != text.len() {
        return p.err("trailing data");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glpi_contact_answers_parse() {
        let j = parse(br#" {"status":"ok","expiration":24,"tasks":{"inventory":{"server":"glpi","version":"10.0.16"}},"disabled":["wakeonlan"],"x":[1.5e2,-3,true,null,"a\"\u00e9"]} "#).unwrap();
        assert_eq!(j.get("status").and_then(Json::as_str), Some("ok"));
        assert_eq!(j.get("expiration").and_then(Json::as_f64), Some(24.0));
        assert_eq!(
            j.get("tasks")
                .and_then(|t| t.get("inventory"))
                .and_then(|i| i.get("server"))
                .and_then(Json::as_str),
            Some("glpi")
        );
        let x = j.get("x").and_then(Json::as_array).unwrap();
        assert_eq!(x[0], Json::Num(150.0));
        assert_eq!(x[4], Json::Str("a\"é".into()));
    }

    #[test]
    fn hostile_or_broken_json_is_refused() {
        let many: String = format!(
            "{{{}\"last\":0}}",
            (0..200_000)
                .map(|i| format!("\"k{i}\":{i},"))
                .collect::<String>()
        );
        assert_eq!(parse(many.as_bytes()).unwrap_err().what, "too many values");
        let wide = format!("[{}0]", "0,".repeat(MAX_VALUES));
        assert_eq!(parse(wide.as_bytes()).unwrap_err().what, "too many values");
        let fits = format!("[{}0]", "0,".repeat(MAX_VALUES - 2));
        assert!(parse(fits.as_bytes()).is_ok());
        let deep = "[".repeat(100_000);
        assert_eq!(parse(deep.as_bytes()).unwrap_err().what, "nested too deep");
        for bad in [
            &b"{"[..],
            b"{\"a\" 1}",
            b"[1,]",
            b"\"abc",
            b"tru",
            b"{} x",
            b"",
            b"\"\\q\"",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
