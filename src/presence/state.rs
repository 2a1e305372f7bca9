//! The state of one partition, in the shapes written to `tencent.presence`: a room's value and
//! a member's value are what the consumer guide documents, and the same structs are read back
//! on restore, so the topic is the whole state (no other store).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::input::{Scope, Seat};

/// The event last applied to a member or a room: what the duplicate rule compares after a
/// restart, when the in-memory window of recent ids is gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    #[serde(default)]
    pub event_id: String,
    #[serde(default)]
    pub ce_id: Option<String>,
    #[serde(default)]
    pub received_at_ms: i64,
}

/// A member in the room or group. `role` and `seat` are derived from the room when written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub since_ms: i64,
    #[serde(default)]
    pub updated_ms: i64,
    #[serde(default)]
    pub seat: Option<i64>,
    /// The presence clock: the event time of the last enter/leave applied (null when every
    /// event applied had no time).
    #[serde(default)]
    pub clock_ms: Option<i64>,
    #[serde(flatten)]
    pub last: Ids,
}

/// A member who left: its presence clock, kept on the room's value for the grace window so
/// a late enter cannot resurrect it, even after a restart or a takeover.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departed {
    #[serde(default)]
    pub clock_ms: Option<i64>,
    #[serde(flatten)]
    pub last: Ids,
    #[serde(default)]
    pub expires_ms: i64,
}

/// A role granted (or revoked: `member`) with its own clock, whether or not the member is in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: String,
    #[serde(default)]
    pub at_ms: Option<i64>,
}

/// The room's or group's own value (key `[sdk_app_id, scope, id]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomValue {
    #[serde(default)]
    pub owner: Option<String>,
    /// Derived from `roles` when written; informative on read.
    #[serde(default)]
    pub admins: Vec<String>,
    #[serde(default)]
    pub opened_ms: Option<i64>,
    /// True from a close until the tombstone, which follows after the grace window.
    #[serde(default)]
    pub closed: bool,
    /// The time of the last close: anything older about this room is late.
    #[serde(default)]
    pub closed_ms: Option<i64>,
    #[serde(default)]
    pub owner_ms: Option<i64>,
    #[serde(default)]
    pub roles: BTreeMap<String, Grant>,
    #[serde(default)]
    pub seats: Option<Vec<Seat>>,
    #[serde(default)]
    pub seats_ms: Option<i64>,
    #[serde(default)]
    pub departed: BTreeMap<String, Departed>,
    /// A closed room: when its tombstone is due.
    #[serde(default)]
    pub expires_ms: Option<i64>,
    #[serde(default)]
    pub last_event: Option<Ids>,
}

impl RoomValue {
    /// Whether the room needs a record at all: a room known only by its members has none.
    pub fn is_empty(&self) -> bool {
        !self.closed
            && self.owner.is_none()
            && self.opened_ms.is_none()
            && self.roles.is_empty()
            && self.seats.is_none()
            && self.departed.is_empty()
    }
}

/// `(sdk_app_id, scope, id)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomKey {
    pub app: String,
    pub scope: Scope,
    pub id: String,
}

impl RoomKey {
    /// `[sdk_app_id, scope, id]` as compact JSON: ids with `/` or `#` stay unambiguous.
    pub fn encode(&self) -> String {
        serde_json::json!([self.app, self.scope.name(), self.id]).to_string()
    }

    pub fn member(&self, member: &str) -> String {
        serde_json::json!([self.app, self.scope.name(), self.id, member]).to_string()
    }

    /// A state key back into the room and, for a member's key, the member.
    pub fn decode(key: &[u8]) -> Option<(RoomKey, Option<String>)> {
        let parts: Vec<String> = serde_json::from_slice(key).ok()?;
        let (app, scope, id) = (parts.first()?, parts.get(1)?, parts.get(2)?);
        let room = RoomKey {
            app: app.clone(),
            scope: Scope::parse(scope)?,
            id: id.clone(),
        };
        match parts.len() {
            3 => Some((room, None)),
            4 => Some((room, parts.get(3).cloned())),
            _ => None,
        }
    }
}

/// One room in memory: its value, its members, and whether a room record was written (so a
/// room that never had one gets no tombstone).
#[derive(Debug, Clone, Default)]
pub struct Room {
    pub value: RoomValue,
    pub members: HashMap<String, Member>,
    pub has_record: bool,
}

impl Room {
    /// `owner` > the role granted on the room > `member`.
    pub fn role_of(&self, member: &str) -> String {
        if self.value.owner.as_deref() == Some(member) {
            return "owner".to_owned();
        }
        self.value
            .roles
            .get(member)
            .map_or_else(|| "member".to_owned(), |g| g.role.clone())
    }

    pub fn seat_of(&self, member: &str) -> Option<i64> {
        let seats = self.value.seats.as_ref()?;
        seats
            .iter()
            .find(|s| s.member.as_deref() == Some(member))
            .map(|s| s.index)
    }

    /// The member's value as written, role and seat filled in.
    pub fn member_json(&self, name: &str) -> Option<String> {
        let mut m = self.members.get(name)?.clone();
        m.role = self.role_of(name);
        m.seat = self.seat_of(name);
        serde_json::to_string(&m).ok()
    }

    /// The room's value as written (`None` = tombstone), admins filled in.
    pub fn room_json(&self) -> Option<String> {
        if self.value.is_empty() {
            return None;
        }
        let mut v = self.value.clone();
        v.admins = v
            .roles
            .iter()
            .filter(|(_, g)| g.role == "admin")
            .map(|(m, _)| m.clone())
            .collect();
        serde_json::to_string(&v).ok()
    }
}
