//! The seed's own request, verbatim, against the demo data.

mod common;
use common::*;

#[tokio::test]
async fn the_seed_request_blocks_user_123() {
    let app = TestApp::spawn().await;
    assert_eq!(app.col(123, "blocked").await, "0");
    let r = app
        .post(
            "/billing/api/user_details_update?u=admin&user_id=123&u15=1&hash=0ab3ede4e93a55c38855a2cc9b9e169d35442c48",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "text/xml; charset=utf-8");
    assert_eq!(r.body, updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    let changes = app.changes().await;
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (changes[0].field.as_str(), changes[0].old_value.as_deref(), changes[0].new_value.as_deref()),
        ("blocked", Some("0"), Some("1"))
    );
    assert_eq!(changes[0].actor_username, "admin");
    assert_eq!(changes[0].target_id, Some(123));
    assert_eq!(changes[0].endpoint, "user_details_update");
}
