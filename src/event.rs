//! normalize: a decoded callback becomes the one envelope every consumer reads (README.md,
//! "An event"), with a deterministic `event_id`.

use std::borrow::Cow;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use crate::record::{received_at_ms, record_time_ms};

/// Bumped when a field is added or its meaning changes; the changelog is in
/// `docs/consumers.md`. 2: `reason` and `group_type`, group join/exit and room leave.
/// 3: `owner`, `role`, `media`, `kicked_platforms`; user state, lifecycle and TRTC events.
/// 4: `previous_owner`, `seats`; role, owner and seat events; room leave's `cause` from `Type`.
pub const SCHEMA_VERSION: u32 = 4;

/// A group of commands whose order matters to one consumer; one topic each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    LiveMember,
    GroupMember,
    RoomMember,
    /// A Chat user's own connection (`State.StateChange`).
    UserState,
    /// TRTC room events: create, dismiss, enter, exit, role change.
    TrtcMember,
    /// TRTC media events: video, audio, substream started or stopped.
    TrtcMedia,
    /// A Live or Room room's seat table (`Mic.CallbackAfterSeatInfoChanged`).
    MicSeat,
    Other,
    Dlq,
}

impl Family {
    pub const ALL: [Family; 9] = [
        Family::LiveMember,
        Family::GroupMember,
        Family::RoomMember,
        Family::UserState,
        Family::TrtcMember,
        Family::TrtcMedia,
        Family::MicSeat,
        Family::Other,
        Family::Dlq,
    ];

    /// The topic suffix and the envelope's `family` value.
    pub fn name(self) -> &'static str {
        match self {
            Family::LiveMember => "live.member",
            Family::GroupMember => "group.member",
            Family::RoomMember => "room.member",
            Family::UserState => "user.state",
            Family::TrtcMember => "trtc.member",
            Family::TrtcMedia => "trtc.media",
            Family::MicSeat => "mic.seat",
            Family::Other => "other",
            Family::Dlq => "dlq",
        }
    }
}

/// What an event is about; it becomes the Kafka key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Room(&'a str),
    Group(&'a str),
    /// A Chat user's account (user state): in neither `room_id` nor `group_id`.
    User(&'a str),
    /// No room or group: keyed by the SdkAppid.
    App,
}

impl<'a> Subject<'a> {
    pub fn id(self) -> Option<&'a str> {
        match self {
            Subject::Room(id) | Subject::Group(id) | Subject::User(id) => Some(id),
            Subject::App => None,
        }
    }
}

/// What a callback says, in the envelope's terms; the decoder fills in what its command has.
#[derive(Debug)]
pub struct Facts<'a> {
    pub family: Family,
    pub subject: Subject<'a>,
    pub state: Option<Cow<'a, str>>,
    pub cause: Option<Cow<'a, str>>,
    pub members: Option<Vec<&'a str>>,
    pub operator: Option<&'a str>,
    /// The group's or room's owner (lifecycle, owner transfer).
    pub owner: Option<&'a str>,
    /// The owner before a transfer.
    pub previous_owner: Option<&'a str>,
    pub member_count: Option<i64>,
    pub event_time_ms: Option<i64>,
    /// Tencent's free-text reason (room leave, user state).
    pub reason: Option<&'a str>,
    /// Chat group type in snake_case (group join, exit and lifecycle).
    pub group_type: Option<Cow<'a, str>>,
    /// TRTC role (`anchor`, `audience`), or a Chat/Live role (`admin`, `member`).
    pub role: Option<Cow<'a, str>>,
    /// TRTC media: `video`, `audio`, `substream`.
    pub media: Option<&'static str>,
    /// Platforms a login pushed off (user state).
    pub kicked_platforms: Option<Vec<&'a str>>,
    /// The whole seat table (seat events).
    pub seats: Option<&'a [Seat<'a>]>,
}

/// One seat of a room's seat table, as the envelope carries it. `member` null: an empty seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seat<'a> {
    pub index: i64,
    pub member: Option<Cow<'a, str>>,
    /// The seat is locked: nobody may take it.
    pub taken_disabled: Option<bool>,
    pub video_disabled: Option<bool>,
    pub audio_disabled: Option<bool>,
}

impl<'a> Facts<'a> {
    /// Nothing known yet but the family and the subject.
    pub fn new(family: Family, subject: Subject<'a>) -> Self {
        Facts {
            family,
            subject,
            state: None,
            cause: None,
            members: None,
            operator: None,
            owner: None,
            previous_owner: None,
            member_count: None,
            event_time_ms: None,
            reason: None,
            group_type: None,
            role: None,
            media: None,
            kicked_platforms: None,
            seats: None,
        }
    }

    pub fn other() -> Self {
        Facts::new(Family::Other, Subject::App)
    }
}

/// Where the callback came from: the parts of the request that are not the body.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub sdk_app_id: &'a str,
    pub client_ip: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub received_at_ms: i64,
}

/// The Kafka value. Field order is the documented order; `raw` is appended last, verbatim.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub event_id: String,
    pub schema_version: u32,
    pub family: &'static str,
    pub command: &'a str,
    pub sdk_app_id: &'a str,
    pub room_id: Option<&'a str>,
    pub group_id: Option<&'a str>,
    pub state: Option<&'a str>,
    pub cause: Option<&'a str>,
    pub members: Option<&'a [&'a str]>,
    pub operator: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub previous_owner: Option<&'a str>,
    pub member_count: Option<i64>,
    pub event_time_ms: Option<i64>,
    pub reason: Option<&'a str>,
    pub group_type: Option<&'a str>,
    pub role: Option<&'a str>,
    pub media: Option<&'a str>,
    pub kicked_platforms: Option<&'a [&'a str]>,
    pub seats: Option<&'a [Seat<'a>]>,
    pub received_at_ms: i64,
    pub client_ip: Option<&'a str>,
    pub platform: Option<&'a str>,
    /// The Kafka key: room, group or account; the SdkAppid when none.
    #[serde(skip)]
    pub key: &'a str,
}

impl<'a> Event<'a> {
    /// `identity`: the bytes the `event_id` is derived from — the body as received for
    /// Chat/Live/Room, the identifying fields for TRTC (whose retries differ in `CallbackTs`).
    pub fn new(facts: &'a Facts<'a>, command: &'a str, origin: Origin<'a>, identity: &[u8]) -> Self {
        let (room_id, group_id) = match facts.subject {
            Subject::Room(id) => (Some(id), None),
            Subject::Group(id) => (None, Some(id)),
            Subject::User(_) | Subject::App => (None, None),
        };
        Event {
            event_id: event_id(origin.sdk_app_id, command, identity),
            schema_version: SCHEMA_VERSION,
            family: facts.family.name(),
            command,
            sdk_app_id: origin.sdk_app_id,
            room_id,
            group_id,
            state: facts.state.as_deref(),
            cause: facts.cause.as_deref(),
            members: facts.members.as_deref(),
            operator: facts.operator,
            owner: facts.owner,
            previous_owner: facts.previous_owner,
            member_count: facts.member_count,
            event_time_ms: facts.event_time_ms,
            reason: facts.reason,
            group_type: facts.group_type.as_deref(),
            role: facts.role.as_deref(),
            media: facts.media,
            kicked_platforms: facts.kicked_platforms.as_deref(),
            seats: facts.seats,
            received_at_ms: origin.received_at_ms,
            client_ip: origin.client_ip,
            platform: origin.platform,
            key: facts.subject.id().unwrap_or(origin.sdk_app_id),
        }
    }

    /// The JSON value with `raw` = the body exactly as received. The body was already parsed
    /// as a JSON object, so splicing it in keeps it byte for byte without a second parse.
    pub fn to_json(&self, raw_body: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + raw_body.len());
        // Serializing plain strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, self);
        out.pop(); // the closing brace
        out.extend_from_slice(b",\"raw\":");
        out.extend_from_slice(raw_body.trim().as_bytes());
        out.push(b'}');
        out
    }
}

/// `event_id` = lowercase hex of the first 16 bytes of
/// SHA-256(sdk_app_id ‖ 0x0A ‖ command ‖ 0x0A ‖ body bytes as received), where `command` is the
/// canonical spelling. Tencent sending the same callback twice yields the same id.
pub fn event_id(sdk_app_id: &str, command: &str, body: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(sdk_app_id)
        .chain_update(b"\n")
        .chain_update(command)
        .chain_update(b"\n")
        .chain_update(body)
        .finalize();
    let mut out = String::with_capacity(32);
    for b in &digest[..16] {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// Tencent's PascalCase enum values as snake_case (`HeartbeatInterrupt` →
/// `heartbeat_interrupt`, `AVChatRoom` → `av_chat_room`). Values we do not know yet go through
/// the same rule, so new ones are kept rather than refused.
pub fn snake_case(s: &str) -> Cow<'_, str> {
    let already = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if already {
        return Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    // ASCII only, as the schemas promise (`^[a-z0-9_]*$`): any other character is a separator.
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_examples() {
        for (pascal, snake) in [
            ("Online", "online"),
            ("HeartbeatInterrupt", "heartbeat_interrupt"),
            ("HeartbeatRecover", "heartbeat_recover"),
            ("Kicked", "kicked"),
            ("AVChatRoom", "av_chat_room"),
            ("Enter", "enter"),
            ("already_snake", "already_snake"),
            ("Two Words-here", "two_words_here"),
            ("V2Thing", "v2_thing"),
        ] {
            assert_eq!(snake_case(pascal), snake, "{pascal}");
        }
    }

    #[test]
    fn event_id_is_deterministic_and_depends_on_every_part() {
        let a = event_id("1", "C", b"{}");
        assert_eq!(a, event_id("1", "C", b"{}"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, event_id("2", "C", b"{}"));
        assert_ne!(a, event_id("1", "D", b"{}"));
        assert_ne!(a, event_id("1", "C", b"{ }"));
    }

    #[test]
    fn raw_is_spliced_verbatim() {
        let facts = Facts::other();
        let origin = Origin {
            sdk_app_id: "1",
            client_ip: None,
            platform: Some("iOS"),
            received_at_ms: 5,
        };
        let body = "{\"a\": [1, 2],\n \"b\":\"\\u00e9\"}\n";
        let json = Event::new(&facts, "X.Y", origin, body.as_bytes()).to_json(body);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["raw"]["b"], "é");
        assert_eq!(v["platform"], "iOS");
        assert_eq!(v["members"], serde_json::Value::Null);
        assert!(std::str::from_utf8(&json)
            .unwrap()
            .ends_with("\"raw\":{\"a\": [1, 2],\n \"b\":\"\\u00e9\"}}"));
    }

    #[test]
    fn a_stored_record_s_time_is_the_event_s_then_its_arrival() {
        let v = br#"{"event_time_ms":1670574414123,"received_at_ms":1700000000123,"raw":{}}"#;
        assert_eq!(record_time_ms(v), Some(1_670_574_414_123));
        let v = br#"{"event_time_ms":null,"received_at_ms":1700000000123,"raw":{"event_time_ms":5}}"#;
        assert_eq!(record_time_ms(v), Some(1_700_000_000_123));
        assert_eq!(record_time_ms(b"{}"), None);
    }

    #[test]
    fn received_at_is_the_first_numeric_field() {
        let v = br#"{"query":{"received_at_ms":"9"},"received_at_ms":1700000000123,"raw":{}}"#;
        assert_eq!(received_at_ms(v), 1_700_000_000_123);
        assert_eq!(received_at_ms(b"{}"), 0);
    }
}
