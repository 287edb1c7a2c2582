//! The smallest server answering Pilcrow's hottest reads: GET /sessions/{id}/counts
//! (benches/counts_bare.sql) and the first page of GET /threads/{id}/comments
//! (benches/comments_bare.sql), each one prepared statement, and for a bearer
//! token the HS256 check of Pilcrow's access tokens. Nothing else.
//! Env: DATABASE_URL, JWT_SECRET_FILE, PORT, WORKERS, POOL.
use actix_web::{get, web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const COUNTS: &str = "SELECT p.id, p.position, pc.thread_count, pc.comment_count FROM reading_sessions s \
    JOIN paragraphs p ON p.essay_id = s.essay_id LEFT JOIN paragraph_counts pc \
    ON pc.session_id = s.id AND pc.paragraph_id = p.id WHERE s.id = $1 ORDER BY p.position";
const PAGE: &str = "SELECT c.id, c.parent_id, c.depth, c.body, c.hidden, c.deleted, c.created_at, c.edited_at, \
    u.id, u.username, u.display_name FROM comments c JOIN users u ON u.id = c.author_id \
    WHERE c.thread_id = $1 ORDER BY c.sort_key LIMIT 51";

struct Peer { pool: deadpool_postgres::Pool, key: DecodingKey, validation: Validation }
#[derive(Deserialize)] struct Claims { typ: String }
#[derive(Serialize)] struct Count { paragraph_id: Uuid, position: i32, thread_count: i32, comment_count: i32 }
#[derive(Serialize)] struct Counts { session_id: Uuid, paragraphs: Vec<Count> }
#[derive(Serialize)] struct Author { id: Uuid, username: String, display_name: String }
#[derive(Serialize)] struct Comment { id: Uuid, parent_id: Option<Uuid>, depth: i16, body: String, hidden: bool, deleted: bool,
    created_at: DateTime<Utc>, edited_at: Option<DateTime<Utc>>, author: Author }
#[derive(Serialize)] struct Page { items: Vec<Comment>, next_cursor: Option<String> }

/// 401 for a bearer token Pilcrow would not have issued; no token passes.
fn check(req: &HttpRequest, peer: &Peer) -> Result<(), HttpResponse> {
    let Some(value) = req.headers().get("authorization") else { return Ok(()) };
    let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer "));
    match token.map(|t| jsonwebtoken::decode::<Claims>(t, &peer.key, &peer.validation)) {
        Some(Ok(token)) if token.claims.typ == "access" => Ok(()),
        _ => Err(HttpResponse::Unauthorized().finish()),
    }
}

async fn rows(peer: &Peer, sql: &str, id: &Uuid) -> Result<Vec<tokio_postgres::Row>, HttpResponse> {
    let client = peer.pool.get().await.map_err(|_| HttpResponse::ServiceUnavailable().finish())?;
    let fail = |_| HttpResponse::ServiceUnavailable().finish();
    let statement = client.prepare_cached(sql).await.map_err(fail)?;
    client.query(&statement, &[id]).await.map_err(fail)
}

#[get("/api/v1/sessions/{id}/counts")]
async fn counts(req: HttpRequest, id: web::Path<Uuid>, peer: web::Data<Peer>) -> HttpResponse {
    if let Err(refused) = check(&req, &peer) { return refused; }
    match rows(&peer, COUNTS, &id).await {
        Ok(rows) if rows.is_empty() => HttpResponse::NotFound().finish(),
        Ok(rows) => HttpResponse::Ok().json(Counts { session_id: *id, paragraphs: rows.iter().map(|r| Count {
            paragraph_id: r.get(0), position: r.get(1),
            thread_count: r.get::<_, Option<i32>>(2).unwrap_or(0), comment_count: r.get::<_, Option<i32>>(3).unwrap_or(0),
        }).collect() }),
        Err(failed) => failed,
    }
}

#[get("/api/v1/threads/{id}/comments")]
async fn comments(req: HttpRequest, id: web::Path<Uuid>, peer: web::Data<Peer>) -> HttpResponse {
    if let Err(refused) = check(&req, &peer) { return refused; }
    match rows(&peer, PAGE, &id).await {
        Ok(rows) => {
            let mut items: Vec<Comment> = rows.iter().map(|r| Comment {
                id: r.get(0), parent_id: r.get(1), depth: r.get(2), body: r.get(3), hidden: r.get(4),
                deleted: r.get(5), created_at: r.get(6), edited_at: r.get(7),
                author: Author { id: r.get(8), username: r.get(9), display_name: r.get(10) },
            }).collect();
            let next_cursor = (items.len() > 50).then(|| items[49].id.to_string());
            items.truncate(50);
            HttpResponse::Ok().json(Page { items, next_cursor })
        }
        Err(failed) => failed,
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let secret = std::fs::read_to_string(env("JWT_SECRET_FILE", "/tmp/pilcrow-bench/jwt_secret"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["pilcrow"]);
    validation.set_audience(&["pilcrow-api"]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 5;
    let config: tokio_postgres::Config = env("DATABASE_URL", "postgres://postgres@127.0.0.1:18432/pilcrow")
        .parse().map_err(std::io::Error::other)?;
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager).max_size(env("POOL", "4").parse().unwrap_or(4))
        .build().map_err(std::io::Error::other)?;
    let peer = web::Data::new(Peer { pool, key: DecodingKey::from_secret(secret.trim().as_bytes()), validation });
    HttpServer::new(move || App::new().app_data(peer.clone()).service(counts).service(comments))
        .workers(env("WORKERS", "2").parse().unwrap_or(2))
        .bind(("127.0.0.1", env("PORT", "18090").parse().unwrap_or(18090)))?
        .run().await
}
