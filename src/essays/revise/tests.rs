//! The planner's table of cases and its properties.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use uuid::Uuid;

use super::*;

fn para(i: usize) -> Uuid {
    Uuid::from_u128(i as u128 + 1)
}

fn old(texts: &[&str]) -> Vec<OldParagraph> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| OldParagraph { id: para(i), kind: Kind::Paragraph, text: (*t).to_owned() })
        .collect()
}

fn blocks(texts: &[&str]) -> Vec<Block> {
    texts.iter().map(|t| Block { kind: Kind::Paragraph, text: (*t).to_owned() }).collect()
}

/// The `nth` occurrence of `exact` in `text`, as a code-point quote.
fn quote(text: &str, exact: &str, nth: usize) -> Quote {
    let byte = text.match_indices(exact).nth(nth).expect("the quote is in the text").0;
    let start = text[..byte].chars().count() as i32;
    Quote { exact: exact.to_owned(), start, end: start + exact.chars().count() as i32 }
}

fn thread(paragraph: usize, quote: Option<Quote>) -> ThreadAnchor {
    ThreadAnchor { thread_id: Uuid::from_u128(1000), paragraph_id: para(paragraph), quote, orphaned: false }
}

fn new_ids() -> impl FnMut() -> Uuid {
    let mut n = 500u128;
    move || {
        n += 1;
        Uuid::from_u128(n)
    }
}

/// Plans `old_texts` → `new_texts` with one thread quoting `exact` (its
/// `nth` occurrence) on old paragraph `on`.
fn one(old_texts: &[&str], new_texts: &[&str], on: usize, exact: &str, nth: usize) -> Plan {
    let q = quote(old_texts[on], exact, nth);
    plan(&old(old_texts), &blocks(new_texts), &[thread(on, Some(q))], Duration::from_secs(2), new_ids())
}

/// The text of the paragraph a move lands on.
fn text_of(plan: &Plan, id: Uuid) -> &str {
    &plan.paragraphs.iter().find(|p| p.id == id).expect("paragraph in the new text").text
}

/// Asserts the thread moved (or went fuzzy) to a span that reads `exact`
/// in the new paragraph `to`; returns the new quote.
#[track_caller]
fn assert_lands(plan: &Plan, status: AnchorStatus, to: Uuid, exact: &str) -> Quote {
    assert_eq!(plan.threads.len(), 1, "{:#?}", plan.threads);
    let m = &plan.threads[0];
    assert_eq!(m.status, status, "{m:#?}");
    let place = m.to.as_ref().expect("a new place");
    assert_eq!(place.paragraph_id, to, "{m:#?}");
    let q = place.quote.clone().expect("a quote");
    assert_eq!(q.exact, exact);
    let chars: Vec<char> = text_of(plan, to).chars().collect();
    let span: String = chars[q.start as usize..q.end as usize].iter().collect();
    assert_eq!(span, q.exact, "the quote must read as the text");
    q
}

#[track_caller]
fn assert_orphaned(plan: &Plan, reason: OrphanReason) {
    assert_eq!(plan.threads.len(), 1, "{:#?}", plan.threads);
    let m = &plan.threads[0];
    assert_eq!((m.status, m.reason), (AnchorStatus::Orphaned, Some(reason)), "{m:#?}");
    assert!(m.to.is_none());
}

fn changes(plan: &Plan) -> Vec<(Uuid, Change)> {
    plan.paragraphs.iter().map(|p| (p.id, p.change)).collect()
}

#[test]
fn typo_fixed_before_the_quote_shifts_it() {
    let p = one(&["Th cat sat on the mat."], &["The cat sat on the mat."], 0, "sat on the mat", 0);
    let q = assert_lands(&p, AnchorStatus::Moved, para(0), "sat on the mat");
    assert_eq!((q.start, q.end), (8, 22));
    assert_eq!(changes(&p), [(para(0), Change::Edited)]);
}

#[test]
fn typo_fixed_inside_the_quote_is_fuzzy_with_the_new_words() {
    let p =
        one(&["The cat sat on teh mat today."], &["The cat sat on the mat today."], 0, "sat on teh mat", 0);
    assert_lands(&p, AnchorStatus::Fuzzy, para(0), "sat on the mat");
    assert!(p.threads[0].confidence.is_some_and(|c| (0.8..1.0).contains(&c)));
}

#[test]
fn words_inserted_right_after_or_before_the_quote_stay_outside() {
    let p = one(&["the cat sat"], &["the cat quietly sat"], 0, "cat", 0);
    assert!(p.threads.is_empty(), "the quote did not move: {:#?}", p.threads);
    let p = one(&["the cat sat"], &["the black cat sat"], 0, "cat", 0);
    let q = assert_lands(&p, AnchorStatus::Moved, para(0), "cat");
    assert_eq!(q.start, 10);
    // Glued to the quoted word: still outside the quote.
    let p = one(&["a def b"], &["a defx b"], 0, "def", 0);
    assert!(p.threads.is_empty(), "{:#?}", p.threads);
}

#[test]
fn deleted_quote_is_orphaned_on_its_paragraph() {
    let p =
        one(&["One fish. Two fish three. Four fish."], &["One fish. Four fish."], 0, "Two fish three.", 0);
    assert_orphaned(&p, OrphanReason::QuoteDeleted);
    assert_eq!(changes(&p), [(para(0), Change::Edited)], "the paragraph keeps its id");
}

#[test]
fn robin_fixed_to_elisa_orphans_and_never_jumps_to_the_other_robin() {
    let before = "Robin told Robin's sister the news before supper.";
    let after = "Elisa told Robin's sister the news before supper.";
    let p = one(&[before], &[after], 0, "Robin", 0);
    assert_orphaned(&p, OrphanReason::QuoteEdited);
}

#[test]
fn a_deleted_phrase_never_jumps_to_an_older_copy() {
    let p = one(&["the cat sat. the cat ran home."], &["the cat ran home."], 0, "the cat sat.", 0);
    // Which "the cat" survived, no diff can tell: either way, orphaned.
    let m = &p.threads[0];
    assert_eq!(m.status, AnchorStatus::Orphaned, "{m:#?}");
    assert!(matches!(m.reason, Some(OrphanReason::QuoteDeleted | OrphanReason::QuoteEdited)));
}

#[test]
fn a_repeated_word_keeps_its_own_occurrence() {
    let before = ["the"; 20].join(" and ");
    let after = format!("Indeed, {before}");
    let p = one(&[&before], &[&after], 0, "the", 9);
    let q = assert_lands(&p, AnchorStatus::Moved, para(0), "the");
    assert_eq!(q, quote(&after, "the", 9));
}

#[test]
fn swapped_paragraphs_keep_their_ids_and_quotes() {
    let texts = ["Alpha comes first.", "Beta is second here.", "Gamma closes it."];
    let p = one(&texts, &[texts[0], texts[2], texts[1]], 2, "closes", 0);
    assert!(p.threads.is_empty(), "{:#?}", p.threads);
    let ids: Vec<Uuid> = p.paragraphs.iter().map(|x| x.id).collect();
    assert_eq!(ids, [para(0), para(2), para(1)]);
    assert!(p.paragraphs.iter().any(|x| x.change == Change::Moved));
    assert!(p.retired.is_empty());
}

#[test]
fn a_split_moves_the_quote_into_the_piece_that_holds_it() {
    let whole =
        "The first half talks about lamps and oil at length. The second half holds the quoted words here.";
    let halves = [
        "The first half talks about lamps and oil at length.",
        "The second half holds the quoted words here.",
    ];
    let p = one(&[whole], &halves, 0, "quoted words", 0);
    let to = p.threads[0].to.as_ref().expect("placed").paragraph_id;
    assert_eq!(text_of(&p, to), halves[1]);
    assert_lands(&p, AnchorStatus::Moved, to, "quoted words");
    assert!(p.paragraphs.iter().any(|x| x.id == para(0)), "one piece keeps the id");
}

#[test]
fn a_merge_brings_the_second_paragraphs_threads_along() {
    let texts = ["The lamp was lit at dusk every evening.", "Then the reader opened the heavy book."];
    let merged = format!("{} {}", texts[0], texts[1]);
    let p = one(&texts, &[&merged], 1, "heavy book", 0);
    let survivor = p.paragraphs[0].id;
    assert_lands(&p, AnchorStatus::Moved, survivor, "heavy book");
    // A thread without a quote on the merged paragraph follows it too.
    let p = plan(&old(&texts), &blocks(&[&merged]), &[thread(1, None)], Duration::from_secs(2), new_ids());
    if survivor != para(1) {
        let m = &p.threads[0];
        assert_eq!((m.status, m.to.as_ref().map(|t| t.paragraph_id)), (AnchorStatus::Moved, Some(survivor)));
        assert_eq!(p.retired[0].merged_into, Some(survivor));
    }
}

#[test]
fn duplicate_separators_keep_their_order() {
    let before = ["* * *", "Part one.", "* * *", "Part two is here.", "* * *", "Part three."];
    let after = ["* * *", "Part one.", "* * *", "Part two is here, revised.", "* * *", "Part three."];
    let p = plan(&old(&before), &blocks(&after), &[], Duration::from_secs(2), new_ids());
    let ids: Vec<Uuid> = p.paragraphs.iter().map(|x| x.id).collect();
    assert_eq!(ids, (0..6).map(para).collect::<Vec<_>>());
    assert_eq!(p.paragraphs[3].change, Change::Edited);
    assert_eq!(p.summary.unchanged, 5);
}

#[test]
fn heading_to_paragraph_is_an_edit_that_keeps_quotes() {
    let olds = vec![OldParagraph { id: para(0), kind: Kind::Heading, text: "The workshop".to_owned() }];
    let q = quote("The workshop", "workshop", 0);
    let t = thread(0, Some(q));
    let p = plan(&olds, &blocks(&["The workshop"]), &[t], Duration::from_secs(2), new_ids());
    assert_eq!(changes(&p), [(para(0), Change::Edited)]);
    assert_eq!(p.paragraphs[0].kind, Kind::Paragraph);
    assert!(p.threads.is_empty());
}

#[test]
fn whitespace_and_normalisation_only_changes_are_unchanged() {
    let nfc_text = "Caf\u{e9} society met at the caf\u{e9}.";
    let nfd_text = "Cafe\u{301} society met at the cafe\u{301}.";
    let p = one(&[nfc_text], &[nfd_text], 0, "society", 0);
    assert_eq!(changes(&p), [(para(0), Change::Unchanged)]);
    assert_eq!(p.paragraphs[0].text, nfc_text, "the stored text stays");
    assert!(p.threads.is_empty());
    // And the other way round: text stored decomposed, re-pasted composed.
    let p = one(&[nfd_text], &[nfc_text], 0, "society", 0);
    assert_eq!(changes(&p), [(para(0), Change::Unchanged)]);
}

#[test]
fn astral_characters_count_as_one_code_point() {
    let p = one(&["fire 🔥 burns bright"], &["🔥 fire 🔥 burns bright"], 0, "burns", 0);
    let q = assert_lands(&p, AnchorStatus::Moved, para(0), "burns");
    assert_eq!((q.start, q.end), (9, 14));
}

#[test]
fn context_is_empty_at_the_paragraph_edges() {
    let p = one(&["Opening words of it all."], &["Opening words of it all, and more."], 0, "Opening", 0);
    assert!(p.threads.is_empty());
    let p = one(&["x Opening words"], &["Opening words"], 0, "Opening words", 0);
    assert_lands(&p, AnchorStatus::Moved, para(0), "Opening words");
    let (prefix, suffix) = p.threads[0].context.clone().expect("context");
    assert_eq!((prefix.as_str(), suffix.as_str()), ("", ""));
}

#[test]
fn a_sentence_moved_inside_its_paragraph_is_followed() {
    let before = "Alpha one two. Beta three four five. Gamma six seven.";
    let after = "Alpha one two. Gamma six seven. Beta three four five.";
    let p = one(&[before], &[after], 0, "Beta three four five.", 0);
    assert_lands(&p, AnchorStatus::Moved, para(0), "Beta three four five.");
}

#[test]
fn a_retired_paragraph_orphans_its_threads() {
    let p = one(&["Keep this one.", "Drop this entirely now."], &["Keep this one."], 1, "entirely", 0);
    assert_orphaned(&p, OrphanReason::ParagraphRetired);
    assert_eq!(p.retired.len(), 1);
}

#[test]
fn ambiguous_relocation_orphans() {
    // The quoted sentence is deleted and inserted twice elsewhere: no guess.
    let before = ["Intro line stays.", "Old home of the lamp quote."];
    let after = ["Intro line stays. lamp quote", "Other text entirely. lamp quote"];
    let p = one(&before, &after, 1, "lamp quote", 0);
    assert_eq!(p.threads[0].status, AnchorStatus::Orphaned, "{:#?}", p.threads);
}

#[test]
fn a_ten_thousand_code_point_paragraph_plans_within_the_deadline() {
    let words: Vec<String> = (0..1700).map(|i| format!("wd{i:04}")).collect();
    let before = words.join(" ");
    assert!(before.chars().count() >= 10_000);
    let mut edited = words.clone();
    edited[100] = "changed".to_owned();
    edited[1500] = "another".to_owned();
    let after = edited.join(" ");
    let started = Instant::now();
    let p = one(&[&before], &[&after], 0, "wd0800 wd0801 wd0802", 0);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(!p.summary.degraded);
    // "wd0100" became "changed", one code point longer.
    let q = assert_lands(&p, AnchorStatus::Moved, para(0), "wd0800 wd0801 wd0802");
    assert_eq!(q.start, 5601);
    assert_eq!(changes(&p), [(para(0), Change::Edited)]);
}

#[test]
fn an_exhausted_budget_fails_closed() {
    let p = one(&["the cat sat on the mat"], &["a dog sat on the mat"], 0, "sat", 0);
    assert!(p.threads.is_empty() || p.threads[0].status != AnchorStatus::Fuzzy);
    let p = plan(
        &old(&["one two three", "four five six"]),
        &blocks(&["one two three!", "four five six?"]),
        &[],
        Duration::ZERO,
        new_ids(),
    );
    assert!(p.summary.degraded);
    assert_eq!(p.paragraphs.len(), 2);
}

// Properties -----------------------------------------------------------------

fn lower_word() -> impl Strategy<Value = String> {
    "[a-z]{1,6}"
}

/// Two or three upper-case words, all different (a quote of repeated words
/// is genuinely ambiguous to any diff).
fn upper_words() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[A-Z]{2,6}", 2..4).prop_map(|words| {
        words.into_iter().zip(['X', 'Y', 'Z']).map(|(w, tag)| format!("{w}{tag}")).collect()
    })
}

/// An edit to the words before or after the quote: (side, position, insert?, word).
fn edit() -> impl Strategy<Value = (bool, usize, bool, String)> {
    (any::<bool>(), 0usize..20, any::<bool>(), lower_word())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Insertions and deletions of words outside the quote keep it exact
    /// (at most one word deleted, so the quote stays the longest match).
    #[test]
    fn edits_outside_the_quote_keep_it_exact(
        before in prop::collection::vec(lower_word(), 0..8),
        quoted in upper_words(),
        after in prop::collection::vec(lower_word(), 0..8),
        edits in prop::collection::vec(edit(), 0..4),
    ) {
        let (mut b, mut a) = (before.clone(), after.clone());
        let mut deleted = false;
        for (side, at, insert, word) in edits {
            let words = if side { &mut b } else { &mut a };
            if insert {
                words.insert(at.min(words.len()), word);
            } else if !words.is_empty() && !deleted {
                words.remove(at % words.len());
                deleted = true;
            }
        }
        let join = |x: &[String], q: &[String], y: &[String]| {
            x.iter().chain(q).chain(y).cloned().collect::<Vec<_>>().join(" ")
        };
        let old_text = join(&before, &quoted, &after);
        let new_text = join(&b, &quoted, &a);
        let exact = quoted.join(" ");
        let p = one(&[&old_text], &[&new_text], 0, &exact, 0);
        let expected = quote(&new_text, &exact, 0);
        match p.threads.as_slice() {
            [] => prop_assert_eq!(quote(&old_text, &exact, 0), expected),
            [m] => {
                prop_assert_eq!(m.status, AnchorStatus::Moved);
                prop_assert_eq!(m.to.as_ref().and_then(|t| t.quote.clone()), Some(expected));
            }
            more => prop_assert!(false, "one thread, many moves: {:?}", more),
        }
    }

    /// Any edit: no panic, spans in range and reading as their text, moves
    /// keep the exact words, fuzzy ones stay close to them.
    #[test]
    fn any_edit_yields_sound_spans(
        old_text in "[a-cé🔥 .\u{301}]{1,40}",
        new_text in "[a-cé🔥 .\u{301}]{1,40}",
        start in 0usize..40,
        len in 1usize..10,
    ) {
        let old_chars: Vec<char> = old_text.chars().collect();
        let start = start % old_chars.len();
        let end = (start + len).min(old_chars.len());
        let exact: String = old_chars[start..end].iter().collect();
        let q = Quote { exact: exact.clone(), start: start as i32, end: end as i32 };
        let blocks = crate::essays::split::split_text(&new_text);
        let p = plan(&old(&[&old_text]), &blocks, &[thread(0, Some(q))], Duration::from_secs(2), new_ids());
        for m in &p.threads {
            let Some(to) = &m.to else {
                prop_assert_eq!(m.status, AnchorStatus::Orphaned);
                continue;
            };
            let Some(q) = &to.quote else { continue };
            let chars: Vec<char> = text_of(&p, to.paragraph_id).chars().collect();
            prop_assert!(0 <= q.start && q.start < q.end && q.end as usize <= chars.len());
            let span: String = chars[q.start as usize..q.end as usize].iter().collect();
            prop_assert_eq!(&span, &q.exact);
            match m.status {
                AnchorStatus::Moved => prop_assert_eq!(&q.exact, &exact),
                AnchorStatus::Fuzzy => prop_assert!(text::ratio(&q.exact, &exact, Duration::from_secs(1)) >= 0.8),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
