//! Step B of the planner: where each thread's quote goes.
//!
//! A quote on an edited paragraph is mapped through the word diff of that
//! paragraph (start and end separately; see `text::map_start`/`map_end`):
//! - the mapped span reads exactly as the quote → *moved* (or untouched);
//! - it reads almost as the quote (similarity ≥ [`FUZZY_RATIO`]): the edit
//!   was inside the quote → *fuzzy*, `exact` becomes the new text;
//! - otherwise the quoted words were rewritten or deleted. They are then
//!   looked for *only in newly inserted text* of this revision (a sentence
//!   moved within or between paragraphs, split off or merged). Text that was
//!   already there is never a candidate: that is the "Robin … Robin" bug of
//!   client-side anchoring. One convincing candidate → *moved*; none →
//!   *orphaned*; several that context cannot tell apart → *orphaned*
//!   (`ambiguous`).
//!
//! Threads on retired paragraphs get the same search, or follow the
//! paragraph they were merged into when they quote nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::text::{self, Op};
use super::{
    AnchorStatus, Change, OldParagraph, OrphanReason, Place, PlannedParagraph, ThreadAnchor, ThreadMove,
    MERGED_CONTAINMENT,
};
use crate::anchors::Quote;

/// A mapped span this similar to the quote is the quote, lightly edited.
pub const FUZZY_RATIO: f32 = 0.8;
/// Quotes shorter than this are found again in new text only when their
/// context agrees too: short phrases turn up by chance.
const MIN_BARE_QUOTE: usize = 8;
/// Context (prefix and suffix) agreement needed to trust a candidate, and
/// the lead the best candidate needs over the next.
const CONTEXT_AGREEMENT: f32 = 0.5;
const CONTEXT_LEAD: f32 = 0.2;
/// Longest one paragraph diff may take before it degrades.
const DIFF_TIMEOUT: Duration = Duration::from_millis(200);
const RATIO_TIMEOUT: Duration = Duration::from_millis(20);

/// Retired paragraphs (old index) mostly contained in an edited or added one
/// (new index): merged into it.
pub(super) fn merges(
    old: &[OldParagraph],
    new: &[PlannedParagraph],
    old_to: &[Option<usize>],
    deadline: Instant,
) -> HashMap<usize, usize> {
    let mut out = HashMap::new();
    let targets: Vec<(usize, std::collections::HashSet<String>)> = new
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.change, Change::Edited | Change::Added))
        .map(|(j, p)| (j, text::word_set(&p.text)))
        .collect();
    for (i, p) in old.iter().enumerate().filter(|(i, _)| old_to[*i].is_none()) {
        let words = text::word_set(&p.text);
        let samples = samples(&super::nfc(&p.text));
        let mut best: Option<(f32, usize)> = None;
        for (j, target_words) in &targets {
            if Instant::now() > deadline {
                return out;
            }
            // Containment, not similarity: a merged paragraph's words are a
            // subset of the target's, and some stretch of it is there as written.
            let shared = words.intersection(target_words).count();
            if words.is_empty() || (shared as f32) < 0.5 * words.len() as f32 {
                continue;
            }
            if !samples.iter().any(|s| new[*j].text.contains(s.as_str())) {
                continue;
            }
            let c = text::containment(&super::nfc(&p.text), &new[*j].text, RATIO_TIMEOUT);
            if c >= MERGED_CONTAINMENT && best.is_none_or(|(b, _)| c > b) {
                best = Some((c, *j));
            }
        }
        if let Some((_, j)) = best {
            out.insert(i, j);
        }
    }
    out
}

/// Three stretches of 16 code points (start, middle, end) of a paragraph:
/// text merged elsewhere keeps at least one of them as written.
fn samples(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 16 {
        return vec![text.to_owned()];
    }
    let last = chars.len() - 16;
    [0, last / 2, last].iter().map(|&s| chars[s..s + 16].iter().collect()).collect()
}

pub(super) struct Mapper<'a> {
    new: &'a [PlannedParagraph],
    old_to: &'a [Option<usize>],
    merged_into: HashMap<usize, usize>,
    old_index: HashMap<uuid::Uuid, usize>,
    old_chars: Vec<Vec<char>>,
    new_chars: Vec<Vec<char>>,
    diffs: HashMap<usize, Vec<Op>>,
    /// Per new paragraph, which code points this revision inserted (None:
    /// nothing, the paragraph is unchanged or moved). Built on first need.
    inserted: Option<Vec<Option<Vec<bool>>>>,
    deadline: Instant,
    pub degraded: bool,
}

enum Found {
    At(usize, usize),
    Nowhere,
    Ambiguous,
}

impl<'a> Mapper<'a> {
    pub fn new(
        old: &'a [OldParagraph],
        new: &'a [PlannedParagraph],
        old_to: &'a [Option<usize>],
        merged_into: HashMap<usize, usize>,
        deadline: Instant,
    ) -> Self {
        Mapper {
            new,
            old_to,
            merged_into,
            old_index: old.iter().enumerate().map(|(i, p)| (p.id, i)).collect(),
            old_chars: old.iter().map(|p| p.text.chars().collect()).collect(),
            new_chars: new.iter().map(|p| p.text.chars().collect()).collect(),
            diffs: HashMap::new(),
            inserted: None,
            deadline,
            degraded: false,
        }
    }

    /// The diff of old paragraph `i` into its continuation `j`.
    fn diff(&mut self, i: usize, j: usize) -> &[Op] {
        if !self.diffs.contains_key(&i) {
            let now = Instant::now();
            if now > self.deadline {
                self.degraded = true;
            }
            let deadline = (now + DIFF_TIMEOUT).min(self.deadline.max(now));
            let ops = text::diff(&self.old_chars[i], &self.new_chars[j], deadline);
            self.diffs.insert(i, ops);
        }
        &self.diffs[&i]
    }

    fn build_inserted(&mut self) {
        if self.inserted.is_none() {
            let mut continues: HashMap<usize, usize> = HashMap::new();
            for (i, j) in self.old_to.iter().enumerate() {
                if let Some(j) = j {
                    continues.insert(*j, i);
                }
            }
            let masks: Vec<Option<Vec<bool>>> = (0..self.new.len())
                .map(|j| match self.new[j].change {
                    Change::Added => Some(vec![true; self.new_chars[j].len()]),
                    Change::Edited => {
                        let i = continues[&j];
                        let len = self.new_chars[j].len();
                        Some(text::inserted_mask(self.diff(i, j), len))
                    }
                    Change::Unchanged | Change::Moved => None,
                })
                .collect();
            self.inserted = Some(masks);
        }
    }

    /// What happens to `t`; `None` when it stays as it is.
    pub fn thread(&mut self, t: &ThreadAnchor) -> Option<ThreadMove> {
        let mut m = self.place(t)?;
        m.thread_id = t.thread_id;
        Some(m)
    }

    fn place(&mut self, t: &ThreadAnchor) -> Option<ThreadMove> {
        if t.orphaned {
            return None;
        }
        let i = *self.old_index.get(&t.paragraph_id)?;
        let from = Place { paragraph_id: t.paragraph_id, quote: t.quote.clone() };
        let Some(quote) = &t.quote else {
            return match (self.old_to[i], self.merged_into.get(&i)) {
                (Some(_), _) => None,
                (None, Some(&j)) => Some(self.moved(from, j, None, 1.0)),
                (None, None) => Some(orphan(from, OrphanReason::ParagraphRetired)),
            };
        };
        let (start, end) = (usize::try_from(quote.start).ok()?, usize::try_from(quote.end).ok()?);
        if end > self.old_chars[i].len() || start >= end {
            return None; // not a span of this text: nothing sound to map
        }
        let Some(j) = self.old_to[i] else {
            return Some(match self.relocate(i, start, end) {
                Found::At(j, s) => self.moved(from, j, Some((s, s + (end - start))), 1.0),
                Found::Ambiguous => orphan(from, OrphanReason::Ambiguous),
                Found::Nowhere => orphan(from, OrphanReason::ParagraphRetired),
            });
        };
        if matches!(self.new[j].change, Change::Unchanged | Change::Moved) {
            return None;
        }
        let new_len = self.new_chars[j].len();
        let ops = self.diff(i, j);
        let (s, e) = (text::map_start(ops, start, new_len), text::map_end(ops, end));
        let len = end - start;
        let reads = |a: usize| {
            self.new_chars[j].get(a..a + len).is_some_and(|w| w.iter().copied().eq(quote.exact.chars()))
        };
        // A diff may give a quote's first or last character to an equal one
        // next to it ("five." keeping the paragraph's last "."): if the quote
        // reads whole from the mapped start, or up to the mapped end, it is there.
        let slid = [s, e.saturating_sub(len)].into_iter().find(|&a| s < e && reads(a));
        if let Some(a) = slid {
            if (a, a + len) == (start, end) {
                return None;
            }
            return Some(self.moved(from, j, Some((a, a + len)), 1.0));
        }
        if s < e {
            let candidate: String = self.new_chars[j][s..e].iter().collect();
            let r = text::ratio(&candidate, &quote.exact, RATIO_TIMEOUT);
            // Similar, and not shrunk by more than a fifth: deleting quoted
            // words is not a small edit.
            if r >= FUZZY_RATIO && (e - s) * 5 >= len * 4 {
                let mut m = self.moved(from, j, Some((s, e)), r);
                m.status = AnchorStatus::Fuzzy;
                return Some(m);
            }
        }
        let reason = if s >= e { OrphanReason::QuoteDeleted } else { OrphanReason::QuoteEdited };
        Some(match self.relocate(i, start, end) {
            Found::At(j, s) => self.moved(from, j, Some((s, s + (end - start))), 1.0),
            Found::Ambiguous => orphan(from, OrphanReason::Ambiguous),
            Found::Nowhere => orphan(from, reason),
        })
    }

    fn moved(&self, from: Place, j: usize, span: Option<(usize, usize)>, confidence: f32) -> ThreadMove {
        let chars = &self.new_chars[j];
        let (quote, context) = match span {
            Some((s, e)) => (
                Some(Quote { exact: chars[s..e].iter().collect(), start: s as i32, end: e as i32 }),
                Some(text::context(chars, s, e)),
            ),
            None => (None, None),
        };
        ThreadMove {
            thread_id: uuid::Uuid::nil(),
            status: AnchorStatus::Moved,
            reason: None,
            confidence: Some(confidence),
            from,
            to: Some(Place { paragraph_id: self.new[j].id, quote }),
            context,
        }
    }

    /// The quote `start..end` of old paragraph `i`, looked for in text this
    /// revision inserted, scored by how well its context agrees.
    fn relocate(&mut self, i: usize, start: usize, end: usize) -> Found {
        let needle: Vec<char> = self.old_chars[i][start..end].to_vec();
        let exact: String = needle.iter().collect();
        let (prefix, suffix) = text::context(&self.old_chars[i], start, end);
        self.build_inserted();
        let new_chars = &self.new_chars;
        let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
        for (j, mask) in self.inserted.iter().flatten().enumerate() {
            let Some(mask) = mask else { continue };
            // The quick test first (a substring search); code points only where it hits.
            if !self.new[j].text.contains(exact.as_str()) {
                continue;
            }
            for o in text::occurrences(&new_chars[j], &needle) {
                // Every word character must be new: punctuation and spaces
                // at the seams may have been matched to old ones.
                let new_words = (o..o + needle.len()).all(|k| mask[k] || !new_chars[j][k].is_alphanumeric());
                if new_words && (o..o + needle.len()).any(|k| mask[k]) {
                    let (p, s) = text::context(&new_chars[j], o, o + needle.len());
                    let agreement = (text::ratio(&prefix, &p, RATIO_TIMEOUT)
                        + text::ratio(&suffix, &s, RATIO_TIMEOUT))
                        / 2.0;
                    candidates.push((agreement, j, o));
                }
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        match candidates.as_slice() {
            [] => Found::Nowhere,
            [(agreement, j, o)] => {
                if needle.len() >= MIN_BARE_QUOTE || *agreement >= CONTEXT_AGREEMENT {
                    Found::At(*j, *o)
                } else {
                    Found::Nowhere
                }
            }
            [(best, j, o), (second, ..), ..] => {
                if *best >= CONTEXT_AGREEMENT && best - second >= CONTEXT_LEAD {
                    Found::At(*j, *o)
                } else {
                    Found::Ambiguous
                }
            }
        }
    }
}

fn orphan(from: Place, reason: OrphanReason) -> ThreadMove {
    ThreadMove {
        thread_id: uuid::Uuid::nil(),
        status: AnchorStatus::Orphaned,
        reason: Some(reason),
        confidence: None,
        from,
        to: None,
        context: None,
    }
}
