//! The project's own essay fixture (`tests/fixtures/essay.txt`), and what a
//! text import must make of it, computed from the file rather than written
//! down, so the fixture can be edited without touching the tests.

use std::path::{Path, PathBuf};

pub const ESSAY_TITLE: &str = "Voices Around the Lamp";
pub const ESSAY_AUTHOR: &str = "Pilcrow contributors";

/// Paragraph 4 of the fixture holds this phrase; its curly apostrophe makes
/// byte and code point offsets differ.
pub const ESSAY_QUOTE: &str = "listener’s ear";

/// The essay every reading scenario imports: about thirty blocks with a
/// heading, a list, a block quote, curly quotes, em dashes, Greek, Japanese
/// and an emoji.
pub fn essay_fixture() -> String {
    read_fixture(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/essay.txt"))
}

/// The blocks a plain-text import yields: split on blank lines, whitespace
/// runs collapsed, empty blocks dropped.
pub fn text_blocks(body: &str) -> Vec<String> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .map(|b| b.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|b| !b.is_empty())
        .collect()
}

/// `text_blocks` of the fixture.
pub fn fixture_blocks() -> Vec<String> {
    text_blocks(&essay_fixture())
}

/// The seed essay beside the repository (`../shared/fixtures`), which only
/// some checkouts have. `None` when absent.
pub fn shared_seed_essay() -> Option<String> {
    let path: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/essay-revolutions.txt");
    path.exists().then(|| read_fixture(&path))
}

fn read_fixture(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
