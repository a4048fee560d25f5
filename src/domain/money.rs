//! Money: an amount in fen (分), parsed only from a string with exactly two decimals
//! (`"300000.00"`), shown the same way, and converted to `rust_decimal::Decimal` at the edges.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest amount accepted: 9,999,999,999.99 yuan.
pub const MAX_FEN: i64 = 999_999_999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a string with exactly two decimals, like \"300000.00\"")]
    Format,
    #[error("must not exceed 9999999999.99")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// Parses `"1234.56"`: digits, a point, exactly two digits; no sign, exponent or spaces.
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        let (whole, frac) = s.split_once('.').ok_or(MoneyError::Format)?;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole)
            || frac.len() != 2
            || !digits(frac)
            || (whole.len() > 1 && whole.starts_with('0'))
        {
            return Err(MoneyError::Format);
        }
        if whole.len() > 10 {
            return Err(MoneyError::TooLarge);
        }
        let yuan: i64 = whole.parse().map_err(|_| MoneyError::Format)?;
        let fen: i64 = frac.parse().map_err(|_| MoneyError::Format)?;
        let total = yuan * 100 + fen;
        if total > MAX_FEN {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money(total))
    }

    pub fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    pub fn fen(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// Splits this amount by whole percentages summing to 100: each part is rounded down to
    /// the fen and the last part takes the remainder, so the parts always sum to the whole.
    pub fn split(self, percents: &[u32]) -> Option<Vec<Money>> {
        if percents.is_empty() || percents.iter().map(|p| *p as u64).sum::<u64>() != 100 {
            return None;
        }
        let mut parts: Vec<Money> = percents
            .iter()
            .map(|p| Money(((self.0 as i128 * *p as i128) / 100) as i64))
            .collect();
        let allotted: i64 = parts[..parts.len() - 1].iter().map(|m| m.0).sum();
        if let Some(last) = parts.last_mut() {
            last.0 = self.0 - allotted;
        }
        Some(parts)
    }

    /// Splits this amount in proportion to `weights` (an amended contract's unreleased
    /// tranches, by their old amounts): each part rounded down to the fen, the last the
    /// remainder, so the parts always sum to the whole. `None` without a positive weight or
    /// with a negative one.
    pub fn apportion(self, weights: &[i64]) -> Option<Vec<Money>> {
        let total: i128 = weights.iter().map(|w| *w as i128).sum();
        if weights.is_empty() || total <= 0 || weights.iter().any(|w| *w < 0) {
            return None;
        }
        let mut parts: Vec<Money> = weights
            .iter()
            .map(|w| Money((self.0 as i128 * *w as i128 / total) as i64))
            .collect();
        let allotted: i64 = parts[..parts.len() - 1].iter().map(|m| m.0).sum();
        if let Some(last) = parts.last_mut() {
            last.0 = self.0 - allotted;
        }
        Some(parts)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string with exactly two decimals, like \"300000.00\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                Money::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^(0|[1-9][0-9]{0,9})\.[0-9]{2}$"))
            .examples([serde_json::json!("300000.00")])
            .description(Some("Money in yuan as a string with exactly two decimals"))
            .into()
    }
}

impl utoipa::ToSchema for Money {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_exactly_two_decimals_only() {
        assert_eq!(Money::parse("300000.00").unwrap().fen(), 30_000_000);
        assert_eq!(Money::parse("0.01").unwrap().fen(), 1);
        assert_eq!(Money::parse("9999999999.99").unwrap().fen(), MAX_FEN);
        for bad in [
            "-1", "-1.00", "1", "1.0", "1.005", "1e400", "NaN", "", " 1.00", "1.00 ", "+1.00",
            "01.00", ".50", "1,000.00", "１.00",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Money::parse("10000000000.00"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn json_numbers_are_refused() {
        assert!(serde_json::from_str::<Money>("300000.00").is_err());
        assert!(serde_json::from_str::<Money>("1e400").is_err());
        assert_eq!(
            serde_json::from_str::<Money>("\"12.30\"").unwrap().fen(),
            1230
        );
        assert_eq!(
            serde_json::to_string(&Money::from_fen(1230)).unwrap(),
            "\"12.30\""
        );
    }

    #[test]
    fn split_gives_the_remainder_to_the_last_part() {
        let parts = Money::from_fen(100_001).split(&[30, 30, 40]).unwrap();
        assert_eq!(parts, vec![Money(30_000), Money(30_000), Money(40_001)]);
        assert!(Money::from_fen(100).split(&[50, 40]).is_none());
    }

    #[test]
    fn apportion_follows_the_weights_and_gives_the_remainder_to_the_last() {
        let parts = Money::from_fen(110_000)
            .apportion(&[30_000, 30_000, 40_000])
            .unwrap();
        assert_eq!(parts, vec![Money(33_000), Money(33_000), Money(44_000)]);
        let parts = Money::from_fen(100).apportion(&[1, 1, 1]).unwrap();
        assert_eq!(parts, vec![Money(33), Money(33), Money(34)]);
        assert!(Money::from_fen(100).apportion(&[]).is_none());
        assert!(Money::from_fen(100).apportion(&[0, 0]).is_none());
        assert!(Money::from_fen(100).apportion(&[5, -1]).is_none());
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(fen in 0i64..=MAX_FEN) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
            prop_assert_eq!(m.to_decimal().to_string(), m.to_string());
        }

        #[test]
        fn split_always_sums_to_the_whole(fen in 0i64..=MAX_FEN, a in 0u32..=100, b in 0u32..=100) {
            prop_assume!(a + b <= 100);
            let parts = Money::from_fen(fen).split(&[a, b, 100 - a - b]).unwrap();
            prop_assert_eq!(parts.iter().map(|m| m.fen()).sum::<i64>(), fen);
            prop_assert!(parts.iter().all(|m| m.fen() >= 0));
        }

        #[test]
        fn apportion_always_sums_to_the_whole(fen in 0i64..=MAX_FEN, w in proptest::collection::vec(0i64..=MAX_FEN, 1..10)) {
            prop_assume!(w.iter().any(|x| *x > 0));
            let parts = Money::from_fen(fen).apportion(&w).unwrap();
            prop_assert_eq!(parts.len(), w.len());
            prop_assert_eq!(parts.iter().map(|m| m.fen()).sum::<i64>(), fen);
            prop_assert!(parts.iter().all(|m| m.fen() >= 0));
        }
    }
}
