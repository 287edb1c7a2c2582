//! GET and PATCH /me/notification-settings: defaults, partial changes, and
//! exact values.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn settings_default_to_immediate_and_daily_and_change_field_by_field() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let path = "/me/notification-settings";
    assert_eq!(
        app.get(path, Some(&alice.token)).await.expect(200),
        json!({"email": "immediate", "digest": "daily", "briefing": true})
    );

    let after = app.patch(path, Some(&alice.token), json!({"digest": "weekly"})).await.expect(200);
    assert_eq!(after, json!({"email": "immediate", "digest": "weekly", "briefing": true}));
    let after = app.patch(path, Some(&alice.token), json!({"email": "off"})).await.expect(200);
    assert_eq!(after, json!({"email": "off", "digest": "weekly", "briefing": true}));
    let after = app.patch(path, Some(&alice.token), json!({})).await.expect(200);
    assert_eq!(after, json!({"email": "off", "digest": "weekly", "briefing": true}));
    assert_eq!(app.get(path, Some(&alice.token)).await.expect(200), after);

    app.patch(path, Some(&alice.token), json!({"email": "sometimes"})).await.expect(422);
    app.patch(path, Some(&alice.token), json!({"digest": "hourly"})).await.expect(422);
    app.patch(path, Some(&alice.token), json!({"push": "on"})).await.expect(422);
    assert_eq!(
        app.get(path, Some(&alice.token)).await.expect(200),
        after,
        "a refused change changed something"
    );

    // Each reader's own.
    let bob = app.register("bob").await;
    assert_eq!(
        app.get(path, Some(&bob.token)).await.expect(200),
        json!({"email": "immediate", "digest": "daily", "briefing": true})
    );
    app.get(path, None).await.expect_unauthorized("missing_token");
    app.patch(path, None, json!({"email": "off"})).await.expect_unauthorized("missing_token");
}
