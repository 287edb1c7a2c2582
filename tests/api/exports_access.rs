//! Who reaches an export: its owner reads its status, anyone holding the
//! signed link downloads it (no token) until it expires, a wrong signature
//! or another user gets 404; expired exports and their archives go.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pilcrow::schema::{personal_export_chunks as chunks, personal_exports as pe};
use reqwest::Method;

use crate::helpers::{spawn_export_app, unzip};

#[tokio::test]
async fn only_the_owner_sees_an_export_and_only_the_signed_link_downloads_it() {
    let app = spawn_export_app().await;
    let owner = app.register("owner").await;
    let stranger = app.register("stranger").await;
    let id = app.request_export(&owner).await;
    let done = app.export_done(&owner, &id, 30).await;
    assert_eq!(done["status"], "ready");
    let url = done["download_url"].as_str().unwrap().to_owned();

    // Status: the owner's alone.
    app.get(&format!("/me/exports/{id}"), Some(&stranger.token)).await.expect_problem(404, "not_found");
    app.get(&format!("/me/exports/{id}"), None).await.expect_unauthorized("missing_token");
    app.get(&format!("/me/exports/{}", uuid::Uuid::now_v7()), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
    app.call(Method::POST, "/me/exports", None, None).await.expect_unauthorized("missing_token");

    // The link needs no token; its signature is the key.
    let (status, _, bytes) = app.download(&url).await;
    assert_eq!(status, 200);
    assert_eq!(unzip(&bytes).len(), 9);
    let (signed, signature) = url.split_once("signature=").unwrap();
    let mut wrong = signature.as_bytes().to_vec();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).unwrap();
    for bad in [
        format!("{signed}signature={wrong}"),
        format!("{signed}signature="),
        format!("{signed}signature=%00"),
    ] {
        let resp = app.raw(app.download_request(&bad)).await;
        resp.expect_problem(404, "not_found");
    }
    // Another export's signature opens only that export.
    let theirs = app.request_export(&stranger).await;
    let their_url =
        app.export_done(&stranger, &theirs, 30).await["download_url"].as_str().unwrap().to_owned();
    let their_signature = their_url.split_once("signature=").unwrap().1;
    app.raw(app.download_request(&format!("{signed}signature={their_signature}")))
        .await
        .expect_problem(404, "not_found");
    let missing = app.raw(app.download_request(signed.trim_end_matches(['?', '&']))).await;
    assert_eq!(missing.status, 400, "{:?}", missing.body);

    // Past its 24 hours: gone for the link and the owner, and retention deletes it.
    let mut db = app.db().await;
    let export_id: uuid::Uuid = id.parse().unwrap();
    diesel::update(pe::table.find(export_id))
        .set(pe::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut db)
        .await
        .unwrap();
    // The signature names the expiry it was made for: the old link is dead either way.
    let (status, _, _) = app.download(&url).await;
    assert_eq!(status, 404);
    app.get(&format!("/me/exports/{id}"), Some(&owner.token)).await.expect_problem(404, "not_found");
    let stored: i64 =
        chunks::table.filter(chunks::export_id.eq(export_id)).count().get_result(&mut db).await.unwrap();
    assert!(stored > 0);
    assert_eq!(pilcrow::users::exports::sweep(&mut db).await.unwrap(), 1);
    let left: i64 = pe::table.filter(pe::id.eq(export_id)).count().get_result(&mut db).await.unwrap();
    let stored: i64 =
        chunks::table.filter(chunks::export_id.eq(export_id)).count().get_result(&mut db).await.unwrap();
    assert_eq!((left, stored), (0, 0));
    // The stranger's, not expired, stays.
    let (status, _, _) = app.download(&their_url).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn deleting_all_of_a_users_exports_takes_their_archives_and_no_one_elses() {
    let app = spawn_export_app().await;
    let leaving = app.register("leaving").await;
    let staying = app.register("staying").await;
    let mine = app.request_export(&leaving).await;
    let theirs = app.request_export(&staying).await;
    let url = app.export_done(&leaving, &mine, 30).await["download_url"].as_str().unwrap().to_owned();
    app.export_done(&staying, &theirs, 30).await;
    let mut db = app.db().await;
    let user: uuid::Uuid = leaving.id.parse().unwrap();
    assert_eq!(pilcrow::users::exports::delete_all(&mut db, user).await.unwrap(), 1);
    let (status, _, _) = app.download(&url).await;
    assert_eq!(status, 404);
    app.get(&format!("/me/exports/{mine}"), Some(&leaving.token)).await.expect_problem(404, "not_found");
    let orphaned: i64 = chunks::table
        .filter(chunks::export_id.eq(mine.parse::<uuid::Uuid>().unwrap()))
        .count()
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(orphaned, 0);
    assert_eq!(
        app.get(&format!("/me/exports/{theirs}"), Some(&staying.token)).await.expect(200)["status"],
        "ready"
    );
}
