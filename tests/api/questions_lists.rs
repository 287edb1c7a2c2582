//! Thread lists of a session with questions in them: the `kind` and
//! `answered` filters, the three sorts (pinned first in each), and cursors
//! that belong to their sort.

use serde_json::{json, Value};

use crate::helpers::{id, spawn_app, TestApp};

async fn ids(app: &TestApp, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=2&cursor={c}"),
            None => format!("{path}{sep}limit=2"),
        };
        let page: Value = app.get(&url, None).await.expect(200);
        out.extend(page["items"].as_array().unwrap().iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn filters_and_sorts() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let sid = &reading.session_id;
    let para = reading.paragraph_id(0);
    let mut voters = Vec::new();
    for i in 0..3 {
        let v = app.register(&format!("voter{i}")).await;
        app.add_member(&reading.group_id, &owner, &v, "member").await;
        voters.push(v);
    }
    // Oldest first: d1 (discussion), q1, q2, q3 (questions), d2 (discussion).
    let d1 = id(&app.start_thread(sid, &owner, &para, "d1").await);
    let q1 = id(&app.ask(sid, &owner, &para, "q1").await);
    let q2 = id(&app.ask(sid, &owner, &para, "q2").await);
    let q3 = id(&app.ask(sid, &owner, &para, "q3").await);
    let d2 = id(&app.start_thread(sid, &owner, &para, "d2").await);
    // Votes: q1 3, d1 2, q3 1.
    for (thread, n) in [(&q1, 3), (&d1, 2), (&q3, 1)] {
        for v in voters.iter().take(n) {
            app.vote(thread, Some(&v.token)).await.expect(204);
        }
    }
    // q2 answered; q1 gets the latest activity.
    let answer = id(&app.comment(&q2, &owner, None, "answer").await);
    app.accept(&q2, &answer, Some(&owner.token)).await.expect(200);
    app.comment(&q1, &owner, None, "latest activity").await;

    let base = format!("/sessions/{sid}/threads");
    assert_eq!(ids(&app, &base).await, vec![q1.clone(), q2.clone(), d2.clone(), q3.clone(), d1.clone()]);
    assert_eq!(ids(&app, &format!("{base}?sort=activity")).await, ids(&app, &base).await);
    assert_eq!(
        ids(&app, &format!("{base}?sort=votes")).await,
        vec![q1.clone(), d1.clone(), q3.clone(), d2.clone(), q2.clone()],
        "most votes first, ties newest first"
    );
    assert_eq!(
        ids(&app, &format!("{base}?sort=new")).await,
        vec![d2.clone(), q3.clone(), q2.clone(), q1.clone(), d1.clone()]
    );
    assert_eq!(
        ids(&app, &format!("{base}?kind=question&sort=new")).await,
        vec![q3.clone(), q2.clone(), q1.clone()]
    );
    assert_eq!(ids(&app, &format!("{base}?kind=discussion&sort=new")).await, vec![d2.clone(), d1.clone()]);
    assert_eq!(ids(&app, &format!("{base}?answered=false&sort=votes")).await, vec![q1.clone(), q3.clone()]);
    assert_eq!(ids(&app, &format!("{base}?answered=true")).await, vec![q2.clone()]);
    assert_eq!(
        ids(&app, &format!("{base}?kind=question&answered=false&paragraph_id={para}&sort=new")).await,
        vec![q3.clone(), q1.clone()]
    );

    // Pinned first whatever the sort.
    app.post(&format!("/threads/{d2}/moderation"), Some(&owner.token), json!({"action": "pin"}))
        .await
        .expect(200);
    assert_eq!(ids(&app, &format!("{base}?sort=votes")).await[0], d2);
    assert_eq!(ids(&app, &format!("{base}?sort=new")).await[0], d2);

    // A cursor belongs to its sort; unknown values are refused.
    let page = app.get(&format!("{base}?sort=activity&limit=1"), None).await.expect(200);
    let cursor = page["next_cursor"].as_str().unwrap();
    app.get(&format!("{base}?sort=votes&cursor={cursor}"), None).await.expect_problem(400, "invalid_cursor");
    let bad_sort = app.get(&format!("{base}?sort=loudest"), None).await;
    assert!(bad_sort.status == 400 || bad_sort.status == 422, "{}", bad_sort.body);
    let listed =
        app.get(&format!("{base}?kind=question&limit=100"), Some(&voters[0].token)).await.expect(200);
    let q1_view = listed["items"].as_array().unwrap().iter().find(|t| t["id"] == q1).unwrap().clone();
    assert_eq!(
        (q1_view["vote_count"].clone(), q1_view["voted_by_me"].clone(), q1_view["answered"].clone()),
        (json!(3), json!(true), json!(false))
    );
}
