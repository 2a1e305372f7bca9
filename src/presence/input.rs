//! What the fold reads of an input record: the envelope (`docs/consumers.md`, schema 3 and 4),
//! deserialized leniently. Fields the fold does not need are ignored, missing ones are `None`,
//! so a newer schema that adds fields is still read; a record that is not our envelope at all
//! (another producer wrote it) is refused here, and the consumer skips it.

use serde::Deserialize;

/// The member topics' families, and the scope each one's rooms are known as in the state
/// topic's keys. `mic.seat` has no scope of its own: its seat table goes to the scope the room
/// is held under (see [`crate::presence::fold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Live,
    Room,
    Group,
    Trtc,
    Seat,
}

impl Source {
    pub const ALL: [Source; 5] = [
        Source::Live,
        Source::Room,
        Source::Group,
        Source::Trtc,
        Source::Seat,
    ];

    /// The family name, which is also the topic name after the prefix.
    pub fn family(self) -> &'static str {
        match self {
            Source::Live => "live.member",
            Source::Room => "room.member",
            Source::Group => "group.member",
            Source::Trtc => "trtc.member",
            Source::Seat => "mic.seat",
        }
    }

    /// The scope of the state topic's keys; `None` for the seat family.
    pub fn scope(self) -> Option<Scope> {
        match self {
            Source::Live => Some(Scope::Live),
            Source::Room => Some(Scope::Room),
            Source::Group => Some(Scope::Group),
            Source::Trtc => Some(Scope::Trtc),
            Source::Seat => None,
        }
    }

    pub fn from_topic(prefix: &str, topic: &str) -> Option<Source> {
        let family = topic.strip_prefix(prefix)?;
        Source::ALL.into_iter().find(|s| s.family() == family)
    }
}

/// The second element of every state key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Live,
    Room,
    Group,
    Trtc,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Live => "live",
            Scope::Room => "room",
            Scope::Group => "group",
            Scope::Trtc => "trtc",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        [Scope::Live, Scope::Room, Scope::Group, Scope::Trtc]
            .into_iter()
            .find(|scope| scope.name() == s)
    }
}

/// One seat of a `seats_changed` snapshot (issue 24).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Seat {
    pub index: i64,
    #[serde(default)]
    pub member: Option<String>,
    #[serde(default)]
    pub taken_disabled: Option<bool>,
    #[serde(default)]
    pub video_disabled: Option<bool>,
    #[serde(default)]
    pub audio_disabled: Option<bool>,
}

/// The envelope fields the fold reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Envelope {
    pub event_id: String,
    pub sdk_app_id: String,
    #[serde(default)]
    pub room_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub members: Option<Vec<String>>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub previous_owner: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub seats: Option<Vec<Seat>>,
    #[serde(default)]
    pub event_time_ms: Option<i64>,
    pub received_at_ms: i64,
}

/// One input record as the fold sees it.
#[derive(Debug, Clone)]
pub struct Input {
    pub source: Source,
    pub envelope: Envelope,
    /// The `ce_id` header (unique per accepted callback from schema 4 on; the event id before).
    pub ce_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("not JSON or not the bridge's envelope: {0}")]
    NotEnvelope(#[from] serde_json::Error),
    #[error("the envelope names neither room_id nor group_id")]
    NoRoom,
    #[error("no value")]
    Empty,
}

impl Input {
    pub fn parse(source: Source, payload: Option<&[u8]>, ce_id: Option<&[u8]>) -> Result<Input, InputError> {
        let envelope: Envelope = serde_json::from_slice(payload.ok_or(InputError::Empty)?)?;
        if envelope.room_id.is_none() && envelope.group_id.is_none() {
            return Err(InputError::NoRoom);
        }
        let ce_id = ce_id.map(|v| String::from_utf8_lossy(v).into_owned());
        Ok(Input {
            source,
            envelope,
            ce_id,
        })
    }

    /// The room or group id.
    pub fn id(&self) -> &str {
        let e = &self.envelope;
        e.room_id.as_deref().or(e.group_id.as_deref()).unwrap_or_default()
    }

    /// The time the order rule compares: Tencent's event time only. Events without one apply
    /// in topic order.
    pub fn time(&self) -> Option<i64> {
        self.envelope.event_time_ms
    }

    /// The time written as `since_ms`/`updated_ms`: the event's, else when the bridge got it.
    pub fn when(&self) -> i64 {
        self.envelope
            .event_time_ms
            .unwrap_or(self.envelope.received_at_ms)
    }
}
