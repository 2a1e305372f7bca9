//! The seat table (`Mic.CallbackAfterSeatInfoChanged`'s `SeatList`): an array of objects,
//! each a whole seat. Its own reader because a seat is more than an id: an `Index` (required:
//! a seat without one cannot be placed), an optional account (Tencent omits it on an empty
//! seat, and sends it as a string or a bare number above 2^53) and three flags.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::plan::{deeper, Key, State, Val, Want};
use super::values::{not_an_object, Field, Path, Walk};
use crate::event::Seat;

/// The wire names of a seat's fields.
const INDEX: &str = "Index";
const MEMBER: &str = "Member_Account";
const FLAGS: [&str; 3] = ["IsTakenDisabled", "IsVideoDisabled", "IsAudioDisabled"];

/// The seat table field itself: an array of seats, or null; anything else is a field error.
pub(super) struct Table<'s, 'a> {
    pub(super) st: &'s mut State<'a>,
    pub(super) path: &'static str,
    pub(super) depth: usize,
}

impl Table<'_, '_> {
    fn wrong<'x>(self) -> Val<'x> {
        let path = self.path;
        self.st.fail(|| format!("{path}: expected array"));
        Val::Absent
    }
}

impl<'de, 's> DeserializeSeed<'de> for Table<'s, 'de> {
    type Value = Val<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 's> Visitor<'de> for Table<'s, 'de> {
    type Value = Val<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of seats")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let depth = deeper(self.depth)?;
        read(seq, self.st, self.path, depth).map(Val::Seats)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.wrong())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.wrong())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.wrong())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.wrong())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self.wrong())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let depth = self.depth;
        let val = self.wrong();
        Walk(depth).visit_map(map)?;
        Ok(val)
    }
}

/// Reads every seat of `list`; a wrong entry is a field error (the first wins) and the walk
/// goes on, as everywhere in the scan.
fn read<'de, A: SeqAccess<'de>>(
    mut seq: A,
    st: &mut State<'de>,
    list: &'static str,
    depth: usize,
) -> Result<Vec<Seat<'de>>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(64));
    let mut i = 0usize;
    while let Some(seat) = seq.next_element_seed(Entry {
        st: &mut *st,
        list,
        i,
        depth,
    })? {
        if let Some(seat) = seat {
            out.push(seat);
        }
        i += 1;
    }
    Ok(out)
}

struct Entry<'s, 'a> {
    st: &'s mut State<'a>,
    list: &'static str,
    i: usize,
    depth: usize,
}

impl<'de, 's> DeserializeSeed<'de> for Entry<'s, 'de> {
    type Value = Option<Seat<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Entry<'_, '_> {
    fn fail(&mut self, field: &str, what: &str) {
        let (list, i) = (self.list, self.i);
        self.st.fail(|| format!("{list}[{i}]{field}: {what}"));
    }

    fn not_object<'x>(mut self) -> Option<Seat<'x>> {
        self.fail("", "expected object");
        None
    }
}

impl<'de, 's> Visitor<'de> for Entry<'s, 'de> {
    type Value = Option<Seat<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a seat object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let depth = deeper(self.depth)?;
        let mut index: Option<Val<'de>> = None;
        let mut member: Option<Val<'de>> = None;
        let mut flags: [Option<Option<bool>>; 3] = [None; 3];
        while let Some(key) = map.next_key_seed(Key)? {
            let (list, i) = (self.list, self.i);
            let slot = if key == INDEX {
                Slot::Value(&mut index, Want::LenientInt, INDEX)
            } else if key == MEMBER {
                Slot::Value(&mut member, Want::Id, MEMBER)
            } else if let Some(f) = FLAGS.iter().position(|f| key == *f) {
                Slot::Flag(f)
            } else {
                Slot::Other
            };
            match slot {
                Slot::Other => map.next_value_seed(Walk(depth))?,
                Slot::Value(taken, _, name) if taken.is_some() => {
                    self.st
                        .fail(|| format!("{list}[{i}].{name}: given more than once"));
                    map.next_value_seed(Walk(depth))?;
                }
                Slot::Value(taken, want, name) => {
                    *taken = Some(map.next_value_seed(Field {
                        st: &mut *self.st,
                        want,
                        path: Path::Member(list, i, name),
                        depth,
                    })?);
                }
                Slot::Flag(f) if flags[f].is_some() => {
                    self.st
                        .fail(|| format!("{list}[{i}].{}: given more than once", FLAGS[f]));
                    map.next_value_seed(Walk(depth))?;
                }
                Slot::Flag(f) => {
                    let flag = map.next_value_seed(Flag(depth))?;
                    if flag.is_err() {
                        self.fail(&format!(".{}", FLAGS[f]), "expected boolean");
                    }
                    flags[f] = Some(flag.unwrap_or(None));
                }
            }
        }
        let index = match index {
            Some(Val::Int(n)) => n,
            None => {
                self.fail(".Index", "missing");
                return Ok(None);
            }
            Some(Val::Null) => {
                self.fail(".Index", "expected integer");
                return Ok(None);
            }
            Some(_) => return Ok(None), // already a field error
        };
        let member = match member {
            Some(Val::Text(id)) => Some(id),
            _ => None, // absent or null: an empty seat; a wrong type was already a field error
        };
        let [taken, video, audio] = flags.map(Option::flatten);
        Ok(Some(Seat {
            index,
            member,
            taken_disabled: taken,
            video_disabled: video,
            audio_disabled: audio,
        }))
    }
    not_an_object!();
}

enum Slot<'v, 'de> {
    Value(&'v mut Option<Val<'de>>, Want, &'static str),
    Flag(usize),
    Other,
}

/// A seat's flag: `true`/`false`, or the same as a string (Tencent's booleans arrive both ways);
/// null = not said. `Err` for anything else.
struct Flag(usize);

impl<'de> DeserializeSeed<'de> for Flag {
    type Value = Result<Option<bool>, ()>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flag {
    type Value = Result<Option<bool>, ()>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Ok(Some(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match v {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(()),
        })
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err(()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err(()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err(()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Walk(self.0).visit_seq(seq)?;
        Ok(Err(()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Walk(self.0).visit_map(map)?;
        Ok(Err(()))
    }
}
