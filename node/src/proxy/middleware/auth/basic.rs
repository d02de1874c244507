//! `basicAuth`: HTTP basic authentication (RFC 7617) against htpasswd entries.
//!
//! Traefik semantics: a request without valid credentials gets a 401 with
//! `WWW-Authenticate: Basic realm="<realm>"` and the body `401 Unauthorized`; a valid one is
//! forwarded, without its `Authorization` header when `removeHeader` is set, and with the
//! user name in `headerField` when set.
//!
//! bcrypt is deliberately slow (tens of milliseconds per check at usual costs), so a bcrypt
//! verification runs on tokio's blocking pool, never on an executor thread, at most as many
//! at once as the machine has cores (so a flood of wrong passwords queues rather than
//! occupying hundreds of blocking threads), and successful
//! checks are remembered: a set of SHA-256(random per-instance key ‖ user ‖ password) of
//! credentials that verified. A repeat of known-good credentials is then a hash and a
//! lock-free set lookup (an [`ArcSwap`] snapshot). Failures are not remembered. The set is
//! bounded ([`CACHE_CAPACITY`]) and starts over when full; it lives as long as the compiled
//! middleware, so a config change (which may change the users) clears it.

use std::collections::{HashMap, HashSet};

use arc_swap::ArcSwap;
use base64::Engine;
use futures::future::BoxFuture;
use http::{header, HeaderName, HeaderValue, Request};
use sha2::{Digest, Sha256};

use super::htpasswd::PasswordHash;
use super::{load_entries, realm, unauthorized};
use crate::proxy::body::ProxyBody;
use crate::proxy::middleware::{Middleware, Next, ProxyResult};

/// How many verified credentials are remembered.
pub const CACHE_CAPACITY: usize = 1024;

type CacheKey = [u8; 32];

/// A compiled `basicAuth`.
pub struct BasicAuth {
    users: HashMap<String, PasswordHash>,
    challenge: HeaderValue,
    remove_header: bool,
    header_field: Option<HeaderName>,
    cache_key: [u8; 32],
    verified: ArcSwap<HashSet<CacheKey>>,
    bcrypt_slots: tokio::sync::Semaphore,
}

impl BasicAuth {
    /// Compiles the config, reading `usersFile` if set.
    pub fn new(config: &raftgate_model::BasicAuth) -> Result<Self, String> {
        let mut users = HashMap::new();
        for (i, fields) in load_entries(&config.users, &config.users_file, 2)?
            .into_iter()
            .enumerate()
        {
            let hash = PasswordHash::parse(&fields[1])
                .map_err(|e| format!("user {:?} (entry {i}): {e}", fields[0]))?;
            users.insert(fields[0].clone(), hash);
        }
        let challenge = HeaderValue::from_str(&format!("Basic realm=\"{}\"", realm(&config.realm)))
            .map_err(|_| "realm is not a valid header value".to_string())?;
        let header_field = match config.header_field.as_str() {
            "" => None,
            name => Some(
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("headerField {name:?} is not a header name"))?,
            ),
        };
        Ok(Self {
            users,
            challenge,
            remove_header: config.remove_header,
            header_field,
            cache_key: rand::random(),
            verified: ArcSwap::from_pointee(HashSet::new()),
            bcrypt_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
        })
    }

    /// The user whose valid credentials `req` carries, if any.
    async fn authenticate(&self, req: &Request<ProxyBody>) -> Option<String> {
        let (user, password) = credentials(req.headers().get(header::AUTHORIZATION)?)?;
        let hash = self.users.get(&user)?;
        if !hash.is_slow() {
            return hash.verify(password.as_bytes()).then_some(user);
        }
        let key = self.key(&user, &password);
        if self.verified.load().contains(&key) {
            return Some(user);
        }
        let _slot = self.bcrypt_slots.acquire().await.ok()?;
        let hash = hash.clone();
        let ok = tokio::task::spawn_blocking(move || hash.verify(password.as_bytes()))
            .await
            .unwrap_or(false);
        if ok {
            self.verified.rcu(|set| {
                let mut set = if set.len() >= CACHE_CAPACITY {
                    HashSet::new()
                } else {
                    HashSet::clone(set)
                };
                set.insert(key);
                set
            });
        }
        ok.then_some(user)
    }

    fn key(&self, user: &str, password: &str) -> CacheKey {
        let mut h = Sha256::new();
        h.update(self.cache_key);
        h.update((user.len() as u64).to_be_bytes());
        h.update(user.as_bytes());
        h.update(password.as_bytes());
        h.finalize().into()
    }

    #[cfg(test)]
    fn cached(&self) -> usize {
        self.verified.load().len()
    }
}

/// The user and password of a `Basic` `Authorization` header (scheme case-insensitive).
fn credentials(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl Middleware for BasicAuth {
    fn handle<'a>(
        &'a self,
        mut req: Request<ProxyBody>,
        next: Next<'a>,
    ) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            let Some(user) = self.authenticate(&req).await else {
                tracing::debug!("basic authentication failed");
                return Ok(unauthorized(self.challenge.clone()));
            };
            super::admit(
                &mut req,
                &user,
                self.remove_header,
                self.header_field.as_ref(),
            );
            next.run(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::super::testing::{body_string, get, run, Recorder};
    use super::*;

    const ALICE: &str = "alice:$2y$04$kvvZ9v/HX5KIz84fsvqDp.KcCo6fiJ374F7Vrd3u2giYpaD4QoqNW";
    const BOB: &str = "bob:{SHA}9SMYoF5RilWWASry7TjeaKwmpGg=";
    const CAROL: &str = "carol:$apr1$YgGaA8tq$unGp4Mn0htTX/XOHGjHAK/";

    fn config(users: &[&str]) -> raftgate_model::BasicAuth {
        raftgate_model::BasicAuth {
            users: users.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn with_auth(user: &str, password: &str) -> Request<ProxyBody> {
        let mut req = get("/private");
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        req.headers_mut().insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {token}")).unwrap(),
        );
        req
    }

    #[tokio::test]
    async fn every_hash_kind_authenticates_and_the_header_is_kept_by_default() {
        let backend = Recorder::ok().await;
        let mw = Arc::new(BasicAuth::new(&config(&[ALICE, BOB, CAROL])).unwrap());
        for (user, password) in [
            ("alice", "wonderland"),
            ("bob", "builder"),
            ("carol", "c4rol!"),
        ] {
            let resp = run(mw.clone(), &backend.service(), with_auth(user, password))
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{user}");
        }
        let seen = backend.requests();
        assert_eq!(seen.len(), 3);
        assert!(seen[0].headers()["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Basic "));
        assert_eq!(mw.cached(), 1, "only the bcrypt success is cached");
    }

    #[tokio::test]
    async fn bad_credentials_get_a_challenge_and_never_reach_the_backend() {
        let backend = Recorder::ok().await;
        let mw = Arc::new(BasicAuth::new(&config(&[ALICE, BOB])).unwrap());
        let mut no_header = get("/private");
        no_header.headers_mut().remove(header::AUTHORIZATION);
        let mut bearer = get("/private");
        bearer.headers_mut().insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        for req in [
            no_header,
            bearer,
            with_auth("bob", "wrong"),
            with_auth("alice", "wrong"),
            with_auth("nobody", "builder"),
        ] {
            let resp = run(mw.clone(), &backend.service(), req).await.unwrap();
            assert_eq!(resp.status(), 401);
            assert_eq!(
                resp.headers()["www-authenticate"],
                "Basic realm=\"traefik\""
            );
            assert_eq!(body_string(resp).await, "401 Unauthorized\n");
        }
        assert!(backend.requests().is_empty());
        assert_eq!(mw.cached(), 0, "failures are not cached");
    }

    #[tokio::test]
    async fn remove_header_and_header_field_and_realm() {
        let backend = Recorder::ok().await;
        let mw = BasicAuth::new(&raftgate_model::BasicAuth {
            users: vec![BOB.into()],
            realm: "my realm".into(),
            remove_header: true,
            header_field: "X-WebAuth-User".into(),
            ..Default::default()
        })
        .unwrap();
        let mw = Arc::new(mw);
        let resp = run(mw.clone(), &backend.service(), with_auth("bob", "builder"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let seen = backend.requests();
        assert!(seen[0].headers().get("authorization").is_none());
        assert_eq!(seen[0].headers()["x-webauth-user"], "bob");
        let resp = run(mw, &backend.service(), get("/")).await.unwrap();
        assert_eq!(
            resp.headers()["www-authenticate"],
            "Basic realm=\"my realm\""
        );
    }

    #[tokio::test]
    async fn a_cached_bcrypt_success_does_not_let_another_password_in() {
        let backend = Recorder::ok().await;
        let mw = Arc::new(BasicAuth::new(&config(&[ALICE])).unwrap());
        for _ in 0..2 {
            let resp = run(
                mw.clone(),
                &backend.service(),
                with_auth("alice", "wonderland"),
            )
            .await
            .unwrap();
            assert_eq!(resp.status(), 200);
        }
        assert_eq!(mw.cached(), 1);
        let resp = run(
            mw.clone(),
            &backend.service(),
            with_auth("alice", "wonderlanD"),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 401);
    }

    #[test]
    fn users_file_wins_and_problems_are_compile_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, format!("# users\n{BOB}\n")).unwrap();
        let mw = BasicAuth::new(&raftgate_model::BasicAuth {
            users: vec!["bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=".into()],
            users_file: path.to_str().unwrap().into(),
            ..Default::default()
        })
        .unwrap();
        assert!(mw.users["bob"].verify(b"builder"));
        let missing = BasicAuth::new(&raftgate_model::BasicAuth {
            users_file: "/nonexistent/htpasswd".into(),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert!(missing.contains("/nonexistent/htpasswd"), "{missing}");
        let plain = BasicAuth::new(&config(&["eve:plaintext"])).err().unwrap();
        assert!(
            plain.starts_with("user \"eve\" (entry 0): hash must be"),
            "{plain}"
        );
        assert!(!plain.contains("plaintext"));
    }

    #[test]
    fn credentials_parse_like_go() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        let token = base64::engine::general_purpose::STANDARD.encode("u:p:q");
        assert_eq!(
            credentials(&v(&format!("bAsIc {token}"))),
            Some(("u".into(), "p:q".into()))
        );
        assert_eq!(credentials(&v("Basic !!!")), None);
        let no_colon = base64::engine::general_purpose::STANDARD.encode("up");
        assert_eq!(credentials(&v(&format!("Basic {no_colon}"))), None);
    }
}
