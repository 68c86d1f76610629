//! Claims, at the store: due deliveries are offered to the dispatcher's chooser in publish
//! order, only those it accepts are leased, those it passed over stay due for the next claim,
//! a claim can resume where the last one stopped, and a recorded attempt ends its lease. On a
//! node that does not deliver, so nothing else claims meanwhile. On PostgreSQL, also beside
//! another node owning half the partitions: a claim takes only from its own half; and a
//! recorded batch locks its deliveries in id order, as a partition's lease write does, so the
//! two never deadlock.

use std::time::Duration;

use sqlx::Connection;

use hookrelay::clock::now_ms;
use hookrelay::ids::AttemptId;
use hookrelay::store::{Attempt, AttemptRecord, AttemptResult, DeliveryStatus};
use serde_json::json;

use crate::backend_tests;
use crate::deletion::delivered;
use crate::helpers::{Backend, TestApp, eventually, policy};

backend_tests!(a_claim_leases_only_what_the_chooser_accepts_in_publish_order);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beside_another_delivering_node_a_claim_takes_only_its_own_partitions_and_writes_nothing() {
    let Some(node) = TestApp::spawn_with(Backend::Postgres, |c| c.deliver = false).await else {
        return;
    };
    // Another node, as far as the advisory locks tell (store/postgres/membership.rs): present,
    // and owning partitions 0 to 31 (their lock keys follow 0x686b7300).
    let mut other = sqlx::PgConnection::connect(node.database_url())
        .await
        .unwrap();
    sqlx::query(
        "SELECT pg_advisory_lock_shared(1751872001, hashtext(current_schema())), \
         (SELECT count(pg_advisory_lock(k, hashtext(current_schema()))) \
          FROM generate_series(1751872256, 1751872287) AS k)",
    )
    .execute(&mut other)
    .await
    .unwrap();
    let w = node
        .create_webhook(json!({"url": "http://127.0.0.1:9/a"}))
        .await;
    let id = w["id"].as_str().unwrap();
    let events: Vec<_> = (0..20)
        .map(|i| json!({"type": "a.b", "data": {"i": i}}))
        .collect();
    let (status, _) = node
        .post("/v1/events/batch", json!({ "events": events }))
        .await;
    assert!(status.is_success(), "{status}");
    let theirs: Vec<String> =
        sqlx::query_scalar("SELECT id FROM deliveries WHERE (hashtext(id) & 63) < 32 ORDER BY id")
            .fetch_all(&mut other)
            .await
            .unwrap();
    let ours: Vec<String> =
        sqlx::query_scalar("SELECT id FROM deliveries WHERE (hashtext(id) & 63) >= 32 ORDER BY id")
            .fetch_all(&mut other)
            .await
            .unwrap();
    let (mut theirs, mut ours) = (theirs, ours);
    theirs.sort();
    ours.sort();
    assert!(
        !theirs.is_empty() && !ours.is_empty(),
        "20 deliveries fall in both halves"
    );

    let store = node.store.as_ref().unwrap();
    let claim_all = || async {
        let now = now_ms() + 1;
        let mut all = |_: &str, _: i64, _: &str| true;
        let mut claimed: Vec<String> = store
            .claim_due(now, 100, now + 60_000, &mut None, &mut all)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id.as_str().to_owned())
            .collect();
        claimed.sort();
        claimed
    };
    assert_eq!(claim_all().await, ours, "only this node's partitions");
    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE next_attempt_at > $1")
            .bind(now_ms() + 30_000)
            .fetch_one(&mut other)
            .await
            .unwrap();
    assert_eq!(written, 0, "the leases are in memory, not in the rows");

    // The other node goes (its session, and so its locks, with it): its partitions are taken
    // at a later check, and what is due in them is claimed.
    other.close().await.unwrap();
    let taken = std::sync::Mutex::new(Vec::new());
    eventually(
        std::time::Duration::from_secs(15),
        "the other node's partitions are taken over",
        || async {
            let got = claim_all().await;
            let mut taken = taken.lock().unwrap();
            taken.extend(got);
            taken.len() >= theirs.len()
        },
    )
    .await;
    let mut taken = taken.into_inner().unwrap();
    taken.sort();
    assert_eq!(taken, theirs, "what was due in them, once");
    assert_eq!(node.deliveries(id).await.len(), 20);
    node.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_batch_locks_its_deliveries_in_id_order() {
    let Some(node) = TestApp::spawn_with(Backend::Postgres, |c| c.deliver = false).await else {
        return;
    };
    node.create_webhook(json!({"url": "http://127.0.0.1:9/a"}))
        .await;
    for i in 0..2 {
        node.publish(json!({"type": "a.b", "data": {"i": i}})).await;
    }
    let store = node.store.as_ref().unwrap();
    let now = now_ms() + 1;
    let mut all = |_: &str, _: i64, _: &str| true;
    let mut claimed = store
        .claim_due(now, 10, now + 60_000, &mut None, &mut all)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    claimed.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let (low, high) = (claimed[0].id.as_str(), claimed[1].id.as_str());

    // Another writer holds the higher id; the batch names it first.
    let mut other = sqlx::PgConnection::connect(node.database_url())
        .await
        .unwrap();
    // A queue's worth of other rows, analyzed: the planner then reaches the batch's rows one by
    // one through the primary key, in the batch's order, as at scale (in a table of two rows
    // it scans the heap, whose order then decides).
    sqlx::query(
        "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
         attempts, next_attempt_at, created_at, updated_at) \
         SELECT 'zz' || g, event_id, webhook_id, tenant_id, event_type, 'succeeded', 1, NULL, \
         created_at, updated_at FROM deliveries, generate_series(1, 20000) AS g WHERE id = $1",
    )
    .bind(low)
    .execute(&mut other)
    .await
    .unwrap();
    sqlx::query("ANALYZE deliveries")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE")
        .bind(high)
        .execute(&mut other)
        .await
        .unwrap();
    let other_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut other)
        .await
        .unwrap();
    let batch = [
        delivered(&claimed[1], now_ms()),
        delivered(&claimed[0], now_ms()),
    ];
    let policy = policy();
    let (recorded, lower_was_locked) =
        tokio::join!(store.record_attempts(&batch, &policy), async {
            // Once the batch waits on the higher id, it holds the lower one: it took it first.
            let probe = sqlx::PgPool::connect(node.database_url()).await.unwrap();
            eventually(
                Duration::from_secs(10),
                "the batch waits on the held row",
                || {
                    let probe = probe.clone();
                    async move {
                        sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                )
                .bind(other_pid)
                .fetch_one(&probe)
                .await
                .unwrap()
                    > 0
                    }
                },
            )
            .await;
            let locked = sqlx::query("SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE NOWAIT")
                .bind(low)
                .execute(&mut other)
                .await
                .is_err();
            sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
            locked
        });
    assert!(
        lower_was_locked,
        "the batch locked its lower id before its higher one"
    );
    recorded.unwrap();
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM deliveries WHERE id = ANY($1)")
            .bind([low, high])
            .fetch_all(&mut other)
            .await
            .unwrap();
    assert_eq!(statuses, ["succeeded", "succeeded"]);
    node.teardown().await;
}

async fn a_claim_leases_only_what_the_chooser_accepts_in_publish_order(app: &mut TestApp) {
    app.stop().await;
    let node = app.spawn_peer(|c| c.deliver = false).await;
    let mut ids = Vec::new();
    for path in ["a", "b"] {
        let w = node
            .create_webhook(json!({"url": format!("http://127.0.0.1:9/{path}")}))
            .await;
        ids.push(w["id"].as_str().unwrap().to_owned());
    }
    let [a, b] = <[String; 2]>::try_from(ids).unwrap();
    let mut events = Vec::new();
    for i in 0..3 {
        let event = node.publish(json!({"type": "a.b", "data": {"i": i}})).await;
        events.push(event["id"].as_str().unwrap().to_owned());
    }
    let store = node.store.as_ref().unwrap();
    let now = now_ms() + 1;

    // A has room for two: the claim takes A's first two, passes over the rest.
    let mut offered = Vec::new();
    let mut room_a = 2;
    let mut choose = |webhook: &str, _: i64, _: &str| {
        offered.push(webhook.to_owned());
        let take = webhook == a && room_a > 0;
        room_a -= usize::from(take);
        take
    };
    let mut from = None;
    let claimed = store
        .claim_due(now, 10, now + 60_000, &mut from, &mut choose)
        .await
        .unwrap();
    let end = from
        .clone()
        .expect("the walk ends at the last delivery it looked at");
    assert_eq!(offered.len(), 6, "every due delivery was offered once");
    for pair in offered.chunks(2) {
        assert!(
            pair.contains(&a) && pair.contains(&b),
            "one event's deliveries come together, in publish order: {offered:?}"
        );
    }
    let mut got: Vec<(String, String)> = claimed
        .iter()
        .map(|c| {
            (
                c.webhook.id.as_str().to_owned(),
                c.event_id.as_str().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (a.clone(), events[0].clone()),
            (a.clone(), events[1].clone())
        ],
        "A's two oldest"
    );

    // Resumed where it stopped, a claim is offered only the last delivery looked at (a B).
    let mut resumed = Vec::new();
    let mut none = |webhook: &str, _: i64, id: &str| {
        resumed.push((webhook.to_owned(), id.to_owned()));
        false
    };
    let nothing = store
        .claim_due(now, 10, now + 60_000, &mut from, &mut none)
        .await
        .unwrap();
    assert!(nothing.is_empty());
    assert_eq!(resumed, [(b.clone(), end.id.clone())]);
    assert_eq!(from, Some(end));

    // From the oldest, the next claim is offered only what was passed over: the leased two
    // are not due.
    let mut offered_again = 0;
    let mut all = |_: &str, _: i64, _: &str| {
        offered_again += 1;
        true
    };
    let rest = store
        .claim_due(now, 10, now + 60_000, &mut None, &mut all)
        .await
        .unwrap();
    assert_eq!(offered_again, 4);
    assert_eq!(rest.len(), 4);
    assert_eq!(
        rest.iter().filter(|c| c.webhook.id.as_str() == a).count(),
        1,
        "A's third and B's three"
    );
    let mut none =
        |_: &str, _: i64, _: &str| -> bool { panic!("nothing is due: every delivery is leased") };
    assert!(
        store
            .claim_due(now, 10, now + 60_000, &mut None, &mut none)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store.next_due_at().await.unwrap().is_none_or(|t| t > now),
        "nothing leased looks due"
    );

    // A failed attempt recorded with a retry due now ends its lease: the delivery is due again,
    // and only it.
    let failed = &claimed[0];
    store
        .record_attempts(
            &[AttemptRecord {
                delivery_id: failed.id.clone(),
                webhook_id: failed.webhook.id.clone(),
                attempt: Attempt {
                    id: AttemptId::generate(),
                    attempt: 1,
                    result: AttemptResult {
                        started_at: now - 5,
                        latency_ms: 1,
                        status_code: Some(503),
                        response_body: None,
                        error: None,
                        succeeded: false,
                    },
                },
                gone: false,
                status: DeliveryStatus::Pending,
                next_attempt_at: Some(now - 1),
                ordering_key: None,
            }],
            &policy(),
        )
        .await
        .unwrap();
    assert_eq!(store.next_due_at().await.unwrap(), Some(now - 1));
    let mut retried = Vec::new();
    let mut all = |_: &str, _: i64, id: &str| {
        retried.push(id.to_owned());
        true
    };
    let again = store
        .claim_due(now, 10, now + 60_000, &mut None, &mut all)
        .await
        .unwrap();
    assert_eq!(retried, [failed.id.as_str()]);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    node.teardown().await;
    app.restart().await;
}
