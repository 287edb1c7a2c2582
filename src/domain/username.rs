use super::limits::Length;

/// 3–32 of `[A-Za-z0-9_-]`; unique ignoring case (the database's rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const LENGTH: Length = Length::new(3, 32);
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{3,32}$";

    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = (Self::LENGTH.min..=Self::LENGTH.max).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be 3 to 32 of A-Z, a-z, 0-9, _ and -".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn schema() -> utoipa::openapi::schema::Object {
        Self::LENGTH.schema().pattern(Some(Self::PATTERN)).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_characters_and_lengths() {
        for ok in ["abc", "a_b-c", &"x".repeat(32), "ABC123"] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", &"x".repeat(33), "a b", "ä_bc", "abc!", ""] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }
}
