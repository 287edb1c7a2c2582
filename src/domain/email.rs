use super::limits::Length;

/// An address as RFC 5321 and, for addresses in other scripts, RFC 6531
/// shape it, without quoted local parts or address literals: a dot-atom
/// local part, an `@`, and a host name of two or more labels of letters,
/// digits and hyphens (letters of any script, so `ünal@bücher.example` is an
/// address). Whether it receives mail is not ours to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const LENGTH: Length = Length::new(3, 254);

    pub fn parse(value: &str) -> Result<Self, String> {
        let invalid = || "must be an email address".to_owned();
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let n = value.chars().count();
        let ok = (Self::LENGTH.min..=Self::LENGTH.max).contains(&n) && dot_atom(local) && hostname(domain);
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

/// RFC 5322 `dot-atom` (with RFC 6531's letters of any script): atoms of
/// letters, digits and the listed symbols, joined by single dots.
fn dot_atom(local: &str) -> bool {
    const SYMBOLS: &str = "!#$%&'*+-/=?^_`{|}~";
    local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(|c| c.is_alphanumeric() || SYMBOLS.contains(c)))
}

/// RFC 1123 host name (or its internationalised form) with at least two
/// labels: each 1–63 letters, digits or hyphens, not starting or ending with
/// a hyphen.
fn hostname(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.chars().count())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_local_part_and_a_dotted_domain() {
        let good = [
            "ada@example.org",
            "a.b+tag@mail.example.co.uk",
            "o'neil@xn--bcher-kva.example",
            "x_1@a-b.io",
            "Ünal@Bücher.example",
            "用户@例子.广告",
        ];
        for good in good {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        let bad = [
            "ada",
            "@example.org",
            "ada@example",
            "ada@.org",
            "ada@org.",
            "a da@example.org",
            "a@b",
            "x@y.example*",
            "a..b@example.org",
            ".a@example.org",
            "a@-x.example",
            "a@x-.example",
            "a@exa_mple.org",
            "\"a b\"@example.org",
            "a@[127.0.0.1]",
            "a@b@example.org",
        ];
        for bad in bad {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
