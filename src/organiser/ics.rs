//! Writing iCalendar (RFC 5545): one VCALENDAR of VEVENTs, with CRLF line
//! ends, TEXT values escaped (§3.3.11) and content lines folded at 75
//! octets without splitting a UTF-8 character (§3.1).

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One reading session as a calendar event.
pub struct Event<'a> {
    pub session_id: Uuid,
    pub title: &'a str,
    pub group_name: &'a str,
    pub starts_at: DateTime<Utc>,
    /// The end when the session has one, else an hour after the start.
    pub ends_at: Option<DateTime<Utc>>,
    pub sequence: i32,
    pub url: String,
}

/// A calendar named `name` holding `events`, stamped `now`.
pub fn calendar(name: &str, events: &[Event<'_>], now: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(256 + events.len() * 400);
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Pilcrow//Reading sessions//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", text(name)));
    for e in events {
        let ends_at = e.ends_at.unwrap_or(e.starts_at + chrono::Duration::hours(1));
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:session-{}@pilcrow", e.session_id));
        line(&mut out, &format!("DTSTAMP:{}", stamp(now)));
        line(&mut out, &format!("DTSTART:{}", stamp(e.starts_at)));
        line(&mut out, &format!("DTEND:{}", stamp(ends_at)));
        line(&mut out, &format!("SEQUENCE:{}", e.sequence.max(0)));
        line(&mut out, &format!("SUMMARY:{}", text(e.title)));
        line(&mut out, &format!("DESCRIPTION:{}", text(&format!("A reading session of {}.", e.group_name))));
        line(&mut out, &format!("URL:{}", uri(&e.url)));
        line(&mut out, "STATUS:CONFIRMED");
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// A UTC DATE-TIME (form #2, §3.3.5).
fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value: backslash, semicolon, comma and line breaks escaped, and
/// other control characters (which no content line may hold) left out.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI value: nothing to escape, but no control characters either.
fn uri(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// Appends one content line, folded: no line longer than 75 octets, each
/// continuation starting with a space, never inside a UTF-8 character.
pub fn line(out: &mut String, content: &str) {
    const MAX: usize = 75;
    let mut room = MAX;
    let mut used = 0;
    for c in content.chars() {
        let width = c.len_utf8();
        if used + width > room {
            out.push_str("\r\n ");
            // The leading space takes one octet of the next line.
            room = MAX - 1;
            used = 0;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(text("a,b;c\\d\ne\r\nf"), "a\\,b\\;c\\\\d\\ne\\nf");
        assert_eq!(text("tab\there\u{7}"), "tab here");
    }

    #[test]
    fn long_lines_fold_at_75_octets_on_character_boundaries() {
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(100));
        line(&mut out, &long);
        let lines: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
        assert!(lines.len() > 2);
        for (i, l) in lines.iter().enumerate() {
            assert!(l.len() <= 75, "line {i} is {} octets", l.len());
            if i > 0 {
                assert!(l.starts_with(' '));
            }
        }
        let unfolded: String =
            lines.iter().enumerate().map(|(i, l)| if i == 0 { *l } else { &l[1..] }).collect();
        assert_eq!(unfolded, long);
    }
}
