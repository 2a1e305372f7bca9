//! decode: the JSON body of each Tencent command into its typed struct. One file per command;
//! adding a command is one new file and one arm in [`Kind`] and [`Callback`].

mod errors;
pub mod group_exit;
pub mod group_join;
pub mod group_member;
pub mod live_member;
pub mod room_leave;
pub mod room_member;
mod wellformed;

use std::borrow::Cow;

use serde::Deserialize;

use crate::event::Facts;
use crate::refusal::{clip, Refusal};

pub use errors::decode_typed;

/// The commands the bridge models. Alias spellings are resolved here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LiveMemberStateChanged,
    GroupMemberStateChange,
    RoomMemberEnter,
    RoomMemberLeave,
    GroupNewMemberJoin,
    GroupMemberExit,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::LiveMemberStateChanged,
        Kind::GroupMemberStateChange,
        Kind::RoomMemberEnter,
        Kind::RoomMemberLeave,
        Kind::GroupNewMemberJoin,
        Kind::GroupMemberExit,
    ];

    /// `None` for a command we do not model (the passthrough).
    pub fn from_name(name: &str) -> Option<Kind> {
        match name {
            // The Live page's URL table spells it without "After"; its body sample with it.
            "Live.CallbackAfterMemberStateChanged" | "Live.CallbackMemberStateChanged" => {
                Some(Kind::LiveMemberStateChanged)
            }
            "Group.CallbackOnMemberStateChange" => Some(Kind::GroupMemberStateChange),
            "Room.CallbackAfterMemberEnter" => Some(Kind::RoomMemberEnter),
            "Room.CallbackAfterMemberLeave" => Some(Kind::RoomMemberLeave),
            "Group.CallbackAfterNewMemberJoin" => Some(Kind::GroupNewMemberJoin),
            "Group.CallbackAfterMemberExit" => Some(Kind::GroupMemberExit),
            _ => None,
        }
    }

    pub fn canonical(self) -> &'static str {
        match self {
            Kind::LiveMemberStateChanged => "Live.CallbackAfterMemberStateChanged",
            Kind::GroupMemberStateChange => "Group.CallbackOnMemberStateChange",
            Kind::RoomMemberEnter => "Room.CallbackAfterMemberEnter",
            Kind::RoomMemberLeave => "Room.CallbackAfterMemberLeave",
            Kind::GroupNewMemberJoin => "Group.CallbackAfterNewMemberJoin",
            Kind::GroupMemberExit => "Group.CallbackAfterMemberExit",
        }
    }
}

/// A decoded callback body.
#[derive(Debug)]
pub enum Callback<'a> {
    Live(live_member::LiveMemberStateChanged<'a>),
    Group(group_member::GroupMemberStateChange<'a>),
    RoomEnter(room_member::RoomMemberEnter<'a>),
    RoomLeave(room_leave::RoomMemberLeave<'a>),
    GroupJoin(group_join::GroupNewMemberJoin<'a>),
    GroupExit(group_exit::GroupMemberExit<'a>),
    /// A command we do not model: only its JSON-object-ness is checked. Holds the body's
    /// `CallbackCommand`, if any.
    Other(Option<Cow<'a, str>>),
}

impl<'a> Callback<'a> {
    /// Decodes `body` as the command the query named (`None` = not modelled), and checks that
    /// the body's own `CallbackCommand` names the same command.
    pub fn decode(kind: Option<Kind>, query_command: &str, body: &'a str) -> Result<Self, Refusal> {
        if !body.trim_start().starts_with('{') {
            // Tell "not JSON at all" from "JSON, but not an object".
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(body) {
                Ok(_) => Refusal::NotObject,
                Err(e) => Refusal::NotJson(errors::without_position(&e)),
            });
        }
        wellformed::check(body)?;
        let callback = match Self::decode_as(kind, body) {
            Ok(callback) => callback,
            // A body meant for another command fails the typed decode too; say what is really
            // wrong. Only the error path pays for this second look.
            Err(e) => match decode_typed::<OtherBody<'a>>(body) {
                Ok(OtherBody { command: Some(c) }) if !Self::same_command(kind, query_command, &c) => {
                    return Err(Refusal::CommandMismatch {
                        body: clip(&c),
                        query: clip(query_command),
                    })
                }
                _ => return Err(e),
            },
        };
        if let Some(body_command) = callback.body_command() {
            if !Self::same_command(kind, query_command, body_command) {
                return Err(Refusal::CommandMismatch {
                    body: clip(body_command),
                    query: clip(query_command),
                });
            }
        }
        Ok(callback)
    }

    fn same_command(kind: Option<Kind>, query_command: &str, body_command: &str) -> bool {
        match kind {
            Some(k) => Kind::from_name(body_command) == Some(k),
            None => body_command == query_command,
        }
    }

    fn decode_as(kind: Option<Kind>, body: &'a str) -> Result<Self, Refusal> {
        let Some(kind) = kind else {
            let other: OtherBody<'a> = decode_typed(body)?;
            return Ok(Callback::Other(other.command));
        };
        Ok(match kind {
            Kind::LiveMemberStateChanged => Callback::Live(decode_typed(body)?),
            Kind::GroupMemberStateChange => Callback::Group(decode_typed(body)?),
            Kind::RoomMemberEnter => Callback::RoomEnter(decode_typed(body)?),
            Kind::RoomMemberLeave => Callback::RoomLeave(decode_typed(body)?),
            Kind::GroupNewMemberJoin => Callback::GroupJoin(decode_typed(body)?),
            Kind::GroupMemberExit => Callback::GroupExit(decode_typed(body)?),
        })
    }

    /// The body's own `CallbackCommand`.
    fn body_command(&self) -> Option<&str> {
        Some(match self {
            Callback::Live(cb) => &cb.command,
            Callback::Group(cb) => &cb.command,
            Callback::RoomEnter(cb) => &cb.command,
            Callback::RoomLeave(cb) => &cb.command,
            Callback::GroupJoin(cb) => &cb.command,
            Callback::GroupExit(cb) => &cb.command,
            Callback::Other(command) => return command.as_deref(),
        })
    }

    /// normalize, first half: what the callback says, in the envelope's terms.
    pub fn facts(&self) -> Facts<'_> {
        match self {
            Callback::Live(cb) => cb.facts(),
            Callback::Group(cb) => cb.facts(),
            Callback::RoomEnter(cb) => cb.facts(),
            Callback::RoomLeave(cb) => cb.facts(),
            Callback::GroupJoin(cb) => cb.facts(),
            Callback::GroupExit(cb) => cb.facts(),
            Callback::Other(_) => Facts::other(),
        }
    }
}

/// One entry of Tencent's `MemberList`.
#[derive(Debug, Deserialize)]
pub struct Member<'a> {
    #[serde(rename = "Member_Account", borrow)]
    pub account: Cow<'a, str>,
}

/// The body of a command we do not model: a JSON object whose `CallbackCommand`, if any, must
/// agree with the query.
#[derive(Deserialize)]
struct OtherBody<'a> {
    #[serde(rename = "CallbackCommand", borrow, default)]
    command: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_one_kind() {
        assert_eq!(
            Kind::from_name("Live.CallbackMemberStateChanged"),
            Some(Kind::LiveMemberStateChanged)
        );
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.canonical()), Some(k));
        }
        assert_eq!(Kind::from_name("live.callbackafterMemberStateChanged"), None);
    }

    #[test]
    fn not_json_and_not_object_are_told_apart() {
        assert!(matches!(
            Callback::decode(None, "X", "[1]"),
            Err(Refusal::NotObject)
        ));
        assert!(matches!(
            Callback::decode(None, "X", "  \"s\""),
            Err(Refusal::NotObject)
        ));
        assert!(matches!(
            Callback::decode(None, "X", "{"),
            Err(Refusal::NotJson(_))
        ));
        assert!(matches!(
            Callback::decode(None, "X", "nope"),
            Err(Refusal::NotJson(_))
        ));
        assert!(matches!(
            Callback::decode(None, "X", ""),
            Err(Refusal::NotJson(_))
        ));
        assert!(matches!(
            Callback::decode(None, "X", "{} x"),
            Err(Refusal::NotJson(_))
        ));
    }

    #[test]
    fn other_commands_must_agree_with_the_query() {
        assert!(matches!(
            Callback::decode(None, "X.Y", r#"{"CallbackCommand":"X.Y","a":[1]}"#),
            Ok(Callback::Other(_))
        ));
        assert!(matches!(
            Callback::decode(None, "X.Y", r#"{"a":1}"#),
            Ok(Callback::Other(_))
        ));
        assert!(matches!(
            Callback::decode(None, "X.Y", r#"{"CallbackCommand":"X.Z"}"#),
            Err(Refusal::CommandMismatch { .. })
        ));
    }

    #[test]
    fn a_huge_command_is_not_echoed_whole() {
        let huge = "X".repeat(100_000);
        let body = format!(r#"{{"CallbackCommand":"{huge}"}}"#);
        let err = Callback::decode(None, &huge[..50_000], &body).unwrap_err();
        assert!(matches!(err, Refusal::CommandMismatch { .. }));
        assert!(
            err.to_string().len() < 3 * crate::refusal::MAX_QUOTED_BYTES,
            "{err}"
        );
    }

    #[test]
    fn alias_in_query_and_canonical_in_body_agree() {
        let body = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":[]}"#;
        let kind = Kind::from_name("Live.CallbackMemberStateChanged");
        assert!(matches!(
            Callback::decode(kind, "Live.CallbackMemberStateChanged", body),
            Ok(Callback::Live(_))
        ));
        let room = Kind::from_name("Room.CallbackAfterMemberEnter");
        assert!(matches!(
            Callback::decode(room, "Room.CallbackAfterMemberEnter", body),
            Err(Refusal::CommandMismatch { .. })
        ));
    }
}
