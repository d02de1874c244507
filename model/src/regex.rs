//! The one way raftgate compiles a user's regular expression, at write time (validation) and
//! at run time (the data plane), so that what is accepted is what runs.
//!
//! Traefik runs Go's RE2, where the Perl classes `\d`, `\w`, `\s` (and their negations `\D`,
//! `\W`, `\S`) and the word boundaries `\b`, `\B` are ASCII-only. The regex crate makes them
//! Unicode-aware, which changes what they match and makes them expensive: a Unicode `\w` alone
//! compiles to tens of kilobytes, so ``PathRegexp(`^/keys/\w{30}$`)`` would exceed the size
//! limit. [`compile`] therefore rewrites them to their ASCII meaning first, whatever the
//! flags, and then compiles with [`REGEX_SIZE_LIMIT`]. Errors are one line.

/// The largest compiled size of one regex, in bytes (1 MiB): it bounds memory per matcher.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles `pattern` for matching `str` (Go semantics for Perl classes, size-limited).
///
/// # Errors
///
/// A one-line message: the pattern's syntax error, or that it compiles to more than
/// [`REGEX_SIZE_LIMIT`] bytes.
pub fn compile(pattern: &str) -> Result<::regex::Regex, String> {
    ::regex::RegexBuilder::new(&ascii_perl_classes(pattern))
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
    ::regex::bytes::RegexBuilder::new(&ascii_perl_classes(pattern))
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

/// Rewrites the Perl classes and word boundaries of `pattern` to their ASCII (Go) meaning.
///
/// Outside a bracket class, `\d`, `\w`, `\s` become ASCII classes (`(?-u:\w)`, ...), their
/// negations a negated class (`[^0-9A-Za-z_]`, which still matches any non-ASCII character, as
/// in Go), and `\b`, `\B` ASCII word boundaries. Inside a bracket class they expand to their
/// ranges (`[\w.-]` → `[0-9A-Za-z_.-]`), a negated one to a nested class (`[[^0-9]]`). Other
/// escapes, `\\` among them, are copied as they are, so `\\w` stays a backslash and a `w`.
pub fn ascii_perl_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    // Bracket-class nesting depth (the regex crate allows nested classes).
    let mut depth = 0usize;
    // Whether the next character is the first of a class body (where `]` is a literal).
    let mut class_start = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let at_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
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
                    }
                }
            }
            '[' => {
                out.push('[');
                if depth > 0 && chars.peek() == Some(&':') {
                    // A POSIX class such as `[:alpha:]`: copied up to its `:]`.
                    while let Some(p) = chars.next() {
                        out.push(p);
                        if p == ':' && chars.peek() == Some(&']') {
                            out.push(']');
                            chars.next();
                            break;
                        }
                    }
                    continue;
                }
                depth += 1;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                class_start = true;
            }
            ']' if depth > 0 && !at_start => {
                depth -= 1;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_become_ascii() {
        assert_eq!(ascii_perl_classes(r"^/a/\w{3}$"), r"^/a/(?-u:\w){3}$");
        assert_eq!(ascii_perl_classes(r"\d\s"), r"(?-u:\d)(?-u:[\t\n\f\r ])");
        assert_eq!(
            ascii_perl_classes(r"\W\D\S"),
            r"[^0-9A-Za-z_][^0-9][^\t\n\f\r ]"
        );
        assert_eq!(ascii_perl_classes(r"\bx\B"), r"(?-u:\b)x(?-u:\B)");
        assert_eq!(ascii_perl_classes(r"[\w.-]+"), r"[0-9A-Za-z_.-]+");
        assert_eq!(ascii_perl_classes(r"[^\d\s]"), r"[^0-9\t\n\f\r ]");
        assert_eq!(ascii_perl_classes(r"[a\W]"), r"[a[^0-9A-Za-z_]]");
        assert_eq!(ascii_perl_classes(r"[]\w]"), r"[]0-9A-Za-z_]");
        assert_eq!(ascii_perl_classes(r"[^]\w]"), r"[^]0-9A-Za-z_]");
        assert_eq!(
            ascii_perl_classes(r"[[:alpha:]\d]\d"),
            r"[[:alpha:]0-9](?-u:\d)"
        );
        // Escaped backslashes and other escapes are left alone.
        assert_eq!(ascii_perl_classes(r"\\w\\\w"), r"\\w\\(?-u:\w)");
        assert_eq!(ascii_perl_classes(r"\.\pL\x41\]"), r"\.\pL\x41\]");
        assert_eq!(ascii_perl_classes(r"[\]\w]"), r"[\]0-9A-Za-z_]");
        assert_eq!(ascii_perl_classes("a\\"), "a\\");
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
        // Well under the limit: even a hundred times the repetition compiles.
        compile(r"^/public/keys/\w{3000}$").expect("still fits");
        compile_bytes(pattern).expect("fits the limit");
    }

    #[test]
    fn huge_patterns_are_refused_naming_the_limit() {
        for pattern in [r"\pL{100}", r"[^\x00-\x7f]{2000}"] {
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
}
