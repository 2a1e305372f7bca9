//! The fold: one partition's rooms, and what one input event does to them. Pure: no Kafka, no
//! clock (the caller passes `now_ms`), so every rule of the contract is a unit test
//! (`fold_tests.rs`).
//!
//! Clocks: one per (member, kind of fact). A member's presence (in/out) has its clock on the
//! member's value (`clock_ms`) and, once it left, on the room's `departed` entry for the grace
//! window; a member's role has its own on the room's `roles` entry (`at_ms`); the owner
//! (`owner_ms`), the seat table (`seats_ms`) and the room's close (`closed_ms`, a floor for
//! every clock of the room) have theirs. So a late admin grant still applies after a later
//! enter, and a late enter never undoes a later leave. An event without a time applies in
//! topic order and leaves the clocks as they are.
//!
//! The seat family (`mic.seat`) names no scope: its table goes to the room held under `room`
//! scope, else under `live`, else (a room not seen yet) to `live`, Live being the product
//! whose seat callbacks Tencent documents first.

use std::collections::HashMap;

use super::input::{Input, Scope, Source};
use super::recent::{ids_of, Recent};
use super::rules::{cap_departed, close, enter, grant_all, leave, open, owner, seats, Touched};
use super::state::{Ids, Member, Room, RoomKey};

/// What became of one input event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Applied,
    /// Older than what was applied before, for every member it names.
    Late,
    Duplicate,
    /// A state the view does not fold (`member_updated`, a state Tencent adds later).
    Irrelevant,
}

/// One record for `tencent.presence`: `value` `None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    pub value: Option<String>,
}

/// A record to write, rendered once per batch however many events touched it (a big room's
/// value is rendered once, not once per event).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Touch {
    Member(RoomKey, String),
    Room(RoomKey),
}

/// How long a departed member's clock and a closed room's record outlive them; how many
/// departed clocks one room keeps at most (the oldest go first).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub grace_ms: i64,
    pub departed_per_room: usize,
}

#[derive(Debug)]
pub struct Fold {
    pub rooms: HashMap<RoomKey, Room>,
    recent: Recent,
    limits: Limits,
    /// Departed clocks dropped to keep a room's value small.
    pub evicted: u64,
}

impl Fold {
    pub fn new(limits: Limits) -> Fold {
        Fold {
            rooms: HashMap::new(),
            recent: Recent::default(),
            limits,
            evicted: 0,
        }
    }

    pub fn members(&self) -> usize {
        self.rooms.values().map(|r| r.members.len()).sum()
    }

    /// Applies `input` and renders what it touched at once (the tests' and the benches' way;
    /// the worker renders once per batch with [`Fold::touch`] and [`Fold::render`]).
    pub fn apply(&mut self, input: &Input, now_ms: i64) -> (Verdict, Vec<Write>) {
        let (verdict, touched) = self.touch(input, now_ms);
        let writes = touched.iter().filter_map(|t| self.render(t)).collect();
        (verdict, writes)
    }

    /// The record a touch asks for now, `None` when none is needed (a room that never had a
    /// record and still needs none). A room left with nothing is forgotten once its tombstone
    /// is rendered.
    pub fn render(&mut self, touch: &Touch) -> Option<Write> {
        match touch {
            Touch::Member(key, m) => Some(Write {
                key: key.member(m),
                value: self.rooms.get(key).and_then(|room| room.member_json(m)),
            }),
            Touch::Room(key) => {
                let room = self.rooms.get_mut(key)?;
                let value = room.room_json();
                let write = (value.is_some() || room.has_record).then(|| Write {
                    key: key.encode(),
                    value: value.clone(),
                });
                room.has_record = value.is_some();
                if room.members.is_empty() && room.value.is_empty() {
                    self.rooms.remove(key);
                }
                write
            }
        }
    }

    /// Applies `input`; says which records it touched (render them with [`Fold::render`]).
    pub fn touch(&mut self, input: &Input, now_ms: i64) -> (Verdict, Vec<Touch>) {
        if self.recent.contains(input) {
            return (Verdict::Duplicate, Vec::new());
        }
        let key = self.room_key(input);
        if self
            .rooms
            .get(&key)
            .is_some_and(|room| last_ids_match(room, input))
        {
            return (Verdict::Duplicate, Vec::new());
        }
        let room = self.rooms.entry(key.clone()).or_default();
        let mut t = Touched::default();
        let e = &input.envelope;
        let members = e.members.clone().unwrap_or_default();
        let expires = now_ms.saturating_add(self.limits.grace_ms);
        match (input.source, e.state.as_deref()) {
            (_, Some("online" | "joined")) => {
                for m in &members {
                    enter(room, m, input, &mut t);
                }
                if input.source == Source::Trtc {
                    grant_all(room, &members, e.role.as_deref(), input, &mut t);
                }
            }
            (_, Some("offline" | "left")) => {
                for m in &members {
                    leave(room, m, input, expires, &mut t);
                }
            }
            (_, Some("opened")) => open(room, &members, input, &mut t),
            (_, Some("closed")) => close(room, input, expires, &mut t),
            (_, Some("role_changed")) => grant_all(room, &members, e.role.as_deref(), input, &mut t),
            (Source::Trtc, None) if e.role.is_some() => {
                grant_all(room, &members, e.role.as_deref(), input, &mut t)
            }
            (_, Some("owner_changed")) => owner(room, input, &mut t),
            (Source::Seat, Some("seats_changed")) => seats(room, input, &mut t),
            _ => {}
        }
        let verdict = match (t.applied, t.late) {
            (true, _) => Verdict::Applied,
            (false, true) => Verdict::Late,
            (false, false) => Verdict::Irrelevant,
        };
        if verdict == Verdict::Applied {
            self.recent.remember(&ids_of(input), expires);
            self.evicted += cap_departed(room, self.limits.departed_per_room);
        }
        let mut touched: Vec<Touch> = t
            .members
            .iter()
            .map(|m| Touch::Member(key.clone(), m.clone()))
            .collect();
        if t.room {
            touched.push(Touch::Room(key.clone()));
        }
        if room.members.is_empty() && room.value.is_empty() && !room.has_record {
            self.rooms.remove(&key);
        }
        (verdict, touched)
    }

    /// Drops what the grace window no longer needs: departed clocks, closed rooms (their
    /// tombstone is written now), old ids.
    pub fn expire(&mut self, now_ms: i64) -> Vec<Write> {
        self.recent.expire(now_ms);
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for (key, room) in &mut self.rooms {
            let before = room.value.departed.len();
            room.value.departed.retain(|_, d| d.expires_ms > now_ms);
            let mut changed = room.value.departed.len() != before;
            if room.value.closed && room.value.expires_ms.is_some_and(|at| at <= now_ms) {
                room.value = Default::default();
                changed = true;
            }
            if changed && room.has_record {
                let value = room.room_json();
                room.has_record = value.is_some();
                out.push(Write {
                    key: key.encode(),
                    value,
                });
            }
            if room.members.is_empty() && room.value.is_empty() {
                gone.push(key.clone());
            }
        }
        for key in gone {
            self.rooms.remove(&key);
        }
        out
    }

    /// Restore: one record of `tencent.presence`, in offset order (a later value replaces an
    /// earlier one, a tombstone removes it). Unreadable records are skipped (returns false).
    pub fn restore(&mut self, key: &[u8], value: Option<&[u8]>) -> bool {
        let Some((room_key, member)) = RoomKey::decode(key) else {
            return false;
        };
        let room = self.rooms.entry(room_key.clone()).or_default();
        let ok = match (member, value) {
            (Some(m), None) => {
                room.members.remove(&m);
                true
            }
            (Some(m), Some(v)) => match serde_json::from_slice::<Member>(v) {
                Ok(member) => {
                    room.members.insert(m, member);
                    true
                }
                Err(_) => false,
            },
            (None, None) => {
                room.value = Default::default();
                room.has_record = false;
                true
            }
            (None, Some(v)) => match serde_json::from_slice(v) {
                Ok(value) => {
                    room.value = value;
                    room.has_record = true;
                    true
                }
                Err(_) => false,
            },
        };
        if room.members.is_empty() && room.value.is_empty() && !room.has_record {
            self.rooms.remove(&room_key);
        }
        ok
    }

    /// The scope an event's room is held under (see the module's note on seats).
    fn room_key(&self, input: &Input) -> RoomKey {
        let key = |scope| RoomKey {
            app: input.envelope.sdk_app_id.clone(),
            scope,
            id: input.id().to_owned(),
        };
        match input.source.scope() {
            Some(scope) => key(scope),
            None if self.rooms.contains_key(&key(Scope::Room)) => key(Scope::Room),
            None => key(Scope::Live),
        }
    }
}

/// After a restart the recent window is empty: the last ids on the records still catch a
/// re-delivery of what was applied last.
fn last_ids_match(room: &Room, input: &Input) -> bool {
    let ids = ids_of(input);
    let same = |last: &Ids| {
        (last.event_id == ids.event_id && last.received_at_ms == ids.received_at_ms)
            || (ids.ce_id.is_some() && last.ce_id == ids.ce_id && ids.ce_id.as_deref() != Some(&ids.event_id))
    };
    let names = input.envelope.members.as_deref().unwrap_or_default();
    room.value.last_event.as_ref().is_some_and(same)
        || names.iter().any(|m| {
            room.members.get(m).is_some_and(|x| same(&x.last))
                || room.value.departed.get(m).is_some_and(|d| same(&d.last))
        })
}

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;
