//! serde's error messages rewritten for people: `invalid type: floating point `1.5`, expected
//! i64` becomes `must be a whole number, not the number 1.5`. serde names Rust types (`i64`,
//! `struct PublishIn`, `a sequence`); the API speaks JSON.

/// `message` (one serde error, position already removed) in the API's words.
pub fn humanize(message: &str) -> String {
    // What `str::parse` says of a query value that is not an integer.
    if matches!(
        message,
        "invalid digit found in string"
            | "cannot parse integer from empty string"
            | "number too large to fit in target type"
            | "number too small to fit in target type"
    ) {
        return "must be a whole number".to_owned();
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "must be {}, not {}",
            expected_text(expected),
            found_text(found)
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "must be {}, not {}",
            expected_text(expected),
            found_text(found)
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let expected = expected.strip_prefix("one of ").unwrap_or(expected);
        return format!("must be one of {expected}, not {found}");
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let found = rest.split(", expected").next().unwrap_or(rest);
        return match rest.split_once(", expected ") {
            Some((_, expected)) => {
                let expected = expected.strip_prefix("one of ").unwrap_or(expected);
                format!("{found} is not a known field; the fields are {expected}")
            }
            None => format!("{found} is not a known field"),
        };
    }
    if message.starts_with("missing field ") {
        return "is required".to_owned();
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("must hold {}, not {found}", expected_text(expected));
    }
    message.to_owned()
}

/// What serde expected, in JSON terms.
fn expected_text(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => {
            "a whole number".to_owned()
        }
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a map" => "an object".to_owned(),
        "unit" => "null".to_owned(),
        "a borrowed string" => "a string".to_owned(),
        e if e.starts_with("struct ") || e.starts_with("internally tagged enum") => {
            "an object".to_owned()
        }
        e if e.starts_with("a string") => "a string".to_owned(),
        e => e.to_owned(),
    }
}

/// What serde found, in JSON terms.
fn found_text(found: &str) -> String {
    let quoted = |prefix: &str| found.strip_prefix(prefix).map(str::to_owned);
    if let Some(n) = quoted("floating point ").or_else(|| quoted("integer ")) {
        return format!("the number {}", n.trim_matches('`'));
    }
    if let Some(b) = quoted("boolean ") {
        return b.trim_matches('`').to_owned();
    }
    match found {
        "map" => "an object".to_owned(),
        "sequence" => "an array".to_owned(),
        "unit value" | "unit" => "null".to_owned(),
        f if f.starts_with("string ") => format!("the string {}", &f["string ".len()..]),
        f => f.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_internals_become_json_terms() {
        assert_eq!(
            humanize("invalid type: floating point `1.5`, expected i64"),
            "must be a whole number, not the number 1.5"
        );
        assert_eq!(
            humanize("invalid type: map, expected a sequence"),
            "must be an array, not an object"
        );
        assert_eq!(
            humanize("invalid type: string \"x\", expected struct PublishIn"),
            "must be an object, not the string \"x\""
        );
        assert_eq!(
            humanize("unknown variant `x`, expected one of `envelope`, `data`"),
            "must be one of `envelope`, `data`, not `x`"
        );
        assert_eq!(
            humanize("unknown field `nope`, expected `url` or `secret`"),
            "`nope` is not a known field; the fields are `url` or `secret`"
        );
        assert_eq!(humanize("missing field `url`"), "is required");
        assert_eq!(
            humanize("invalid digit found in string"),
            "must be a whole number"
        );
        assert_eq!(
            humanize("invalid value: integer `-1`, expected u32"),
            "must be a whole number, not the number -1"
        );
    }
}
