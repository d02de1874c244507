//! `digestAuth`: HTTP digest authentication (RFC 7616, `algorithm=MD5`, `qop=auth`) against
//! htdigest entries `user:realm:HA1`.
//!
//! Traefik semantics: only entries of the configured realm are usable; a request without a
//! valid `Authorization: Digest ...` gets a 401 with a fresh challenge
//! `Digest realm="..", nonce="..", opaque="..", algorithm=MD5, qop="auth"`; the `uri`
//! parameter must be the request's URI, `opaque` must be echoed back; `removeHeader` and
//! `headerField` behave as in `basicAuth`.
//!
//! Choices where Traefik (which keeps issued nonces in a per-process table) leaves room:
//! - Nonces are stateless: `hex(issued-at ‖ 8 random bytes ‖ tag)` where the tag is the
//!   first 16 bytes of SHA-256(key ‖ issued-at ‖ random) over fixed-length input. The key
//!   is derived from the realm and the users' HA1 values, so every node running the same
//!   config accepts the others' nonces (no sticky sessions needed) and a restart does not
//!   invalidate them; anyone able to forge a nonce already knows an HA1 and can log in.
//! - A nonce lives [`NONCE_TTL`](super::nonce::NONCE_TTL) (5 minutes). An expired nonce
//!   with an otherwise correct response gets a 401 whose challenge says `stale=true` (the
//!   client retries without asking the user); a forged or malformed nonce gets a plain
//!   fresh challenge.
//! - The nonce count is not tracked, so a captured request can be replayed (same method and
//!   URI) until its nonce expires.
//! - `uri` is compared with the path and query the middleware sees, i.e. after the proxy's
//!   path normalization and any rewriting middleware placed before it in the chain; put
//!   `digestAuth` before path rewrites.

use std::collections::HashMap;

use futures::future::BoxFuture;
use http::{header, HeaderName, HeaderValue, Method, Request};
use md5::{Digest as _, Md5};
use sha2::Sha256;

use super::htpasswd::ct_eq;
use super::nonce::{now, NonceState, Nonces};
use super::{load_entries, realm, unauthorized};
use crate::proxy::body::ProxyBody;
use crate::proxy::middleware::{answer, Middleware, Next, ProxyResult};

/// A compiled `digestAuth`.
pub struct DigestAuth {
    /// User → HA1 (lowercase hex), for the configured realm only.
    users: HashMap<String, String>,
    realm: String,
    opaque: String,
    nonces: Nonces,
    remove_header: bool,
    header_field: Option<HeaderName>,
}

impl DigestAuth {
    /// Compiles the config, reading `usersFile` if set.
    pub fn new(config: &raftgate_model::DigestAuth) -> Result<Self, String> {
        let realm = realm(&config.realm).to_string();
        let mut users = HashMap::new();
        for (i, fields) in load_entries(&config.users, &config.users_file, 3)?
            .into_iter()
            .enumerate()
        {
            let ha1 = fields[2].to_ascii_lowercase();
            if ha1.len() != 32 || !ha1.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "user {:?} (entry {i}): hash must be 32 hex digits (MD5 of user:realm:password)",
                    fields[0]
                ));
            }
            if fields[1] == realm {
                users.insert(fields[0].clone(), ha1);
            }
        }
        let mut sorted: Vec<_> = users.iter().collect();
        sorted.sort();
        let mut h = Sha256::new();
        h.update(b"raftgate digestAuth nonce key\0");
        h.update(realm.as_bytes());
        for (user, ha1) in sorted {
            h.update(b"\0");
            h.update(user.as_bytes());
            h.update(b":");
            h.update(ha1.as_bytes());
        }
        let key: [u8; 32] = h.finalize().into();
        let opaque = hex::encode(&Sha256::digest([&b"opaque\0"[..], &key].concat())[..16]);
        let header_field = match config.header_field.as_str() {
            "" => None,
            name => Some(
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("headerField {name:?} is not a header name"))?,
            ),
        };
        Ok(Self {
            users,
            realm,
            opaque,
            nonces: Nonces::new(key),
            remove_header: config.remove_header,
            header_field,
        })
    }

    fn challenge(&self, stale: bool) -> HeaderValue {
        let stale = if stale { ", stale=true" } else { "" };
        let text = format!(
            "Digest realm=\"{}\", nonce=\"{}\", opaque=\"{}\", algorithm=MD5, qop=\"auth\"{stale}",
            self.realm,
            self.nonces.issue(),
            self.opaque
        );
        HeaderValue::from_str(&text).expect("realm was checked at write time")
    }

    /// The user, or whether the challenge should say `stale=true`.
    fn authenticate(
        &self,
        method: &Method,
        uri: &str,
        value: &HeaderValue,
    ) -> Result<String, bool> {
        let value = value.to_str().map_err(|_| false)?;
        let (scheme, rest) = value.trim().split_once(' ').ok_or(false)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return Err(false);
        }
        let params = parse_params(rest).ok_or(false)?;
        let get = |k: &str| params.get(k).map(String::as_str);
        let (Some(user), Some(nonce), Some(req_uri), Some(response)) =
            (get("username"), get("nonce"), get("uri"), get("response"))
        else {
            return Err(false);
        };
        let (Some(nc), Some(cnonce)) = (get("nc"), get("cnonce")) else {
            return Err(false);
        };
        let algorithm_ok = get("algorithm").is_none_or(|a| a.eq_ignore_ascii_case("md5"));
        if get("qop") != Some("auth")
            || get("realm") != Some(self.realm.as_str())
            || get("opaque") != Some(self.opaque.as_str())
            || !algorithm_ok
            || req_uri != uri
        {
            return Err(false);
        }
        let state = self.nonces.check(nonce, now());
        if state == NonceState::Invalid {
            return Err(false);
        }
        let ha1 = self.users.get(user).ok_or(false)?;
        let ha2 = md5_hex(&format!("{method}:{req_uri}"));
        let expected = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        if !ct_eq(
            expected.as_bytes(),
            response.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(false);
        }
        match state {
            NonceState::Fresh => Ok(user.to_string()),
            _ => Err(true),
        }
    }
}

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

/// The `key=value, key="quoted \"value\""` parameters of a digest header.
fn parse_params(mut s: &str) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    loop {
        s = s.trim_start_matches([' ', '\t', ',']);
        if s.is_empty() {
            return Some(out);
        }
        let (key, rest) = s.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let rest = rest.trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => v.push(chars.next()?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            s = &quoted[end?..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            s = &rest[end..];
        }
        out.insert(key, value);
    }
}

impl Middleware for DigestAuth {
    fn handle<'a>(
        &'a self,
        mut req: Request<ProxyBody>,
        next: Next<'a>,
    ) -> BoxFuture<'a, ProxyResult> {
        let uri = req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_string();
        let outcome = match req.headers().get(header::AUTHORIZATION) {
            Some(value) => self.authenticate(req.method(), &uri, value),
            None => Err(false),
        };
        let user = match outcome {
            Ok(user) => user,
            Err(stale) => {
                tracing::debug!(stale, "digest authentication failed");
                return answer(unauthorized(self.challenge(stale)));
            }
        };
        super::admit(
            &mut req,
            &user,
            self.remove_header,
            self.header_field.as_ref(),
        );
        next.run(req)
    }
}

#[cfg(test)]
mod tests;
