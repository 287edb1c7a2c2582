//! The texts of verification, notification and digest mail. Plain text;
//! every link points under `mail.app_url` except the unsubscribe URL, which
//! is this server's (it must work without the frontend, RFC 8058).

use std::fmt::Write;

use uuid::Uuid;

use crate::notifications::Reason;

/// The verification mail's body.
pub fn verification(display_name: &str, link: &str, token: &str, hours: i64) -> String {
    format!(
        "Hello {display_name},\n\nPlease confirm that this is your address for Pilcrow by opening this link \
         within {hours} hours:\n\n{link}?token={token}\n\n\
         Until you do, Pilcrow sends no notification mail here. If you did not sign up, ignore this message.\n"
    )
}

/// Subject and body of the mail that carries an address change's link, to
/// the new address.
pub fn email_change_link(display_name: &str, link: &str, token: &str, hours: i64) -> (&'static str, String) {
    let body = format!(
        "Hello {display_name},\n\nYou asked to use this address for your Pilcrow account. Confirm it by \
         opening this link within {hours} hours:\n\n{link}?token={token}\n\n\
         Your account keeps its current address until you do. If you did not ask for this, ignore this \
         message.\n"
    );
    ("Confirm your new address for Pilcrow", body)
}

/// Subject and body of the mail to a new address another account already
/// has: nothing changes, and the asker is told nothing of it.
pub fn email_change_taken() -> (&'static str, String) {
    let body = "Hello,\n\nSomeone asked to move a Pilcrow account to this address, but a Pilcrow account \
                already uses it, so nothing was changed.\n\nIf that account is yours and you have forgotten \
                its password, the sign-in page lets you reset it. Otherwise, ignore this message.\n"
        .to_owned();
    ("Your address is already in use on Pilcrow", body)
}

/// Subject and body of the notice to the current address that a change to
/// `new_email` was asked for.
pub fn email_change_notice(display_name: &str, new_email: &str) -> (&'static str, String) {
    let body = format!(
        "Hello {display_name},\n\nSomeone signed in to your Pilcrow account asked to change its address to \
         {new_email}. The change happens only once that address confirms it; until then, this one stays.\n\n\
         If this was not you, change your password now.\n"
    );
    ("Your Pilcrow address is about to change", body)
}

/// Subject and body of the mail that says a personal export is ready.
pub fn export_ready(
    display_name: &str,
    link: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> (String, String) {
    let until = expires_at.format("%Y-%m-%d %H:%M UTC");
    (
        "Your Pilcrow data is ready to download".to_owned(),
        format!(
            "Hello {display_name},\n\nThe copy of your data you asked for is ready. Download it (a zip) \
             until {until}:\n\n{link}\n\nAnyone with this link can download it until then: do not \
             forward this message. If you did not ask for it, change your password.\n"
        ),
    )
}

/// Where a thread is read in the frontend.
pub fn thread_link(app_url: &str, thread: Uuid, comment: Option<Uuid>) -> String {
    match comment {
        Some(c) => format!("{app_url}/threads/{thread}?comment={c}"),
        None => format!("{app_url}/threads/{thread}"),
    }
}

/// An excerpt of at most `chars` characters, on whole words where it can.
pub fn excerpt(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        return flat;
    }
    let cut: String = flat.chars().take(chars).collect();
    let cut = match cut.rfind(' ') {
        Some(at) if at > chars / 2 => cut[..at].to_owned(),
        _ => cut,
    };
    format!("{cut}…")
}

/// What one immediate mail says.
pub struct ItemMail<'a> {
    pub display_name: &'a str,
    pub reason: Reason,
    pub actor: Option<&'a str>,
    pub thread_title: &'a str,
    pub session_title: &'a str,
    pub group_name: &'a str,
    /// The latest comment's text, when it may be shown.
    pub comment: Option<&'a str>,
    pub new_count: i32,
    pub link: String,
}

/// Subject and body of an immediate mail.
pub fn item(m: &ItemMail<'_>, app_url: &str, unsubscribe_url: &str, delay_secs: u64) -> (String, String) {
    let someone = m.actor.unwrap_or("Someone");
    let (subject, lead) = match m.reason {
        Reason::Moderation => (
            format!("A moderator acted on your writing in {}", m.group_name),
            format!(
                "A moderator hid, restored or locked your writing in \"{}\" ({}, {}).",
                m.thread_title, m.session_title, m.group_name
            ),
        ),
        Reason::Mention => (
            format!("{someone} mentioned you in \"{}\"", m.thread_title),
            format!(
                "{someone} mentioned you in \"{}\" ({}, {}):",
                m.thread_title, m.session_title, m.group_name
            ),
        ),
        _ => (
            format!("{someone} replied in \"{}\"", m.thread_title),
            format!("{someone} replied in \"{}\" ({}, {}):", m.thread_title, m.session_title, m.group_name),
        ),
    };
    let mut body = format!("Hello {},\n\n{lead}\n", m.display_name);
    if let Some(comment) = m.comment {
        for line in excerpt(comment, 600).lines() {
            let _ = writeln!(body, "\n> {line}");
        }
    }
    if m.new_count > 1 {
        let _ = writeln!(body, "\n{} new comments in this thread.", m.new_count);
    }
    let _ = writeln!(body, "\nRead it: {}\n", m.link);
    let minutes = delay_secs.div_ceil(60).max(1);
    let _ = write!(
        body,
        "-- \nYou get this because it was still unread {minutes} minute(s) after it happened.\n\
         Choose which mail you get: {app_url}/settings/notifications\n\
         Stop these mails (one click): {unsubscribe_url}\n"
    );
    (subject, body)
}

/// One line of a digest, in its group, session and paragraph.
pub struct DigestLine {
    pub group_id: Uuid,
    pub group_name: String,
    pub session_id: Uuid,
    pub session_title: String,
    pub paragraph_id: Uuid,
    /// The paragraph's position in the essay (0-based), when known.
    pub paragraph_position: Option<i32>,
    pub paragraph_text: Option<String>,
    pub thread_id: Uuid,
    pub thread_title: String,
    pub reason: Reason,
    pub new_count: i32,
    pub latest_comment_id: Option<Uuid>,
}

fn reason_words(reason: Reason) -> &'static str {
    match reason {
        Reason::Moderation => "moderation",
        Reason::Mention => "you were mentioned",
        Reason::Reply => "replies to you",
        Reason::AnswerAccepted => "your answer was accepted",
        Reason::Reanchored => "your thread moved",
        Reason::Watching => "watched",
    }
}

/// Subject and body of a digest; `lines` come ordered by group, session and paragraph.
pub fn digest(
    display_name: &str,
    period: &str,
    lines: &[DigestLine],
    total: i64,
    app_url: &str,
    unsubscribe_url: &str,
) -> (String, String) {
    let subject = match total {
        1 => format!("Pilcrow: 1 unread thread ({period})"),
        n => format!("Pilcrow: {n} unread threads ({period})"),
    };
    let mut body = format!("Hello {display_name},\n\nStill unread from {period}:\n");
    let (mut group, mut session, mut paragraph) = (None, None, None);
    for l in lines {
        if group != Some(l.group_id) {
            let _ = writeln!(body, "\n== {} ==", l.group_name);
            group = Some(l.group_id);
            session = None;
        }
        if session != Some(l.session_id) {
            let _ = writeln!(body, "\n  {}", l.session_title);
            session = Some(l.session_id);
            paragraph = None;
        }
        if paragraph != Some(l.paragraph_id) {
            let label = match (l.paragraph_position, &l.paragraph_text) {
                (Some(p), Some(text)) => format!("¶ {}: {}", p + 1, excerpt(text, 60)),
                (Some(p), None) => format!("¶ {}", p + 1),
                _ => "¶".to_owned(),
            };
            let _ = writeln!(body, "    {label}");
            paragraph = Some(l.paragraph_id);
        }
        let count = if l.new_count == 1 { "1 new".to_owned() } else { format!("{} new", l.new_count) };
        let _ = writeln!(
            body,
            "      - \"{}\": {count}, {}\n        {}",
            l.thread_title,
            reason_words(l.reason),
            thread_link(app_url, l.thread_id, l.latest_comment_id)
        );
    }
    let shown = lines.len() as i64;
    if total > shown {
        let _ = writeln!(body, "\n…and {} more: {app_url}/notifications", total - shown);
    }
    let _ = write!(
        body,
        "\nAll your notifications: {app_url}/notifications\n\n-- \n\
         Choose which mail you get: {app_url}/settings/notifications\n\
         Stop these digests (one click): {unsubscribe_url}\n"
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn an_excerpt_ends_on_a_word_and_says_it_was_cut() {
        assert_eq!(excerpt("short  text\n", 50), "short text");
        assert_eq!(excerpt("one two three four five", 12), "one two…");
        assert_eq!(excerpt("éééééééééé", 4), "éééé…");
    }
}
