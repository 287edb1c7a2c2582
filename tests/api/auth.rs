use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn register_then_me() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    let me = app.get("/me", Some(&user.token)).await.expect(200);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.org");
    let login =
        app.post("/auth/login", None, json!({"login": "ALICE@example.org", "password": user.password})).await;
    assert_eq!(login.expect(200)["user"]["id"], user.id.as_str());
}
