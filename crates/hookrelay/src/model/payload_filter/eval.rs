//! Evaluating a compiled filter against one event. Nothing here allocates: paths are walked
//! through the parsed data by reference, strings compared in place, numbers compared exactly
//! when both are integers and as doubles otherwise.
//!
//! Semantics (docs/filters.md says the same to users):
//! - a missing path fails every test but `$ne`, `$nin` and `$exists: false`, which hold;
//! - an ordering test holds only between two numbers or two strings: a type mismatch is false,
//!   never an error;
//! - equality is deep for arrays and objects (objects ignore key order), and numbers are equal
//!   by value (`1` equals `1.0`);
//! - where the value is an array (`channels` always is), `$eq`, `$in` and the ordering tests
//!   hold if they hold for the array itself or for any of its elements, and `$ne`/`$nin` hold
//!   if `$eq`/`$in` do not (MongoDB's rule): `{"channels": "eu"}` means "carries eu".

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::compile::{Bound, Node, Order, Path, Root, Test};

/// What a filter reads of one event, for one webhook.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// The event type.
    pub event_type: &'a str,
    /// The tenant the delivery is for: the webhook's own, never the event's other tenants,
    /// which a filter could otherwise probe.
    pub tenant: &'a str,
    /// The event's channels.
    pub channels: &'a [String],
    /// The event's data, parsed (read only by filters that name `data`).
    pub data: &'a Value,
}

/// A value found at a path: a JSON value of `data`, or one of the event's own fields.
#[derive(Clone, Copy)]
enum Found<'a> {
    Json(&'a Value),
    Text(&'a str),
    Texts(&'a [String]),
}

impl Node {
    /// Whether the event holds this node.
    pub fn holds(&self, subject: &Subject<'_>) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.holds(subject)),
            Node::Any(nodes) => nodes.iter().any(|n| n.holds(subject)),
            Node::Not(node) => !node.holds(subject),
            Node::Field(path, tests) => {
                let found = resolve(path, subject);
                tests.iter().all(|t| t.holds(found))
            }
        }
    }
}

/// The value at `path` as compact JSON text (a string quoted, `channels` an array), or `None`
/// where the path is missing: what a webhook's ordering key reads (`model/ordering.rs`).
pub(super) fn json_text(path: &Path, subject: &Subject<'_>) -> Option<String> {
    let text = match resolve(path, subject)? {
        Found::Json(v) => serde_json::to_string(v),
        Found::Text(s) => serde_json::to_string(s),
        Found::Texts(items) => serde_json::to_string(items),
    };
    text.ok()
}

fn resolve<'a>(path: &Path, subject: &Subject<'a>) -> Option<Found<'a>> {
    match path.root {
        Root::Type => Some(Found::Text(subject.event_type)),
        Root::Tenant => Some(Found::Text(subject.tenant)),
        Root::Channels => Some(Found::Texts(subject.channels)),
        Root::Data => {
            let mut value = subject.data;
            for key in &path.keys {
                value = match value {
                    Value::Object(map) => map.get(&*key.name)?,
                    Value::Array(items) => items.get(key.index?)?,
                    _ => return None,
                };
            }
            Some(Found::Json(value))
        }
    }
}

impl Test {
    fn holds(&self, found: Option<Found<'_>>) -> bool {
        match self {
            Test::Eq(v) => found.is_some_and(|f| any(f, |x| equal(x, v))),
            Test::Ne(v) => !found.is_some_and(|f| any(f, |x| equal(x, v))),
            Test::In(vs) => found.is_some_and(|f| any(f, |x| member(x, vs))),
            Test::Nin(vs) => !found.is_some_and(|f| any(f, |x| member(x, vs))),
            Test::Order(order, bound) => found
                .is_some_and(|f| any(f, |x| compare(x, bound).is_some_and(|o| order.accepts(o)))),
            Test::Exists(wanted) => found.is_some() == *wanted,
            Test::Not(tests) => !tests.iter().all(|t| t.holds(found)),
        }
    }
}

impl Order {
    fn accepts(self, o: Ordering) -> bool {
        match self {
            Order::Gt => o.is_gt(),
            Order::Gte => o.is_ge(),
            Order::Lt => o.is_lt(),
            Order::Lte => o.is_le(),
        }
    }
}

/// Whether `test` holds for the value or, if it is an array, for one of its elements.
fn any(found: Found<'_>, test: impl Fn(Found<'_>) -> bool) -> bool {
    test(found)
        || match found {
            Found::Json(Value::Array(items)) => items.iter().any(|v| test(Found::Json(v))),
            Found::Texts(items) => items.iter().any(|s| test(Found::Text(s))),
            _ => false,
        }
}

fn member(found: Found<'_>, list: &[Value]) -> bool {
    list.iter().any(|v| equal(found, v))
}

fn equal(found: Found<'_>, operand: &Value) -> bool {
    match found {
        Found::Json(v) => json_equal(v, operand),
        Found::Text(s) => operand.as_str() == Some(s),
        Found::Texts(items) => operand.as_array().is_some_and(|list| {
            list.len() == items.len() && list.iter().zip(items).all(|(v, s)| v.as_str() == Some(s))
        }),
    }
}

/// Deep equality, numbers by value and objects whatever their key order.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => false,
    }
}

fn compare(found: Found<'_>, bound: &Bound) -> Option<Ordering> {
    match (found, bound) {
        (Found::Json(Value::Number(n)), Bound::Number(b)) => compare_numbers(n, b),
        (Found::Json(Value::String(s)), Bound::Text(b)) => Some(s.as_str().cmp(b)),
        (Found::Text(s), Bound::Text(b)) => Some(s.cmp(b)),
        _ => None,
    }
}

/// Integers exactly (whatever their size), anything else as doubles.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    // A negative i64 against a u64 beyond i64: the doubles order them right.
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::payload_filter::PayloadFilter;

    /// The event most cases are held against.
    fn data() -> Value {
        json!({
            "amount": 150, "price": 9.5, "currency": "EUR", "paid": true, "note": null,
            "customer": {"name": "Ada", "address": {"city": "Paris", "zip": "75001"}},
            "tags": ["vip", "new"], "items": [{"sku": "a1", "qty": 2}, {"sku": "b2", "qty": 5}],
            "big": 18446744073709551615u64, "neg": -3, "empty": {}, "list": [1, [2, 3]]
        })
    }

    fn holds(filter: Value) -> bool {
        holds_on(filter, &data())
    }

    fn holds_on(filter: Value, data: &Value) -> bool {
        let filter = PayloadFilter::parse(filter.clone())
            .unwrap_or_else(|e| panic!("{filter}: {e:?}"))
            .expect("not empty");
        let channels = ["eu".to_owned(), "beta".to_owned()];
        filter.matches(&Subject {
            event_type: "order.paid",
            tenant: "acme",
            channels: &channels,
            data,
        })
    }

    fn check(cases: &[(Value, bool)]) {
        for (filter, expected) in cases {
            assert_eq!(holds(filter.clone()), *expected, "{filter}");
        }
    }

    #[test]
    fn equality_and_bare_values() {
        check(&[
            (json!({"data.currency": "EUR"}), true),
            (json!({"data.currency": "USD"}), false),
            (json!({"data.currency": {"$eq": "EUR"}}), true),
            (json!({"data.amount": 150.0}), true),
            (json!({"data.amount": "150"}), false),
            (json!({"data.paid": true}), true),
            (json!({"data.note": null}), true),
            (json!({"data.missing": null}), false),
            (
                json!({"data.customer": {"address": {"zip": "75001", "city": "Paris"}, "name": "Ada"}}),
                true,
            ),
            (json!({"data.customer": {"$eq": {"name": "Ada"}}}), false),
            (json!({"data.empty": {}}), true),
            (json!({"data.tags": ["vip", "new"]}), true),
            (json!({"data.tags": ["new", "vip"]}), false),
            (json!({"data.tags": "vip"}), true),
            (json!({"data.list": [2, 3]}), true),
            (json!({"data.list": 2}), false),
            (json!({"data.big": 18446744073709551615u64}), true),
            (json!({"data.big": 18446744073709551614u64}), false),
            (json!({"data.currency": {"$ne": "USD"}}), true),
            (json!({"data.currency": {"$ne": "EUR"}}), false),
            (json!({"data.tags": {"$ne": "vip"}}), false),
            (json!({"data.missing": {"$ne": 1}}), true),
        ]);
    }

    #[test]
    fn ordering_within_a_type_only() {
        check(&[
            (json!({"data.amount": {"$gt": 100}}), true),
            (json!({"data.amount": {"$gt": 150}}), false),
            (json!({"data.amount": {"$gte": 150}}), true),
            (json!({"data.amount": {"$gte": 150.5}}), false),
            (json!({"data.amount": {"$lt": 150.5}}), true),
            (json!({"data.amount": {"$lt": 150}}), false),
            (json!({"data.amount": {"$lte": 150}}), true),
            (json!({"data.amount": {"$lte": 149}}), false),
            (json!({"data.price": {"$gt": 9, "$lt": 10}}), true),
            (json!({"data.neg": {"$lt": 0}}), true),
            (json!({"data.big": {"$gt": 9223372036854775807i64}}), true),
            (json!({"data.neg": {"$lt": 18446744073709551615u64}}), true),
            (json!({"data.currency": {"$gt": "EU"}}), true),
            (json!({"data.currency": {"$lt": "EUR"}}), false),
            (json!({"type": {"$gte": "order."}}), true),
            // Mismatched types are false, whichever way round.
            (json!({"data.currency": {"$gt": 1}}), false),
            (json!({"data.currency": {"$lt": 1}}), false),
            (json!({"data.amount": {"$gt": "1"}}), false),
            (json!({"data.paid": {"$gte": 0}}), false),
            (json!({"data.customer": {"$gt": 0}}), false),
            (json!({"data.missing": {"$lt": 1}}), false),
            // An array holds if an element does.
            (json!({"data.items.1.qty": {"$gt": 4}}), true),
            (json!({"data.list": {"$gte": 1}}), true),
            (json!({"data.tags": {"$gt": "w"}}), false),
        ]);
    }

    #[test]
    fn membership() {
        check(&[
            (json!({"data.currency": {"$in": ["EUR", "USD"]}}), true),
            (json!({"data.currency": {"$in": ["GBP"]}}), false),
            (json!({"data.currency": {"$in": []}}), false),
            (json!({"data.amount": {"$in": [1, 150.0]}}), true),
            (json!({"data.tags": {"$in": ["new", "x"]}}), true),
            (json!({"data.missing": {"$in": [null]}}), false),
            (json!({"data.currency": {"$nin": ["GBP", "USD"]}}), true),
            (json!({"data.currency": {"$nin": ["EUR"]}}), false),
            (json!({"data.tags": {"$nin": ["vip"]}}), false),
            (json!({"data.missing": {"$nin": ["x"]}}), true),
        ]);
    }

    #[test]
    fn existence() {
        check(&[
            (json!({"data.amount": {"$exists": true}}), true),
            (json!({"data.note": {"$exists": true}}), true),
            (json!({"data.missing": {"$exists": true}}), false),
            (json!({"data.missing": {"$exists": false}}), true),
            (json!({"data.amount": {"$exists": false}}), false),
            (json!({"data.amount.x": {"$exists": false}}), true),
            (json!({"data": {"$exists": true}}), true),
        ]);
    }

    #[test]
    fn nested_paths_and_indexes() {
        check(&[
            (json!({"data.customer.address.city": "Paris"}), true),
            (json!({"data.customer.address.city": "Lyon"}), false),
            (
                json!({"data.customer.address.country": {"$exists": false}}),
                true,
            ),
            (json!({"data.items.0.sku": "a1"}), true),
            (json!({"data.items.1.sku": "a1"}), false),
            (json!({"data.items.2.sku": {"$exists": false}}), true),
            (json!({"data.items.sku": {"$exists": false}}), true),
            (json!({"data.currency.0": {"$exists": false}}), true),
        ]);
        // A digit key is an object's key where the value is an object.
        assert!(holds_on(
            json!({"data.m.7": "x"}),
            &json!({"m": {"7": "x"}})
        ));
    }

    #[test]
    fn type_tenant_and_channels() {
        check(&[
            (json!({"type": "order.paid"}), true),
            (
                json!({"type": {"$in": ["order.created", "order.paid"]}}),
                true,
            ),
            (json!({"type": {"$ne": "order.paid"}}), false),
            (json!({"tenant": "acme"}), true),
            (json!({"tenant": "other"}), false),
            (json!({"channels": "eu"}), true),
            (json!({"channels": "us"}), false),
            (json!({"channels": {"$in": ["us", "beta"]}}), true),
            (json!({"channels": {"$nin": ["eu"]}}), false),
            (json!({"channels": ["eu", "beta"]}), true),
            (json!({"channels": ["beta", "eu"]}), false),
            (json!({"channels": {"$exists": true}}), true),
        ]);
    }

    #[test]
    fn combinators() {
        check(&[
            (
                json!({"data.amount": {"$gte": 100}, "data.currency": {"$in": ["EUR", "USD"]}}),
                true,
            ),
            (
                json!({"data.amount": {"$gte": 100}, "data.currency": "USD"}),
                false,
            ),
            (
                json!({"$and": [{"data.amount": 150}, {"type": "order.paid"}]}),
                true,
            ),
            (
                json!({"$and": [{"data.amount": 150}, {"type": "order.created"}]}),
                false,
            ),
            (
                json!({"$or": [{"data.amount": 1}, {"type": "order.paid"}]}),
                true,
            ),
            (
                json!({"$or": [{"data.amount": 1}, {"type": "order.created"}]}),
                false,
            ),
            (json!({"$not": {"data.currency": "EUR"}}), false),
            (json!({"$not": {"data.currency": "USD"}}), true),
            (json!({"data.amount": {"$not": {"$gt": 200}}}), true),
            (json!({"data.amount": {"$not": {"$gt": 100}}}), false),
            (json!({"data.missing": {"$not": {"$gt": 100}}}), true),
            (json!({"data.currency": {"$not": "EUR"}}), false),
            (
                json!({"$or": [{"$and": [{"tenant": "acme"}, {"$not": {"channels": "us"}}]}]}),
                true,
            ),
        ]);
    }

    #[test]
    fn data_that_is_not_an_object() {
        assert!(holds_on(json!({"data": 5}), &json!(5)));
        assert!(holds_on(json!({"data.a": {"$exists": false}}), &json!([1])));
        assert!(holds_on(json!({"data.0": 1}), &json!([1])));
    }
}
