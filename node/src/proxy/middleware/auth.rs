//! Password authentication: `basicAuth` and `digestAuth`, and what they share (user lists
//! from the config and from a users file, the 401 answer).
//!
//! Users files are read when the middleware is compiled, i.e. when its config changes; an
//! edit of the file alone is picked up on the next change of the middleware's config (or a
//! restart). A missing or malformed file fails compilation, so the router fails closed.
//! As in Traefik, when `users` and `usersFile` are both given the lists are merged and a
//! user in the file wins over the same user in `users`; in files, blank lines and lines
//! starting with `#` are skipped.

mod basic;
mod digest;
mod htpasswd;
mod nonce;

pub use basic::BasicAuth;
pub use digest::DigestAuth;

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Request, Response, StatusCode};

use crate::proxy::body::{full, ProxyBody};

/// The entries of `users` then of `users_file`, each split into `parts` `:`-separated
/// fields (the last field may contain `:`). Errors name the file and line, never the entry.
fn load_entries(
    users: &[String],
    users_file: &str,
    parts: usize,
) -> Result<Vec<Vec<String>>, String> {
    let split = |entry: &str| -> Option<Vec<String>> {
        let fields: Vec<String> = entry.splitn(parts, ':').map(str::to_string).collect();
        (fields.len() == parts && fields.iter().all(|f| !f.is_empty())).then_some(fields)
    };
    let mut out = Vec::new();
    for (i, entry) in users.iter().enumerate() {
        out.push(split(entry).ok_or_else(|| format!("users[{i}] is malformed"))?);
    }
    if !users_file.is_empty() {
        let text = std::fs::read_to_string(users_file)
            .map_err(|e| format!("usersFile {users_file:?}: {e}"))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(split(line).ok_or_else(|| {
                format!("usersFile {users_file:?} line {}: malformed entry", n + 1)
            })?);
        }
    }
    Ok(out)
}

/// The realm to announce (`traefik` unless set).
fn realm(configured: &str) -> &str {
    if configured.is_empty() {
        "traefik"
    } else {
        configured
    }
}

/// What an authenticated request carries on: without its credentials if `remove_header`,
/// with the user's name in `header_field` if set.
fn admit(
    req: &mut Request<ProxyBody>,
    user: &str,
    remove_header: bool,
    header_field: Option<&HeaderName>,
) {
    if remove_header {
        req.headers_mut().remove(header::AUTHORIZATION);
    }
    if let (Some(field), Ok(value)) = (header_field, HeaderValue::from_str(user)) {
        req.headers_mut().insert(field.clone(), value);
    }
}

/// A 401 with `challenge` in `WWW-Authenticate` and Traefik's plain-text body.
fn unauthorized(challenge: HeaderValue) -> Response<ProxyBody> {
    let mut resp = Response::new(full(Bytes::from_static(b"401 Unauthorized\n")));
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_entries_follow_inline_ones_and_comments_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, "# comment\n\nbob:{SHA}x\n  carol:$apr1$a:b  \n").unwrap();
        let got = load_entries(&["bob:old".into()], path.to_str().unwrap(), 2).unwrap();
        assert_eq!(
            got,
            vec![
                vec!["bob".to_string(), "old".into()],
                vec!["bob".into(), "{SHA}x".into()],
                vec!["carol".into(), "$apr1$a:b".into()],
            ]
        );
    }

    #[test]
    fn missing_files_and_bad_lines_are_named_without_the_entry() {
        let err = load_entries(&[], "/nonexistent/htpasswd", 2).unwrap_err();
        assert!(
            err.starts_with("usersFile \"/nonexistent/htpasswd\": "),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htdigest");
        std::fs::write(&path, "a:traefik:0123\nsecretonly\n").unwrap();
        let err = load_entries(&[], path.to_str().unwrap(), 3).unwrap_err();
        assert!(err.ends_with("line 2: malformed entry"), "{err}");
        assert!(!err.contains("secretonly"));
    }
}
