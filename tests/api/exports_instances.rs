//! Exports across instances: each is built once whichever instances look,
//! any instance serves the download, and an export whose instance died
//! mid-build is finished by another once its lease runs out.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pilcrow::schema::{personal_export_chunks as chunks, personal_exports as pe};
use uuid::Uuid;

use crate::helpers::{export_settings, spawn_app_on, spawn_export_app, unzip};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_build_each_export_once_and_either_serves_it() {
    let a = spawn_export_app().await;
    let secret = a.settings.auth.jwt_secret.clone();
    let b = spawn_app_on(&a.db_url, move |s| {
        export_settings(s);
        s.auth.jwt_secret = secret;
    })
    .await;
    let mut users = Vec::new();
    for n in 0..4 {
        let user = a.register(&format!("reader{n}")).await;
        let app = if n % 2 == 0 { &a } else { &b };
        users.push((app.request_export(&user).await, user));
    }
    let mut db = a.db().await;
    for (n, (id, user)) in users.iter().enumerate() {
        let done = a.export_done(user, id, 30).await;
        assert_eq!(done["status"], "ready");
        let export_id: Uuid = id.parse().unwrap();
        let (attempts, claim): (i32, Option<Uuid>) =
            pe::table.find(export_id).select((pe::attempts, pe::claim)).first(&mut db).await.unwrap();
        assert_eq!(attempts, 1, "built once");
        let claims: Vec<Uuid> = chunks::table
            .filter(chunks::export_id.eq(export_id))
            .select(chunks::claim)
            .load(&mut db)
            .await
            .unwrap();
        assert!(!claims.is_empty() && claims.iter().all(|c| Some(*c) == claim), "{claims:?}");
        // Whichever built it, either serves it.
        let server = if n % 2 == 0 { &b } else { &a };
        let (status, _, bytes) = server.download(done["download_url"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        let files = unzip(&bytes);
        assert!(files["profile.json"].contains(&format!("\"reader{n}\"")));
    }
}

#[tokio::test]
async fn an_export_left_by_a_dead_instance_is_finished_by_another() {
    let app = spawn_export_app().await;
    let user = app.register("patient").await;
    let user_id: Uuid = user.id.parse().unwrap();
    // An instance claimed the export, wrote part of it, and died: its lease
    // runs two more seconds.
    let (export_id, dead) = (Uuid::now_v7(), Uuid::now_v7());
    let mut db = app.db().await;
    diesel::insert_into(pe::table)
        .values((
            pe::id.eq(export_id),
            pe::user_id.eq(user_id),
            pe::claim.eq(dead),
            pe::lease_until.eq(chrono::Utc::now() + chrono::Duration::seconds(2)),
            pe::attempts.eq(1),
        ))
        .execute(&mut db)
        .await
        .unwrap();
    diesel::insert_into(chunks::table)
        .values((
            chunks::export_id.eq(export_id),
            chunks::claim.eq(dead),
            chunks::seq.eq(0),
            chunks::data.eq(b"PK half of an archive".to_vec()),
        ))
        .execute(&mut db)
        .await
        .unwrap();
    let id = export_id.to_string();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let waiting = app.get(&format!("/me/exports/{id}"), Some(&user.token)).await.expect(200);
    assert_eq!(waiting["status"], "pending", "the lease still holds it");
    let done = app.export_done(&user, &id, 30).await;
    assert_eq!(done["status"], "ready");
    let (attempts, claim): (i32, Option<Uuid>) =
        pe::table.find(export_id).select((pe::attempts, pe::claim)).first(&mut db).await.unwrap();
    assert_eq!(attempts, 2);
    assert_ne!(claim, Some(dead));
    let dead_chunks: i64 = chunks::table
        .filter(chunks::export_id.eq(export_id))
        .filter(chunks::claim.eq(dead))
        .count()
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(dead_chunks, 0, "the dead attempt's bytes are gone");
    let (status, _, bytes) = app.download(done["download_url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let files = unzip(&bytes);
    assert!(files["profile.json"].contains("\"patient\""));
}

#[tokio::test]
async fn an_export_no_instance_can_build_fails_and_may_be_asked_for_again() {
    let app = spawn_export_app().await;
    let user = app.register("unlucky").await;
    // Three attempts died holding it; the last lease has run out.
    let export_id = Uuid::now_v7();
    let mut db = app.db().await;
    diesel::insert_into(pe::table)
        .values((
            pe::id.eq(export_id),
            pe::user_id.eq(user.id.parse::<Uuid>().unwrap()),
            pe::claim.eq(Uuid::now_v7()),
            pe::lease_until.eq(chrono::Utc::now() - chrono::Duration::seconds(1)),
            pe::attempts.eq(3),
        ))
        .execute(&mut db)
        .await
        .unwrap();
    let done = app.export_done(&user, &export_id.to_string(), 30).await;
    assert_eq!(done["status"], "failed");
    assert!(done.get("download_url").is_none());
    app.request_export(&user).await;
}
