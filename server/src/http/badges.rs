//! `GET /badges/{application}/{environment}.svg?key=…`: a shields-style status badge. Public at
//! the edge (an `<img>` carries no bearer token); the read-only badge key in the URL is checked
//! by the service. Refusals are badges with words too, never an image without text.

use app::ssr::service::badges::{Badge, BadgeTone};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::AppState;

#[derive(Deserialize)]
pub struct BadgeQuery {
    key: Option<String>,
}

/// Roughly how wide `text` is in 11 px Verdana (shields.io's font), in pixels.
fn text_width(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '|' | '!' | '\'' | ' ' => 4,
            'm' | 'w' | 'M' | 'W' | '@' => 10,
            c if c.is_ascii_uppercase() => 8,
            _ => 7,
        })
        .sum()
}

fn colour(tone: BadgeTone) -> &'static str {
    use app::components::age::Age;
    match tone {
        BadgeTone::Deployed(Age::Fresh) => "#2e7d32",
        BadgeTone::Deployed(Age::Aging) => "#8a5a00",
        BadgeTone::Deployed(Age::Stale) => "#b42318",
        BadgeTone::Absent => "#6b7280",
        BadgeTone::Refused => "#9f1239",
    }
}

/// The badge as SVG: two boxes of text, the whole read out by screen readers as
/// "label: message" (its title and aria-label).
pub fn render(badge: &Badge) -> String {
    let visible = |text: &str| text.chars().filter(|c| !c.is_control()).collect::<String>();
    let (label, message) = (visible(&badge.label), visible(&badge.message));
    let left = text_width(&label) + 12;
    let right = text_width(&message) + 12;
    let width = left + right;
    let spoken = format!("{label}: {message}");
    let spoken_attr = html_escape::encode_double_quoted_attribute(&spoken);
    let spoken_text = html_escape::encode_text(&spoken);
    let label = html_escape::encode_text(&label);
    let message = html_escape::encode_text(&message);
    let fill = colour(badge.tone);
    let (label_x, message_x) = (left / 2, left + right / 2);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{spoken_attr}"><title>{spoken_text}</title><rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{fill}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle"><text x="{label_x}" y="14">{label}</text><text x="{message_x}" y="14">{message}</text></g></svg>"##
    )
}

pub async fn badge(
    State(state): State<AppState>,
    Path((application, file)): Path<(String, String)>,
    query: Result<Query<BadgeQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let key = query.ok().and_then(|Query(query)| query.key);
    let badge = match file.strip_suffix(".svg") {
        Some(environment) => {
            state
                .service
                .badge(&application, environment, key.as_deref())
                .await
        }
        None => Badge {
            label: "deploytrack".into(),
            message: "badges end in .svg".into(),
            tone: BadgeTone::Refused,
            status: 404,
        },
    };
    let body = render(&badge);
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..20]
    );
    let status = StatusCode::from_u16(badge.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    // A good badge may be kept a minute (README renderers cache images); a refusal is not kept.
    let cache = if status.is_success() {
        "max-age=60"
    } else {
        "no-store"
    };
    let mut response = if fresh && status.is_success() {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_spoken() {
        let svg = render(&Badge {
            label: "prod <&>".into(),
            message: "1.0\"\u{0}".into(),
            tone: BadgeTone::Absent,
            status: 200,
        });
        assert!(
            svg.contains("<title>prod &lt;&amp;&gt;: 1.0\"</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("aria-label=\"prod &lt;&amp;&gt;: 1.0&quot;\""),
            "{svg}"
        );
        assert!(!svg.contains('\u{0}'));
    }
}
