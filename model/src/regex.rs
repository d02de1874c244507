//! The one way raftgate compiles a user's regular expression, at write time (validation) and
//! at run time (the data plane), so that what is accepted is what runs.
//!
//! Traefik runs Go's RE2, where the Perl classes `\d`, `\w`, `\s` (and their negations `\D`,
//! `\W`, `\S`) and the word boundaries `\b`, `\B` are ASCII-only. The regex crate makes them
//! Unicode-aware, which changes what they match and makes them expensive: a Unicode `\w` alone
//! compiles to tens of kilobytes, so ``PathRegexp(`^/keys/\w{30}$`)`` would exceed the size
//! limit. [`compile`] therefore rewrites them to their ASCII meaning first, whatever the
//! flags, and then compiles with [`REGEX_SIZE_LIMIT`]. Errors are one line.
//!
//! Go also reads a `{` that does not open a repetition (`{n}`, `{n,}` or `{n,m}`, decimal
//! numbers without leading zeros) as a literal brace, and a `}` outside a repetition as a
//! literal too, where the regex crate refuses the first and reads `{,n}` as a repetition. So
//! ``HostRegexp(`{domain:[a-z]+}\.com`)`` compiles in Traefik v3 and matches the text
//! `{domain:` literally; [`go_syntax`] escapes such braces so the same text compiles here with
//! the same meaning, and refuses a repetition count above 1000 as Go does.
//! [`v2_placeholders`] finds the Traefik v2 `{name:regex}` placeholders such text usually is.

/// The largest compiled size of one regex, in bytes (1 MiB): it bounds memory per matcher.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles `pattern` for matching `str` (Go semantics for Perl classes, size-limited).
///
/// # Errors
///
/// A one-line message: the pattern's syntax error, or that it compiles to more than
/// [`REGEX_SIZE_LIMIT`] bytes.
pub fn compile(pattern: &str) -> Result<::regex::Regex, String> {
    ::regex::RegexBuilder::new(&go_syntax(pattern)?)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| describe(pattern, &e))
}

/// Compiles `pattern` for matching bytes (header and query values), like [`compile`].
///
/// # Errors
///
/// The same as [`compile`].
pub fn compile_bytes(pattern: &str) -> Result<::regex::bytes::Regex, String> {
    ::regex::bytes::RegexBuilder::new(&go_syntax(pattern)?)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| describe(pattern, &e))
}

/// One line about why `pattern` does not compile.
fn describe(pattern: &str, err: &::regex::Error) -> String {
    match err {
        ::regex::Error::CompiledTooBig(limit) => format!(
            "regular expression {pattern:?} is too large: it compiles to more than {limit} bytes \
             (the limit, REGEX_SIZE_LIMIT)"
        ),
        _ => format!("invalid regular expression {pattern:?}: {}", one_line(err)),
    }
}

/// Reduces the regex crate's multi-line diagnostic to its `error:` line.
fn one_line(err: &::regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Go's ASCII members of `\d`, `\w` and `\s`, as they are written inside a bracket class.
fn class_body(c: char) -> Option<&'static str> {
    match c.to_ascii_lowercase() {
        'd' => Some("0-9"),
        'w' => Some("0-9A-Za-z_"),
        's' => Some(r"\t\n\f\r "),
        _ => None,
    }
}

/// The largest count Go accepts in a repetition (`a{1000}`).
const GO_MAX_REPEAT: u32 = 1000;

/// Rewrites `pattern`, written for Go's RE2, into a regex-crate pattern with the same meaning.
///
/// Outside a bracket class, `\d`, `\w`, `\s` become ASCII classes (`(?-u:\w)`, ...), their
/// negations a negated class (`[^0-9A-Za-z_]`, which still matches any non-ASCII character, as
/// in Go), and `\b`, `\B` ASCII word boundaries. Inside a bracket class they expand to their
/// ranges (`[\w.-]` → `[0-9A-Za-z_.-]`), a negated one to a nested class (`[[^0-9]]`). Other
/// escapes, `\\` among them, are copied as they are, so `\\w` stays a backslash and a `w`;
/// `\p{..}` and `\x{..}` are copied whole. In a class, `[` (but for a POSIX class such as
/// `[:alpha:]`), `&` and `~` are escaped: Go reads them as themselves, where the regex crate
/// would open a nested class or a set operation.
///
/// Outside a bracket class, a `{` that opens a repetition Go accepts is copied with the
/// repetition; any other `{`, and any `}` left over, become `\{` and `\}` (Go reads them as
/// literals): `{name:[a-z]+}` → `\{name:[a-z]+\}`, `a{,2}` → `a\{,2\}`, `a{01}` → `a\{01\}`.
///
/// # Errors
///
/// A repetition count above 1000 (`a{1001}`, `a{2,1001}`), which Go refuses.
pub fn go_syntax(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    // 1 inside a bracket class, else 0 (Go has no nested classes).
    let mut depth = 0usize;
    // Whether the next character is the first of a class body (where `]` is a literal).
    let mut class_start = false;
    let mut chars = pattern.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let at_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    out.push('\\');
                    break;
                };
                match (depth, class_body(e)) {
                    (0, Some(_)) if e.is_ascii_lowercase() => {
                        out.push_str("(?-u:");
                        if e == 's' {
                            // Go's `\s` has no `\v`, which the regex crate's ASCII `\s` has.
                            out.push_str(r"[\t\n\f\r ]");
                        } else {
                            out.push('\\');
                            out.push(e);
                        }
                        out.push(')');
                    }
                    (_, Some(body)) if e.is_ascii_lowercase() => out.push_str(body),
                    (_, Some(body)) => {
                        // A negated class; inside a class, a nested one: `[a[^0-9]]`.
                        out.push_str("[^");
                        out.push_str(body);
                        out.push(']');
                    }
                    (0, None) if e == 'b' || e == 'B' => {
                        out.push_str("(?-u:\\");
                        out.push(e);
                        out.push(')');
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                        if matches!(e, 'p' | 'P' | 'x') && chars.peek().map(|p| p.1) == Some('{') {
                            // `\p{Greek}`, `\x{41}`: the braces belong to the escape.
                            for (_, p) in chars.by_ref() {
                                out.push(p);
                                if p == '}' {
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            '[' => {
                out.push('[');
                if depth > 0 && chars.peek().map(|p| p.1) == Some(':') {
                    // A POSIX class such as `[:alpha:]`: copied up to its `:]`.
                    while let Some((_, p)) = chars.next() {
                        out.push(p);
                        if p == ':' && chars.peek().map(|p| p.1) == Some(']') {
                            out.push(']');
                            chars.next();
                            break;
                        }
                    }
                    continue;
                }
                if depth > 0 {
                    // Go has no nested classes: a `[` in a class is itself.
                    out.insert(out.len() - 1, '\\');
                    continue;
                }
                depth += 1;
                if chars.peek().map(|p| p.1) == Some('^') {
                    out.push('^');
                    chars.next();
                }
                class_start = true;
            }
            ']' if depth > 0 && !at_start => {
                depth -= 1;
                out.push(']');
            }
            '{' if depth == 0 => match go_repetition(&pattern[at..]) {
                Some((len, min, max)) => {
                    if min > GO_MAX_REPEAT || max.is_some_and(|m| m > GO_MAX_REPEAT) {
                        return Err(format!(
                            "invalid regular expression {pattern:?}: repetition count in `{}` \
                             is above {GO_MAX_REPEAT}, the limit of Go's regexp",
                            &pattern[at..at + len]
                        ));
                    }
                    out.push_str(&pattern[at..at + len]);
                    // The repetition is ASCII: one char per byte, the `{` already read.
                    for _ in 1..len {
                        chars.next();
                    }
                }
                None => out.push_str(r"\{"),
            },
            '}' if depth == 0 => out.push_str(r"\}"),
            // The regex crate reads `&&`, `--` and `~~` in a class as set operations; Go reads
            // `&` and `~` as themselves (and refuses `--` as a range that runs backwards).
            '&' | '~' if depth > 0 => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Go's reading of a repetition at the start of `s` (which starts with `{`): its length in
/// bytes, its minimum and its maximum (`None` for `{n,}`); `None` when Go reads the `{` as a
/// literal. Counts too long to hold are reported as `u32::MAX`, so they are over the limit.
fn go_repetition(s: &str) -> Option<(usize, u32, Option<u32>)> {
    /// A decimal number without leading zeros at the start of `s`, and its length.
    fn number(s: &[u8]) -> Option<(u32, usize)> {
        let len = s.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || (len > 1 && s[0] == b'0') {
            return None;
        }
        let value = std::str::from_utf8(&s[..len])
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(u32::MAX);
        Some((value, len))
    }
    let b = s.as_bytes();
    let (min, n) = number(b.get(1..)?)?;
    let mut i = 1 + n;
    let max = match b.get(i)? {
        b'}' => Some(min),
        b',' if b.get(i + 1) == Some(&b'}') => {
            i += 1;
            None
        }
        b',' => {
            let (max, m) = number(b.get(i + 1..)?)?;
            i += 1 + m;
            if b.get(i) != Some(&b'}') {
                return None;
            }
            Some(max)
        }
        _ => return None,
    };
    Some((i + 1, min, max))
}

/// The names of the Traefik v2 placeholders in `text`: `{name}` or `{name:regex}`, where
/// `name` is a letter or `_` followed by letters, digits or `_`. With `regex`, `text` is read
/// as a Go regular expression, so escaped braces, braces in bracket classes and repetitions
/// such as `{3}` are not placeholders. Traefik v3 has no placeholders: it matches such text
/// literally, which is rarely what the author meant.
pub fn v2_placeholders(text: &str, regex: bool) -> Vec<&str> {
    let mut names = Vec::new();
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if regex => i += 1,
            b'[' if regex => depth += 1,
            b']' if regex && depth > 0 => depth -= 1,
            b'{' if depth == 0 && (!regex || go_repetition(&text[i..]).is_none()) => {
                let rest = &bytes[i + 1..];
                let len = rest
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                let starts_well = rest
                    .first()
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
                if starts_well && matches!(rest.get(len), Some(b':' | b'}')) {
                    names.push(&text[i + 1..i + 1 + len]);
                }
            }
            _ => {}
        }
        i += 1;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(pattern: &str) -> String {
        go_syntax(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    #[test]
    fn perl_classes_become_ascii() {
        assert_eq!(tr(r"^/a/\w{3}$"), r"^/a/(?-u:\w){3}$");
        assert_eq!(tr(r"\d\s"), r"(?-u:\d)(?-u:[\t\n\f\r ])");
        assert_eq!(tr(r"\W\D\S"), r"[^0-9A-Za-z_][^0-9][^\t\n\f\r ]");
        assert_eq!(tr(r"\bx\B"), r"(?-u:\b)x(?-u:\B)");
        assert_eq!(tr(r"[\w.-]+"), r"[0-9A-Za-z_.-]+");
        assert_eq!(tr(r"[^\d\s]"), r"[^0-9\t\n\f\r ]");
        assert_eq!(tr(r"[a\W]"), r"[a[^0-9A-Za-z_]]");
        assert_eq!(tr(r"[]\w]"), r"[]0-9A-Za-z_]");
        assert_eq!(tr(r"[^]\w]"), r"[^]0-9A-Za-z_]");
        assert_eq!(tr(r"[[:alpha:]\d]\d"), r"[[:alpha:]0-9](?-u:\d)");
        // Escaped backslashes and other escapes are left alone.
        assert_eq!(tr(r"\\w\\\w"), r"\\w\\(?-u:\w)");
        assert_eq!(tr(r"\.\pL\x41\]"), r"\.\pL\x41\]");
        assert_eq!(tr(r"[\]\w]"), r"[\]0-9A-Za-z_]");
        assert_eq!(tr("a\\"), "a\\");
    }

    #[test]
    fn ascii_classes_match_like_go() {
        let re = compile(r"^\w+\s\d$").expect("compiles");
        assert!(re.is_match("ab_9\t7"));
        assert!(!re.is_match("é 7"));
        assert!(!re.is_match("a\u{a0}7"));
        assert!(!re.is_match("a ٣"));
        let re = compile(r"^\W$").expect("compiles");
        assert!(re.is_match("é"));
        assert!(!re.is_match("a"));
        let re = compile(r"^[\w.-]+$").expect("compiles");
        assert!(re.is_match("a.b-c_1"));
        assert!(!re.is_match("ä"));
        let re = compile(r"^[^\W]+$").expect("compiles");
        assert!(re.is_match("abc"));
        assert!(!re.is_match("é"));
        let re = compile(r"\bb\b").expect("compiles");
        assert!(re.is_match("a b c"));
        assert!(re.is_match("éb"), "é is not a word character in Go");
        let re = compile(r"a\B").expect("compiles");
        assert!(re.is_match("ab"));
        assert!(!re.is_match("a b"));
        let re = compile_bytes(r"\ba\B").expect("compiles");
        assert!(re.is_match(b"ab"));
        let re = compile_bytes(r"^\w+$").expect("compiles");
        assert!(re.is_match(b"abc"));
        assert!(!re.is_match("é".as_bytes()));
        let re = compile(r"^\\w$").expect("compiles");
        assert!(re.is_match(r"\w"));
    }

    #[test]
    fn public_keys_pattern_fits_the_limit() {
        let pattern = r"^/public/keys/\w{30}$";
        let re = compile(pattern).expect("fits the limit");
        assert!(re.is_match(&format!("/public/keys/{}", "k".repeat(30))));
        assert!(!re.is_match(&format!("/public/keys/{}", "é".repeat(30))));
        assert!(!re.is_match(&format!("/public/keys/{}", "k".repeat(29))));
        // Well under the limit: even the largest count Go allows compiles.
        compile(r"^/public/keys/\w{1000}$").expect("still fits");
        compile_bytes(pattern).expect("fits the limit");
    }

    #[test]
    fn huge_patterns_are_refused_naming_the_limit() {
        for pattern in [r"\pL{100}", r"(?:[^\x00-\x7f]{1000}){3}"] {
            let err = compile(pattern).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "regular expression {pattern:?} is too large: it compiles to more than \
                     1048576 bytes (the limit, REGEX_SIZE_LIMIT)"
                )
            );
            assert!(compile_bytes(pattern).unwrap_err().contains("1048576"));
        }
    }

    #[test]
    fn syntax_errors_are_one_line() {
        let err = compile("(abc").unwrap_err();
        assert_eq!(err, "invalid regular expression \"(abc\": unclosed group");
        let err = compile_bytes("a{2,1}").unwrap_err();
        assert!(!err.contains('\n'), "{err}");
    }

    /// Go's regexp/syntax reads `{` as a repetition only for `{n}`, `{n,}` and `{n,m}` with
    /// decimal numbers without leading zeros, and as a literal otherwise; `}` outside a
    /// repetition is always a literal; counts above 1000 are an error. Traefik's own tests
    /// compile v2-style `{name:regex}` patterns in HostRegexp and PathRegexp and match them
    /// as literal text.
    #[test]
    fn braces_follow_go() {
        // Repetitions Go accepts are copied.
        assert_eq!(tr("a{2}b{0,}c{1,3}"), "a{2}b{0,}c{1,3}");
        assert_eq!(tr(r"\d{1000}"), r"(?-u:\d){1000}");
        // Everything else is a literal brace.
        assert_eq!(tr(r"{domain:[a-z]+}\.com"), r"\{domain:[a-z]+\}\.com");
        assert_eq!(tr("/{path:(css|js)}"), r"/\{path:(css|js)\}");
        assert_eq!(tr("a{,2}"), r"a\{,2\}");
        assert_eq!(tr("a{01}"), r"a\{01\}");
        assert_eq!(tr("a{ 2}"), r"a\{ 2\}");
        assert_eq!(tr("a{2"), r"a\{2");
        assert_eq!(tr("a{2,3"), r"a\{2,3");
        assert_eq!(tr("a{x}"), r"a\{x\}");
        assert_eq!(tr("}{"), r"\}\{");
        assert_eq!(tr("{id:[0-9]{3}}"), r"\{id:[0-9]{3}\}");
        // Escaped braces, braces in classes and in `\p{..}`, `\x{..}` are left alone.
        assert_eq!(tr(r"\{a\}[{}]"), r"\{a\}[{}]");
        assert_eq!(tr(r"\p{Greek}\x{41}[\p{L}]"), r"\p{Greek}\x{41}[\p{L}]");
        // Counts Go refuses are refused.
        for pattern in ["a{1001}", "a{2,1001}", "a{99999999999}"] {
            let err = go_syntax(pattern).unwrap_err();
            assert!(err.contains("above 1000"), "{pattern}: {err}");
            assert!(compile(pattern).is_err());
        }
    }

    #[test]
    fn literal_braces_match_like_go() {
        let re = compile(r"^{domain:[a-z]+}\.com$").expect("Go compiles it");
        assert!(re.is_match("{domain:abc}.com"));
        assert!(!re.is_match("example.com"));
        let re = compile("/{path:(css|js)}").expect("Go compiles it");
        assert!(re.is_match("/{path:css}/"));
        assert!(!re.is_match("/css"));
        let re = compile("^a{,2}$").expect("Go compiles it");
        assert!(re.is_match("a{,2}"));
        assert!(!re.is_match("aa"));
        let re = compile("^a{2}$").expect("a repetition");
        assert!(re.is_match("aa"));
        compile_bytes(r"{v:[0-9]+}").expect("Go compiles it");
    }

    /// Go has no nested classes and no class set operations: `[`, `&` and `~` in a class are
    /// themselves.
    #[test]
    fn class_punctuation_follows_go() {
        assert_eq!(tr("[a[b]"), r"[a\[b]");
        assert_eq!(tr("[a&&b]"), r"[a\&\&b]");
        assert_eq!(tr("[~~]"), r"[\~\~]");
        let re = compile("^[a[&~]+$").expect("Go compiles it");
        assert!(re.is_match("a[&~"));
        assert!(!re.is_match("b"));
        let re = compile("^[[:alpha:]&]+$").expect("POSIX class kept");
        assert!(re.is_match("ab&"));
    }

    #[test]
    fn finds_v2_placeholders() {
        assert_eq!(v2_placeholders(r"{domain:[a-z]+}\.com", true), ["domain"]);
        assert_eq!(
            v2_placeholders("/{path:(css|js)}/{id}", true),
            ["path", "id"]
        );
        assert_eq!(v2_placeholders("/user/{id}", false), ["id"]);
        assert!(v2_placeholders(r"a{3}\{x}[{y}]", true).is_empty());
        assert!(v2_placeholders("{1x}{ x}{}{-a}", false).is_empty());
        assert_eq!(v2_placeholders(r"\{x}", false), ["x"]);
    }
}
