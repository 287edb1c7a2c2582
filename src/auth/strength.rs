//! Password strength: zxcvbn (the Rust port of Dropbox's estimator, with its
//! own frequency lists of common passwords, names and words), told the
//! account's username, email and display name so a password made of them
//! scores low. Below `auth.min_password_score` → 422 `weak_password` with
//! zxcvbn's own advice. Runs through the password-hashing queue: its matching
//! grows with the length (up to half a second of CPU at 128 characters), so
//! it is bounded and rationed per client like argon2, and a worker never
//! waits on it. Callers check the length, and the rate limits, first.

use super::passwords::Passwords;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};

/// Refuses `password` when zxcvbn scores it below `min_score` (0–4); `queue`
/// are the caller's keys in the hashing queue (client address, account).
pub async fn check(
    passwords: &Passwords,
    queue: Vec<String>,
    field: &'static str,
    password: &str,
    user_inputs: Vec<String>,
    min_score: u8,
) -> ApiResult<()> {
    let ticket = passwords.admit(queue)?;
    let password = password.to_owned();
    let verdict = passwords.run(ticket, move || verdict(&password, &user_inputs, min_score)).await?;
    match verdict {
        None => Ok(()),
        Some(reason) => {
            let mut e = ApiError::unprocessable(
                ErrorCode::WeakPassword,
                format!("The password is too easy to guess. {reason}"),
            );
            e.errors = Some(vec![FieldError::new(field, reason)]);
            Err(e)
        }
    }
}

/// `None` when strong enough, else why not, in words a person can act on.
pub fn verdict(password: &str, user_inputs: &[String], min_score: u8) -> Option<String> {
    let inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    if u8::from(entropy.score()) >= min_score {
        return None;
    }
    let mut reason = Vec::new();
    if let Some(feedback) = entropy.feedback() {
        if let Some(warning) = feedback.warning() {
            reason.push(warning.to_string());
        }
        reason.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    if reason.is_empty() {
        reason.push("Add another word or two; uncommon words are better.".to_owned());
    }
    Some(reason.join(" "))
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn common_and_personal_passwords_are_weak_and_passphrases_are_not() {
        let alice = vec!["alice".to_owned(), "alice@example.org".to_owned()];
        for weak in ["password", "12345678", "password1", "qwertyuiop", "alice2024!", "aaaaaaaaaaaa"] {
            assert!(verdict(weak, &alice, 3).is_some(), "{weak} passed");
        }
        for strong in ["plum tractor velvet orbit", "the quiet harbour reads slowly at noon", "k9#Vq2!zR"] {
            assert_eq!(verdict(strong, &alice, 3), None, "{strong} refused");
        }
    }

    #[test]
    fn the_longest_password_is_checked_quickly() {
        let long = "Zq!".repeat(43);
        let started = std::time::Instant::now();
        let _ = verdict(&long[..128], &[], 3);
        eprintln!("zxcvbn on 128 characters: {:?}", started.elapsed());
    }
}
