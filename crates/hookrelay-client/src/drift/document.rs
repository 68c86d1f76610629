//! The drift test's view of the OpenAPI document ([`Doc`]: pointers, `$ref`s, merged objects,
//! made-up examples of a schema) and of a Rust type ([`shape`]: serde's own list of a struct's
//! fields or an enum's variants).

use std::collections::BTreeSet;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value, json};

pub(super) struct Doc(pub(super) Value);

impl Doc {
    pub(super) fn load() -> Doc {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../clients/openapi.json");
        let text = std::fs::read_to_string(path).expect("clients/openapi.json");
        Doc(serde_json::from_str(&text).expect("the document is JSON"))
    }

    /// The schema at a `#/…` pointer.
    pub(super) fn at(&self, pointer: &str) -> &Value {
        let path = pointer.strip_prefix('#').unwrap_or(pointer);
        self.0.pointer(path).unwrap_or(&Value::Null)
    }

    /// `schema`, or what its `$ref` points to.
    pub(super) fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(pointer) => self.resolve(self.at(pointer)),
            None => schema,
        }
    }

    /// An object schema's properties and required names, `allOf` parts merged.
    pub(super) fn object(&self, schema: &Value) -> (Map<String, Value>, BTreeSet<String>) {
        let schema = self.resolve(schema);
        let (mut properties, mut required) = (Map::new(), BTreeSet::new());
        for part in schema["allOf"].as_array().into_iter().flatten() {
            let (p, r) = self.object(part);
            properties.extend(p);
            required.extend(r);
        }
        if let Some(p) = schema["properties"].as_object() {
            properties.extend(p.clone());
        }
        required.extend(names(&schema["required"]));
        (properties, required)
    }

    /// An example of `schema`: every property when `full`, else only the required ones.
    pub(super) fn example(&self, schema: &Value, full: bool) -> Value {
        let schema = self.resolve(schema);
        if let Some(branch) = schema["oneOf"]
            .as_array()
            .and_then(|b| b.iter().find(|s| s["type"] != "null"))
        {
            return self.example(branch, full);
        }
        if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
            return first.clone();
        }
        let ty = match &schema["type"] {
            Value::String(ty) => ty.as_str(),
            Value::Array(types) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if schema.get("properties").is_some() || schema.get("allOf").is_some() => "object",
            _ => "any",
        };
        match ty {
            "string" => json!("x"),
            "integer" => json!(1),
            "number" => json!(1.5),
            "boolean" => json!(true),
            "array" if full => json!([self.example(&schema["items"], full)]),
            "array" => json!([]),
            "object" => {
                let (properties, required) = self.object(schema);
                let mut example: Map<String, Value> = properties
                    .iter()
                    .filter(|(name, _)| full || required.contains(*name))
                    .map(|(name, s)| (name.clone(), self.example(s, full)))
                    .collect();
                if full && properties.is_empty() && schema["additionalProperties"].is_object() {
                    example.insert(
                        "k".into(),
                        self.example(&schema["additionalProperties"], full),
                    );
                }
                Value::Object(example)
            }
            "null" => Value::Null,
            _ => json!({}),
        }
    }
}

pub(super) fn names(list: &Value) -> impl Iterator<Item = String> + '_ {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
}

/// What serde's derive says of a type: a struct's field names or an enum's variant names.
pub(super) enum Shape {
    Struct(&'static [&'static str]),
    Enum(&'static [&'static str]),
}

/// A deserializer that only records what the type asks for, then fails.
struct Probe<'a>(&'a mut Option<Shape>);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("probed"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(Shape::Struct(fields));
        Err(de::Error::custom("probed"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(Shape::Enum(variants));
        Err(de::Error::custom("probed"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

pub(super) fn shape<T: DeserializeOwned>() -> Option<Shape> {
    let mut shape = None;
    let _ = T::deserialize(Probe(&mut shape));
    shape
}
