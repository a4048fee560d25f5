//! The top-level keys of a [`ProjectSpec`], each with what an amendment may do to it once the
//! project is open. One table, checked against the type's own serde field list, so a field
//! added to the spec cannot be missed by the partial update.

use super::ProjectSpec;

/// What an amendment to an open project may do to a spec field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenOpen {
    /// Changed by amendment, recorded with its reason.
    Amendable,
    /// Fixed once open: it moved money or defined who may bid; cancel and publish anew.
    Frozen,
}

use WhenOpen::{Amendable, Frozen};

/// Every key of a project spec, in declaration order.
const FIELDS: [(&str, WhenOpen); 19] = [
    ("title", Amendable),
    ("summary", Amendable),
    ("category", Amendable),
    ("region_id", Frozen),
    ("need_ids", Frozen),
    ("target_group", Amendable),
    ("services", Amendable),
    ("objectives", Amendable),
    ("budget_ceiling", Frozen),
    ("fund_id", Frozen),
    ("method", Frozen),
    ("bid_close_at", Amendable),
    ("service_start", Amendable),
    ("service_end", Amendable),
    ("eligibility", Amendable),
    ("evaluation", Amendable),
    ("payment_plan", Amendable),
    ("review_plan", Amendable),
    ("min_qualified_bids", Amendable),
];

impl ProjectSpec {
    /// What an amendment may do to top-level key `key`; `None` when the spec has no such key.
    pub fn key(key: &str) -> Option<WhenOpen> {
        FIELDS.iter().find(|(k, _)| *k == key).map(|(_, w)| *w)
    }
}

#[cfg(test)]
mod tests {
    use serde::de::{self, Deserialize, Deserializer, Visitor};

    use super::*;

    /// A deserializer that only records the field names a derived `Deserialize` asks for.
    struct FieldNames(Option<&'static [&'static str]>);

    impl<'de> Deserializer<'de> for &mut FieldNames {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only a struct's field names are read"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("field names read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    #[test]
    fn the_table_names_every_field_of_the_spec_in_order() {
        let mut names = FieldNames(None);
        let _ = ProjectSpec::deserialize(&mut names);
        let serde: Vec<&str> = names.0.expect("a struct").to_vec();
        let table: Vec<&str> = FIELDS.iter().map(|(k, _)| *k).collect();
        assert_eq!(table, serde);
    }

    #[test]
    fn money_region_method_and_needs_are_frozen_once_open() {
        let frozen: Vec<&str> = FIELDS
            .iter()
            .filter(|(_, w)| *w == Frozen)
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(
            frozen,
            [
                "region_id",
                "need_ids",
                "budget_ceiling",
                "fund_id",
                "method"
            ]
        );
        assert_eq!(ProjectSpec::key("reason"), None);
        assert_eq!(ProjectSpec::key("title"), Some(Amendable));
    }
}
