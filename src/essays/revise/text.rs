//! Text helpers of the planner, all in Unicode code points: word-level diffs
//! expanded to code-point ranges, mapping an offset through such a diff,
//! similarity ratios, and the 32-code-point context around a quote.

use std::collections::HashSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffTag, TextDiff};

/// How many code points of context a quote keeps on each side (as
/// Hypothesis's `contextLen`).
pub const CONTEXT: usize = 32;

/// One step of a diff between two texts, in code points of each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub tag: DiffTag,
    pub old: Range<usize>,
    pub new: Range<usize>,
}

/// Word tokens: a run of alphanumeric code points, or any single other code
/// point. Diffing tokens keeps a moved or rewritten sentence in one piece
/// instead of matching its letters one by one against unrelated text, and is
/// far cheaper than a character diff on long paragraphs.
fn tokens(chars: &[char]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        if chars[i].is_alphanumeric() {
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(start..i);
    }
    out
}

/// The diff of `old` into `new` as code-point ranges. Past `deadline` the
/// diff degrades to coarse replacements, which can only orphan quotes, never
/// misplace them.
pub fn diff(old: &[char], new: &[char], deadline: Instant) -> Vec<Op> {
    let old_tokens = tokens(old);
    let new_tokens = tokens(new);
    let old_words: Vec<&[char]> = old_tokens.iter().map(|r| &old[r.clone()]).collect();
    let new_words: Vec<&[char]> = new_tokens.iter().map(|r| &new[r.clone()]).collect();
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, &old_words, &new_words, Some(deadline));
    let span = |toks: &[Range<usize>], r: Range<usize>, len: usize| -> Range<usize> {
        let start = toks.get(r.start).map_or(len, |t| t.start);
        let end = if r.end == 0 { start } else { toks[r.end - 1].end };
        start..end.max(start)
    };
    let mut out = Vec::with_capacity(ops.len());
    for op in &ops {
        let (tag, o, n) = op.as_tag_tuple();
        let (o, n) = (span(&old_tokens, o, old.len()), span(&new_tokens, n, new.len()));
        if tag != DiffTag::Replace {
            out.push(Op { tag, old: o, new: n });
            continue;
        }
        // Inside a replaced run of words, a character diff says exactly
        // which code points changed ("defx" for "def" inserts one "x"), so
        // an edit touching a quoted word only at its edge leaves the quote.
        let refined = similar::capture_diff_slices_deadline(
            Algorithm::Myers,
            &old[o.clone()],
            &new[n.clone()],
            Some(deadline),
        );
        for r in refined {
            let (tag, ro, rn) = r.as_tag_tuple();
            out.push(Op {
                tag,
                old: o.start + ro.start..o.start + ro.end,
                new: n.start + rn.start..n.start + rn.end,
            });
        }
    }
    out
}

/// Where the first code point at old offset `x` lands: inserted text right
/// before it stays outside; inside a replaced or deleted run it goes to the
/// run's start in the new text.
pub fn map_start(ops: &[Op], x: usize, new_len: usize) -> usize {
    for op in ops {
        if op.old.contains(&x) {
            return match op.tag {
                DiffTag::Equal => op.new.start + (x - op.old.start),
                _ => op.new.start,
            };
        }
    }
    new_len
}

/// Where old offset `x`, the end of a span, lands: inserted text right after
/// the span stays outside; a replaced run the span ends inside is taken in
/// whole, a deleted one collapses.
pub fn map_end(ops: &[Op], x: usize) -> usize {
    if x == 0 {
        return 0;
    }
    let last = x - 1;
    for op in ops {
        if op.old.contains(&last) {
            return match op.tag {
                DiffTag::Equal => op.new.start + (last - op.old.start) + 1,
                DiffTag::Replace => op.new.end,
                _ => op.new.start,
            };
        }
    }
    0
}

/// Which code points of the new text did not exist in the old one.
pub fn inserted_mask(ops: &[Op], new_len: usize) -> Vec<bool> {
    let mut mask = vec![false; new_len];
    for op in ops.iter().filter(|op| op.tag != DiffTag::Equal) {
        for m in &mut mask[op.new.clone()] {
            *m = true;
        }
    }
    mask
}

/// Similarity of two texts in 0..=1 (2·matched / total code points), from a
/// character diff bounded by `timeout`; past it the ratio only errs low.
pub fn ratio(a: &str, b: &str, timeout: Duration) -> f32 {
    if a == b {
        return 1.0;
    }
    TextDiff::configure().algorithm(Algorithm::Myers).timeout(timeout).diff_chars(a, b).ratio()
}

/// [`ratio`] through the word diff of [`diff`]: as exact where it matters
/// (within changed words it compares characters) and far cheaper on long
/// paragraphs, which is what pairing whole paragraphs needs.
pub fn paragraph_ratio(a: &str, b: &str, timeout: Duration) -> f32 {
    if a == b {
        return 1.0;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let equal: usize = diff(&a, &b, Instant::now() + timeout)
        .iter()
        .filter(|op| op.tag == DiffTag::Equal)
        .map(|op| op.old.len())
        .sum();
    let total = a.len() + b.len();
    if total == 0 {
        1.0
    } else {
        2.0 * equal as f32 / total as f32
    }
}

/// Code points of `a` that the word diff of [`diff`] finds again in `b`,
/// as a share of `a`: how much of a paragraph survives inside another.
pub fn containment(a: &str, b: &str, timeout: Duration) -> f32 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.is_empty() {
        return 0.0;
    }
    let matched: usize = diff(&a, &b, Instant::now() + timeout)
        .iter()
        .filter(|op| op.tag == DiffTag::Equal)
        .map(|op| op.old.len())
        .sum();
    matched as f32 / a.len() as f32
}

/// Lower-cased words, for a cheap first look at whether two paragraphs have
/// anything to do with each other.
pub fn word_set(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

pub fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.intersection(b).count();
    shared as f32 / (a.len() + b.len() - shared) as f32
}

/// The up to 32 code points before and after `start..end`.
pub fn context(chars: &[char], start: usize, end: usize) -> (String, String) {
    let prefix = chars[start.saturating_sub(CONTEXT)..start].iter().collect();
    let suffix = chars[end..(end + CONTEXT).min(chars.len())].iter().collect();
    (prefix, suffix)
}

/// Every start of `needle` in `hay`, overlapping ones included.
pub fn occurrences(hay: &[char], needle: &[char]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    hay.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn insertions_at_a_span_edge_stay_outside_it() {
        let (old, new) = (chars("quick fox"), chars("the quick brown fox"));
        let ops = diff(&old, &new, far());
        // "quick" is 0..5 in the old text and 4..9 in the new.
        assert_eq!((map_start(&ops, 0, new.len()), map_end(&ops, 5)), (4, 9));
    }

    #[test]
    fn a_replaced_word_inside_a_span_is_absorbed() {
        let (old, new) = (chars("teh quick fox"), chars("the quick fox"));
        let ops = diff(&old, &new, far());
        assert_eq!((map_start(&ops, 0, new.len()), map_end(&ops, 9)), (0, 9));
        let mask = inserted_mask(&ops, new.len());
        // Only the moved "h" is new: the rest of "the" matched old letters.
        assert_eq!(mask.iter().filter(|m| **m).count(), 1);
    }

    #[test]
    fn a_deleted_span_collapses() {
        let (old, new) = (chars("one two three"), chars("one three"));
        let ops = diff(&old, &new, far());
        let (s, e) = (map_start(&ops, 4, new.len()), map_end(&ops, 7));
        assert!(s >= e, "{s}..{e}");
    }

    #[test]
    fn context_is_clipped_at_the_paragraph_edges() {
        let text = chars("ab🔥cd");
        assert_eq!(context(&text, 0, 2), (String::new(), "🔥cd".to_owned()));
        assert_eq!(context(&text, 2, 5), ("ab".to_owned(), String::new()));
    }
}
