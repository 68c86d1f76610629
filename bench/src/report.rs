//! One scenario run's figures: printed as one JSON line and as a table (runs side by side, with
//! their median).

use std::io::Write;

use serde_json::{Map, Number, Value};

use crate::stats::median;

/// Fields every report has, in this order (null where a scenario has no such figure).
const COMMON: &[&str] = &[
    "events",
    "deliveries",
    "publish_mode",
    "publish_rate",
    "delivery_rate",
    "ceiling_rate",
    "ratio",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "peak_rss_mb",
    "cpu_s",
    "missing",
    "duplicates",
    "publish_errors",
    "stray",
];

/// Identity fields, not shown as table rows.
const IDENTITY: &[&str] = &["scenario", "backend", "scale", "run"];

/// The figures of one scenario run, in a fixed key order.
#[derive(Clone, Debug)]
pub struct Report {
    fields: Map<String, Value>,
}

impl Report {
    /// An empty report for `scenario` on `backend` at `scale`, run number `run`.
    pub fn new(scenario: &str, backend: &str, scale: &str, run: u32) -> Self {
        let mut fields = Map::new();
        fields.insert("scenario".into(), scenario.into());
        fields.insert("backend".into(), backend.into());
        fields.insert("scale".into(), scale.into());
        fields.insert("run".into(), run.into());
        for key in COMMON {
            fields.insert((*key).into(), Value::Null);
        }
        Self { fields }
    }

    /// Sets `key` (a common field keeps its place; others are appended).
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// Sets `key` to `value` rounded to `decimals` places.
    pub fn set_f(&mut self, key: &str, value: f64, decimals: i32) -> &mut Self {
        let scale = 10f64.powi(decimals);
        let rounded = (value * scale).round() / scale;
        let v = Number::from_f64(rounded).map_or(Value::Null, Value::Number);
        self.fields.insert(key.into(), v);
        self
    }

    /// A field's value as a number, if it is one.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.fields.get(key).and_then(Value::as_f64)
    }

    /// The report as one line of JSON.
    pub fn json_line(&self) -> String {
        Value::Object(self.fields.clone()).to_string()
    }

    /// Medians of several runs of the same scenario and backend: the median of each numeric
    /// field, the common value of each other field (null where runs differ); `run` is "median".
    pub fn median_of(runs: &[Report]) -> Option<Report> {
        let first = runs.first()?;
        let mut fields = Map::new();
        for (key, value) in &first.fields {
            let values: Vec<&Value> = runs.iter().filter_map(|r| r.fields.get(key)).collect();
            let merged = if key == "run" {
                "median".into()
            } else if values.len() == runs.len() && values.iter().all(|v| v.is_number()) {
                let numbers: Vec<f64> = values.iter().filter_map(|v| v.as_f64()).collect();
                let m = median(&numbers).unwrap_or(0.0);
                if values.iter().all(|v| v.is_u64()) && m.fract() == 0.0 {
                    Value::from(m as u64)
                } else {
                    Number::from_f64((m * 1000.0).round() / 1000.0)
                        .map_or(Value::Null, Value::Number)
                }
            } else if values.iter().all(|v| *v == value) {
                value.clone()
            } else {
                Value::Null
            };
            fields.insert(key.clone(), merged);
        }
        Some(Report { fields })
    }
}

/// Prints the runs of one scenario on one backend as a table: one row per figure, one column
/// per run, and a median column when there are several runs.
pub fn print_table(out: &mut dyn Write, runs: &[Report], median: Option<&Report>) {
    let Some(first) = runs.first() else { return };
    let title = |k: &str| first.fields.get(k).and_then(Value::as_str).unwrap_or("?");
    let mut columns: Vec<(String, &Report)> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("run {}", i + 1), r))
        .collect();
    if let Some(m) = median {
        columns.push(("median".into(), m));
    }
    let _ = writeln!(
        out,
        "\n== {} · {} · {} ==",
        title("scenario"),
        title("backend"),
        title("scale")
    );
    let mut header = format!("{:<22}", "");
    for (name, _) in &columns {
        header.push_str(&format!("{name:>14}"));
    }
    let _ = writeln!(out, "{header}");
    for key in first.fields.keys() {
        if IDENTITY.contains(&key.as_str()) {
            continue;
        }
        let mut line = format!("{key:<22}");
        for (_, report) in &columns {
            line.push_str(&format!("{:>14}", cell(report.fields.get(key))));
        }
        let _ = writeln!(out, "{line}");
    }
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".into(),
        Some(Value::Number(n)) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.abs() >= 1000.0 {
                format!("{f:.0}")
            } else if f.abs() >= 10.0 {
                format!("{f:.1}")
            } else {
                format!("{f:.2}")
            }
        }
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_common_order_and_takes_medians() {
        let mut a = Report::new("t", "sqlite", "small", 1);
        a.set("events", 10)
            .set_f("delivery_rate", 1.0, 1)
            .set("extra", "x");
        let mut b = Report::new("t", "sqlite", "small", 2);
        b.set("events", 10)
            .set_f("delivery_rate", 3.0, 1)
            .set("extra", "y");
        let mut c = Report::new("t", "sqlite", "small", 3);
        c.set("events", 10)
            .set_f("delivery_rate", 2.0, 1)
            .set("extra", "x");
        let m = Report::median_of(&[a.clone(), b, c]).unwrap();
        assert_eq!(m.number("delivery_rate"), Some(2.0));
        assert_eq!(m.fields["events"], 10);
        assert_eq!(m.fields["run"], "median");
        assert_eq!(m.fields["extra"], Value::Null);
        let keys: Vec<&String> = a.fields.keys().collect();
        assert_eq!(keys[4], "events");
        assert_eq!(keys.last().map(|k| k.as_str()), Some("extra"));
    }
}
