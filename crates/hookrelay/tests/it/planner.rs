//! PostgreSQL only: the planner has statistics for the delivery tables as soon as they have
//! grown, without waiting for autovacuum (off on this test server), so claims walk the due
//! index instead of reading every due row; and id columns compare bytewise whatever the
//! database's collation.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, TestApp, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_a_thousand_deliveries_gives_the_planner_statistics() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |c| c.deliver = false).await else {
        return;
    };
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let analyzed = || async {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT analyze_count FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND relname = 'deliveries'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        n.unwrap_or(0)
    };
    for path in ["a", "b"] {
        app.create_webhook(json!({"url": format!("http://127.0.0.1:9/{path}")}))
            .await;
    }
    for batch in 0..4 {
        let events: Vec<_> = (0..100)
            .map(|i| json!({"type": "a.b", "data": {"batch": batch, "i": i}}))
            .collect();
        let (status, _) = app
            .post("/v1/events/batch", json!({ "events": events }))
            .await;
        assert!(status.is_success());
    }
    assert_eq!(analyzed().await, 0, "800 deliveries: not yet");
    let events: Vec<_> = (0..100)
        .map(|i| json!({"type": "a.b", "data": {"i": i}}))
        .collect();
    app.post("/v1/events/batch", json!({ "events": events }))
        .await;
    eventually(Duration::from_secs(10), "deliveries analyzed", || async {
        analyzed().await > 0
    })
    .await;
    let stats: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() \
         AND tablename = 'deliveries' AND attname IN ('status', 'next_attempt_at')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stats, 2, "the columns claims filter on have statistics");
    pool.close().await;
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_compare_bytewise() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    let collations: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, collation_name::text \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name IN ('deliveries', 'attempts', 'events', 'webhooks') \
         AND (column_name = 'id' OR column_name LIKE '%\\_id') ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(collations.len(), 10, "{collations:?}");
    for (table, column, collation) in &collations {
        assert_eq!(collation.as_deref(), Some("C"), "{table}.{column}");
    }
    pool.close().await;
    app.teardown().await;
}
