//! Question threads: votes and accepted answers.
//!
//! A thread is a discussion or a question (`kind`, chosen when it starts).
//! Members vote on threads (one vote each, idempotent); the thread's author
//! or a moderator accepts comments as answers, several if they like. The
//! counters (`vote_count`, `answer_count`, and `open_question_count` per
//! paragraph) are kept by the triggers in `src/db/replaceable/triggers.sql`
//! (section "Reader features"), whose header states the rules and the lock
//! order that votes.rs and answers.rs follow.

pub mod answers;
pub mod votes;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(votes::routes).configure(answers::routes);
}
