//! The text form of the network tasks' jobs, as the agent writes them on a task's standard
//! input: one line per part, `kind key=value&key=value`, values percent-encoded. Credentials
//! travel in it, so they reach no command line.

/// One line: `kind k=v&k=v`.
pub fn line(out: &mut String, kind: &str, pairs: &[(&str, String)]) {
    out.push_str(kind);
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(if i == 0 { ' ' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out.push('\n');
}

/// A line read back: its kind and its pairs, decoded.
#[allow(clippy::type_complexity)]
pub fn parse_line(line: &str) -> Result<(&str, Vec<(&str, String)>), String> {
    let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
    let mut pairs = Vec::new();
    for p in rest.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        pairs.push((k, decode(v)?));
    }
    Ok((kind, pairs))
}

/// A value percent-encoded (all but letters, digits and `.-_:,@/`).
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b".-_:,@/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// [`encode`] undone; an error for a bad escape or bytes that are not UTF-8.
pub fn decode(v: &str) -> Result<String, String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = v
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "job text: a bad %-escape".to_string())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "job text: not UTF-8".to_string())
}
