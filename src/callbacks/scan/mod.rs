//! One pass over the body that both checks it and picks out the fields a catalog row asks for.
//!
//! Why one pass: the whole body must be JSON every consumer can read, not only the fields we
//! decode (nesting past serde_json's limit, a number no f64 holds such as `1e999`, or a lone
//! surrogate in an unknown field would be copied into `raw` and poison every consumer), and the
//! wanted fields must be read with Tencent's wire quirks (ids as numbers, times as strings).
//! Walking every value once does both; the typed decode that used to follow the check was a
//! second parse.
//!
//! A field of the wrong type does not stop the walk: it is remembered (the first one wins) and
//! the walk goes on, so a body that is broken JSON further on is still refused as not JSON.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use self::values::{Field, Path, Walk};
use super::errors::without_position;
use crate::refusal::Refusal;

mod plan;
mod seats;
mod values;

use plan::{deeper, Key, Lookup, State};
pub use plan::{Plan, Val, Want, MAX_FIELDS};

/// What one pass found.
#[derive(Debug)]
pub struct Scanned<'a> {
    pub plan: &'static Plan,
    pub vals: [Val<'a>; MAX_FIELDS],
    /// The first field of the wrong type, if any.
    pub error: Option<Refusal>,
}

impl<'a> Scanned<'a> {
    pub fn get(&self, path: &str) -> &Val<'a> {
        static ABSENT: Val<'static> = Val::Absent;
        self.plan.index(path).map_or(&ABSENT, |i| &self.vals[i])
    }

    pub fn text(&self, path: &str) -> Option<&str> {
        match self.get(path) {
            Val::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn int(&self, path: &str) -> Option<i64> {
        match self.get(path) {
            Val::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn seats(&self, path: &str) -> Option<&[crate::event::Seat<'a>]> {
        match self.get(path) {
            Val::Seats(s) => Some(s),
            _ => None,
        }
    }

    pub fn list(&self, path: &str) -> Option<&[Cow<'a, str>]> {
        match self.get(path) {
            Val::List(l) => Some(l),
            _ => None,
        }
    }

    /// `path: missing` when absent, `path: expected ..` when null.
    pub fn require(&self, path: &str) -> Result<(), Refusal> {
        let want = self
            .plan
            .index(path)
            .map_or(Want::Text, |i| self.plan.fields[i].1);
        match self.get(path) {
            Val::Absent => Err(Refusal::BadField(format!("{path}: missing"))),
            Val::Null => Err(Refusal::BadField(format!("{path}: expected {}", want.expected()))),
            _ => Ok(()),
        }
    }
}

/// Walks all of `body` (a JSON object), capturing `plan`'s fields.
pub fn scan<'a>(body: &'a str, plan: &'static Plan) -> Result<Scanned<'a>, Refusal> {
    let mut state = State {
        plan,
        vals: Default::default(),
        error: None,
    };
    let mut de = serde_json::Deserializer::from_str(body);
    Object {
        st: &mut state,
        prefix: None,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| Refusal::NotJson(without_position(&e)))?;
    Ok(Scanned {
        plan: state.plan,
        vals: state.vals,
        error: state.error,
    })
}

/// An object whose keys may be wanted: the body itself, or one nested object (`RoomInfo`).
struct Object<'s, 'a> {
    st: &'s mut State<'a>,
    prefix: Option<&'static str>,
    depth: usize,
}

impl<'de, 's> DeserializeSeed<'de> for Object<'s, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 's> Visitor<'de> for Object<'s, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(()) // a null nested object: its fields are absent
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = deeper(self.depth)?;
        while let Some(key) = map.next_key_seed(Key)? {
            match self.st.plan.lookup(self.prefix, &key) {
                Lookup::Field(i, want) => {
                    if self.st.vals[i] != Val::Absent {
                        let path = self.st.plan.fields[i].0;
                        self.st.fail(|| format!("{path}: given more than once"));
                        map.next_value_seed(Walk(depth))?;
                    } else if want == Want::Seats {
                        let path = self.st.plan.fields[i].0;
                        let val = map.next_value_seed(seats::Table {
                            st: self.st,
                            path,
                            depth,
                        })?;
                        self.st.vals[i] = val;
                    } else {
                        let path = self.st.plan.fields[i].0;
                        let val = map.next_value_seed(Field {
                            st: self.st,
                            want,
                            path: Path::Plain(path),
                            depth,
                        })?;
                        self.st.vals[i] = val;
                    }
                }
                Lookup::Nest(prefix) => map.next_value_seed(Object {
                    st: self.st,
                    prefix: Some(prefix),
                    depth,
                })?,
                Lookup::Skip => map.next_value_seed(Walk(depth))?,
            }
        }
        Ok(())
    }
    // Anything else where a nested object is wanted: a field error, and still walked.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.not_object();
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.not_object();
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.not_object();
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.not_object();
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.not_object();
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let depth = self.depth;
        self.not_object();
        Walk(depth).visit_seq(seq)
    }
}

impl Object<'_, '_> {
    fn not_object(self) {
        let prefix = self.prefix.unwrap_or("body");
        self.st.fail(|| format!("{prefix}: expected object"));
    }
}

#[cfg(test)]
mod tests;
