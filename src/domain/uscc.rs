//! The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from
//! `0-9A-HJ-NPQRTUWXY`; position 1 the registration authority, position 2 the category,
//! 3–8 the region, 9–17 the organization code, 18 a check character:
//! weights `3^i mod 31`, check = (31 − Σ cᵢwᵢ mod 31) mod 31.

use std::fmt;

const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("must be 18 characters")]
    Length,
    #[error(
        "character {position} ({found:?}) is not allowed; use 0-9 and A-H J-N P Q R T U W X Y"
    )]
    Character { position: usize, found: char },
    #[error("the check character is {found}, but {expected} was expected")]
    Check { expected: char, found: char },
}

fn value(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (already validated).
fn check_char(body: &[u8]) -> char {
    let mut w = 1u32;
    let mut sum = 0u32;
    for &c in body.iter().take(17) {
        sum += value(c).unwrap_or(0) * w;
        w = (w * 3) % 31;
    }
    CHARSET[((31 - sum % 31) % 31) as usize] as char
}

impl Uscc {
    /// Parses a code, upper-casing it first (lower-case input is normalised).
    pub fn parse(raw: &str) -> Result<Uscc, UsccError> {
        let s = raw.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(UsccError::Length);
        }
        for (i, ch) in s.chars().enumerate() {
            if !ch.is_ascii() || value(ch as u8).is_none() {
                return Err(UsccError::Character {
                    position: i + 1,
                    found: ch,
                });
            }
        }
        let bytes = s.as_bytes();
        let expected = check_char(bytes);
        let found = bytes[17] as char;
        if expected != found {
            return Err(UsccError::Check { expected, found });
        }
        Ok(Uscc(s))
    }

    /// Builds a valid code from 17 characters by appending the check character.
    pub fn with_check(body17: &str) -> Result<Uscc, UsccError> {
        let body = body17.to_ascii_uppercase();
        if body.len() != 17 {
            return Err(UsccError::Length);
        }
        if let Some((i, ch)) = body
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii() || value(*c as u8).is_none())
        {
            return Err(UsccError::Character {
                position: i + 1,
                found: ch,
            });
        }
        let check = check_char(body.as_bytes());
        Ok(Uscc(format!("{body}{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Position 1: the registration authority.
    pub fn authority(&self) -> &'static str {
        match self.0.as_bytes()[0] {
            b'1' => "机构编制 (institutional staffing)",
            b'5' => "民政 (civil affairs)",
            b'9' => "工商 (market regulation)",
            b'Y' => "其他 (other)",
            _ => "other registration authority",
        }
    }

    /// Position 2 under civil affairs: 社会团体, 民办非企业单位 or 基金会.
    pub fn category(&self) -> &'static str {
        let b = self.0.as_bytes();
        match (b[0], b[1]) {
            (b'5', b'1') => "社会团体 (social group)",
            (b'5', b'2') => "民办非企业单位 (private non-enterprise unit)",
            (b'5', b'3') => "基金会 (foundation)",
            (b'5', _) => "其他 (other civil-affairs registration)",
            _ => "not a civil-affairs registration",
        }
    }

    /// Whether the code is registered with civil affairs (position 1 is `5`).
    pub fn is_civil_affairs(&self) -> bool {
        self.0.starts_with('5')
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_published_vectors() {
        for ok in [
            "53100000500019795A",
            "53100000500021676K",
            "12100000400009127B",
            "91330100799655058B",
        ] {
            assert!(Uscc::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Uscc::parse("53100000500020462H"),
            Err(UsccError::Check {
                expected: Uscc::with_check("53100000500020462")
                    .unwrap()
                    .0
                    .chars()
                    .last()
                    .unwrap(),
                found: 'H'
            })
        );
        assert!(matches!(
            Uscc::parse("91430100MA4R7G5X7P"),
            Err(UsccError::Check { found: 'P', .. })
        ));
    }

    #[test]
    fn lower_case_is_normalised_and_bad_characters_named() {
        assert_eq!(
            Uscc::parse("53100000500019795a").unwrap().as_str(),
            "53100000500019795A"
        );
        assert_eq!(
            Uscc::parse("5310000050001979IA"),
            Err(UsccError::Character {
                position: 17,
                found: 'I'
            })
        );
        assert_eq!(Uscc::parse("531"), Err(UsccError::Length));
    }

    #[test]
    fn position_one_and_two_are_read() {
        let u = Uscc::parse("53100000500019795A").unwrap();
        assert!(u.is_civil_affairs());
        assert!(u.category().contains("基金会"));
    }

    fn code_body() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..31, 17)
            .prop_map(|v| v.into_iter().map(|i| CHARSET[i] as char).collect())
    }

    proptest! {
        #[test]
        fn every_generated_code_parses(body in code_body()) {
            let code = Uscc::with_check(&body).unwrap();
            prop_assert_eq!(Uscc::parse(code.as_str()).unwrap(), code);
        }

        #[test]
        fn every_single_character_change_fails(body in code_body(), pos in 0usize..18, to in 0usize..31) {
            let code = Uscc::with_check(&body).unwrap().0.into_bytes();
            prop_assume!(code[pos] != CHARSET[to]);
            let mut changed = code.clone();
            changed[pos] = CHARSET[to];
            prop_assert!(Uscc::parse(std::str::from_utf8(&changed).unwrap()).is_err());
        }
    }
}
