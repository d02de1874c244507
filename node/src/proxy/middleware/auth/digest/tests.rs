use std::sync::Arc;

use super::super::nonce::{now, NonceState, NONCE_TTL};
use super::*;
use crate::proxy::middleware::testing::{body_string, get, run, Recorder};

/// `dave:traefik:digestpw`, as `htdigest` writes it.
const DAVE: &str = "dave:traefik:b94d13e00a8de6877a6bece6535c8a8c";

/// The `Authorization` value a client answering `challenge` would send.
fn answer(challenge: &str, method: &str, uri: &str, user: &str, password: &str) -> String {
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
    let old = mw.nonces.issue_at(now() - NONCE_TTL.as_secs() - 5);
    assert_eq!(mw.nonces.check(&old, now()), NonceState::Stale);
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
    assert_eq!(
        b.nonces.check(&a.nonces.issue_at(now()), now()),
        NonceState::Fresh
    );
    assert_eq!(a.opaque, b.opaque);
    let other = DigestAuth::new(&raftgate_model::DigestAuth {
        realm: "elsewhere".into(),
        ..config()
    })
    .unwrap();
    assert_eq!(
        other.nonces.check(&a.nonces.issue_at(now()), now()),
        NonceState::Invalid
    );
    assert_eq!(a.nonces.check("zz", now()), NonceState::Invalid);
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
