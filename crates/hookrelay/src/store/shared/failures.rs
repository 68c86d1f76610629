//! The failure clock and automatic disabling, kept by the attempt recorder rather than by a
//! periodic scan of webhooks. Each webhook's `failing_since` is the start of its current run of
//! failures (NULL after a success). The clocks are written with the batch itself (on
//! PostgreSQL in the same statement, writing a row only where a clock changes); only a batch
//! that holds failures opens a transaction for the disabling step after it. Disabling is one
//! conditional `UPDATE … WHERE active`, so with several nodes recording at once exactly one of
//! them disables a webhook and tells people.

use std::collections::BTreeMap;

use super::publish;
use super::webhooks::park;
use crate::clock::rfc3339;
use crate::ids::{EventId, TenantId, WebhookId};
use crate::store::backend::{Backend, Conn, FailureClock};
use crate::store::query::Query;
use crate::store::{AttemptRecord, Disabled, DisabledReason, FailurePolicy, NewEvent, Result};

/// Most characters of an error kept for a notice.
const ERROR_CHARS: usize = 300;

/// What one batch says about one webhook.
#[derive(Default)]
pub struct Summary {
    /// The latest success, if any.
    last_success: Option<i64>,
    /// The first failure after the latest success (or in the batch, without one).
    first_failure: Option<i64>,
    /// The latest failure's start and description.
    last_failure: Option<(i64, String)>,
    /// A `410 Gone` after the latest success.
    gone: bool,
}

pub fn summarize(records: &[AttemptRecord]) -> BTreeMap<&str, Summary> {
    let mut webhooks: BTreeMap<&str, Summary> = BTreeMap::new();
    for r in records.iter().filter(|r| r.attempt.result.succeeded) {
        let s = webhooks.entry(r.webhook_id.as_str()).or_default();
        s.last_success = s.last_success.max(Some(r.attempt.result.started_at));
    }
    for r in records.iter().filter(|r| !r.attempt.result.succeeded) {
        let s = webhooks.entry(r.webhook_id.as_str()).or_default();
        if s.last_success
            .is_some_and(|t| t >= r.attempt.result.started_at)
        {
            continue;
        }
        s.first_failure = Some(s.first_failure.map_or(r.attempt.result.started_at, |t| {
            t.min(r.attempt.result.started_at)
        }));
        s.gone |= r.gone;
        if s.last_failure
            .as_ref()
            .is_none_or(|(t, _)| *t <= r.attempt.result.started_at)
        {
            s.last_failure = Some((r.attempt.result.started_at, describe(r)));
        }
    }
    webhooks
}

/// A failed attempt in a line: its error, or its status and the start of the response.
fn describe(r: &AttemptRecord) -> String {
    let text = match (&r.attempt.result.error, r.attempt.result.status_code) {
        (Some(e), _) => e.clone(),
        (None, Some(code)) => match r.attempt.result.response_body.as_deref().map(str::trim) {
            Some(body) if !body.is_empty() => format!("HTTP {code}: {body}"),
            _ => format!("HTTP {code}"),
        },
        (None, None) => "failed".to_owned(),
    };
    text.chars().take(ERROR_CHARS).collect()
}

/// The failure clock of each webhook in a batch, as [`Backend::write_attempts`] writes it.
pub fn clocks<'a>(summaries: &BTreeMap<&'a str, Summary>) -> Vec<FailureClock<'a>> {
    summaries
        .iter()
        .map(|(webhook, s)| FailureClock {
            webhook,
            exact: s.last_success.is_some(),
            since: s.first_failure,
        })
        .collect()
}

/// Whether a batch holds a failure after a success (only then can it disable a webhook).
pub fn any_failing(summaries: &BTreeMap<&str, Summary>) -> bool {
    summaries.values().any(|s| s.first_failure.is_some())
}

/// After the batch's clocks are written in `tx`: disables the webhooks failing for too long or
/// gone, parks their pending deliveries and publishes `webhook.disabled` to the operations
/// tenant.
pub async fn disable<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    mut summaries: BTreeMap<&str, Summary>,
    policy: &FailurePolicy,
    now: i64,
) -> Result<Vec<Disabled>> {
    let failing: Vec<&str> = (summaries.iter())
        .filter(|(_, s)| s.first_failure.is_some())
        .map(|(id, _)| *id)
        .collect();
    if failing.is_empty() {
        return Ok(Vec::new());
    }
    let gone: Vec<&str> = (summaries.iter())
        .filter(|(_, s)| s.gone)
        .map(|(id, _)| *id)
        .collect();
    let mut q = Query::new(
        "UPDATE webhooks SET active = $1, disabled_at = $2, \
         updated_at = CASE WHEN updated_at >= $2 THEN updated_at + 1 ELSE $2 END, \
         disabled_reason = ",
    )
    .arg(false)
    .arg(now);
    if gone.is_empty() {
        q.push("'failing'");
    } else {
        q.push("CASE WHEN id IN (")
            .push_list(gone.iter().copied())
            .push(") THEN 'gone' ELSE 'failing' END");
    }
    q.push(" WHERE active = ")
        .push_arg(true)
        .push(" AND id IN (")
        .push_list(failing.iter().copied())
        .push(") AND (failing_since <= ")
        .push_arg(now - policy.disable_after_ms);
    if !gone.is_empty() {
        q.push(" OR id IN (")
            .push_list(gone.iter().copied())
            .push(")");
    }
    q.push(") RETURNING id, tenant_id, url, disabled_reason");
    let rows: Vec<(String, String, String, String)> = db.fetch_all(Conn::Tx(tx), q).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }

    let disabled: Vec<Disabled> = rows
        .into_iter()
        .map(|(id, tenant, url, reason)| Disabled {
            last_error: (summaries.get_mut(id.as_str()))
                .and_then(|s| s.last_failure.take())
                .map(|(_, e)| e),
            webhook_id: WebhookId::from_trusted(id),
            tenant_id: TenantId::from_trusted(tenant),
            // Notices (email, the operational event) never carry a broker's password.
            url: crate::model::broker_url::mask_password_text(&url).into_owned(),
            reason: if reason == "gone" {
                DisabledReason::Gone
            } else {
                DisabledReason::Failing
            },
            disabled_at: now,
        })
        .collect();
    let ids: Vec<&str> = disabled.iter().map(|d| d.webhook_id.as_str()).collect();
    park(db, tx, &ids).await?;
    if let Some(operations) = &policy.operations_tenant {
        let events: Vec<NewEvent> = disabled.iter().map(|d| event(d, operations)).collect();
        publish::publish_in(db, tx, &events).await?;
    }
    Ok(disabled)
}

/// The operator's `webhook.disabled` event for `d`.
fn event(d: &Disabled, operations: &TenantId) -> NewEvent {
    let data = serde_json::json!({
        "webhook_id": d.webhook_id.as_str(),
        "tenant_id": d.tenant_id.as_str(),
        "url": d.url,
        "reason": d.reason.as_str(),
        "disabled_at": rfc3339(d.disabled_at),
        "last_error": d.last_error,
    });
    NewEvent {
        id: EventId::generate(),
        event_type: "webhook.disabled".to_owned(),
        tenants: vec![operations.clone()],
        channels: Vec::new(),
        data: data.to_string(),
        created_at: d.disabled_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AttemptId, DeliveryId};
    use crate::store::{Attempt, AttemptResult, DeliveryStatus};

    fn attempt(webhook: &str, at: i64, succeeded: bool, gone: bool) -> AttemptRecord {
        AttemptRecord {
            delivery_id: DeliveryId::generate(),
            webhook_id: WebhookId::from_trusted(webhook),
            attempt: Attempt {
                id: AttemptId::generate(),
                attempt: 1,
                result: AttemptResult {
                    started_at: at,
                    latency_ms: 1,
                    status_code: Some(if succeeded { 200 } else { 500 }),
                    response_body: Some("<b>down</b>".to_owned()),
                    error: None,
                    succeeded,
                },
            },
            gone,
            status: DeliveryStatus::Pending,
            next_attempt_at: None,
            ordering_key: None,
        }
    }

    #[test]
    fn only_failures_after_the_latest_success_run_the_clock() {
        let records = [
            attempt("a", 10, false, false),
            attempt("a", 20, true, false),
            attempt("a", 30, false, false),
            attempt("a", 40, false, true),
            attempt("b", 5, false, true),
            attempt("b", 6, true, false),
            attempt("c", 7, false, false),
        ];
        let s = summarize(&records);
        assert_eq!(s["a"].last_success, Some(20));
        assert_eq!(s["a"].first_failure, Some(30));
        assert!(s["a"].gone);
        assert_eq!(s["a"].last_failure.as_ref().map(|f| f.0), Some(40));
        assert_eq!(
            s["b"].first_failure, None,
            "a success after the 410 ends it"
        );
        assert!(!s["b"].gone);
        assert_eq!((s["c"].last_success, s["c"].first_failure), (None, Some(7)));
        assert_eq!(
            s["c"].last_failure.as_ref().map(|f| f.1.as_str()),
            Some("HTTP 500: <b>down</b>")
        );
    }
}
