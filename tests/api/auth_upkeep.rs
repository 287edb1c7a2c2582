//! Credentials kept current: a password hashed with older argon2 parameters
//! is rehashed at the next sign-in; a sign-in left idle ends.

use argon2::password_hash::PasswordHasher;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use crate::helpers::spawn_app;

#[derive(diesel::QueryableByName)]
struct Hash {
    #[diesel(sql_type = Text)]
    password_hash: String,
}

#[tokio::test]
async fn a_hash_with_old_parameters_is_rehashed_at_login() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut db = app.db().await;
    // The hash an older configuration made: 8 MiB, 3 passes.
    let old_params = argon2::Params::new(8_192, 3, 1, None).expect("params");
    let old = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, old_params)
        .hash_password(alice.password.as_bytes())
        .expect("hash")
        .to_string();
    diesel::sql_query("UPDATE users SET password_hash = $1 WHERE username = 'alice'")
        .bind::<Text, _>(&old)
        .execute(&mut db)
        .await
        .expect("update");

    app.login("alice", &alice.password).await.expect(200);
    let stored = diesel::sql_query("SELECT password_hash FROM users WHERE username = 'alice'")
        .get_result::<Hash>(&mut db)
        .await
        .expect("hash")
        .password_hash;
    assert_ne!(stored, old, "not rehashed");
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    // Still the same password, and the earlier tokens still work.
    app.login("alice", &alice.password).await.expect(200);
    app.get("/me", Some(&alice.token)).await.expect(200);
}

#[tokio::test]
async fn a_refresh_token_unused_for_the_idle_period_stops_working() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut db = app.db().await;
    // Alice's sign-in was last used 15 days ago (the default idle period is 14).
    diesel::sql_query(
        "UPDATE refresh_tokens SET issued_at = now() - interval '15 days' \
         WHERE user_id = (SELECT id FROM users WHERE username = 'alice')",
    )
    .execute(&mut db)
    .await
    .expect("age");
    app.refresh(&alice.refresh).await.expect_unauthorized("invalid_refresh_token");
    // Bob's, used recently, rotates.
    app.refresh(&bob.refresh).await.expect(200);
}
