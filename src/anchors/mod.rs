//! Quote anchors: a span of a paragraph in Unicode code points, as in the
//! W3C TextPositionSelector, together with the exact text it covers
//! (TextQuoteSelector), which must agree. `placement` puts a new thread's
//! quote on its paragraph; `reanchor` is a moderator moving it; essay
//! revisions move them all (`crate::essays::revise`). How a quote sits now
//! is part of the thread's view (`crate::views::thread`).

pub mod placement;
pub mod reanchor;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(reanchor::routes);
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quote {
    /// The quoted text, exactly as it stands in the paragraph.
    pub exact: String,
    /// Offset of the first quoted code point.
    pub start: i32,
    /// Offset just past the last quoted code point.
    pub end: i32,
}

/// A quote known to fit its paragraph: only [`Quote::anchor`] makes one, so
/// a thread can only be stored with a span that matches its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchoredQuote(Quote);

impl AnchoredQuote {
    pub fn exact(&self) -> &str {
        &self.0.exact
    }

    /// Code-point offsets `start..end` into the paragraph.
    pub fn span(&self) -> (i32, i32) {
        (self.0.start, self.0.end)
    }
}

impl Quote {
    /// The quote, once it is known to cover exactly `exact` in `paragraph`;
    /// otherwise why not, as a message for the client.
    pub fn anchor(self, paragraph: &str) -> Result<AnchoredQuote, String> {
        check(paragraph, &self)?;
        Ok(AnchoredQuote(self))
    }
}

fn check(paragraph: &str, quote: &Quote) -> Result<(), String> {
    if quote.start < 0 || quote.end <= quote.start {
        return Err("start must be at least 0 and end greater than start".to_owned());
    }
    let (start, end) = (quote.start as usize, quote.end as usize);
    let len = paragraph.chars().count();
    if end > len {
        return Err(format!("end is past the paragraph's {len} code points"));
    }
    let span: String = paragraph.chars().skip(start).take(end - start).collect();
    if span != quote.exact {
        return Err(format!("exact does not match the paragraph text at {start}..{end}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(exact: &str, start: i32, end: i32) -> Quote {
        Quote { exact: exact.to_owned(), start, end }
    }

    #[test]
    fn offsets_count_code_points_not_bytes_or_utf16_units() {
        let p = "“Tyranny” — 🔥 ends badly";
        // “ is 3 bytes in UTF-8, 🔥 is 2 UTF-16 units: code points keep offsets simple.
        assert!(quote("Tyranny", 1, 8).anchor(p).is_ok());
        assert!(quote("🔥 ends", 12, 18).anchor(p).is_ok());
        assert!(quote("— 🔥", 10, 13).anchor(p).is_ok());
        assert!(quote("🔥 end", 12, 18).anchor(p).is_err());
    }

    #[test]
    fn rejects_empty_reversed_and_out_of_range_spans() {
        let p = "abc";
        assert!(quote("", 1, 1).anchor(p).is_err());
        assert!(quote("b", 2, 1).anchor(p).is_err());
        assert!(quote("a", -1, 1).anchor(p).is_err());
        assert!(quote("abcd", 0, 4).anchor(p).is_err());
        assert!(quote("abc", 0, 3).anchor(p).is_ok());
    }
}
