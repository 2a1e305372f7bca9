//! The rules, one function per kind of event: each checks its own clock (see `fold`'s note on
//! clocks), changes the room, and says what it touched.

use super::input::Input;
use super::recent::ids_of;
use super::state::{Departed, Grant, Member, Room};

/// What one event touched, written once at the end.
#[derive(Default)]
pub(super) struct Touched {
    pub members: Vec<String>,
    pub room: bool,
    pub applied: bool,
    pub late: bool,
}

pub(super) fn older(t: Option<i64>, clocks: &[Option<i64>]) -> bool {
    match (t, clocks.iter().flatten().max()) {
        (Some(t), Some(clock)) => t < *clock,
        _ => false,
    }
}

pub(super) fn later(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

pub(super) fn enter(room: &mut Room, m: &str, input: &Input, t: &mut Touched) {
    let time = input.time();
    let member = room.members.get(m);
    let departed = room.value.departed.get(m);
    let clocks = [
        member.and_then(|x| x.clock_ms),
        departed.and_then(|d| d.clock_ms),
        room.value.closed_ms,
    ];
    if older(time, &clocks) {
        t.late = true;
        return;
    }
    let since = member.map_or(input.when(), |x| x.since_ms);
    let clock = later(
        time,
        member
            .and_then(|x| x.clock_ms)
            .or(departed.and_then(|d| d.clock_ms)),
    );
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

pub(super) fn leave(room: &mut Room, m: &str, input: &Input, expires_ms: i64, t: &mut Touched) {
    let time = input.time();
    let member = room.members.get(m);
    let departed = room.value.departed.get(m);
    let previous = member
        .and_then(|x| x.clock_ms)
        .or(departed.and_then(|d| d.clock_ms));
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

pub(super) fn open(room: &mut Room, members: &[String], input: &Input, t: &mut Touched) {
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
pub(super) fn close(room: &mut Room, input: &Input, expires_ms: i64, t: &mut Touched) {
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

pub(super) fn grant_all(
    room: &mut Room,
    members: &[String],
    role: Option<&str>,
    input: &Input,
    t: &mut Touched,
) {
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

pub(super) fn owner(room: &mut Room, input: &Input, t: &mut Touched) {
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
    for m in [previous, e.previous_owner.clone(), e.owner.clone()]
        .into_iter()
        .flatten()
    {
        if room.members.contains_key(&m) && !t.members.contains(&m) {
            t.members.push(m);
        }
    }
    t.room = true;
    t.applied = true;
}

pub(super) fn seats(room: &mut Room, input: &Input, t: &mut Touched) {
    let time = input.time();
    if older(time, &[room.value.seats_ms, room.value.closed_ms]) {
        t.late = true;
        return;
    }
    let before: Vec<String> = room
        .value
        .seats
        .iter()
        .flatten()
        .filter_map(|s| s.member.clone())
        .collect();
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
pub(super) fn cap_departed(room: &mut Room, cap: usize) -> u64 {
    let over = room.value.departed.len().saturating_sub(cap);
    if over == 0 {
        return 0;
    }
    let mut by_age: Vec<(i64, String)> = room
        .value
        .departed
        .iter()
        .map(|(m, d)| (d.expires_ms, m.clone()))
        .collect();
    by_age.sort();
    for (_, m) in by_age.into_iter().take(over) {
        room.value.departed.remove(&m);
    }
    over as u64
}
