//! What an event's `data` must be beyond well-formed JSON: text every standard parser reads the
//! same way, since receivers in any language parse the bodies it is delivered in. serde_json
//! (and so the `RawValue` the API keeps) accepts lone UTF-16 surrogates (`"\ud800"`), numbers no
//! double holds (`1e400`) and unbounded nesting; many receivers' parsers refuse or crash on them.
//! The check is one pass over the text with a visitor that builds nothing: borrowed strings are
//! not copied, numbers are not kept.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::Invalid;

/// The deepest nesting of arrays and objects `data` may have, the object itself being level 1.
/// Deep enough for any real payload, and shallow enough for recursive parsers on small stacks.
pub const MAX_DATA_DEPTH: usize = 64;

/// Checks that `json` (already known to be well-formed) has no lone surrogate, no number
/// beyond a double and at most [`MAX_DATA_DEPTH`] levels of nesting.
pub fn check_data(json: &str, field: &str) -> Result<(), Invalid> {
    let mut de = serde_json::Deserializer::from_str(json);
    Walk { depth: 0 }
        .deserialize(&mut de)
        .map_err(|e| Invalid::new(field, explain(&e)))
}

/// A person's sentence for why the walk stopped.
fn explain(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => &message,
    };
    if message.contains("surrogate") {
        "must not hold a lone UTF-16 surrogate (a \\ud800 to \\udfff escape without its pair)"
            .to_owned()
    } else if message.contains("number out of range") {
        "must not hold a number larger than a double (about 1.8e308)".to_owned()
    } else if message.contains("recursion limit") {
        too_deep()
    } else {
        format!("must be JSON every parser reads: {message}")
    }
}

fn too_deep() -> String {
    format!("must not nest arrays and objects more than {MAX_DATA_DEPTH} levels deep")
}

/// Visits one value at `depth` levels of nesting, keeping nothing: serde's `IgnoredAny` plus
/// the depth and range checks.
#[derive(Clone, Copy)]
struct Walk {
    depth: usize,
}

impl Walk {
    fn enter<E: de::Error>(self) -> Result<Walk, E> {
        let depth = self.depth + 1;
        if depth > MAX_DATA_DEPTH {
            return Err(E::custom(too_deep()));
        }
        Ok(Walk { depth })
    }
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(E::custom("number out of range"))
        }
    }

    // serde_json has already refused lone surrogates by the time a string reaches here.
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        // Keys are strings: `Walk` checks their escapes like any other string's.
        while map.next_key_seed(inner)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn ordinary_data_passes() {
        assert!(
            check_data(
                r#"{"a":[1,-2.5,"x\u00e9\ud83d\ude00",null,true,{"b":{}}]}"#,
                "data"
            )
            .is_ok()
        );
        assert!(check_data(r#"{"nul":"a\u0000b"}"#, "data").is_ok());
        assert!(check_data(&format!("{{\"a\":{}}}", nested(MAX_DATA_DEPTH - 1)), "data").is_ok());
    }

    #[test]
    fn what_other_parsers_refuse_is_refused() {
        for bad in [
            r#"{"a":"\ud800"}"#.to_owned(),
            r#"{"\udc00":1}"#.to_owned(),
            r#"{"a":1e400}"#.to_owned(),
            r#"{"a":-1e400}"#.to_owned(),
            format!("{{\"a\":{}}}", nested(MAX_DATA_DEPTH)),
            format!("{{\"a\":{}}}", nested(100_000)),
        ] {
            let e = check_data(&bad, "data").unwrap_err();
            assert_eq!(e.field, "data");
            assert!(!e.message.contains("line"), "{}", e.message);
        }
    }
}
