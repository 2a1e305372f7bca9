//! The visitors for wanted values (a field, an id in a list, an object of a member list) and
//! for everything else (`Walk`). A value of the wrong type is remembered as a field error and
//! still walked, so nesting and number limits hold everywhere.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::plan::{deeper, Key, State, Val, Want};

/// The visits of a value that had to be an object (an entry of a member list, a seat): each
/// records the field error once (`not_object`); an array is still walked, so its nesting
/// counts against the limit, before it is refused. One definition for every such visitor.
macro_rules! not_an_object {
    () => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(self.not_object())
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(self.not_object())
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(self.not_object())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(self.not_object())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(self.not_object())
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(self.not_object())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            let depth = self.depth;
            let _ = self.not_object();
            Walk(depth).visit_seq(seq)?;
            Ok(None)
        }
    };
}
pub(super) use not_an_object;

/// Where a value sits, formatted only when an error names it.
#[derive(Clone, Copy)]
pub(super) enum Path {
    Plain(&'static str),
    /// `MemberList_Account[3]`
    Index(&'static str, usize),
    /// `MemberList[3].Member_Account`
    Member(&'static str, usize, &'static str),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Plain(p) => f.write_str(p),
            Path::Index(p, i) => write!(f, "{p}[{i}]"),
            Path::Member(p, i, name) => write!(f, "{p}[{i}].{name}"),
        }
    }
}

/// One wanted field.
pub(super) struct Field<'s, 'a> {
    pub(super) st: &'s mut State<'a>,
    pub(super) want: Want,
    pub(super) path: Path,
    pub(super) depth: usize,
}

impl Field<'_, '_> {
    fn wrong<'x>(self) -> Val<'x> {
        let (path, want) = (self.path, self.want);
        self.st.fail(|| format!("{path}: expected {}", want.expected()));
        Val::Absent
    }
}

impl<'de, 's> DeserializeSeed<'de> for Field<'s, 'de> {
    type Value = Val<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Val<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 's> Visitor<'de> for Field<'s, 'de> {
    type Value = Val<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.want.expected())
    }
    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Val<'de>, E> {
        Ok(self.wrong())
    }
    fn visit_u64<E>(self, n: u64) -> Result<Val<'de>, E> {
        Ok(match self.want {
            Want::Id => Val::Text(Cow::Owned(n.to_string())),
            Want::Int | Want::LenientInt => match i64::try_from(n) {
                Ok(n) => Val::Int(n),
                Err(_) => self.wrong(),
            },
            _ => self.wrong(),
        })
    }
    fn visit_i64<E>(self, n: i64) -> Result<Val<'de>, E> {
        Ok(match self.want {
            Want::Id => Val::Text(Cow::Owned(n.to_string())),
            Want::Int | Want::LenientInt => Val::Int(n),
            _ => self.wrong(),
        })
    }
    fn visit_f64<E>(self, _: f64) -> Result<Val<'de>, E> {
        Ok(self.wrong())
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(self.text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(self.text(Cow::Owned(v.to_owned())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
        let depth = deeper(self.depth)?;
        let inner = match self.want {
            Want::Objects(inner) => Some(inner),
            Want::Ids => None,
            _ => {
                let _ = self.wrong();
                while seq.next_element_seed(Walk(depth))?.is_some() {}
                return Ok(Val::Absent);
            }
        };
        let Path::Plain(list) = self.path else {
            return Ok(self.wrong()); // plans hold no list of lists
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
        let mut i = 0usize;
        loop {
            let got = match inner {
                Some(name) => seq.next_element_seed(Entry {
                    st: &mut *self.st,
                    list,
                    name,
                    i,
                    depth,
                })?,
                None => seq.next_element_seed(Id {
                    st: &mut *self.st,
                    path: Path::Index(list, i),
                    depth,
                })?,
            };
            match got {
                None => break,
                // Once a field is wrong the body is refused: stop collecting.
                Some(Some(id)) if self.st.error.is_none() => out.push(id),
                Some(_) => {}
            }
            i += 1;
        }
        Ok(Val::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Val<'de>, A::Error> {
        let depth = self.depth;
        let _ = self.wrong();
        Walk(depth).visit_map(map)?;
        Ok(Val::Absent)
    }
}

impl<'de> Field<'_, 'de> {
    fn text(self, v: Cow<'de, str>) -> Val<'de> {
        match self.want {
            Want::Text | Want::Id => Val::Text(v),
            Want::LenientInt => match v.parse::<i64>() {
                Ok(n) if v.bytes().all(|b| b.is_ascii_digit() || b == b'-') => Val::Int(n),
                _ => self.wrong(),
            },
            _ => self.wrong(),
        }
    }
}

/// One id in a list, or an object's id field: null is wrong here too.
struct Id<'s, 'a> {
    st: &'s mut State<'a>,
    path: Path,
    depth: usize,
}

impl<'de, 's> DeserializeSeed<'de> for Id<'s, 'de> {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let path = self.path;
        let val = d.deserialize_any(Field {
            st: &mut *self.st,
            want: Want::Id,
            path,
            depth: self.depth,
        })?;
        Ok(match val {
            Val::Text(id) => Some(id),
            Val::Null => {
                self.st.fail(|| format!("{path}: expected string"));
                None
            }
            _ => None,
        })
    }
}

/// One object of a [`Want::Objects`] list; its `name` field is the id.
struct Entry<'s, 'a> {
    st: &'s mut State<'a>,
    list: &'static str,
    name: &'static str,
    i: usize,
    depth: usize,
}

impl<'de, 's> DeserializeSeed<'de> for Entry<'s, 'de> {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 's> Visitor<'de> for Entry<'s, 'de> {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let depth = deeper(self.depth)?;
        let path = Path::Member(self.list, self.i, self.name);
        let mut id: Option<Option<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            if key != self.name {
                map.next_value_seed(Walk(depth))?;
            } else if id.is_some() {
                self.st.fail(|| format!("{path}: given more than once"));
                map.next_value_seed(Walk(depth))?;
            } else {
                id = Some(map.next_value_seed(Id {
                    st: &mut *self.st,
                    path,
                    depth,
                })?);
            }
        }
        if id.is_none() {
            self.st.fail(|| format!("{path}: missing"));
        }
        Ok(id.flatten())
    }
    not_an_object!();
}

impl Entry<'_, '_> {
    fn not_object<'x>(self) -> Option<Cow<'x, str>> {
        let (list, i) = (self.list, self.i);
        self.st.fail(|| format!("{list}[{i}]: expected object"));
        None
    }
}

/// Any value nobody asked for: parsed (every number and string), nesting counted, nothing kept.
#[derive(Clone, Copy)]
pub(super) struct Walk(pub(super) usize);

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
        let inner = Walk(deeper(self.0)?);
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = Walk(deeper(self.0)?);
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}
