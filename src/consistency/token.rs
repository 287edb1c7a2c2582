//! The `Pilcrow-Consistency` token: a position in the primary's write-ahead
//! log, and the cluster and timeline it belongs to.
//!
//! Written `<system identifier>-<timeline>-<position>`, each in hexadecimal.
//! A replica of the cluster shares its system identifier; a promotion starts
//! a new timeline. A token of another cluster or timeline says nothing about
//! the present one, so a failover invalidates every token handed out before.

use std::fmt;

/// A write-ahead log position (`pg_lsn`), as the byte offset it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

/// WAL pages are 8 KB; each begins with a header: 24 bytes, or 40 on the
/// first page of a segment.
const PAGE: u64 = 8192;
const SHORT_HEADER: u64 = 24;
const LONG_HEADER: u64 = 40;

impl Lsn {
    /// `pg_lsn` text: `16/B374D848`.
    pub fn parse(text: &str) -> Option<Self> {
        let (high, low) = text.trim().split_once('/')?;
        let high = u32::from_str_radix(high, 16).ok()?;
        let low = u32::from_str_radix(low, 16).ok()?;
        Some(Lsn((u64::from(high) << 32) | u64::from(low)))
    }

    /// The primary's insert position as a standby's replay position would
    /// name the same moment. `pg_current_wal_insert_lsn()` at the very start
    /// of a page points past the page's header, where no record has been
    /// written yet, while a standby reports the end of the last record it
    /// replayed: the page boundary. Without this a standby that has replayed
    /// everything would seem a header's length behind until the next write.
    pub fn without_page_header(self) -> Self {
        match self.0 % PAGE {
            SHORT_HEADER => Lsn(self.0 - SHORT_HEADER),
            // Records are at least 24 bytes long, so 40 bytes into a page is
            // reached only past a segment's long header.
            LONG_HEADER => Lsn(self.0 - LONG_HEADER),
            _ => self,
        }
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Which history of which cluster a position belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lineage {
    pub system: u64,
    pub timeline: u32,
}

/// What a client sends back to read its own writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub lineage: Lineage,
    pub position: Lsn,
}

impl Token {
    /// What a header that is not a token at all stands for: a lineage no
    /// cluster has (system identifiers are never 0).
    pub const UNREADABLE: Token = Token { lineage: Lineage { system: 0, timeline: 0 }, position: Lsn(0) };

    /// The header's value; `None` when it is not a token at all.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('-');
        let system = u64::from_str_radix(parts.next()?, 16).ok()?;
        let timeline = u32::from_str_radix(parts.next()?, 16).ok()?;
        let position = u64::from_str_radix(parts.next()?, 16).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Token { lineage: Lineage { system, timeline }, position: Lsn(position) })
    }

    /// The later of two tokens of one lineage; a token of another lineage
    /// gives way to `self`.
    pub fn max(self, other: Option<Token>) -> Token {
        match other {
            Some(o) if o.lineage == self.lineage && o.position > self.position => o,
            _ => self,
        }
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}-{:x}-{:x}", self.lineage.system, self.lineage.timeline, self.position.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_as_postgresql_writes_them() {
        assert_eq!(Lsn::parse("16/B374D848"), Some(Lsn(0x16_B374_D848)));
        assert_eq!(Lsn::parse("0/0"), Some(Lsn(0)));
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!(Lsn::parse("16B374D848"), None);
        assert_eq!(Lsn::parse("G/0"), None);
    }

    #[test]
    fn a_position_just_past_a_page_header_is_the_page_boundary() {
        assert_eq!(Lsn(5 * 8192 + 24).without_page_header(), Lsn(5 * 8192));
        assert_eq!(Lsn(16 * 1024 * 1024 + 40).without_page_header(), Lsn(16 * 1024 * 1024));
        assert_eq!(Lsn(5 * 8192 + 48).without_page_header(), Lsn(5 * 8192 + 48));
    }

    #[test]
    fn tokens_round_trip_and_refuse_anything_else() {
        let token = Token {
            lineage: Lineage { system: 7_716_434_072_255_471_600, timeline: 2 },
            position: Lsn(0x1500790),
        };
        assert_eq!(Token::parse(&token.to_string()), Some(token));
        for bad in ["", "abc", "1-2", "1-2-3-4", "x-1-1", "1-1-", "-1-1-1"] {
            assert_eq!(Token::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_later_token_wins_only_within_one_lineage() {
        let at =
            |timeline, position| Token { lineage: Lineage { system: 9, timeline }, position: Lsn(position) };
        assert_eq!(at(1, 10).max(Some(at(1, 20))), at(1, 20));
        assert_eq!(at(1, 30).max(Some(at(1, 20))), at(1, 30));
        assert_eq!(
            at(2, 10).max(Some(at(1, 20))),
            at(2, 10),
            "a token from before a failover says nothing now"
        );
        assert_eq!(at(1, 10).max(None), at(1, 10));
    }
}
