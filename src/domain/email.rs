use super::limits::Length;

/// An address with a local part, an `@` and a dotted domain; no spaces or
/// control characters. Whether it receives mail is not ours to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const LENGTH: Length = Length::new(3, 254);

    pub fn parse(value: &str) -> Result<Self, String> {
        let invalid = || "must be an email address".to_owned();
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let n = value.chars().count();
        let ok = (Self::LENGTH.min..=Self::LENGTH.max).contains(&n)
            && !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn schema() -> utoipa::openapi::schema::Object {
        Self::LENGTH.schema().format(Some(utoipa::openapi::SchemaFormat::Custom("email".to_owned()))).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("ada@example.org").is_ok());
        for bad in ["ada", "@example.org", "ada@example", "ada@.org", "ada@org.", "a da@example.org", "a@b"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
