//! Collects every invalid field of a request so a client sees them all at once.

use crate::domain::limits::Length;
use crate::error::{ApiError, ApiResult, FieldError};

#[derive(Default)]
pub struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn require(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.fail(field, message);
        }
    }

    /// The value a domain type's `parse` gave, or none with the field noted.
    pub fn parse<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|message| self.fail(field, message)).ok()
    }

    /// Length in Unicode scalar values (what users call characters).
    pub fn chars(&mut self, field: &str, value: &str, limit: Length) {
        let Length { min, max } = limit;
        let n = value.chars().count();
        if n < min || n > max {
            if min == 0 {
                self.fail(field, format!("must be at most {max} characters"));
            } else {
                self.fail(field, format!("must be {min} to {max} characters"));
            }
        }
    }

    /// Like `chars`, for text that must also hold something besides whitespace.
    pub fn text(&mut self, field: &str, value: &str, limit: Length) {
        if limit.min > 0 && value.trim().is_empty() {
            self.fail(field, "must not be blank");
        } else {
            self.chars(field, value, limit);
        }
    }

    pub fn done(self) -> ApiResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}
