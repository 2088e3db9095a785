//! OpenID Connect (issue 37): pipelines recording with their CI ID token, and people signing in
//! through the provider. A local issuer (discovery document, JWKS, token endpoint and GitHub
//! Actions' token-request endpoint, served on port 0; keys made by openssl) plays the provider:
//! tokens signed with RS256 and ES256 are accepted for their repository; another repository,
//! audience, an expired token, an untrusted issuer, an unknown key, `alg: none` and an HMAC keyed
//! with the public key are refused; a sign-in checks state, code, nonce and key rotation.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use common::{run_backend, Backend, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use server::oidc::ci::CiTokenVerifier;
use server::oidc::{Issuers, TokenError};
use sha2::Digest;

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

/// A provider on loopback: discovery, JWKS (replaceable: a rotation), a token endpoint that
/// hands out the ID token registered for a code once, and GitHub's token-request endpoint.
#[derive(Clone, Default)]
struct Provider {
    keys: Arc<Mutex<Vec<Value>>>,
    /// code → (ID token, PKCE challenge it was issued for).
    codes: Arc<Mutex<HashMap<String, (String, String)>>>,
    /// The token GitHub's endpoint hands out.
    actions_token: Arc<Mutex<String>>,
}

impl Provider {
    fn rotate(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }
}

#[derive(serde::Deserialize)]
struct TokenRequest {
    grant_type: String,
    code: String,
    code_verifier: String,
}

async fn token_endpoint(
    State(provider): State<Provider>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let refuse = |error: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": error})));
    let client = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("deploytrack:client-secret")
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(client.as_str()) {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        ));
    }
    if request.grant_type != "authorization_code" {
        return Err(refuse("unsupported_grant_type"));
    }
    // A code serves once, like a real provider's.
    let Some((id_token, challenge)) = provider.codes.lock().unwrap().remove(&request.code) else {
        return Err(refuse("invalid_grant"));
    };
    if b64(&sha2::Sha256::digest(request.code_verifier.as_bytes())) != challenge {
        return Err(refuse("invalid_grant"));
    }
    Ok(Json(
        json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}),
    ))
}

async fn actions_token(
    State(provider): State<Provider>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, StatusCode> {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer request-token")
        || query.get("audience").map(String::as_str) != Some("deploytrack")
    {
        return Err(StatusCode::FORBIDDEN);
    }
    Ok(Json(
        json!({"value": provider.actions_token.lock().unwrap().clone()}),
    ))
}

/// Serves `provider`; its issuer URL.
async fn serve_provider(provider: Provider) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({"issuer": base, "jwks_uri": format!("{base}/jwks"),
        "authorization_endpoint": format!("{base}/authorize"), "token_endpoint": format!("{base}/token")});
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
            get(|State(provider): State<Provider>| async move {
                Json(json!({"keys": provider.keys.lock().unwrap().clone()}))
            }),
        )
        .route("/token", post(token_endpoint))
        .route("/actions-token", get(actions_token))
        .with_state(provider);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// Serves a discovery document and `keys` as the JWKS; the issuer URL.
async fn issuer(keys: Vec<Value>) -> String {
    let provider = Provider::default();
    provider.rotate(keys);
    serve_provider(provider).await
}

fn issuers(trusted: &str, allow_loopback: bool) -> Result<Issuers, String> {
    Issuers::new(
        vec![trusted.to_string()],
        allow_loopback,
        std::time::Duration::ZERO,
    )
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
    let keys = keys();
    let trusted = issuer(vec![keys.rsa_jwk.clone(), keys.ec_jwk.clone()]).await;
    let untrusted = issuer(vec![keys.rsa_jwk.clone()]).await;
    let verifier = CiTokenVerifier::new(issuers(&trusted, true).unwrap(), "deploytrack".into());
    let ours = |exp| claims(&trusted, "deploytrack", exp);

    for (alg, kid, pem) in [
        (Algorithm::RS256, "rsa-1", &keys.rsa_pem),
        (Algorithm::ES256, "ec-1", &keys.ec_pem),
    ] {
        let token = sign(alg, kid, pem, &ours(now() + 300));
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
        .verify(&sign(Algorithm::RS256, "rsa-1", &keys.rsa_pem, &gitlab))
        .await
        .unwrap();
    assert_eq!(
        (identity.repository.as_str(), identity.actor.as_deref()),
        ("group/billing", Some("root"))
    );

    let rs256 = |pem: &[u8], kid: &str, claims: &Value| sign(Algorithm::RS256, kid, pem, claims);
    let [none, confused] = unsigned_and_confused(&keys, &ours(now() + 300));
    let no_repository = json!({"iss": trusted, "aud": "deploytrack", "exp": now() + 300});
    let refusals = [
        (
            "another audience",
            rs256(
                &keys.rsa_pem,
                "rsa-1",
                &claims(&trusted, "someone-else", now() + 300),
            ),
            TokenError::Invalid(String::new()),
        ),
        (
            "expired",
            rs256(&keys.rsa_pem, "rsa-1", &ours(now() - 120)),
            TokenError::Invalid(String::new()),
        ),
        (
            "untrusted issuer",
            rs256(
                &keys.rsa_pem,
                "rsa-1",
                &claims(&untrusted, "deploytrack", now() + 300),
            ),
            TokenError::UntrustedIssuer(String::new()),
        ),
        // Signed by a key the issuer does not publish, under a kid it does and one it does not.
        (
            "forged",
            rs256(&keys.stranger_pem, "rsa-1", &ours(now() + 300)),
            TokenError::Invalid(String::new()),
        ),
        (
            "unknown key",
            rs256(&keys.stranger_pem, "rsa-2", &ours(now() + 300)),
            TokenError::UnknownKey(String::new()),
        ),
        ("alg none", none, TokenError::Malformed(String::new())),
        (
            "HS256 keyed with the public key",
            confused,
            TokenError::Algorithm(String::new()),
        ),
        (
            "no repository",
            rs256(&keys.rsa_pem, "rsa-1", &no_repository),
            TokenError::NoRepository,
        ),
    ];
    for (what, token, expected) in refusals {
        let refused = verifier.verify(&token).await.expect_err(what);
        // `alg: none` is refused while reading the header or by its algorithm, either way.
        let none_either_way = what == "alg none" && matches!(refused, TokenError::Algorithm(_));
        assert!(
            std::mem::discriminant(&refused) == std::mem::discriminant(&expected)
                || none_either_way,
            "{what}: {refused:?}"
        );
    }
    // Issuers must be https unless loopback http is allowed.
    assert!(issuers(&trusted, false).is_err());
}

/// Keys the tests sign with: an RSA and an EC key the provider publishes, and one it does not.
struct Keys {
    _dir: tempfile::TempDir,
    rsa_pem: Vec<u8>,
    rsa_jwk: Value,
    ec_pem: Vec<u8>,
    ec_jwk: Value,
    stranger_pem: Vec<u8>,
    stranger_jwk: Value,
    public_pem: Vec<u8>,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let (rsa_pem, rsa_jwk) = rsa_key(dir.path(), "rsa-1");
    let (ec_pem, ec_jwk) = ec_key(dir.path(), "ec-1");
    let (stranger_pem, stranger_jwk) = rsa_key(dir.path(), "rsa-2");
    let public_pem = openssl(&[
        "pkey",
        "-in",
        dir.path().join("rsa-1.pem").to_str().unwrap(),
        "-pubout",
    ]);
    Keys {
        _dir: dir,
        rsa_pem,
        rsa_jwk,
        ec_pem,
        ec_jwk,
        stranger_pem,
        stranger_jwk,
        public_pem,
    }
}

/// The two tokens no key may verify: `alg: none`, and HS256 keyed with the RSA public key.
fn unsigned_and_confused(keys: &Keys, claims: &Value) -> [String; 2] {
    let body = b64(claims.to_string().as_bytes());
    let none = format!(
        "{}.{body}.",
        b64(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#)
    );
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    let confused = jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(&keys.public_pem).unwrap(),
    )
    .unwrap();
    [none, confused]
}

async fn deployment_count(app: &TestApp) -> usize {
    let page: Value = app
        .get("/api/deployments?limit=100")
        .await
        .json()
        .await
        .unwrap();
    page.as_array()
        .map_or_else(|| page["items"].as_array().unwrap().len(), Vec::len)
}

async fn record_with(
    app: &TestApp,
    token: &str,
    application: &str,
    environment: &str,
    version: &str,
) -> reqwest::Response {
    TestApp::bearer_client(token)
        .post(app.url("/api/deployments"))
        .json(&json!({"application": application, "version": version, "environment": environment,
                      "createVersion": true, "deploymentDate": chrono::Utc::now(), "deployedBy": "someone-else"}))
        .send()
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<(String, Value)> {
    let page: Value = app.get("/api/audit?limit=500").await.json().await.unwrap();
    let items = page
        .as_array()
        .cloned()
        .unwrap_or_else(|| page["items"].as_array().cloned().unwrap_or_default());
    items
        .into_iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap_or_default().to_string(),
                entry["changes"].clone(),
            )
        })
        .collect()
}

/// Pipelines record with their ID token for their repository (and environment) only.
async fn pipelines_record_for_their_repository_only(backend: Backend) {
    let keys = keys();
    let provider = Provider::default();
    provider.rotate(vec![keys.rsa_jwk.clone(), keys.ec_jwk.clone()]);
    let trusted = serve_provider(provider.clone()).await;
    let untrusted = issuer(vec![keys.rsa_jwk.clone()]).await;
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.ci_token_issuers = vec![trusted.clone()];
        config.oidc_allow_http_loopback = true;
    })
    .await
    else {
        return;
    };
    app.create(
        "/api/applications",
        json!({"name": "billing", "repository": "acme/billing"}),
    )
    .await;
    app.create(
        "/api/applications",
        json!({"name": "payroll", "repository": "acme/payroll"}),
    )
    .await;
    app.create("/api/environments", json!({"name": "staging"}))
        .await;
    app.create("/api/environments", json!({"name": "production"}))
        .await;

    // GitHub: RS256, for production; deployedBy is the token's actor, whatever the body says.
    let github = sign(
        Algorithm::RS256,
        "rsa-1",
        &keys.rsa_pem,
        &claims(&trusted, "deploytrack", now() + 300),
    );
    let response = record_with(&app, &github, "billing", "production", "1.0.0").await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let recorded: Value = response.json().await.unwrap();
    assert_eq!(recorded["deployedBy"], "octocat");
    // GitLab: ES256, project_path and user_login, no environment claim: any environment.
    let gitlab = sign(
        Algorithm::ES256,
        "ec-1",
        &keys.ec_pem,
        &json!({"iss": trusted, "aud": "deploytrack",
        "exp": now() + 300, "project_path": "ACME/billing", "user_login": "root"}),
    );
    let response = record_with(&app, &gitlab, "billing", "staging", "1.0.1").await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.json::<Value>().await.unwrap()["deployedBy"],
        "root"
    );
    assert_eq!(deployment_count(&app).await, 2);

    // Refused and never recorded: another repository, another environment, another audience,
    // expired, an untrusted issuer, a key not published, alg none, HS256 with the public key.
    let response = record_with(&app, &github, "payroll", "production", "9.9.9").await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("acme/billing"));
    assert_eq!(
        record_with(&app, &github, "billing", "staging", "9.9.9")
            .await
            .status(),
        403
    );
    let mut refused = vec![
        sign(
            Algorithm::RS256,
            "rsa-1",
            &keys.rsa_pem,
            &claims(&trusted, "someone-else", now() + 300),
        ),
        sign(
            Algorithm::RS256,
            "rsa-1",
            &keys.rsa_pem,
            &claims(&trusted, "deploytrack", now() - 120),
        ),
        sign(
            Algorithm::RS256,
            "rsa-1",
            &keys.rsa_pem,
            &claims(&untrusted, "deploytrack", now() + 300),
        ),
        sign(
            Algorithm::RS256,
            "rsa-2",
            &keys.stranger_pem,
            &claims(&trusted, "deploytrack", now() + 300),
        ),
        sign(
            Algorithm::RS256,
            "rsa-1",
            &keys.stranger_pem,
            &claims(&trusted, "deploytrack", now() + 300),
        ),
    ];
    refused.extend(unsigned_and_confused(
        &keys,
        &claims(&trusted, "deploytrack", now() + 300),
    ));
    // Hostile bearers: JWT-shaped garbage, 100 KB.
    refused.push("eyJ.eyJ.x".into());
    refused.push(format!("eyJ{}.eyJ.x", "A".repeat(100_000)));
    for token in &refused {
        let response = record_with(&app, token, "billing", "production", "6.6.6").await;
        assert_eq!(response.status(), 401, "{}", &token[..token.len().min(80)]);
        let body: Value = response.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("CI ID token was refused"),
            "{body}"
        );
    }
    assert_eq!(deployment_count(&app).await, 2);
    let audit = audit_actions(&app).await;
    let refusals = audit
        .iter()
        .filter(|(action, _)| action == "auth.ci_token_refused")
        .count();
    assert_eq!(refusals, refused.len());
    assert!(audit
        .iter()
        .any(|(action, changes)| action == "user.created"
            && changes["subject"] == "repository:acme/billing"));

    // A pipeline reads and records; nothing else.
    let pipeline = TestApp::bearer_client(&github);
    assert_eq!(
        pipeline
            .get(app.url("/api/applications"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let response = pipeline
        .post(app.url("/api/applications"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        pipeline.get(app.url("/")).send().await.unwrap().status(),
        403
    );

    // An admin can stop a repository's pipelines by disabling their user.
    let users: Value = app.get("/api/users").await.json().await.unwrap();
    let ci_user = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["displayName"] == "CI acme/billing")
        .unwrap();
    let response = app
        .patch_json(
            &format!("/api/users/{}", ci_user["id"].as_str().unwrap()),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        record_with(&app, &github, "billing", "production", "1.0.2")
            .await
            .status(),
        403
    );

    // The CLI in GitHub Actions, without DEPLOYTRACK_TOKEN: asks the runner for an ID token.
    let gitlab_actions = sign(
        Algorithm::ES256,
        "ec-1",
        &keys.ec_pem,
        &json!({"iss": trusted, "aud": "deploytrack",
        "exp": now() + 300, "repository": "acme/payroll", "actor": "hubot"}),
    );
    *provider.actions_token.lock().unwrap() = gitlab_actions;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_deploytrack"))
        .args([
            "record",
            "--app",
            "payroll",
            "--version",
            "2.0.0",
            "--env",
            "production",
            "--create-version",
        ])
        .env("DEPLOYTRACK_URL", &app.base)
        .env_remove("DEPLOYTRACK_TOKEN")
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{trusted}/actions-token?api-version=2.0"),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token")
        .env_remove("DATABASE_URL")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let current: Value = app
        .get("/api/deployments?limit=100")
        .await
        .json()
        .await
        .unwrap();
    assert!(current.to_string().contains("hubot"), "{current}");
}

/// Makes an ID token for a sign-in's nonce.
type MakeToken<'a> = Box<dyn Fn(&str) -> String + 'a>;

/// A sign-in under way, as the provider saw it arrive.
struct SignIn {
    browser: reqwest::Client,
    state: String,
    nonce: String,
    challenge: String,
}

async fn start_sign_in(app: &TestApp, next: &str) -> SignIn {
    let browser = TestApp::browser();
    let response = browser
        .get(app.url(&format!("/auth/oidc/login?next={next}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["scope"].split(' ').any(|s| s == "openid"));
    SignIn {
        browser,
        state: query["state"].clone(),
        nonce: query["nonce"].clone(),
        challenge: query["code_challenge"].clone(),
    }
}

fn person(issuer: &str, nonce: &str, groups: &[&str]) -> Value {
    json!({"iss": issuer, "aud": "deploytrack", "exp": now() + 300, "iat": now(), "sub": "248289761001",
           "nonce": nonce, "preferred_username": "admin", "name": "Jane Doe", "groups": groups})
}

/// The provider issues `id_token` for a new code; the callback with it (and `state`).
async fn come_back(
    app: &TestApp,
    provider: &Provider,
    sign_in: &SignIn,
    id_token: &str,
    state: &str,
) -> (reqwest::Response, String) {
    let code = format!("code-{}", uuid::Uuid::now_v7());
    provider.codes.lock().unwrap().insert(
        code.clone(),
        (id_token.to_string(), sign_in.challenge.clone()),
    );
    let response = sign_in
        .browser
        .get(app.url(&format!("/auth/oidc/callback?code={code}&state={state}")))
        .send()
        .await
        .unwrap();
    (response, code)
}

async fn me(browser: &reqwest::Client, app: &TestApp) -> Option<Value> {
    let response = browser.get(app.url("/api/me")).send().await.unwrap();
    (response.status() == 200).then_some(response.json().await.unwrap())
}

/// People sign in through the provider: created on first sign-in with the role their groups
/// map to, re-mapped at each sign-in; every refusal the issue lists, each a 4xx.
async fn people_sign_in_through_the_provider(backend: Backend) {
    let keys = keys();
    let provider = Provider::default();
    provider.rotate(vec![keys.rsa_jwk.clone(), keys.ec_jwk.clone()]);
    let trusted = serve_provider(provider.clone()).await;
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.oidc_issuer = Some(trusted.clone());
        config.oidc_client_id = Some("deploytrack".into());
        config.oidc_client_secret = Some("client-secret".into());
        config.oidc_redirect_url = Some("http://127.0.0.1:1/auth/oidc/callback".into());
        config.oidc_provider_name = Some("Acme SSO".into());
        config.oidc_roles = "deploy-admins=admin,deployers=editor,*=viewer".into();
        config.oidc_allow_http_loopback = true;
        config.oidc_key_refetch_seconds = 0;
        config.password_login = false;
    })
    .await
    else {
        return;
    };
    let page = TestApp::browser()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // (Leptos marks the text's parts with `<!>`.)
    assert!(
        page.replace("<!>", "").contains("Sign in with Acme SSO"),
        "{page}"
    );
    assert!(page.contains("/auth/oidc/login?next="));

    // First sign-in: a new user (the provider's "admin" is not ours), an editor, sent on.
    let sign_in = start_sign_in(&app, "%2Fcompare%3Fopen%3Dbilling").await;
    let token = sign(
        Algorithm::RS256,
        "rsa-1",
        &keys.rsa_pem,
        &person(&trusted, &sign_in.nonce, &["deployers"]),
    );
    let (response, code) = come_back(&app, &provider, &sign_in, &token, &sign_in.state).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(response.headers()["location"], "/compare?open=billing");
    let user = me(&sign_in.browser, &app).await.expect("signed in");
    assert_eq!(
        (user["role"].as_str(), user["displayName"].as_str()),
        (Some("editor"), Some("Jane Doe"))
    );
    assert_eq!(user["username"], "admin-2");
    let first_id = user["id"].clone();

    // The same callback again (state used) and the code with a fresh state (the provider
    // refuses a code twice).
    let replay = sign_in
        .browser
        .get(app.url(&format!(
            "/auth/oidc/callback?code={code}&state={}",
            sign_in.state
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    let again = start_sign_in(&app, "/").await;
    let replayed_code = again
        .browser
        .get(app.url(&format!(
            "/auth/oidc/callback?code={code}&state={}",
            again.state
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed_code.status(), 401);

    // Sign-out ends the session.
    let response = sign_in
        .browser
        .post(app.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert!(me(&sign_in.browser, &app).await.is_none());

    // Groups change at the provider: the role follows at the next sign-in, both ways.
    for (groups, role) in [
        (&["deployers", "deploy-admins"][..], "admin"),
        (&[][..], "viewer"),
    ] {
        let sign_in = start_sign_in(&app, "/").await;
        let token = sign(
            Algorithm::ES256,
            "ec-1",
            &keys.ec_pem,
            &person(&trusted, &sign_in.nonce, groups),
        );
        let (response, _) = come_back(&app, &provider, &sign_in, &token, &sign_in.state).await;
        assert_eq!(response.status(), 303);
        let user = me(&sign_in.browser, &app).await.unwrap();
        assert_eq!(
            (&user["id"], user["role"].as_str()),
            (&first_id, Some(role))
        );
    }

    // Refused, each with its reason in the audit trail and nobody signed in.
    let wrong_state = start_sign_in(&app, "/").await;
    let token = sign(
        Algorithm::RS256,
        "rsa-1",
        &keys.rsa_pem,
        &person(&trusted, &wrong_state.nonce, &[]),
    );
    let (response, _) = come_back(&app, &provider, &wrong_state, &token, "not-the-state").await;
    assert_eq!(response.status(), 400);
    assert!(me(&wrong_state.browser, &app).await.is_none());
    let bad_tokens: Vec<(&str, MakeToken)> = vec![
        (
            "wrong nonce",
            Box::new(|_: &str| {
                sign(
                    Algorithm::RS256,
                    "rsa-1",
                    &keys.rsa_pem,
                    &person(&trusted, "another-nonce", &[]),
                )
            }),
        ),
        (
            "expired",
            Box::new(|nonce: &str| {
                let mut claims = person(&trusted, nonce, &[]);
                claims["exp"] = json!(now() - 120);
                sign(Algorithm::RS256, "rsa-1", &keys.rsa_pem, &claims)
            }),
        ),
        (
            "another audience",
            Box::new(|nonce: &str| {
                let mut claims = person(&trusted, nonce, &[]);
                claims["aud"] = json!("another-client");
                sign(Algorithm::RS256, "rsa-1", &keys.rsa_pem, &claims)
            }),
        ),
        (
            "unknown key",
            Box::new(|nonce: &str| {
                sign(
                    Algorithm::RS256,
                    "rsa-2",
                    &keys.stranger_pem,
                    &person(&trusted, nonce, &[]),
                )
            }),
        ),
        (
            "alg none",
            Box::new(|nonce: &str| {
                unsigned_and_confused(&keys, &person(&trusted, nonce, &[]))[0].clone()
            }),
        ),
        (
            "HS256 with the public key",
            Box::new(|nonce: &str| {
                unsigned_and_confused(&keys, &person(&trusted, nonce, &[]))[1].clone()
            }),
        ),
    ];
    for (what, make) in &bad_tokens {
        let sign_in = start_sign_in(&app, "/").await;
        let (response, _) = come_back(
            &app,
            &provider,
            &sign_in,
            &make(&sign_in.nonce),
            &sign_in.state,
        )
        .await;
        assert_eq!(response.status(), 401, "{what}");
        assert!(me(&sign_in.browser, &app).await.is_none(), "{what}");
    }

    // The provider rotates its key: a token under the new key is accepted after a refetch; the
    // old key no longer is.
    provider.rotate(vec![keys.stranger_jwk.clone()]);
    let sign_in = start_sign_in(&app, "/").await;
    let token = sign(
        Algorithm::RS256,
        "rsa-2",
        &keys.stranger_pem,
        &person(&trusted, &sign_in.nonce, &[]),
    );
    let (response, _) = come_back(&app, &provider, &sign_in, &token, &sign_in.state).await;
    assert_eq!(response.status(), 303, "rotated key");
    let sign_in = start_sign_in(&app, "/").await;
    let token = sign(
        Algorithm::RS256,
        "rsa-1",
        &keys.rsa_pem,
        &person(&trusted, &sign_in.nonce, &[]),
    );
    assert_eq!(
        come_back(&app, &provider, &sign_in, &token, &sign_in.state)
            .await
            .0
            .status(),
        401
    );

    // Hostile callbacks: 4xx, never 5xx.
    let long = "A".repeat(5_000);
    for query in [
        "",
        "?code=x",
        "?state=x",
        "?code=x&state=%00",
        "?error=access_denied&error_description=%3Cscript%3E",
        "?code[]=1&state=2",
        &format!("?code={long}&state={long}"),
    ] {
        let response = TestApp::browser()
            .get(app.url(&format!("/auth/oidc/callback{query}")))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{query:.40}: {}",
            response.status()
        );
        assert!(!response.text().await.unwrap().contains("<script>"));
    }
    // After sign-in only local paths are followed.
    let sign_in = start_sign_in(&app, "%2F%2Fevil.example").await;
    let token = sign(
        Algorithm::RS256,
        "rsa-2",
        &keys.stranger_pem,
        &person(&trusted, &sign_in.nonce, &[]),
    );
    let (response, _) = come_back(&app, &provider, &sign_in, &token, &sign_in.state).await;
    assert_eq!(response.headers()["location"], "/");

    // Password sign-in is off, except for the break-glass admin (whose sign-in made app.client).
    app.create(
        "/api/users",
        json!({"username": "pat", "password": "pat-password-123", "role": "editor"}),
    )
    .await;
    let response = TestApp::browser()
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "pat", "password": "pat-password-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("sign in with Acme SSO"));

    let audit = audit_actions(&app).await;
    let count = |name: &str| audit.iter().filter(|(action, _)| action == name).count();
    // The used state, the replayed code, the wrong state, the bad tokens, the old key, the
    // hostile callbacks.
    assert_eq!(
        count("auth.sso_refused"),
        1 + 1 + 1 + bad_tokens.len() + 1 + 7
    );
    assert!(count("user.role_changed") >= 2);
    assert!(audit
        .iter()
        .any(|(action, changes)| action == "auth.login" && changes["via"] == "oidc"));
}

for_both_backends!(run_backend;
    pipelines_record_for_their_repository_only,
    people_sign_in_through_the_provider,
);
