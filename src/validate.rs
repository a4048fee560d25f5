//! Small parsers for common fields, each naming the field on failure.

use crate::error::FieldError;

/// A trimmed, lower-cased email address of plausible shape.
pub fn email(field: &str, raw: &str) -> Result<String, FieldError> {
    let e = raw.trim().to_lowercase();
    let bad = || FieldError::new(field, "must be an email address");
    if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = e.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(e)
}

/// Trimmed text of `min..=max` characters, without control characters.
pub fn text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let t = raw.trim();
    let n = t.chars().count();
    if !(min..=max).contains(&n) {
        return Err(FieldError::new(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(t.to_owned())
}

/// A search term (`?q=`): trimmed, `None` when blank. A control character (NUL above all,
/// which SQLite's LIKE reads as the end of the pattern, so `%\0%` matched every row) is
/// refused rather than searched for.
pub fn search(field: &str, raw: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    let t = raw.trim();
    Ok((!t.is_empty()).then(|| t.to_owned()))
}

/// Collects field errors while parsing a request into a command.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// 422 naming every bad field, or Ok when there were none.
    pub fn finish(self) -> Result<(), crate::error::AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::error::AppError::validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_nonsense_refused() {
        assert_eq!(
            email("email", "  Wang.Li@Example.CN ").unwrap(),
            "wang.li@example.cn"
        );
        for bad in ["", "no-at", "a@b", "a@@b.cn", "@b.cn", "a b@c.cn", "a@.cn"] {
            assert_eq!(email("email", bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  王丽 ", 1, 10).unwrap(), "王丽");
        assert!(text("name", "   ", 1, 10).is_err());
        assert!(text("name", "a\u{0}b", 1, 10).is_err());
    }

    #[test]
    fn a_search_term_is_trimmed_blank_is_none_and_control_characters_are_refused() {
        assert_eq!(
            search("q", Some(" 养老 ".into())).unwrap().as_deref(),
            Some("养老")
        );
        assert_eq!(search("q", Some("  ".into())).unwrap(), None);
        assert_eq!(search("q", None).unwrap(), None);
        for bad in ["\u{0}", "a\u{0}", "a\tb", "\u{1b}[0m", "a\u{7f}"] {
            assert_eq!(
                search("q", Some(bad.into())).unwrap_err().field,
                "q",
                "{bad:?}"
            );
        }
    }
}
