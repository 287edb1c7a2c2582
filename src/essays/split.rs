//! Splitting an essay body into paragraphs.
//!
//! Plain text: blocks are separated by blank lines (lines holding only
//! whitespace); whitespace inside a block collapses to single spaces; empty
//! blocks are dropped. Markdown: the same, and inside a block every heading,
//! list item and block quote becomes a paragraph of its own, with its block
//! marker (`#`, `-`, `1.`, `>`) removed and its inline markup kept as written.
//! A fenced code block is one paragraph even across blank lines.

crate::db_enum! {
    pub enum Kind {
        Paragraph,
        Heading,
        ListItem,
        Quote,
        Code,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: Kind,
    pub text: String,
}

/// Collapses every run of whitespace to one space and trims the ends.
pub fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn lines(body: &str) -> impl Iterator<Item = &str> {
    // `lines()` already drops a trailing \r of CRLF; lone CRs also end lines.
    body.lines().flat_map(|l| l.split('\r'))
}

pub fn split_text(body: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        let text = collapse_whitespace(current);
        if !text.is_empty() {
            blocks.push(Block { kind: Kind::Paragraph, text });
        }
        current.clear();
    };
    for line in lines(body) {
        if line.trim().is_empty() {
            flush(&mut current);
        } else {
            current.push_str(line);
            current.push(' ');
        }
    }
    flush(&mut current);
    blocks
}

/// The heading text of an ATX heading line (`# Title`), if it is one.
fn heading(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let hashes = trimmed.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &trimmed[hashes..];
    if rest.is_empty() || rest.starts_with([' ', '\t']) {
        Some(rest.trim().trim_end_matches('#').trim_end())
    } else {
        None
    }
}

/// The item text of a list item line (`- a`, `* a`, `+ a`, `1. a`, `1) a`).
fn list_item(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    for marker in ["- ", "* ", "+ ", "-\t", "*\t", "+\t"] {
        if let Some(rest) = trimmed.strip_prefix(marker) {
            return Some(rest);
        }
    }
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let rest = &trimmed[digits..];
        for marker in [". ", ") ", ".\t", ")\t"] {
            if let Some(item) = rest.strip_prefix(marker) {
                return Some(item);
            }
        }
    }
    None
}

fn quote(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

pub fn split_markdown(body: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut kind = Kind::Paragraph;
    let mut current = String::new();
    let mut in_fence = false;

    fn flush(blocks: &mut Vec<Block>, kind: Kind, current: &mut String) {
        let text = collapse_whitespace(current);
        if !text.is_empty() {
            blocks.push(Block { kind, text });
        }
        current.clear();
    }

    for line in lines(body) {
        if in_fence {
            if is_fence(line) {
                in_fence = false;
                flush(&mut blocks, Kind::Code, &mut current);
                kind = Kind::Paragraph;
            } else {
                current.push_str(line);
                current.push(' ');
            }
            continue;
        }
        if is_fence(line) {
            flush(&mut blocks, kind, &mut current);
            in_fence = true;
            kind = Kind::Code;
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut blocks, kind, &mut current);
            kind = Kind::Paragraph;
            continue;
        }
        let (starts, text) = if let Some(h) = heading(line) {
            flush(&mut blocks, kind, &mut current);
            blocks.push(Block { kind: Kind::Heading, text: collapse_whitespace(h) });
            blocks.retain(|b| !b.text.is_empty());
            kind = Kind::Paragraph;
            continue;
        } else if let Some(item) = list_item(line) {
            (Some(Kind::ListItem), item)
        } else if let Some(q) = quote(line) {
            // Consecutive quote lines form one quote.
            (if kind == Kind::Quote { None } else { Some(Kind::Quote) }, q)
        } else {
            // A plain line continues whatever block is open (a lazy continuation).
            (None, line)
        };
        if let Some(new_kind) = starts {
            flush(&mut blocks, kind, &mut current);
            kind = new_kind;
        }
        current.push_str(text);
        current.push(' ');
    }
    flush(&mut blocks, kind, &mut current);
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(blocks: &[Block]) -> Vec<&str> {
        blocks.iter().map(|b| b.text.as_str()).collect()
    }

    #[test]
    fn text_blocks_split_on_blank_lines_and_collapse_whitespace() {
        let body = "  First\tline\n  continues  here \n\n\n Second — “quoted” \r\n\r\n \t \nThird\rline\n";
        let blocks = split_text(body);
        assert_eq!(texts(&blocks), ["First line continues here", "Second — “quoted”", "Third line"]);
        assert!(blocks.iter().all(|b| b.kind == Kind::Paragraph));
    }

    #[test]
    fn empty_body_has_no_paragraphs() {
        assert!(split_text(" \n\n\t\r\n").is_empty());
        assert!(split_markdown("\n\n").is_empty());
    }

    #[test]
    fn markdown_headings_lists_and_quotes_are_their_own_paragraphs() {
        let body = "# The *Title* #\nIntro line\nstill intro\n\n- one **bold**\n- two\n  continued\n1. first\n2) second\n\n> a quote\n> goes on\nlazily\n\nafter";
        let blocks = split_markdown(body);
        let got: Vec<(Kind, &str)> = blocks.iter().map(|b| (b.kind, b.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Kind::Heading, "The *Title*"),
                (Kind::Paragraph, "Intro line still intro"),
                (Kind::ListItem, "one **bold**"),
                (Kind::ListItem, "two continued"),
                (Kind::ListItem, "first"),
                (Kind::ListItem, "second"),
                (Kind::Quote, "a quote goes on lazily"),
                (Kind::Paragraph, "after"),
            ]
        );
    }

    #[test]
    fn fenced_code_stays_one_block_across_blank_lines() {
        let blocks = split_markdown("```\nlet a = 1;\n\nlet b = 2;\n```\nnext");
        assert_eq!(texts(&blocks), ["let a = 1; let b = 2;", "next"]);
        assert_eq!(blocks[0].kind, Kind::Code);
    }

    #[test]
    fn not_headings_or_items() {
        let blocks = split_markdown("#hashtag\n-dash\n3.14 is pi");
        assert_eq!(texts(&blocks), ["#hashtag -dash 3.14 is pi"]);
    }
}
