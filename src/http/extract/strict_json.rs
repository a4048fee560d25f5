//! JSON into a `serde_json::Value`, refusing a key named twice in one object. serde_json keeps
//! the last of duplicates silently, so `{"amount":"1.00","amount":"9.00"}` would mean whatever
//! the last parser in the chain decided (RFC 8259 § 4: names "SHOULD be unique"; RFC 7493
//! I-JSON: MUST). A proxy or signature check that read the first one saw another request.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{AppError, FieldError};

const DUPLICATE: &str = "duplicate key `";

/// The document in `body`: 400 `malformed_json` when it is not JSON, 400 `duplicate_key`
/// naming the key (as a path, `account.email`) when an object repeats one.
pub fn parse(body: &[u8]) -> Result<Value, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Strict {
        path: String::new(),
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        let message = e.to_string();
        match message
            .strip_prefix(DUPLICATE)
            .and_then(|rest| rest.split('`').next())
        {
            Some(path) => AppError {
                errors: vec![FieldError::new(path, "appears more than once")],
                ..AppError::bad_request(
                    "duplicate_key",
                    format!("the body names the key `{path}` more than once"),
                )
            },
            None => AppError::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {message}"),
            ),
        }
    })
}

/// A value at `path` (empty at the top).
struct Strict {
    path: String,
}

impl Strict {
    fn child(&self, name: &str) -> Strict {
        Strict {
            path: if self.path.is_empty() {
                name.to_owned()
            } else {
                format!("{}.{name}", self.path)
            },
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict {
            path: format!("{}[{}]", self.path, items.len()),
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&key);
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "{DUPLICATE}{}`",
                    child.path
                )));
            }
            let value = map.next_value_seed(child)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_400_naming_its_path_at_any_depth() {
        for (body, path) in [
            (r#"{"a":1,"a":2}"#, "a"),
            (r#"{"a":{"b":1,"c":2,"b":3}}"#, "a.b"),
            (r#"{"items":[{"x":1},{"x":1,"x":2}]}"#, "items[1].x"),
        ] {
            let e = parse(body.as_bytes()).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), &*e.code),
                (400, "duplicate_key"),
                "{body}"
            );
            assert_eq!(e.errors[0].field, path, "{body}");
        }
    }

    #[test]
    fn distinct_keys_parse_as_serde_json_does_and_garbage_is_malformed() {
        let body = r#"{"a":{"b":[1,-2,3.5,"x",null,true]},"c":{"a":1},"\u00e9":"é"}"#;
        let ours = parse(body.as_bytes()).unwrap();
        let theirs: Value = serde_json::from_str(body).unwrap();
        assert_eq!(ours, theirs);
        for bad in [r#"{"a":1"#, r#"{"a":1} x"#, "", "{'a':1}"] {
            assert_eq!(
                parse(bad.as_bytes()).unwrap_err().code,
                "malformed_json",
                "{bad}"
            );
        }
    }
}
