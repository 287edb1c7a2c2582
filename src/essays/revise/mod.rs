//! Planning a revision: which paragraphs of the new text are which old ones,
//! and where every thread's quote goes. Pure: no database, no clock but the
//! deadline, so `dry_run` returns exactly the plan the apply step executes
//! (`src/essays/revisions.rs`).
//!
//! Paragraph identity is decided by content, never by position:
//! 1. a Patience diff over `(kind, NFC(text))` keys finds the *unchanged*
//!    paragraphs in order;
//! 2. identical keys left over on both sides are *moved* (duplicates paired
//!    in order);
//! 3. the rest are paired greedily by similarity (at least
//!    [`EDITED_RATIO`], best first, nearer positions on ties): *edited*,
//!    keeping the id. For a split, the larger piece keeps the id;
//! 4. what is left is *retired* (old) or *added* (new). A retired paragraph
//!    mostly contained in a new one is noted as merged into it.
//!
//! Quotes are then mapped through a word diff of their paragraph
//! (`quotes.rs`): text that did not change keeps its quote exactly; a small
//! edit inside the quote is *fuzzy*; quoted words deleted or rewritten are
//! looked for only in newly inserted text (a sentence moved or split off);
//! anything else, or anything ambiguous, is *orphaned*. A quote never jumps
//! to another occurrence that was already in the text.
//!
//! CPU-bound: callers run it with `spawn_blocking`, and it gives up (orphaning
//! rather than guessing) once its deadline passes.

mod quotes;
pub mod text;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;
use uuid::Uuid;

use super::split::{Block, Kind};
use crate::anchors::Quote;

/// Two paragraphs this similar (character diff ratio) are the same paragraph, edited.
pub const EDITED_RATIO: f32 = 0.6;
/// A retired paragraph this much contained in a new one was merged into it.
pub const MERGED_CONTAINMENT: f32 = 0.8;
/// Longest any one similarity measurement may take.
const PAIR_TIMEOUT: Duration = Duration::from_millis(50);
/// Above this many old × new leftover pairs, only nearby ones are compared.
const MAX_PAIRS: usize = 200_000;
const PAIR_WINDOW: usize = 50;
/// At most this many paragraph similarities are measured per revision.
const MAX_RATIOS: usize = 20_000;

crate::db_enum! {
    /// What a revision did to a paragraph that is in the new text.
    pub enum Change {
        Unchanged,
        Edited,
        Moved,
        Added,
    }
}

crate::db_enum! {
    /// How well a thread's quote is anchored in the current text.
    pub enum AnchorStatus {
        /// Where it was written (or re-attached by a moderator).
        Anchored,
        /// The same text, at other offsets or in another paragraph.
        Moved,
        /// A small edit inside the quote: `exact` was updated.
        Fuzzy,
        /// The quoted text is gone or could not be placed with confidence.
        Orphaned,
    }
}

crate::db_enum! {
    /// Why a thread was orphaned.
    pub enum OrphanReason {
        /// The quoted words were rewritten.
        QuoteEdited,
        /// The quoted words were deleted.
        QuoteDeleted,
        /// The paragraph is gone from the text.
        ParagraphRetired,
        /// The quoted words turn up in more than one new place.
        Ambiguous,
    }
}

/// A paragraph of the current text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldParagraph {
    pub id: Uuid,
    pub kind: Kind,
    pub text: String,
}

/// A thread as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadAnchor {
    pub thread_id: Uuid,
    pub paragraph_id: Uuid,
    pub quote: Option<Quote>,
    /// Orphaned threads keep their paragraph and are not re-anchored.
    pub orphaned: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlannedParagraph {
    /// Kept from the old text unless `change` is "added".
    pub id: Uuid,
    pub position: i32,
    pub text: String,
    pub kind: Kind,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetiredParagraph {
    pub id: Uuid,
    /// Its position in the text before this revision.
    pub last_position: i32,
    pub text: String,
    /// The new paragraph that holds most of its text, when there is one.
    pub merged_into: Option<Uuid>,
}

/// A thread's paragraph and quote.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Place {
    pub paragraph_id: Uuid,
    pub quote: Option<Quote>,
}

/// What happens to one thread. Threads whose paragraph and quote stay as
/// they are (the common case) are not listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThreadMove {
    pub thread_id: Uuid,
    pub status: AnchorStatus,
    /// Why, when orphaned.
    pub reason: Option<OrphanReason>,
    /// 1 for exact text, the similarity for fuzzy; null when orphaned.
    pub confidence: Option<f32>,
    pub from: Place,
    /// Null when orphaned: the thread stays on its paragraph with its old quote.
    pub to: Option<Place>,
    /// The new quote's context (32 code points each side), for storage.
    #[serde(skip)]
    pub context: Option<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Summary {
    pub unchanged: usize,
    pub edited: usize,
    pub moved: usize,
    pub added: usize,
    pub retired: usize,
    pub threads_moved: usize,
    pub threads_fuzzy: usize,
    pub threads_orphaned: usize,
    /// True when the planner ran out of time: some paragraphs or quotes that
    /// might have been matched were retired or orphaned instead.
    pub degraded: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Plan {
    pub paragraphs: Vec<PlannedParagraph>,
    pub retired: Vec<RetiredParagraph>,
    pub threads: Vec<ThreadMove>,
    pub summary: Summary,
}

/// NFC: the form paragraphs are compared in and new text is stored in.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

fn key(kind: Kind, text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    kind.hash(&mut h);
    nfc(text).hash(&mut h);
    h.finish()
}

/// How each new block relates to the old paragraphs.
struct Alignment {
    /// For each new block: the old paragraph it continues, and how.
    new_from: Vec<Option<(usize, Change)>>,
    /// For each old paragraph: the new block that continues it.
    old_to: Vec<Option<usize>>,
    degraded: bool,
}

impl Alignment {
    fn pair(&mut self, old: usize, new: usize, change: Change) {
        self.new_from[new] = Some((old, change));
        self.old_to[old] = Some(new);
    }
}

fn align(old: &[OldParagraph], new: &[Block], deadline: Instant) -> Alignment {
    let old_keys: Vec<u64> = old.iter().map(|p| key(p.kind, &p.text)).collect();
    let new_keys: Vec<u64> = new.iter().map(|b| key(b.kind, &b.text)).collect();
    let mut a = Alignment { new_from: vec![None; new.len()], old_to: vec![None; old.len()], degraded: false };

    // The stretches between unchanged runs: where an edited paragraph
    // almost always finds its new self.
    let mut gaps: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = Vec::new();
    for op in similar::capture_diff_slices_deadline(
        similar::Algorithm::Patience,
        &old_keys,
        &new_keys,
        Some(deadline),
    ) {
        let (tag, o, n) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            for i in 0..o.len() {
                a.pair(o.start + i, n.start + i, Change::Unchanged);
            }
        } else {
            gaps.push((o, n));
        }
    }

    let mut by_key: HashMap<u64, VecDeque<usize>> = HashMap::new();
    for (i, k) in old_keys.iter().enumerate().filter(|(i, _)| a.old_to[*i].is_none()) {
        by_key.entry(*k).or_default().push_back(i);
    }
    for (j, k) in new_keys.iter().enumerate() {
        if a.new_from[j].is_none() {
            if let Some(i) = by_key.get_mut(k).and_then(VecDeque::pop_front) {
                a.pair(i, j, Change::Moved);
            }
        }
    }

    let mut budget = MAX_RATIOS;
    for (o, n) in gaps {
        let olds: Vec<usize> = o.filter(|i| a.old_to[*i].is_none()).collect();
        let news: Vec<usize> = n.filter(|j| a.new_from[*j].is_none()).collect();
        pair_edited(old, new, &olds, &news, &mut a, &mut budget, deadline);
    }
    // Then anything left anywhere: a paragraph both moved and edited.
    let olds: Vec<usize> = (0..old.len()).filter(|i| a.old_to[*i].is_none()).collect();
    let news: Vec<usize> = (0..new.len()).filter(|j| a.new_from[*j].is_none()).collect();
    pair_edited(old, new, &olds, &news, &mut a, &mut budget, deadline);
    a
}

/// Step 3 over some leftovers: pairs by similarity, best first. Each
/// similarity costs a diff, so at most `budget` are measured in all.
fn pair_edited(
    old: &[OldParagraph],
    new: &[Block],
    olds: &[usize],
    news: &[usize],
    a: &mut Alignment,
    budget: &mut usize,
    deadline: Instant,
) {
    if olds.is_empty() || news.is_empty() {
        return;
    }
    let old_words: Vec<_> = olds.iter().map(|&i| text::word_set(&old[i].text)).collect();
    let new_words: Vec<_> = news.iter().map(|&j| text::word_set(&new[j].text)).collect();
    let windowed = olds.len() * news.len() > MAX_PAIRS;
    let mut candidates: Vec<(f32, usize, usize, usize)> = Vec::new();
    'outer: for (oi, &i) in olds.iter().enumerate() {
        // Leftovers keep their relative order, so with many of them only
        // those at a similar rank are compared.
        let centre = oi * news.len() / olds.len();
        let range = if windowed {
            centre.saturating_sub(PAIR_WINDOW)..(centre + PAIR_WINDOW).min(news.len())
        } else {
            0..news.len()
        };
        let old_len = old[i].text.chars().count();
        for nj in range {
            let j = news[nj];
            let new_len = new[j].text.chars().count();
            // The ratio can never reach the bar with lengths this far apart.
            if (2 * old_len.min(new_len)) as f32 / ((old_len + new_len).max(1) as f32) < EDITED_RATIO {
                continue;
            }
            if text::jaccard(&old_words[oi], &new_words[nj]) < 0.3 {
                continue;
            }
            if *budget == 0 || Instant::now() > deadline {
                a.degraded = true;
                break 'outer;
            }
            *budget -= 1;
            let r = text::paragraph_ratio(&nfc(&old[i].text), &new[j].text, PAIR_TIMEOUT);
            if r >= EDITED_RATIO {
                candidates.push((r, i.abs_diff(j), i, j));
            }
        }
    }
    candidates
        .sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)).then(x.3.cmp(&y.3)));
    for (_, _, i, j) in candidates {
        if a.old_to[i].is_none() && a.new_from[j].is_none() {
            a.pair(i, j, Change::Edited);
        }
    }
}

/// The plan for replacing `old` (the current paragraphs, in order) with
/// `new` (blocks from the same splitter), and for every thread on them.
/// New ids come from `new_id`, so tests can make them predictable.
pub fn plan(
    old: &[OldParagraph],
    new: &[Block],
    threads: &[ThreadAnchor],
    budget: Duration,
    mut new_id: impl FnMut() -> Uuid,
) -> Plan {
    let deadline = Instant::now() + budget;
    let new: Vec<Block> = new.iter().map(|b| Block { kind: b.kind, text: nfc(&b.text) }).collect();
    let alignment = align(old, &new, deadline);
    let mut summary = Summary { degraded: alignment.degraded, ..Summary::default() };

    let paragraphs: Vec<PlannedParagraph> = new
        .iter()
        .enumerate()
        .map(|(j, block)| {
            let (id, change, text) = match alignment.new_from[j] {
                // The same text (up to normalisation): the stored text stays,
                // so every quote on it stays valid as it is.
                Some((i, c @ (Change::Unchanged | Change::Moved))) => (old[i].id, c, old[i].text.clone()),
                Some((i, c)) => (old[i].id, c, block.text.clone()),
                None => (new_id(), Change::Added, block.text.clone()),
            };
            match change {
                Change::Unchanged => summary.unchanged += 1,
                Change::Edited => summary.edited += 1,
                Change::Moved => summary.moved += 1,
                Change::Added => summary.added += 1,
            }
            PlannedParagraph { id, position: j as i32, text, kind: block.kind, change }
        })
        .collect();

    let merged_into = quotes::merges(old, &paragraphs, &alignment.old_to, deadline);
    let retired: Vec<RetiredParagraph> = (0..old.len())
        .filter(|i| alignment.old_to[*i].is_none())
        .map(|i| RetiredParagraph {
            id: old[i].id,
            last_position: i as i32,
            text: old[i].text.clone(),
            merged_into: merged_into.get(&i).map(|&j| paragraphs[j].id),
        })
        .collect();
    summary.retired = retired.len();

    let mut mapper = quotes::Mapper::new(old, &paragraphs, &alignment.old_to, merged_into, deadline);
    let threads: Vec<ThreadMove> = threads.iter().filter_map(|t| mapper.thread(t)).collect();
    for t in &threads {
        match t.status {
            AnchorStatus::Moved => summary.threads_moved += 1,
            AnchorStatus::Fuzzy => summary.threads_fuzzy += 1,
            AnchorStatus::Orphaned => summary.threads_orphaned += 1,
            AnchorStatus::Anchored => {}
        }
    }
    summary.degraded |= mapper.degraded || Instant::now() > deadline;
    Plan { paragraphs, retired, threads, summary }
}
