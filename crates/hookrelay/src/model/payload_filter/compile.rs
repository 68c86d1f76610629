//! From a filter's JSON to its tree of predicates: paths split into keys once, operands typed
//! once, every bound checked. What is refused names its part of the filter as a field
//! (`filter.$or[1].data.amount.$gt`) with a sentence saying what would be accepted.

use serde_json::{Map, Number, Value};

use super::{MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH};
use crate::model::Invalid;

/// A filter, or a part of one.
#[derive(Clone, Debug)]
pub enum Node {
    /// Every node holds (a filter object's keys, `$and`).
    All(Vec<Node>),
    /// At least one node holds (`$or`); an empty list never holds.
    Any(Vec<Node>),
    /// The node does not hold (`$not`).
    Not(Box<Node>),
    /// The value at a path passes every test.
    Field(Path, Vec<Test>),
}

/// Where a condition looks in the event.
#[derive(Clone, Debug)]
pub struct Path {
    /// The event's field.
    pub root: Root,
    /// Keys below `data`, in order (empty for the other roots).
    pub keys: Box<[Key]>,
}

/// The event's fields a filter can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// The event type.
    Type,
    /// The tenant the delivery is for (the webhook's own).
    Tenant,
    /// The event's channels, a list.
    Channels,
    /// The event's data.
    Data,
}

/// One key of a `data` path: an object's key, or, for digits, also an array's index.
#[derive(Clone, Debug)]
pub struct Key {
    /// The key as written.
    pub name: Box<str>,
    /// The index it names in an array, if it is a plain decimal number.
    pub index: Option<usize>,
}

/// A test of the value at a path.
#[derive(Clone, Debug)]
pub enum Test {
    /// Equal (`$eq`, or a bare value).
    Eq(Value),
    /// Not equal (`$ne`).
    Ne(Value),
    /// Equal to one of the list (`$in`).
    In(Box<[Value]>),
    /// Equal to none of the list (`$nin`).
    Nin(Box<[Value]>),
    /// Ordered against a bound (`$gt`, `$gte`, `$lt`, `$lte`).
    Order(Order, Bound),
    /// Present or absent (`$exists`).
    Exists(bool),
    /// Not every test holds (`$not`).
    Not(Vec<Test>),
}

/// Which orders an ordering test accepts.
#[derive(Clone, Copy, Debug)]
pub enum Order {
    /// `$gt`
    Gt,
    /// `$gte`
    Gte,
    /// `$lt`
    Lt,
    /// `$lte`
    Lte,
}

/// What an ordering test compares with: numbers order with numbers, strings with strings.
#[derive(Clone, Debug)]
pub enum Bound {
    /// A number.
    Number(Number),
    /// A string, ordered by code point.
    Text(Box<str>),
}

const OPERATORS: &str = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists or $not";

/// Compiles `filter`; with `bounded`, refuses one beyond the depth and condition limits.
/// Answers the tree and whether it reads `data`.
pub fn compile(filter: &Value, bounded: bool) -> Result<(Node, bool), Invalid> {
    let mut compiler = Compiler {
        bounded,
        conditions: 0,
        reads_data: false,
    };
    let node = compiler.filter(filter, "filter", 1)?;
    Ok((node, compiler.reads_data))
}

struct Compiler {
    bounded: bool,
    conditions: usize,
    reads_data: bool,
}

fn bounds() -> String {
    format!(
        "a filter nests at most {MAX_FILTER_DEPTH} levels deep (each $and, $or and $not adds \
         one) and holds at most {MAX_FILTER_CONDITIONS} conditions"
    )
}

impl Compiler {
    fn enter(&self, depth: usize, at: &str) -> Result<(), Invalid> {
        if self.bounded && depth > MAX_FILTER_DEPTH {
            return Err(Invalid::new(at, format!("nests too deep: {}", bounds())));
        }
        Ok(())
    }

    fn count(&mut self, at: &str) -> Result<(), Invalid> {
        self.conditions += 1;
        if self.bounded && self.conditions > MAX_FILTER_CONDITIONS {
            return Err(Invalid::new(
                at,
                format!("is one condition too many: {}", bounds()),
            ));
        }
        Ok(())
    }

    /// A filter object at `depth`: every key must hold.
    fn filter(&mut self, value: &Value, at: &str, depth: usize) -> Result<Node, Invalid> {
        self.enter(depth, at)?;
        let Some(object) = value.as_object() else {
            return Err(Invalid::new(
                at,
                "must be an object of conditions, e.g. {\"data.amount\": {\"$gte\": 100}}",
            ));
        };
        let mut all = Vec::with_capacity(object.len());
        for (key, value) in object {
            let here = format!("{at}.{key}");
            all.push(match key.as_str() {
                "$and" => Node::All(self.filters(value, &here, depth)?),
                "$or" => Node::Any(self.filters(value, &here, depth)?),
                "$not" => Node::Not(Box::new(self.filter(value, &here, depth + 1)?)),
                k if k.starts_with('$') => {
                    return Err(Invalid::new(
                        here,
                        format!(
                            "{} is not a combinator: use $and, $or or $not, or a path such as \
                             \"data.amount\"",
                            crate::model::excerpt(k)
                        ),
                    ));
                }
                path => {
                    let path = parse_path(path, &here)?;
                    self.reads_data |= path.root == Root::Data;
                    Node::Field(path, self.condition(value, &here, depth)?)
                }
            });
        }
        Ok(match all.len() {
            1 => all.pop().unwrap_or(Node::All(Vec::new())),
            _ => Node::All(all),
        })
    }

    /// The list of filters of `$and` or `$or`.
    fn filters(&mut self, value: &Value, at: &str, depth: usize) -> Result<Vec<Node>, Invalid> {
        match value.as_array() {
            Some(list) if !list.is_empty() => (list.iter().enumerate())
                .map(|(i, f)| self.filter(f, &format!("{at}[{i}]"), depth + 1))
                .collect(),
            _ => Err(Invalid::new(
                at,
                "must be a non-empty array of filters, e.g. [{\"type\": \"a\"}, {\"type\": \"b\"}]",
            )),
        }
    }

    /// What a path must satisfy: an object of operators, or a bare value (`$eq`).
    fn condition(&mut self, value: &Value, at: &str, depth: usize) -> Result<Vec<Test>, Invalid> {
        let operators = value
            .as_object()
            .filter(|o| o.keys().any(|k| k.starts_with('$')));
        let Some(operators) = operators else {
            self.count(at)?;
            return Ok(vec![Test::Eq(value.clone())]);
        };
        if let Some(key) = operators.keys().find(|k| !k.starts_with('$')) {
            return Err(Invalid::new(
                format!("{at}.{key}"),
                "mixes a key with operators: an object of operators holds only $ keys (to \
                 match an object exactly, use {\"$eq\": {…}})",
            ));
        }
        self.operators(operators, at, depth)
    }

    fn operators(
        &mut self,
        operators: &Map<String, Value>,
        at: &str,
        depth: usize,
    ) -> Result<Vec<Test>, Invalid> {
        (operators.iter())
            .map(|(op, operand)| self.operator(op, operand, &format!("{at}.{op}"), depth))
            .collect()
    }

    fn operator(
        &mut self,
        op: &str,
        operand: &Value,
        at: &str,
        depth: usize,
    ) -> Result<Test, Invalid> {
        if op == "$not" {
            self.enter(depth + 1, at)?;
            return Ok(Test::Not(self.condition(operand, at, depth + 1)?));
        }
        self.count(at)?;
        Ok(match op {
            "$eq" => Test::Eq(operand.clone()),
            "$ne" => Test::Ne(operand.clone()),
            "$in" => Test::In(list(operand, at)?),
            "$nin" => Test::Nin(list(operand, at)?),
            "$gt" => Test::Order(Order::Gt, bound(operand, at)?),
            "$gte" => Test::Order(Order::Gte, bound(operand, at)?),
            "$lt" => Test::Order(Order::Lt, bound(operand, at)?),
            "$lte" => Test::Order(Order::Lte, bound(operand, at)?),
            "$exists" => Test::Exists(
                operand
                    .as_bool()
                    .ok_or_else(|| Invalid::new(at, "must be true or false"))?,
            ),
            _ => {
                return Err(Invalid::new(
                    at,
                    format!(
                        "{} is not an operator: use {OPERATORS}",
                        crate::model::excerpt(op)
                    ),
                ));
            }
        })
    }
}

fn list(operand: &Value, at: &str) -> Result<Box<[Value]>, Invalid> {
    match operand {
        Value::Array(values) => Ok(values.clone().into_boxed_slice()),
        _ => Err(Invalid::new(
            at,
            "must be an array of values, e.g. [\"EUR\", \"USD\"]",
        )),
    }
}

fn bound(operand: &Value, at: &str) -> Result<Bound, Invalid> {
    match operand {
        Value::Number(n) => Ok(Bound::Number(n.clone())),
        Value::String(s) => Ok(Bound::Text(s.as_str().into())),
        _ => Err(Invalid::new(
            at,
            "must be a number or a string: numbers order with numbers, strings with strings",
        )),
    }
}

/// Splits a path once: `type`, `tenant`, `channels`, `data` or `data.<key>[.<key>…]`.
pub(super) fn parse_path(path: &str, at: &str) -> Result<Path, Invalid> {
    let bad = || {
        Invalid::new(
            at,
            format!(
                "{} is not a path: use type, tenant, channels, data, or data.<key>[.<key>…] \
                 (keys separated by dots, none empty; a number also indexes an array)",
                crate::model::excerpt(path)
            ),
        )
    };
    let mut parts = path.split('.');
    let root = match parts.next() {
        Some("type") => Root::Type,
        Some("tenant") => Root::Tenant,
        Some("channels") => Root::Channels,
        Some("data") => Root::Data,
        _ => return Err(bad()),
    };
    let keys = parts
        .map(|name| {
            if name.is_empty() {
                return Err(bad());
            }
            let digits = name.bytes().all(|b| b.is_ascii_digit());
            let index = if digits && (name == "0" || !name.starts_with('0')) {
                name.parse().ok()
            } else {
                None
            };
            Ok(Key {
                name: name.into(),
                index,
            })
        })
        .collect::<Result<Box<[Key]>, Invalid>>()?;
    if root != Root::Data && !keys.is_empty() {
        return Err(bad());
    }
    Ok(Path { root, keys })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refusal(filter: Value) -> Invalid {
        compile(&filter, true).expect_err("refused")
    }

    #[test]
    fn refusals_name_the_part_at_fault() {
        let cases = [
            (json!([]), "filter", "must be an object"),
            (
                json!({"data.a": {"$gtx": 1}}),
                "filter.data.a.$gtx",
                "not an operator",
            ),
            (
                json!({"data.c": {"$in": "EUR"}}),
                "filter.data.c.$in",
                "array of values",
            ),
            (
                json!({"data.c": {"$nin": {}}}),
                "filter.data.c.$nin",
                "array of values",
            ),
            (
                json!({"data.a": {"$gt": true}}),
                "filter.data.a.$gt",
                "number or a string",
            ),
            (
                json!({"data.a": {"$exists": 1}}),
                "filter.data.a.$exists",
                "true or false",
            ),
            (json!({"$nor": []}), "filter.$nor", "not a combinator"),
            (json!({"$or": []}), "filter.$or", "non-empty array"),
            (json!({"$and": {}}), "filter.$and", "non-empty array"),
            (
                json!({"$or": [{"type": "a"}, 3]}),
                "filter.$or[1]",
                "object of conditions",
            ),
            (
                json!({"$or": [{"bad": 1}]}),
                "filter.$or[0].bad",
                "not a path",
            ),
            (json!({"data..a": 1}), "filter.data..a", "not a path"),
            (json!({"data.": 1}), "filter.data.", "not a path"),
            (json!({"type.x": 1}), "filter.type.x", "not a path"),
            (json!({"": 1}), "filter.", "not a path"),
            (
                json!({"data.a": {"$eq": 1, "b": 2}}),
                "filter.data.a.b",
                "mixes a key",
            ),
            (
                json!({"data.a": {"$not": {"$foo": 1}}}),
                "filter.data.a.$not.$foo",
                "not an operator",
            ),
        ];
        for (filter, field, words) in cases {
            let e = refusal(filter.clone());
            assert_eq!(e.field, field, "{filter}");
            assert!(e.message.contains(words), "{filter}: {}", e.message);
        }
    }

    #[test]
    fn depth_is_bounded_and_said() {
        let mut filter = json!({"type": "a"});
        for _ in 1..MAX_FILTER_DEPTH {
            filter = json!({"$not": filter});
        }
        assert!(compile(&filter, true).is_ok());
        let deeper = json!({"$or": [filter]});
        let e = refusal(deeper);
        assert!(e.field.starts_with("filter.$or[0].$not"), "{}", e.field);
        assert!(e.message.contains("at most 8 levels"), "{}", e.message);
        // Operator-level $not counts too.
        let mut condition = json!({"$eq": 1});
        for _ in 0..MAX_FILTER_DEPTH {
            condition = json!({"$not": condition});
        }
        assert!(
            refusal(json!({"data.a": condition}))
                .message
                .contains("levels deep")
        );
        // Stored filters are not held to the bounds again.
        assert!(compile(&json!({"$or": [filter]}), false).is_ok());
    }

    #[test]
    fn conditions_are_counted() {
        let many: Map<String, Value> = (0..=MAX_FILTER_CONDITIONS)
            .map(|i| (format!("data.k{i}"), json!(i)))
            .collect();
        let e = refusal(Value::Object(many));
        assert_eq!(e.field, format!("filter.data.k{MAX_FILTER_CONDITIONS}"));
        assert!(e.message.contains("at most 64 conditions"), "{}", e.message);
        let ops = json!({"data.a": {"$gt": 1, "$lt": 9, "$ne": 5}});
        assert!(compile(&ops, true).is_ok());
    }

    #[test]
    fn paths_are_split_once_with_indexes_where_digits_are() {
        let (node, reads_data) = compile(&json!({"data.items.0.sku": "x"}), true).unwrap();
        assert!(reads_data);
        let Node::Field(path, _) = node else {
            panic!("a field")
        };
        let indexes: Vec<Option<usize>> = path.keys.iter().map(|k| k.index).collect();
        assert_eq!(indexes, [None, Some(0), None]);
        for (key, index) in [("12", Some(12)), ("012", None), ("+1", None), ("-1", None)] {
            let (node, _) = compile(&json!({ format!("data.{key}"): 1 }), true).unwrap();
            let Node::Field(path, _) = node else {
                panic!("a field")
            };
            assert_eq!(path.keys[0].index, index, "{key}");
        }
        let (_, reads_data) = compile(&json!({"type": "a", "channels": "b"}), true).unwrap();
        assert!(!reads_data);
    }
}
