//! The background builder of personal exports, one per instance.
//!
//! Once across instances: an export is claimed with a lease (`claim.sql`,
//! `FOR UPDATE SKIP LOCKED`, committed at once) that names this attempt,
//! and every step of the build renews it; the attempt writes its chunks
//! under its own name and the export becomes ready only if the attempt
//! still holds it (`finish.sql`). An instance that dies mid-build stops
//! renewing: once the lease runs out the next instance to look claims the
//! export and builds it again from the start, and the dead attempt's chunks
//! are deleted. After `MAX_ATTEMPTS` the export is failed.
//!
//! Bounded memory: rows are read `exports.batch_rows` at a time in keyset
//! order, each batch is rendered and compressed on the CPU queue, and the
//! zip's bytes go to the database whenever a chunk's worth has gathered. A
//! build holds one batch of rows and about one chunk of bytes, whatever the
//! size of the account.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Binary, Double, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::watch;
use uuid::Uuid;

use super::archive::Archive;
use super::Exports;
use crate::annotations::models::{self as annotations, Iris, CONTEXT};
use crate::cpu::Ticket;
use crate::db::prepared::Prepared;

/// Builds an export may take before it is failed.
const MAX_ATTEMPTS: i32 = 3;
/// The zip's bytes go to the database in pieces of at least this size.
const CHUNK_BYTES: usize = 1 << 20;
/// How often retention runs on each instance.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

#[derive(QueryableByName)]
struct Doc {
    #[diesel(sql_type = Text)]
    doc: String,
}

#[derive(QueryableByName)]
struct Keyed {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = Text)]
    doc: String,
}

#[derive(QueryableByName)]
struct Renewed {
    #[diesel(sql_type = SqlUuid)]
    #[allow(dead_code)] // the row's presence is the answer
    id: Uuid,
}

#[derive(QueryableByName)]
struct Finished {
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
}

/// The lists of the archive, each a JSON array read in keyset batches.
const LISTS: [(&str, List); 6] = [
    ("memberships.json", List::Memberships),
    ("votes.json", List::Votes),
    ("reads.json", List::Reads),
    ("watches.json", List::Watches),
    ("blocks.json", List::Blocks),
    ("reports.json", List::Reports),
];

#[derive(Clone, Copy)]
enum List {
    Memberships,
    Votes,
    Reads,
    Watches,
    Blocks,
    Reports,
}

impl List {
    /// Its statement: $1 the user, $2 the public base URL, $3 the key after
    /// which to read, $4 how many rows.
    fn statement(self) -> Prepared<'static> {
        match self {
            List::Memberships => crate::sql!("lists/memberships.sql"),
            List::Votes => crate::sql!("lists/votes.sql"),
            List::Reads => crate::sql!("lists/reads.sql"),
            List::Watches => crate::sql!("lists/watches.sql"),
            List::Blocks => crate::sql!("lists/blocks.sql"),
            List::Reports => crate::sql!("lists/reports.sql"),
        }
    }
}

/// Runs for the life of the process: builds what is pending whenever asked
/// (a request on this instance) or every `exports.poll_interval_ms`, and
/// runs retention every minute.
pub async fn run(exports: Arc<Exports>, mut closing: watch::Receiver<bool>) {
    let every = Duration::from_millis(exports.settings.poll_interval_ms.max(10));
    let mut swept: Option<Instant> = None;
    loop {
        loop {
            match build_next(&exports).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = ?e, "looking for personal exports to build");
                    break;
                }
            }
        }
        if swept.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
            swept = Some(Instant::now());
            match crate::db::pool::conn(&exports.pool).await {
                Ok(mut conn) => match super::sweep(&mut conn).await {
                    Ok(n) if n > 0 => tracing::info!(deleted = n, "expired personal exports"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweeping personal exports"),
                },
                Err(e) => tracing::warn!(error = %e, "sweeping personal exports"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = exports.wake.notified() => {}
            _ = closing.changed() => return,
        }
    }
}

/// Claims one pending export and builds it. Returns whether one was claimed.
pub async fn build_next(exports: &Exports) -> anyhow::Result<bool> {
    let mut conn = crate::db::pool::conn(&exports.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::sql!("give_up.sql").bind::<Integer, _>(MAX_ATTEMPTS).execute(&mut conn).await?;
    let attempt = Uuid::now_v7();
    let Some(job) = crate::sql!("claim.sql")
        .bind::<SqlUuid, _>(attempt)
        .bind::<Double, _>(exports.settings.lease_secs as f64)
        .get_result::<Claimed>(&mut conn)
        .await
        .optional()?
    else {
        return Ok(false);
    };
    tracing::info!(export = %job.id, attempt = job.attempts, "building a personal export");
    let started = Instant::now();
    crate::sql!("stale_chunks.sql")
        .bind::<SqlUuid, _>(job.id)
        .bind::<SqlUuid, _>(attempt)
        .execute(&mut conn)
        .await?;
    let mut build = Build {
        exports,
        conn: &mut conn,
        id: job.id,
        attempt,
        user_id: job.user_id,
        archive: Arc::new(Mutex::new(Archive::new())),
        ticket: exports.cpu.admit(vec![format!("export:{}", job.id)]).map_err(|e| anyhow::anyhow!("{e}"))?,
        seq: 0,
        size: 0,
    };
    match build.all().await {
        Ok(Some(expires_at)) => {
            let size = build.size;
            tracing::info!(export = %job.id, bytes = size, ms = started.elapsed().as_millis() as u64, "personal export ready");
            drop(build);
            if let Err(e) = mail(exports, &mut conn, job.user_id, job.id, expires_at).await {
                tracing::warn!(error = ?e, export = %job.id, "personal export mail not sent");
            }
        }
        Ok(None) => tracing::info!(export = %job.id, "personal export taken over or deleted meanwhile"),
        // The lease stays: the export is tried again once it runs out.
        Err(e) => tracing::warn!(error = ?e, export = %job.id, "building a personal export"),
    }
    Ok(true)
}

struct Build<'a> {
    exports: &'a Exports,
    conn: &'a mut AsyncPgConnection,
    id: Uuid,
    attempt: Uuid,
    user_id: Uuid,
    archive: Arc<Mutex<Archive>>,
    ticket: Ticket,
    seq: i32,
    size: i64,
}

impl Build<'_> {
    /// Writes the whole archive. `None`: the attempt lost the export (its
    /// lease ran out and another took it, or it was deleted).
    async fn all(&mut self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let Some(profile) = self.doc(crate::sql!("profile.sql")).await? else { return Ok(None) };
        self.single("profile.json", profile).await?;
        for (name, list) in LISTS {
            if !self.list(name, list).await? {
                return Ok(None);
            }
        }
        let Some(settings) = self.doc(crate::sql!("notification_settings.sql")).await? else {
            return Ok(None);
        };
        self.single("notification-settings.json", settings).await?;
        if !self.annotations().await? {
            return Ok(None);
        }
        let rest = self.on_cpu(|archive| archive.finish()).await?;
        self.put_chunk(rest).await?;
        Ok(crate::sql!("finish.sql")
            .bind::<SqlUuid, _>(self.id)
            .bind::<SqlUuid, _>(self.attempt)
            .bind::<BigInt, _>(self.size)
            .get_result::<Finished>(self.conn)
            .await
            .optional()?
            .map(|f| f.expires_at))
    }

    async fn doc(&mut self, statement: Prepared<'static>) -> anyhow::Result<Option<String>> {
        Ok(statement
            .bind::<SqlUuid, _>(self.user_id)
            .get_result::<Doc>(self.conn)
            .await
            .optional()?
            .map(|d| d.doc))
    }

    /// An entry holding one JSON document.
    async fn single(&mut self, name: &'static str, doc: String) -> anyhow::Result<()> {
        let doc = Arc::new(doc);
        self.on_cpu(move |archive| {
            archive.start(name)?;
            archive.write(doc.as_bytes())?;
            archive.write(b"\n")
        })
        .await?;
        self.flush(CHUNK_BYTES).await
    }

    /// An entry holding a JSON array, read in keyset batches. `false`: the
    /// lease is lost.
    async fn list(&mut self, name: &'static str, list: List) -> anyhow::Result<bool> {
        self.on_cpu(move |archive| archive.start_array(name)).await?;
        let mut after = String::new();
        loop {
            let rows: Vec<Keyed> = list
                .statement()
                .bind::<SqlUuid, _>(self.user_id)
                .bind::<Text, _>(self.exports.public_base_url.clone())
                .bind::<Text, _>(after.clone())
                .bind::<BigInt, _>(self.exports.settings.batch_rows.max(1))
                .load(self.conn)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.k.clone();
            let full = rows.len() as i64 >= self.exports.settings.batch_rows.max(1);
            let rows = Arc::new(rows);
            self.on_cpu(move |archive| rows.iter().try_for_each(|r| archive.element(&r.doc))).await?;
            if !self.step().await? {
                return Ok(false);
            }
            if !full {
                break;
            }
        }
        self.on_cpu(|archive| archive.end_array().map(|_| ())).await?;
        Ok(true)
    }

    /// `annotations.jsonld`: an AnnotationCollection with one embedded page
    /// holding every comment of the user, each made by the session export's
    /// model. The totals follow the items (JSON objects are unordered), so
    /// they count exactly what was written.
    async fn annotations(&mut self) -> anyhow::Result<bool> {
        let collection = format!("urn:uuid:{}", self.id);
        let page = format!("urn:uuid:{}", Uuid::now_v7());
        let head = format!(
            "{{\"@context\": {}, \"id\": {}, \"type\": \"AnnotationCollection\", \
             \"label\": \"Everything written on Pilcrow by this account\", \
             \"first\": {{\"id\": {}, \"type\": \"AnnotationPage\", \"startIndex\": 0, \"items\": [",
            serde_json::to_string(CONTEXT)?,
            serde_json::to_string(&collection)?,
            serde_json::to_string(&page)?,
        );
        self.on_cpu(move |archive| {
            archive.start("annotations.jsonld")?;
            archive.begin_elements();
            archive.write(head.as_bytes())
        })
        .await?;
        let limit = self.exports.settings.batch_rows.max(1);
        let mut after = None;
        loop {
            let rows = annotations::by_author(self.conn, self.user_id, after, limit).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            let full = rows.len() as i64 >= limit;
            let (rows, base) = (Arc::new(rows), self.exports.public_base_url.clone());
            self.on_cpu(move |archive| {
                let iris = Iris(&base);
                rows.iter().try_for_each(|row| {
                    let annotation = serde_json::to_string(&annotations::annotation(&iris, row))?;
                    archive.element(&annotation)
                })
            })
            .await?;
            if !self.step().await? {
                return Ok(false);
            }
            if !full {
                break;
            }
        }
        self.on_cpu(move |archive| {
            let total = archive.elements();
            let tail = format!(
                "\n], \"partOf\": {{\"id\": {}, \"total\": {total}}}}}, \"total\": {total}}}\n",
                serde_json::to_string(&collection)?
            );
            archive.write(tail.as_bytes())
        })
        .await?;
        Ok(true)
    }

    /// After a batch: stores a chunk if one has gathered, and renews the
    /// lease. `false`: the lease is lost.
    async fn step(&mut self) -> anyhow::Result<bool> {
        self.flush(CHUNK_BYTES).await?;
        let renewed = crate::sql!("renew.sql")
            .bind::<SqlUuid, _>(self.id)
            .bind::<SqlUuid, _>(self.attempt)
            .bind::<Double, _>(self.exports.settings.lease_secs as f64)
            .get_result::<Renewed>(self.conn)
            .await
            .optional()?;
        Ok(renewed.is_some())
    }

    async fn flush(&mut self, at_least: usize) -> anyhow::Result<()> {
        let taken = self.archive.lock().map_err(|_| anyhow::anyhow!("archive lock"))?.take(at_least);
        match taken {
            Some(bytes) => self.put_chunk(bytes).await,
            None => Ok(()),
        }
    }

    async fn put_chunk(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.size += bytes.len() as i64;
        crate::sql!("chunk.sql")
            .bind::<SqlUuid, _>(self.id)
            .bind::<SqlUuid, _>(self.attempt)
            .bind::<Integer, _>(self.seq)
            .bind::<Binary, _>(bytes)
            .execute(self.conn)
            .await?;
        self.seq += 1;
        Ok(())
    }

    /// Runs `work` on the archive on the CPU queue's threads. A queue that
    /// stays full past its timeout only delays the build: it waits its turn.
    async fn on_cpu<F, R>(&self, work: F) -> anyhow::Result<R>
    where
        F: FnOnce(&mut Archive) -> anyhow::Result<R> + Send + Clone + 'static,
        R: Send + 'static,
    {
        loop {
            let (archive, work) = (self.archive.clone(), work.clone());
            let result = self
                .exports
                .cpu
                .run(&self.ticket, move || {
                    let mut archive = archive.lock().map_err(|_| anyhow::anyhow!("archive lock"))?;
                    work(&mut archive)
                })
                .await;
            match result {
                Ok(done) => return done,
                Err(e) if e.status.as_u16() == 429 => tokio::time::sleep(Duration::from_millis(200)).await,
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
    }
}

#[derive(QueryableByName)]
struct Recipient {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Text)]
    display_name: String,
}

/// Tells the owner their export is ready, at their verified address (none:
/// no mail).
async fn mail(
    exports: &Exports,
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Uuid,
    expires_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let Some(to) = crate::sql!("recipient.sql")
        .bind::<SqlUuid, _>(user_id)
        .get_result::<Recipient>(conn)
        .await
        .optional()?
    else {
        return Ok(());
    };
    let Some(email) = to.email else { return Ok(()) };
    let link = exports.download_url(id, expires_at);
    let (subject, body) = crate::mailing::compose::export_ready(&to.display_name, &link, expires_at);
    exports.mailing.mailer.send(&email, &subject, body).await
}
