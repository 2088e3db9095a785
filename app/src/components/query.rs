//! Building links that carry a page's query.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters, so `application.created` stays readable.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A query parameter's value, encoded for a URL.
pub fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unreserved_characters_and_encodes_the_rest() {
        assert_eq!(
            encode_query_value("application.created"),
            "application.created"
        );
        assert_eq!(
            encode_query_value("a&b=c d+é#"),
            "a%26b%3Dc%20d%2B%C3%A9%23"
        );
        assert_eq!(
            encode_query_value("2026-11-01T10:00:00.000000Z"),
            "2026-11-01T10%3A00%3A00.000000Z"
        );
    }
}
