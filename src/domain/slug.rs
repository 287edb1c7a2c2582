use super::limits::Length;

/// A group's address: lowercase letters, digits and hyphens, not starting or
/// ending with a hyphen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub const LENGTH: Length = Length::new(1, 64);
    pub const PATTERN: &'static str = "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$";

    pub fn parse(value: &str) -> Result<Self, String> {
        let bytes = value.as_bytes();
        let ok = (Self::LENGTH.min..=Self::LENGTH.max).contains(&bytes.len())
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be 1 to 64 lowercase letters, digits and hyphens, not starting or ending with a hyphen"
                .to_owned())
        }
    }

    /// A slug made from a group's name; `group` when nothing usable is left.
    pub fn from_name(name: &str) -> Self {
        let mut slug = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= 60 {
                break;
            }
        }
        let slug = slug.trim_matches('-');
        Self(if slug.is_empty() { "group".to_owned() } else { slug.to_owned() })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn schema_or_null() -> utoipa::openapi::schema::Object {
        Self::LENGTH.schema_or_null().pattern(Some(Self::PATTERN)).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_names() {
        assert_eq!(Slug::from_name("The Plain Reader's Circle!").as_str(), "the-plain-reader-s-circle");
        assert_eq!(Slug::from_name("  --Émile  Zola-- ").as_str(), "mile-zola");
        assert_eq!(Slug::from_name("!!!").as_str(), "group");
        assert!(Slug::parse(Slug::from_name(&"x".repeat(200)).as_str()).is_ok());
    }

    #[test]
    fn slug_rules() {
        assert!(Slug::parse("book-club-1").is_ok());
        for bad in ["Book", "-a", "a-", "", &"a".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
