//! Pipeline ID tokens (issue 37, first part): tokens signed with RS256 and ES256 by a local
//! issuer (discovery document and JWKS served on port 0, keys made by openssl) are accepted for
//! their repository; another audience, an expired token, an untrusted issuer, an unknown key,
//! `alg: none` and an HMAC keyed with the public key are refused.

use std::process::Command;

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use server::http::ci_tokens::{CiTokenError, CiTokenVerifier};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A fresh key pair: its PKCS#8 PEM and its public JWK.
fn rsa_key(dir: &std::path::Path, kid: &str) -> (Vec<u8>, Value) {
    let path = dir.join(format!("{kid}.pem"));
    let path = path.to_str().unwrap();
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        path,
    ]);
    let modulus = String::from_utf8(openssl(&["rsa", "-in", path, "-noout", "-modulus"])).unwrap();
    let modulus = hex::decode(modulus.trim().trim_start_matches("Modulus=")).unwrap();
    let jwk = json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(&modulus), "e": "AQAB"});
    (std::fs::read(path).unwrap(), jwk)
}

fn ec_key(dir: &std::path::Path, kid: &str) -> (Vec<u8>, Value) {
    let path = dir.join(format!("{kid}.pem"));
    let path = path.to_str().unwrap();
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        path,
    ]);
    let der = openssl(&["pkey", "-in", path, "-pubout", "-outform", "DER"]);
    // The SubjectPublicKeyInfo ends with the uncompressed point 04 || X || Y.
    let point = &der[der.len() - 65..];
    assert_eq!(point[0], 4);
    let jwk = json!({"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                     "x": b64(&point[1..33]), "y": b64(&point[33..])});
    (std::fs::read(path).unwrap(), jwk)
}

/// Serves a discovery document and `keys` as the JWKS; the issuer URL.
async fn issuer(keys: Vec<Value>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({"issuer": base, "jwks_uri": format!("{base}/jwks")});
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let discovery = discovery.clone();
                async move { Json(discovery) }
            }),
        )
        .route(
            "/jwks",
            get(move || {
                let keys = keys.clone();
                async move { Json(json!({"keys": keys})) }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(issuer: &str, audience: &str, exp: i64) -> Value {
    json!({"iss": issuer, "aud": audience, "exp": exp, "iat": now(), "sub": "repo:acme/billing:environment:production",
           "repository": "acme/billing", "environment": "production", "actor": "octocat"})
}

fn sign(alg: Algorithm, kid: &str, pem: &[u8], claims: &Value) -> String {
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem).unwrap(),
        _ => EncodingKey::from_ec_pem(pem).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

#[tokio::test]
async fn pipeline_tokens_are_checked_against_their_issuers_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (rsa_pem, rsa_jwk) = rsa_key(dir.path(), "rsa-1");
    let (ec_pem, ec_jwk) = ec_key(dir.path(), "ec-1");
    let (stranger_pem, _) = rsa_key(dir.path(), "rsa-unpublished");
    let trusted = issuer(vec![rsa_jwk.clone(), ec_jwk]).await;
    let untrusted = issuer(vec![rsa_jwk.clone()]).await;
    let verifier = CiTokenVerifier::new(vec![trusted.clone()], "deploytrack".into(), true).unwrap();

    for (alg, kid, pem) in [
        (Algorithm::RS256, "rsa-1", &rsa_pem),
        (Algorithm::ES256, "ec-1", &ec_pem),
    ] {
        let token = sign(alg, kid, pem, &claims(&trusted, "deploytrack", now() + 300));
        let identity = verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(identity.repository, "acme/billing");
        assert_eq!(identity.environment.as_deref(), Some("production"));
        assert_eq!(identity.actor.as_deref(), Some("octocat"));
    }
    // GitLab's claim names.
    let gitlab = json!({"iss": trusted, "aud": "deploytrack", "exp": now() + 300,
                        "project_path": "group/billing", "user_login": "root"});
    let identity = verifier
        .verify(&sign(Algorithm::RS256, "rsa-1", &rsa_pem, &gitlab))
        .await
        .unwrap();
    assert_eq!(
        (identity.repository.as_str(), identity.actor.as_deref()),
        ("group/billing", Some("root"))
    );

    let refused = |result: Result<_, CiTokenError>| result.expect_err("refused");
    let other_audience = sign(
        Algorithm::RS256,
        "rsa-1",
        &rsa_pem,
        &claims(&trusted, "someone-else", now() + 300),
    );
    assert!(matches!(
        refused(verifier.verify(&other_audience).await),
        CiTokenError::Invalid(_)
    ));
    let expired = sign(
        Algorithm::RS256,
        "rsa-1",
        &rsa_pem,
        &claims(&trusted, "deploytrack", now() - 120),
    );
    assert!(matches!(
        refused(verifier.verify(&expired).await),
        CiTokenError::Invalid(_)
    ));
    let elsewhere = sign(
        Algorithm::RS256,
        "rsa-1",
        &rsa_pem,
        &claims(&untrusted, "deploytrack", now() + 300),
    );
    assert!(matches!(
        refused(verifier.verify(&elsewhere).await),
        CiTokenError::UntrustedIssuer(_)
    ));
    // Signed by a key the issuer does not publish, under a kid it does and one it does not.
    let forged = sign(
        Algorithm::RS256,
        "rsa-1",
        &stranger_pem,
        &claims(&trusted, "deploytrack", now() + 300),
    );
    assert!(matches!(
        refused(verifier.verify(&forged).await),
        CiTokenError::Invalid(_)
    ));
    let unknown = sign(
        Algorithm::RS256,
        "rsa-unpublished",
        &stranger_pem,
        &claims(&trusted, "deploytrack", now() + 300),
    );
    assert!(matches!(
        refused(verifier.verify(&unknown).await),
        CiTokenError::UnknownKey(_)
    ));
    // alg none, and HS256 keyed with the RSA public key's PEM (the classic confusion).
    let body = b64(claims(&trusted, "deploytrack", now() + 300)
        .to_string()
        .as_bytes());
    let none = format!(
        "{}.{body}.",
        b64(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#)
    );
    assert!(matches!(
        refused(verifier.verify(&none).await),
        CiTokenError::Malformed(_) | CiTokenError::Algorithm(_)
    ));
    let public_pem = openssl(&[
        "pkey",
        "-in",
        dir.path().join("rsa-1.pem").to_str().unwrap(),
        "-pubout",
    ]);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    let confused = jsonwebtoken::encode(
        &header,
        &claims(&trusted, "deploytrack", now() + 300),
        &EncodingKey::from_secret(&public_pem).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        refused(verifier.verify(&confused).await),
        CiTokenError::Algorithm(_)
    ));
    // A token without a repository claim records nothing.
    let anonymous = sign(
        Algorithm::RS256,
        "rsa-1",
        &rsa_pem,
        &json!({"iss": trusted, "aud": "deploytrack", "exp": now() + 300}),
    );
    assert_eq!(
        refused(verifier.verify(&anonymous).await),
        CiTokenError::NoRepository
    );
    // Issuers must be https unless loopback http is allowed.
    assert!(CiTokenVerifier::new(vec![trusted.clone()], "deploytrack".into(), false).is_err());
}
