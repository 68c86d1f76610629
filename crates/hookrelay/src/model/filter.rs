//! Event type names, the patterns webhooks subscribe with, and channels: the first part of the
//! rule that decides whether an event goes to a webhook. Its payload filter
//! ([`super::payload_filter`]) is the last; `store/plan.rs` applies the whole rule.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A dotted event type name such as `meeting.ended`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventTypeName(String);

fn is_name_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl EventTypeName {
    /// Accepts dot-separated segments of `[A-Za-z0-9_-]`, 128 characters at most.
    pub fn parse(s: &str, field: &str) -> Result<Self, Invalid> {
        if s.len() > 128 || !s.split('.').all(is_name_segment) {
            return Err(Invalid::new(
                field,
                format!(
                    "{} is not an event type name: use dot-separated segments of letters, digits, '_' and '-' (e.g. \"meeting.ended\")",
                    super::excerpt(s)
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// Wraps a name read from storage.
    pub fn from_trusted(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a webhook subscribes to: every type, or a list of exact names and `prefix.*` families.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFilter(Vec<String>);

impl EventFilter {
    /// Parses the `events` field: empty or `["*"]` means every type.
    pub fn parse(patterns: &[String]) -> Result<Self, Invalid> {
        if patterns.len() > 256 {
            return Err(Invalid::new("events", "at most 256 patterns"));
        }
        for (i, p) in patterns.iter().enumerate() {
            let field = format!("events[{i}]");
            if p == "*" {
                continue;
            }
            let name = p.strip_suffix(".*").unwrap_or(p);
            // At most 128 characters with the `.*`, as the document states.
            let name = if p.len() > 128 { "" } else { name };
            EventTypeName::parse(name, &field).map_err(|_| {
                Invalid::new(
                    field,
                    format!(
                        "{} is not a pattern: use a type name, \"prefix.*\" or \"*\"",
                        super::excerpt(p)
                    ),
                )
            })?;
        }
        Ok(Self(patterns.to_vec()))
    }

    /// Wraps patterns read from storage.
    pub fn from_trusted(patterns: Vec<String>) -> Self {
        Self(patterns)
    }

    /// The patterns as given.
    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// Whether an event of type `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| pattern_matches(p, name))
    }
}

fn pattern_matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == name,
    }
}

/// A channel name: 1..=128 characters of `[A-Za-z0-9_.:-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Channel(String);

impl Channel {
    /// Parses each entry of a channel list, naming the failing index under `field`.
    pub fn parse_list(items: &[String], field: &str) -> Result<Vec<Channel>, Invalid> {
        if items.len() > 64 {
            return Err(Invalid::new(field, "at most 64 channels"));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let ok = !s.is_empty()
                    && s.len() <= 128
                    && s.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
                    });
                if ok {
                    Ok(Channel(s.clone()))
                } else {
                    Err(Invalid::new(
                        format!("{field}[{i}]"),
                        "channels are 1 to 128 letters, digits, '_', '-', '.' or ':'",
                    ))
                }
            })
            .collect()
    }

    /// Wraps a channel read from storage (written only after [`Channel::parse_list`]).
    pub fn from_trusted(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The channel as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether an event with `event_channels` reaches a webhook subscribed to `webhook_channels`:
/// a webhook without channels gets every event; one with channels only events carrying one of them.
pub fn channels_match(webhook_channels: &[String], event_channels: &[String]) -> bool {
    webhook_channels.is_empty() || webhook_channels.iter().any(|c| event_channels.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(p: &[&str]) -> EventFilter {
        EventFilter::parse(&p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).expect("valid")
    }

    #[test]
    fn patterns_match_exact_family_and_all() {
        assert!(filter(&[]).matches("a.b"));
        assert!(filter(&["*"]).matches("a.b"));
        assert!(filter(&["meeting.ended"]).matches("meeting.ended"));
        assert!(!filter(&["meeting.ended"]).matches("meeting.started"));
        let family = filter(&["recording.*"]);
        assert!(family.matches("recording.created"));
        assert!(family.matches("recording.processing.started"));
        assert!(!family.matches("recording"));
        assert!(!family.matches("recordings.created"));
    }

    #[test]
    fn bad_patterns_name_their_index() {
        let err = EventFilter::parse(&["ok".into(), "bad pattern".into()]).unwrap_err();
        assert_eq!(err.field, "events[1]");
        assert!(EventFilter::parse(&["a.*.b".into()]).is_err());
        assert!(EventFilter::parse(&["".into()]).is_err());
        assert!(EventFilter::parse(&[".*".into()]).is_err());
    }

    #[test]
    fn channels_restrict_only_webhooks_that_have_them() {
        let none: Vec<String> = vec![];
        let team = vec!["team-a".to_owned()];
        assert!(channels_match(&none, &team));
        assert!(channels_match(&team, &team));
        assert!(!channels_match(&team, &none));
        assert!(!channels_match(&team, &["team-b".to_owned()]));
    }
}
