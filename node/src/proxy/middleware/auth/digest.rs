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
//! - A nonce lives [`NONCE_TTL`]. An expired nonce with an otherwise correct response gets a
//!   401 whose challenge says `stale=true` (the client retries without asking the user);
//!   a forged or malformed nonce gets a plain fresh challenge.
//! - The nonce count is not tracked, so a captured request can be replayed (same method and
//!   URI) until its nonce expires.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use http::{header, HeaderName, HeaderValue, Method, Request};
use md5::{Digest as _, Md5};
use sha2::Sha256;

use super::htpasswd::ct_eq;
use super::{load_entries, realm, unauthorized};
use crate::proxy::body::ProxyBody;
use crate::proxy::middleware::{Middleware, Next, ProxyResult};

/// How long an issued nonce is accepted.
pub const NONCE_TTL: Duration = Duration::from_secs(300);

/// A compiled `digestAuth`.
pub struct DigestAuth {
    /// User → HA1 (lowercase hex), for the configured realm only.
    users: HashMap<String, String>,
    realm: String,
    opaque: String,
    key: [u8; 32],
    remove_header: bool,
    header_field: Option<HeaderName>,
}

/// What a presented nonce is.
#[derive(Debug, PartialEq, Eq)]
enum NonceState {
    /// Not one of ours.
    Invalid,
    /// Ours, but expired.
    Stale,
    /// Ours and live.
    Fresh,
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
            key,
            remove_header: config.remove_header,
            header_field,
        })
    }

    fn tag(&self, issued: u64, random: &[u8]) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(issued.to_be_bytes());
        h.update(random);
        let full: [u8; 32] = h.finalize().into();
        full[..16].try_into().expect("16 bytes")
    }

    /// A nonce issued at `issued` (seconds since the Unix epoch).
    fn nonce_at(&self, issued: u64) -> String {
        let random: [u8; 8] = rand::random();
        let mut raw = Vec::with_capacity(32);
        raw.extend_from_slice(&issued.to_be_bytes());
        raw.extend_from_slice(&random);
        raw.extend_from_slice(&self.tag(issued, &random));
        hex::encode(raw)
    }

    fn check_nonce(&self, nonce: &str, now: u64) -> NonceState {
        let Ok(raw) = hex::decode(nonce) else {
            return NonceState::Invalid;
        };
        if raw.len() != 32 {
            return NonceState::Invalid;
        }
        let issued = u64::from_be_bytes(raw[..8].try_into().expect("8 bytes"));
        if !ct_eq(&self.tag(issued, &raw[8..16]), &raw[16..]) {
            return NonceState::Invalid;
        }
        if issued > now + 60 || now.saturating_sub(issued) > NONCE_TTL.as_secs() {
            NonceState::Stale
        } else {
            NonceState::Fresh
        }
    }

    fn challenge(&self, stale: bool) -> HeaderValue {
        let stale = if stale { ", stale=true" } else { "" };
        let text = format!(
            "Digest realm=\"{}\", nonce=\"{}\", opaque=\"{}\", algorithm=MD5, qop=\"auth\"{stale}",
            self.realm,
            self.nonce_at(now()),
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
        let state = self.check_nonce(nonce, now());
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

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
        Box::pin(async move {
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
                    return Ok(unauthorized(self.challenge(stale)));
                }
            };
            if self.remove_header {
                req.headers_mut().remove(header::AUTHORIZATION);
            }
            if let Some(field) = &self.header_field {
                if let Ok(v) = HeaderValue::from_str(&user) {
                    req.headers_mut().insert(field.clone(), v);
                }
            }
            next.run(req).await
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::super::super::testing::{body_string, get, run, Recorder};
    use super::*;

    /// `dave:traefik:digestpw`, as `htdigest` writes it.
    pub const DAVE: &str = "dave:traefik:b94d13e00a8de6877a6bece6535c8a8c";

    /// The `Authorization` value a client answering `challenge` would send.
    pub fn answer(challenge: &str, method: &str, uri: &str, user: &str, password: &str) -> String {
        let params = parse_params(challenge.strip_prefix("Digest ").unwrap()).unwrap();
        let (realm, nonce, opaque) = (&params["realm"], &params["nonce"], &params["opaque"]);
        let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        let (nc, cnonce) = ("00000001", "0a4f113b");
        let response = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        format!(
            "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             algorithm=MD5, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\", \
             opaque=\"{opaque}\""
        )
    }

    fn config() -> raftgate_model::DigestAuth {
        raftgate_model::DigestAuth {
            users: vec![
                DAVE.into(),
                "erin:other:b94d13e00a8de6877a6bece6535c8a8c".into(),
            ],
            ..Default::default()
        }
    }

    fn request(uri: &str, authorization: Option<&str>) -> Request<ProxyBody> {
        let mut req = get(uri);
        if let Some(a) = authorization {
            req.headers_mut()
                .insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        req
    }

    async fn challenge_of(mw: &Arc<DigestAuth>, backend: &Recorder) -> String {
        let resp = run(mw.clone(), &backend.service(), request("/x", None))
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let c = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(body_string(resp).await, "401 Unauthorized\n");
        c
    }

    #[tokio::test]
    async fn the_challenge_answered_correctly_lets_the_request_through() {
        let backend = Recorder::ok().await;
        let mw = Arc::new(
            DigestAuth::new(&raftgate_model::DigestAuth {
                header_field: "X-User".into(),
                remove_header: true,
                ..config()
            })
            .unwrap(),
        );
        let challenge = challenge_of(&mw, &backend).await;
        assert!(
            challenge.starts_with("Digest realm=\"traefik\", nonce=\""),
            "{challenge}"
        );
        assert!(
            challenge.ends_with("algorithm=MD5, qop=\"auth\""),
            "{challenge}"
        );
        let auth = answer(&challenge, "GET", "/x?y=1", "dave", "digestpw");
        let resp = run(
            mw.clone(),
            &backend.service(),
            request("/x?y=1", Some(&auth)),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 200);
        let seen = backend.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].headers()["x-user"], "dave");
        assert!(seen[0].headers().get("authorization").is_none());
    }

    #[tokio::test]
    async fn wrong_password_user_realm_uri_or_forged_nonce_are_refused() {
        let backend = Recorder::ok().await;
        let mw = Arc::new(DigestAuth::new(&config()).unwrap());
        let challenge = challenge_of(&mw, &backend).await;
        let forged = challenge.replace("nonce=\"", "nonce=\"00");
        let cases = [
            answer(&challenge, "GET", "/x", "dave", "wrong"),
            answer(&challenge, "GET", "/x", "erin", "digestpw"),
            answer(&challenge, "GET", "/other", "dave", "digestpw"),
            answer(&challenge, "POST", "/x", "dave", "digestpw"),
            answer(&forged, "GET", "/x", "dave", "digestpw"),
            answer(&challenge, "GET", "/x", "dave", "digestpw").replace("qop=auth", "qop=auth-int"),
        ];
        for auth in cases {
            let resp = run(mw.clone(), &backend.service(), request("/x", Some(&auth)))
                .await
                .unwrap();
            assert_eq!(resp.status(), 401, "{auth}");
            let c = resp.headers()["www-authenticate"].to_str().unwrap();
            assert!(!c.contains("stale"), "{c}");
        }
        assert!(backend.requests().is_empty());
    }

    #[tokio::test]
    async fn an_expired_nonce_gets_a_stale_challenge_with_a_fresh_nonce() {
        let backend = Recorder::ok().await;
        let mw = Arc::new(DigestAuth::new(&config()).unwrap());
        let old = mw.nonce_at(now() - NONCE_TTL.as_secs() - 5);
        assert_eq!(mw.check_nonce(&old, now()), NonceState::Stale);
        let challenge = format!(
            "Digest realm=\"traefik\", nonce=\"{old}\", opaque=\"{}\"",
            mw.opaque
        );
        let auth = answer(&challenge, "GET", "/x", "dave", "digestpw");
        let resp = run(mw.clone(), &backend.service(), request("/x", Some(&auth)))
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let fresh = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(fresh.ends_with(", stale=true"), "{fresh}");
        assert!(!fresh.contains(&old));
        let auth = answer(&fresh, "GET", "/x", "dave", "digestpw");
        let resp = run(mw.clone(), &backend.service(), request("/x", Some(&auth)))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }

    #[test]
    fn nonces_from_another_node_with_the_same_config_are_accepted() {
        let (a, b) = (
            DigestAuth::new(&config()).unwrap(),
            DigestAuth::new(&config()).unwrap(),
        );
        assert_eq!(b.check_nonce(&a.nonce_at(now()), now()), NonceState::Fresh);
        assert_eq!(a.opaque, b.opaque);
        let other = DigestAuth::new(&raftgate_model::DigestAuth {
            realm: "elsewhere".into(),
            ..config()
        })
        .unwrap();
        assert_eq!(
            other.check_nonce(&a.nonce_at(now()), now()),
            NonceState::Invalid
        );
        assert_eq!(a.check_nonce("zz", now()), NonceState::Invalid);
    }

    #[test]
    fn only_the_configured_realm_is_used_and_bad_hashes_are_refused() {
        let mw = DigestAuth::new(&config()).unwrap();
        assert!(mw.users.contains_key("dave") && !mw.users.contains_key("erin"));
        let err = DigestAuth::new(&raftgate_model::DigestAuth {
            users: vec!["dave:traefik:nothex".into()],
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(
            err.starts_with("user \"dave\" (entry 0): hash must be 32 hex digits"),
            "{err}"
        );
    }

    #[test]
    fn params_parse_quotes_escapes_and_tokens() {
        let p = parse_params(r#"username="a\"b", qop=auth, nc=00000001 ,uri="/a,b""#).unwrap();
        assert_eq!(p["username"], "a\"b");
        assert_eq!(p["qop"], "auth");
        assert_eq!(p["nc"], "00000001");
        assert_eq!(p["uri"], "/a,b");
        assert!(parse_params(r#"a="unterminated"#).is_none());
    }
}
