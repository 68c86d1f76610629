//! `hookrelay openapi`: prints the OpenAPI document the server serves at `/openapi.json`,
//! without starting anything, so that client generators (scripts/generate-clients.sh) read the
//! exact contract of this build.

use std::io::Write as _;

use anyhow::Context as _;

/// Writes the document, pretty-printed with a final newline, to standard output.
pub(super) fn run() -> anyhow::Result<()> {
    let text = document_text().context("serializing the OpenAPI document")?;
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing the OpenAPI document")
}

/// The document as committed at `clients/openapi.json`: pretty JSON and a final newline.
pub fn document_text() -> serde_json::Result<String> {
    let (_, doc) = crate::api::documented();
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}
