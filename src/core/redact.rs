//! What must never reach a log line, a file name or a process argument: the userinfo of a URL
//! (`http://user:password@host/…`). Every URL the agent shows or names a file after goes
//! through [`url_without_userinfo`]; the HTTP layer's `Url` shows itself the same way.

use std::borrow::Cow;

/// `scheme://user:pw@host/path` → `scheme://host/path` (and `user:pw@host/path` without a
/// scheme → `host/path`): the authority's part up to its last `@` is left out. Anything else
/// is returned as it is.
pub fn url_without_userinfo(url: &str) -> Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}{}", &url[..start], &rest[at + 1..])),
        None => Cow::Borrowed(url),
    }
}

/// Compares a secret without stopping at the first difference nor at a length mismatch, so
/// that the time taken tells a caller nothing about how much of a guess was right.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let len = given.len().max(expected.len());
    let mut diff = u8::from(given.len() != expected.len()) | u8::from(expected.is_empty());
    for i in 0..len {
        let a = given.get(i).copied().unwrap_or(0);
        let b = expected.get(i).copied().unwrap_or(0xff);
        diff |= a ^ b;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_left_out_wherever_it_is() {
        assert_eq!(
            url_without_userinfo("http://admin:pw@ocs.example.org/ocsinventory"),
            "http://ocs.example.org/ocsinventory"
        );
        assert_eq!(
            url_without_userinfo("https://a:b@c@[::1]:8443/x?u=a@b"),
            "https://[::1]:8443/x?u=a@b"
        );
        assert_eq!(url_without_userinfo("admin:pw@host/x"), "host/x");
        assert_eq!(
            url_without_userinfo("http://h/p?mail=a@b"),
            "http://h/p?mail=a@b"
        );
        assert_eq!(url_without_userinfo("/var/lib/x"), "/var/lib/x");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
        assert!(!same_secret(b"", b""));
    }
}
