//! The JSON encoding every server function answers in. It is serde_json, as the built-in
//! `Json` encoding is, but it reads the body as text (`from_str`): hydration reads resources
//! from text too, so each DTO's deserialiser is compiled once for the browser, not once per
//! reader (measured: the two readers' copies were ~12 % of the WASM before optimisation).

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON read as text; see the module's doc.
pub struct JsonText;

/// The output encoding of every server function: JSON in the body of the `POST`'s answer.
pub type JsonRpc = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        // Invalid UTF-8 is reported as serde_json reports any unreadable body.
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}
