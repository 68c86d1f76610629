//! The failure clock and automatic disabling, kept in the attempt recorder's transaction rather
//! than by a periodic scan of webhooks. Each webhook's `failing_since` is the start of its
//! current run of failures (NULL after a success). A batch costs one statement while every
//! attempt succeeds (it writes a row only where a clock was running), and two or three more
//! only when it holds failures. Disabling is one conditional `UPDATE … WHERE active`, so with
//! several nodes recording at once exactly one of them disables a webhook and tells people.

use std::collections::BTreeMap;

use super::publish;
use super::webhooks::park;
use crate::clock::rfc3339;
use crate::ids::{EventId, TenantId, WebhookId};
use crate::store::backend::{Backend, Conn};
use crate::store::query::{Arg, Query};
use crate::store::{AttemptRecord, Disabled, DisabledReason, FailurePolicy, NewEvent, Result};

/// Most characters of an error kept for a notice.
const ERROR_CHARS: usize = 300;

/// Rows of the clock statement are padded to one of these counts, so that the few statement
/// texts are prepared once and then found in the statement cache.
const SHAPES: [usize; 6] = [1, 4, 16, 64, 256, 1024];

/// What one batch says about one webhook.
#[derive(Default)]
struct Summary {
    /// The latest success, if any.
    last_success: Option<i64>,
    /// The first failure after the latest success (or in the batch, without one).
    first_failure: Option<i64>,
    /// The latest failure's start and description.
    last_failure: Option<(i64, String)>,
    /// A `410 Gone` after the latest success.
    gone: bool,
}

fn summarize(records: &[AttemptRecord]) -> BTreeMap<&str, Summary> {
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

/// Keeps the clocks of the webhooks in `records`, disables those failing for too long or gone,
/// parks their pending deliveries and publishes `webhook.disabled` to the operations tenant.
pub async fn keep_clocks<B: Backend>(
    db: &B,
    tx: &mut B::Tx,
    records: &[AttemptRecord],
    policy: &FailurePolicy,
    now: i64,
) -> Result<Vec<Disabled>> {
    let mut summaries = summarize(records);
    let rows: Vec<_> = summaries.iter().collect();
    for chunk in rows.chunks(SHAPES[SHAPES.len() - 1]) {
        let shape = SHAPES
            .iter()
            .copied()
            .find(|&s| s >= chunk.len())
            .unwrap_or(chunk.len());
        // A batch with a success for a webhook sets its clock to exactly what came after it;
        // one without starts the clock if it is not running.
        let mut q = Query::new(
            "UPDATE webhooks SET failing_since = CASE WHEN v.column2 = 1 THEN v.column3 \
             ELSE COALESCE(webhooks.failing_since, v.column3) END FROM (VALUES ",
        );
        for i in 0..shape {
            let (id, exact, since) = match chunk.get(i) {
                Some((id, s)) => (
                    Some(**id),
                    Some(i64::from(s.last_success.is_some())),
                    s.first_failure,
                ),
                None => (None, None, None),
            };
            q.push(if i == 0 { "(" } else { ", (" })
                .push_arg(Arg::Text(id))
                .push(", ")
                .push_arg(exact)
                .push(", ")
                .push_arg(since)
                .push(")");
        }
        q.push(
            ") AS v WHERE webhooks.id = v.column1 AND webhooks.failing_since IS DISTINCT FROM \
             (CASE WHEN v.column2 = 1 THEN v.column3 \
             ELSE COALESCE(webhooks.failing_since, v.column3) END)",
        );
        db.execute(Conn::Tx(tx), q).await?;
    }

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
            url,
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
