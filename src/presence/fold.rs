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
use super::state::{Departed, Grant, Ids, Member, Room, RoomKey};

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

/// What one event touched, written once at the end.
#[derive(Default)]
struct Touched {
    members: Vec<String>,
    room: bool,
    applied: bool,
    late: bool,
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

    pub fn apply(&mut self, input: &Input, now_ms: i64) -> (Verdict, Vec<Write>) {
        if self.recent.contains(input) {
            return (Verdict::Duplicate, Vec::new());
        }
        let key = self.room_key(input);
        if self.rooms.get(&key).is_some_and(|room| last_ids_match(room, input)) {
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
        let writes = writes(&key, room, &t);
        if room.members.is_empty() && room.value.is_empty() {
            self.rooms.remove(&key);
        }
        (verdict, writes)
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
                out.push(Write { key: key.encode(), value });
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

fn older(t: Option<i64>, clocks: &[Option<i64>]) -> bool {
    match (t, clocks.iter().flatten().max()) {
        (Some(t), Some(clock)) => t < *clock,
        _ => false,
    }
}

fn later(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

fn enter(room: &mut Room, m: &str, input: &Input, t: &mut Touched) {
    let time = input.time();
    let member = room.members.get(m);
    let departed = room.value.departed.get(m);
    let clocks = [member.and_then(|x| x.clock_ms), departed.and_then(|d| d.clock_ms), room.value.closed_ms];
    if older(time, &clocks) {
        t.late = true;
        return;
    }
    let since = member.map_or(input.when(), |x| x.since_ms);
    let clock = later(time, member.and_then(|x| x.clock_ms).or(departed.and_then(|d| d.clock_ms)));
    room.members.insert(
        m.to_owned(),
        Member {
            since_ms: since,
            updated_ms: input.when(),
            clock_ms: clock,
            last: ids_of(input),
            ..Member::default()
        },
    );
    if room.value.departed.remove(m).is_some() || room.value.closed {
        room.value.closed = false;
        room.value.expires_ms = None;
        t.room = true;
    }
    t.members.push(m.to_owned());
    t.applied = true;
}

fn leave(room: &mut Room, m: &str, input: &Input, expires_ms: i64, t: &mut Touched) {
    let time = input.time();
    let member = room.members.get(m);
    let departed = room.value.departed.get(m);
    let previous = member.and_then(|x| x.clock_ms).or(departed.and_then(|d| d.clock_ms));
    if older(time, &[previous, room.value.closed_ms]) {
        t.late = true;
        return;
    }
    if room.members.remove(m).is_some() {
        t.members.push(m.to_owned());
    }
    let entry = Departed {
        clock_ms: later(time, previous),
        last: ids_of(input),
        expires_ms,
    };
    room.value.departed.insert(m.to_owned(), entry);
    t.room = true;
    t.applied = true;
}

fn open(room: &mut Room, members: &[String], input: &Input, t: &mut Touched) {
    let time = input.time();
    if older(time, &[room.value.closed_ms, room.value.opened_ms]) {
        t.late = true;
        return;
    }
    room.value.opened_ms = Some(input.when());
    room.value.closed = false;
    room.value.expires_ms = None;
    if let Some(owner) = &input.envelope.owner {
        if !older(time, &[room.value.owner_ms]) {
            room.value.owner = Some(owner.clone());
            room.value.owner_ms = later(time, room.value.owner_ms);
        }
    }
    room.value.last_event = Some(ids_of(input));
    t.room = true;
    t.applied = true;
    for m in members {
        enter(room, m, input, t);
    }
}

/// Every member whose presence is not newer than the close goes; the room keeps a closed
/// record (its clock) for the grace window, then its tombstone.
fn close(room: &mut Room, input: &Input, expires_ms: i64, t: &mut Touched) {
    let time = input.time();
    if older(time, &[room.value.opened_ms, room.value.closed_ms]) {
        t.late = true;
        return;
    }
    let stays = |x: &Member| matches!((time, x.clock_ms), (Some(t), Some(c)) if c > t);
    let gone: Vec<String> = room
        .members
        .iter()
        .filter(|(_, x)| !stays(x))
        .map(|(m, _)| m.clone())
        .collect();
    for m in gone {
        room.members.remove(&m);
        t.members.push(m);
    }
    let newer = |c: Option<i64>| matches!((time, c), (Some(t), Some(c)) if c > t);
    room.value.departed.retain(|_, d| newer(d.clock_ms));
    room.value.roles.retain(|_, g| newer(g.at_ms));
    if !newer(room.value.owner_ms) {
        room.value.owner = None;
        room.value.owner_ms = None;
    }
    if !newer(room.value.seats_ms) {
        room.value.seats = None;
        room.value.seats_ms = None;
    }
    room.value.opened_ms = None;
    room.value.closed_ms = later(time, room.value.closed_ms);
    room.value.closed = room.members.is_empty();
    room.value.expires_ms = Some(expires_ms);
    room.value.last_event = Some(ids_of(input));
    t.room = true;
    t.applied = true;
}

fn grant_all(room: &mut Room, members: &[String], role: Option<&str>, input: &Input, t: &mut Touched) {
    let Some(role) = role else {
        return;
    };
    let time = input.time();
    for m in members {
        let clock = room.value.roles.get(m).and_then(|g| g.at_ms);
        if older(time, &[clock, room.value.closed_ms]) {
            t.late = true;
            continue;
        }
        let grant = Grant {
            role: role.to_owned(),
            at_ms: later(time, clock),
        };
        room.value.roles.insert(m.clone(), grant);
        if room.members.contains_key(m) {
            t.members.push(m.clone());
        }
        t.room = true;
        t.applied = true;
    }
    if t.applied {
        room.value.last_event = Some(ids_of(input));
    }
}

fn owner(room: &mut Room, input: &Input, t: &mut Touched) {
    let time = input.time();
    if older(time, &[room.value.owner_ms, room.value.closed_ms]) {
        t.late = true;
        return;
    }
    let e = &input.envelope;
    let previous = room.value.owner.take();
    room.value.owner = e.owner.clone();
    room.value.owner_ms = later(time, room.value.owner_ms);
    room.value.last_event = Some(ids_of(input));
    for m in [previous, e.previous_owner.clone(), e.owner.clone()].into_iter().flatten() {
        if room.members.contains_key(&m) && !t.members.contains(&m) {
            t.members.push(m);
        }
    }
    t.room = true;
    t.applied = true;
}

fn seats(room: &mut Room, input: &Input, t: &mut Touched) {
    let time = input.time();
    if older(time, &[room.value.seats_ms, room.value.closed_ms]) {
        t.late = true;
        return;
    }
    let before: Vec<String> = room.value.seats.iter().flatten().filter_map(|s| s.member.clone()).collect();
    room.value.seats = Some(input.envelope.seats.clone().unwrap_or_default());
    room.value.seats_ms = later(time, room.value.seats_ms);
    room.value.last_event = Some(ids_of(input));
    let after = room.value.seats.iter().flatten().filter_map(|s| s.member.clone());
    for m in before.into_iter().chain(after) {
        if room.members.contains_key(&m) && !t.members.contains(&m) {
            t.members.push(m);
        }
    }
    t.room = true;
    t.applied = true;
}

/// Keeps a room's value bounded: the departed clocks that expire first go first.
fn cap_departed(room: &mut Room, cap: usize) -> u64 {
    let over = room.value.departed.len().saturating_sub(cap);
    if over == 0 {
        return 0;
    }
    let mut by_age: Vec<(i64, String)> =
        room.value.departed.iter().map(|(m, d)| (d.expires_ms, m.clone())).collect();
    by_age.sort();
    for (_, m) in by_age.into_iter().take(over) {
        room.value.departed.remove(&m);
    }
    over as u64
}

fn writes(key: &RoomKey, room: &mut Room, t: &Touched) -> Vec<Write> {
    let mut out: Vec<Write> = t
        .members
        .iter()
        .map(|m| Write {
            key: key.member(m),
            value: room.member_json(m),
        })
        .collect();
    if t.room {
        let value = room.room_json();
        if value.is_some() || room.has_record {
            room.has_record = value.is_some();
            out.push(Write { key: key.encode(), value });
        }
    }
    out
}

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;
