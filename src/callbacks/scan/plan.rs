//! What one pass over a body looks for (a [`Plan`] of wanted fields), what it captures
//! ([`Val`]), and the pieces both halves of the scanner share: its state, the nesting guard and
//! map keys. The bottom of `scan`: the object walker (`mod.rs`) and the value readers
//! (`values.rs`) both use it, and it uses neither.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, Visitor};

use crate::event::Seat;
use crate::refusal::{clip, Refusal};

/// Deepest nesting of arrays and objects accepted in a body. Tencent's are 3 deep; the event
/// wraps the body one level deeper, and every common JSON library reads 64 (serde_json stops
/// at 128, Python and Jackson near 1000).
pub const MAX_NESTING: usize = 64;

/// Most fields one plan may ask for.
pub const MAX_FIELDS: usize = 16;

/// What a wanted field must be, and how leniently it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A string.
    Text,
    /// An account or room id: a string, or an integer kept as its exact decimal digits
    /// (serde_json reads integers as u64/i64, never through an f64).
    Id,
    /// An integer, strictly.
    Int,
    /// An integer, or a string of one (`"1670574414123"`): Tencent's samples do both.
    LenientInt,
    /// An array of objects; the named field of each is an [`Want::Id`] (`Member_Account`).
    Objects(&'static str),
    /// An array of [`Want::Id`]s.
    Ids,
    /// The seat table (`SeatList`): objects with an `Index`, read by `seats.rs`.
    Seats,
}

impl Want {
    pub(super) fn expected(self) -> &'static str {
        match self {
            Want::Text | Want::Id => "string",
            Want::Int | Want::LenientInt => "integer",
            Want::Objects(_) | Want::Ids | Want::Seats => "array",
        }
    }
}

/// A captured value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Val<'a> {
    #[default]
    Absent,
    Null,
    Text(Cow<'a, str>),
    Int(i64),
    List(Vec<Cow<'a, str>>),
    Seats(Vec<Seat<'a>>),
}

/// The fields to capture: dotted paths at most one object deep (`RoomInfo.RoomId`).
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub(super) fields: [(&'static str, Want); MAX_FIELDS],
    len: usize,
}

impl Default for Plan {
    fn default() -> Self {
        Plan::new()
    }
}

impl Plan {
    pub const fn new() -> Self {
        Plan {
            fields: [("", Want::Text); MAX_FIELDS],
            len: 0,
        }
    }

    /// Adds a field unless the path is already there (two rules may read one field).
    pub fn with(mut self, path: &'static str, want: Want) -> Self {
        if self.index(path).is_none() && self.len < MAX_FIELDS {
            self.fields[self.len] = (path, want);
            self.len += 1;
        }
        self
    }

    pub fn index(&self, path: &str) -> Option<usize> {
        self.fields[..self.len].iter().position(|(p, _)| *p == path)
    }

    pub(super) fn lookup(&self, prefix: Option<&str>, key: &str) -> Lookup {
        for (i, (path, want)) in self.fields[..self.len].iter().enumerate() {
            match prefix {
                None if *path == key => return Lookup::Field(i, *want),
                None if path.strip_prefix(key).is_some_and(|r| r.starts_with('.')) => {
                    return Lookup::Nest(&path[..key.len()]);
                }
                Some(pre) => {
                    let inner = path.strip_prefix(pre).and_then(|r| r.strip_prefix('.'));
                    if inner == Some(key) {
                        return Lookup::Field(i, *want);
                    }
                }
                None => {}
            }
        }
        Lookup::Skip
    }
}

pub(super) enum Lookup {
    Field(usize, Want),
    Nest(&'static str),
    Skip,
}

pub(super) struct State<'a> {
    pub(super) plan: &'static Plan,
    pub(super) vals: [Val<'a>; MAX_FIELDS],
    pub(super) error: Option<Refusal>,
}

impl State<'_> {
    /// Keeps the first field error; the message is built only for that one.
    pub(super) fn fail(&mut self, msg: impl FnOnce() -> String) {
        if self.error.is_none() {
            self.error = Some(Refusal::BadField(clip(&msg())));
        }
    }
}

pub(super) fn deeper<E: Error>(depth: usize) -> Result<usize, E> {
    if depth >= MAX_NESTING {
        return Err(E::custom(format_args!("nested deeper than {MAX_NESTING}")));
    }
    Ok(depth + 1)
}

/// A map key, borrowed from the body unless it had escapes.
pub(super) struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}
