//! Recognizes the usual wildcard `HostRegexp`, `^<label>\.example\.com$`, and runs it as a
//! suffix check.
//!
//! The label is one of `.+`, `.*`, `[^.]+`, `[^.]*` or an ASCII class such as `[a-z0-9-]+`; the
//! suffix is lowercase letters, digits, `-`, `_` and escaped dots, starting with `\.`. Such a
//! regex matches exactly the hosts that end with the suffix and whose remaining prefix fits
//! the label, so the route table can index it under the suffix, and matching needs no regex
//! engine. Anything else stays a regex, indexed under no host.

/// What the label before the suffix may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    /// `.`: any character but a newline.
    AnyChar,
    /// `[^.]`: any character but a dot.
    NonDot,
    /// A bracketed class of ASCII bytes, as a bit set.
    Ascii(u128),
}

/// A `^<label><quantifier><literal suffix>$` host regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LabelSuffix {
    label: Label,
    /// 1 for `+`, 0 for `*`.
    min_len: usize,
    /// Starts with a dot, e.g. `".example.com"`.
    suffix: String,
}

impl LabelSuffix {
    /// Recognizes the shape, or `None` for any other regex.
    pub(super) fn parse(pattern: &str) -> Option<LabelSuffix> {
        let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
        let (label, rest) = parse_label(body)?;
        let (min_len, rest) = match rest.as_bytes().first()? {
            b'+' => (1, &rest[1..]),
            b'*' => (0, &rest[1..]),
            _ => return None,
        };
        let suffix = parse_literal(rest)?;
        if !suffix.starts_with('.') || suffix.len() < 2 {
            return None;
        }
        Some(LabelSuffix {
            label,
            min_len,
            suffix,
        })
    }

    /// The literal suffix, starting with a dot.
    pub(super) fn suffix(&self) -> &str {
        &self.suffix
    }

    /// Whether `host` matches the regex this was parsed from.
    pub(super) fn matches(&self, host: &str) -> bool {
        let Some(label) = host.strip_suffix(self.suffix.as_str()) else {
            return false;
        };
        if label.len() < self.min_len {
            return false;
        }
        match self.label {
            Label::AnyChar => !label.contains('\n'),
            Label::NonDot => !label.contains('.'),
            Label::Ascii(set) => label.bytes().all(|b| b < 128 && (set >> b) & 1 == 1),
        }
    }
}

/// Parses the label atom at the start of `s`; returns it and the rest.
fn parse_label(s: &str) -> Option<(Label, &str)> {
    if let Some(rest) = s.strip_prefix("[^.]") {
        return Some((Label::NonDot, rest));
    }
    if let Some(rest) = s.strip_prefix('.') {
        return Some((Label::AnyChar, rest));
    }
    let body_and_rest = s.strip_prefix('[')?;
    let end = body_and_rest.find(']')?;
    let set = parse_class(&body_and_rest[..end])?;
    Some((Label::Ascii(set), &body_and_rest[end + 1..]))
}

/// Parses a class body made of ranges `a-z`, `A-Z`, `0-9` (or narrower), letters, digits, `_`,
/// and `-` as its first or last item.
fn parse_class(body: &str) -> Option<u128> {
    let b = body.as_bytes();
    let mut set = 0u128;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'-' && (i == 0 || i == b.len() - 1) {
            set |= 1u128 << c;
            i += 1;
        } else if c.is_ascii_alphanumeric() && b.get(i + 1) == Some(&b'-') && i + 2 < b.len() {
            let d = b[i + 2];
            if !same_kind(c, d) || c > d {
                return None;
            }
            for x in c..=d {
                set |= 1u128 << x;
            }
            i += 3;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            set |= 1u128 << c;
            i += 1;
        } else {
            return None;
        }
    }
    (set != 0).then_some(set)
}

/// Both lowercase letters, both uppercase letters, or both digits.
fn same_kind(c: u8, d: u8) -> bool {
    (c.is_ascii_lowercase() && d.is_ascii_lowercase())
        || (c.is_ascii_uppercase() && d.is_ascii_uppercase())
        || (c.is_ascii_digit() && d.is_ascii_digit())
}

/// Parses a literal made of `[a-z0-9_-]` and `\.`, the whole of `s`.
fn parse_literal(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next()? == '.' => out.push('.'),
            'a'..='z' | '0'..='9' | '-' | '_' => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> Option<(Label, usize, String)> {
        LabelSuffix::parse(p).map(|s| (s.label, s.min_len, s.suffix))
    }

    #[test]
    fn recognizes_the_shapes() {
        assert_eq!(
            parse(r"^.+\.a\.com$"),
            Some((Label::AnyChar, 1, ".a.com".into()))
        );
        assert_eq!(
            parse(r"^.*\.a\.com$"),
            Some((Label::AnyChar, 0, ".a.com".into()))
        );
        assert_eq!(
            parse(r"^[^.]+\.a-b_c\.io$"),
            Some((Label::NonDot, 1, ".a-b_c.io".into()))
        );
        assert!(matches!(
            parse(r"^[a-z0-9-]+\.a\.com$"),
            Some((Label::Ascii(_), 1, _))
        ));
        assert!(matches!(
            parse(r"^[-a-f_]*\.a\.com$"),
            Some((Label::Ascii(_), 0, _))
        ));
    }

    #[test]
    fn refuses_everything_else() {
        for p in [
            r".+\.a\.com$",
            r"^.+\.a\.com",
            r"^.+a\.com$",
            r"^.+\.$",
            r"^.+\.A\.com$",
            r"^.+\.a.com$",
            r"^.+\.a\.com+$",
            r"^.+?\.a\.com$",
            r"^.{2}\.a\.com$",
            r"^[a-z-0-9]+\.a\.com$",
            r"^[z-a]+\.a\.com$",
            r"^[a-Z]+\.a\.com$",
            r"^[]+\.a\.com$",
            r"^[.]+\.a\.com$",
            r"^\w+\.a\.com$",
            r"^.+\.(a|b)\.com$",
            r"^(.+)\.a\.com$",
            r"^.+\.a\.com\$",
        ] {
            assert_eq!(parse(p), None, "{p}");
        }
    }

    /// The fast check agrees with the regex on hosts around the edges of each shape.
    #[test]
    fn agrees_with_the_regex() {
        let patterns = [
            r"^.+\.example\.com$",
            r"^.*\.example\.com$",
            r"^[^.]+\.example\.com$",
            r"^[^.]*\.example\.com$",
            r"^[a-z0-9-]+\.example\.com$",
            r"^[a-z]+\.example\.com$",
            r"^[0-9_]*\.example\.com$",
        ];
        let hosts = [
            "",
            "example.com",
            ".example.com",
            "a.example.com",
            "a.b.example.com",
            "a-1.example.com",
            "a_1.example.com",
            "42.example.com",
            "_.example.com",
            "é.example.com",
            "a\n.example.com",
            "a.example.com.evil",
            "aexample.com",
            "a.example.org",
        ];
        for p in patterns {
            let fast = LabelSuffix::parse(p).expect("shape");
            let re = regex::Regex::new(p).expect("regex");
            for h in hosts {
                assert_eq!(fast.matches(h), re.is_match(h), "{p} on {h:?}");
            }
        }
    }
}
