//! Responses kept by their version: a session's counts or paragraphs, or a
//! page of a thread's comments, as they were last sent, under the version
//! tag that names them (src/versions/session.rs, src/comments/routes.rs).
//!
//! Exact by construction, for the reason a 304 is: a version names exactly
//! one answer, and every write that could change the answer changes the
//! version (a new settled event, the reader's own read marks, the
//! authors' profiles watermark, or, for comment pages, whom the reader
//! blocks). So an entry
//! is never invalidated, only forgotten when the cache is full; nothing needs
//! to reach other instances. The caller's access is not part of what is kept:
//! every request still reads it (with the version, in one statement), so a
//! ban or a revoked token is refused before the cache is looked at.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::web::Bytes;
use moka::sync::Cache;

pub struct KeptResponses {
    kept: Option<Cache<String, Bytes>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl KeptResponses {
    /// Keeps at most `max_bytes` of answers (0: keeps none).
    pub fn new(max_bytes: u64) -> Self {
        let kept = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|tag: &String, body: &Bytes| {
                    u32::try_from(tag.len() + body.len()).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { kept, hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    pub fn get(&self, version: &str) -> Option<Bytes> {
        let found = self.kept.as_ref()?.get(version);
        let (counter, result) = match found {
            Some(_) => (&self.hits, "hit"),
            None => (&self.misses, "miss"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        ::metrics::counter!("pilcrow_answer_cache_total", "result" => result).increment(1);
        found
    }

    pub fn keep(&self, version: &str, body: &Bytes) {
        if let Some(kept) = &self.kept {
            // A copy of exactly its length: the response's buffer may be
            // larger, and the cache is bounded by what it weighs.
            kept.insert(version.to_owned(), Bytes::copy_from_slice(body));
        }
    }

    /// KeptResponses sent from the cache since start, and answers built.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_by_version_and_counts_hits() {
        let answers = KeptResponses::new(1 << 20);
        assert!(answers.get("\"a\"").is_none());
        answers.keep("\"a\"", &Bytes::from_static(b"{\"n\":1}"));
        assert_eq!(answers.get("\"a\"").as_deref(), Some(&b"{\"n\":1}"[..]));
        assert!(answers.get("\"b\"").is_none());
        assert_eq!(answers.hits_and_misses(), (1, 2));
    }

    #[test]
    fn zero_bytes_keeps_nothing() {
        let answers = KeptResponses::new(0);
        answers.keep("\"a\"", &Bytes::from_static(b"{}"));
        assert!(answers.get("\"a\"").is_none());
    }
}
