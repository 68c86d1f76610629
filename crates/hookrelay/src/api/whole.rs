//! [`Whole`]: a JSON integer as JSON Schema defines one. `"type": "integer"` matches any number
//! without a fractional part, `5.0` as well as `5`, so a field the document calls an integer
//! takes both; `5.5` is refused saying it must be a whole number.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A whole number sent as `5` or `5.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Whole(pub i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WholeVisitor)
    }
}

struct WholeVisitor;

impl Visitor<'_> for WholeVisitor {
    type Value = Whole;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Whole, E> {
        Ok(Whole(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Whole, E> {
        // Beyond i64 is beyond every range the API accepts; saturating keeps the range check's
        // message ("must be from 1 to 30") rather than a type error.
        Ok(Whole(i64::try_from(n).unwrap_or(i64::MAX)))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Whole, E> {
        if n.fract() != 0.0 || !n.is_finite() {
            return Err(E::invalid_type(de::Unexpected::Float(n), &self));
        }
        // `as` saturates at the ends of i64, which the range checks then refuse.
        Ok(Whole(n as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_are_whole_numbers_and_fractions_are_not() {
        let parse = |s: &str| serde_json::from_str::<Whole>(s).map(|w| w.0);
        assert_eq!(parse("5").ok(), Some(5));
        assert_eq!(parse("5.0").ok(), Some(5));
        assert_eq!(parse("-2677943710.0").ok(), Some(-2_677_943_710));
        assert_eq!(parse("1e3").ok(), Some(1000));
        assert_eq!(parse("18446744073709551615").ok(), Some(i64::MAX));
        assert!(parse("5.5").is_err());
        assert!(parse("\"5\"").is_err());
    }
}
