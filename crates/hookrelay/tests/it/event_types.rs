//! The event type catalog and JSON Schema validation of published data.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests!(
    the_catalog_is_created_read_listed_updated_and_deleted,
    published_data_must_match_the_types_schema,
);

async fn the_catalog_is_created_read_listed_updated_and_deleted(app: &mut TestApp) {
    let (status, t) = app
        .post(
            "/v1/event-types",
            json!({"name": "meeting.ended", "description": "A meeting ended",
                                        "example": {"meeting_id": "m1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["example"], json!({"meeting_id": "m1"}));
    let (status, _) = app
        .post("/v1/event-types", json!({"name": "meeting.ended"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, err) = app
        .post("/v1/event-types", json!({"name": "Not A Name"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "name");
    app.post("/v1/event-types", json!({"name": "recording.created"}))
        .await;
    let (_, list) = app.get("/v1/event-types?limit=1").await;
    assert_eq!(list["data"][0]["name"], "meeting.ended");
    let cursor = list["next_cursor"].as_str().unwrap();
    let (_, list) = app
        .get(&format!("/v1/event-types?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(list["data"][0]["name"], "recording.created");
    assert_eq!(list["next_cursor"], json!(null));

    let (status, t) = app
        .patch(
            "/v1/event-types/meeting.ended",
            json!({"description": "Ended", "example": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["description"], "Ended");
    assert_eq!(t["example"], json!(null));
    let (status, _) = app.delete("/v1/event-types/meeting.ended").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/v1/event-types/meeting.ended").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn published_data_must_match_the_types_schema(app: &mut TestApp) {
    let schema = json!({
        "type": "object",
        "required": ["meeting_id"],
        "properties": {
            "meeting_id": {"type": "string"},
            "attendees": {"type": "array", "items": {"type": "object", "properties": {"email": {"type": "string"}}}}
        }
    });
    let (status, err) = app
        .post(
            "/v1/event-types",
            json!({"name": "meeting.ended", "schema": schema, "example": {"meeting_id": 1}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an example must match the schema"
    );
    assert_eq!(err["error"]["field"], "example.meeting_id");
    let (status, err) = app
        .post(
            "/v1/event-types",
            json!({"name": "meeting.ended", "schema": {"type": "no-such-type"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "schema");
    let (status, err) = app
        .post(
            "/v1/event-types",
            json!({"name": "meeting.ended", "schema": {"$ref": "https://example.com/schema.json"}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "remote references are never fetched: {err}"
    );
    let (status, _) = app
        .post(
            "/v1/event-types",
            json!({"name": "meeting.ended", "schema": schema}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, err) = app
        .post(
            "/v1/events",
            json!({"id": "e1", "type": "meeting.ended", "data": {"meeting_id": 7}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "data.meeting_id");
    let (status, err) = app
        .post("/v1/events", json!({"type": "meeting.ended", "data": {"meeting_id": "m", "attendees": [{"email": 5}]}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "data.attendees.0.email");
    let (status, err) = app
        .post("/v1/events", json!({"type": "meeting.ended", "data": {}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "data");
    app.publish(json!({"id": "e1", "type": "meeting.ended", "data": {"meeting_id": "m1"}}))
        .await;

    // A new schema version applies at once.
    let (status, _) = app
        .patch(
            "/v1/event-types/meeting.ended",
            json!({"schema": {"type": "object", "required": ["other"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(
            "/v1/events",
            json!({"type": "meeting.ended", "data": {"meeting_id": "m1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Types outside the catalog are accepted as they are.
    app.publish(json!({"type": "not.in.catalog", "data": {"anything": true}}))
        .await;
}
