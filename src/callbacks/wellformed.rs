//! The whole body must be JSON every consumer can read, not only the fields we decode: the
//! typed decode skips unknown fields without looking inside, so nesting past serde_json's limit,
//! a number no f64 holds (`1e999`) or a lone surrogate there would be accepted, copied into
//! `raw`, and make the event unreadable downstream (a poison record for every consumer).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::errors::without_position;
use crate::refusal::Refusal;

/// Deepest nesting of arrays and objects accepted in a body. Tencent's are 3 deep; the event
/// wraps the body one level deeper, and every common JSON library reads 64 (serde_json stops
/// at 128, Python and Jackson near 1000).
pub const MAX_NESTING: usize = 64;

/// Walks every value through `deserialize_any`, which parses every number and string, and
/// counts the nesting; allocates nothing.
pub fn check(body: &str) -> Result<(), Refusal> {
    let mut de = serde_json::Deserializer::from_str(body);
    Walk { depth: 0 }
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| Refusal::NotJson(without_position(&e)))
}

#[derive(Clone, Copy)]
struct Walk {
    depth: usize,
}

impl Walk {
    fn deeper<E: Error>(self) -> Result<Walk, E> {
        if self.depth >= MAX_NESTING {
            return Err(E::custom(format_args!("nested deeper than {MAX_NESTING}")));
        }
        Ok(Walk {
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{check, MAX_NESTING};

    fn nested(depth: usize) -> String {
        // The object itself is one level.
        let n = depth - 1;
        format!("{{\"x\":{}1{}}}", "[".repeat(n), "]".repeat(n))
    }

    #[test]
    fn what_consumers_cannot_read_is_refused() {
        assert!(check(r#"{"a":[1,2.5,"s",null,true,{"b":{}}],"c":-1e300}"#).is_ok());
        assert!(check(&nested(MAX_NESTING)).is_ok());
        assert!(check(&nested(MAX_NESTING + 1)).is_err());
        assert!(check(&nested(100_000)).is_err());
        assert!(check(r#"{"x":1e999}"#).is_err());
        assert!(check(r#"{"x":"\ud800"}"#).is_err());
        assert!(check(r#"{"x":123456789012345678901234567890}"#).is_ok());
        assert!(check(r#"{} {}"#).is_err());
    }
}
