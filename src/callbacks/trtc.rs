//! TRTC room and media event callbacks: a second protocol with a shape of its own (numeric
//! event groups and types, `EventInfo`), so it earns its own decoder. The mappings are tables;
//! a code TRTC adds later is kept (`reason_7`, `TRTC.Event107`), never refused.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::event::{Facts, Family, Subject};
use crate::refusal::Refusal;

use super::scan::{Plan, Scanned, Want};

/// Room events (`EventGroupId` 1) and media events (2); other groups (3 = cloud recording)
/// pass through to `other`.
pub const ROOM_GROUP: i64 = 1;
pub const MEDIA_GROUP: i64 = 2;

/// (EventType, canonical command, state, media).
const EVENTS: [(i64, &str, Option<&str>, Option<&str>); 11] = [
    (101, "TRTC.CreateRoom", Some("opened"), None),
    (102, "TRTC.DismissRoom", Some("closed"), None),
    (103, "TRTC.EnterRoom", Some("online"), None),
    (104, "TRTC.ExitRoom", Some("offline"), None),
    (105, "TRTC.ChangeRole", None, None),
    (201, "TRTC.StartVideo", Some("started"), Some("video")),
    (202, "TRTC.StopVideo", Some("stopped"), Some("video")),
    (203, "TRTC.StartAudio", Some("started"), Some("audio")),
    (204, "TRTC.StopAudio", Some("stopped"), Some("audio")),
    (205, "TRTC.StartSubStream", Some("started"), Some("substream")),
    (206, "TRTC.StopSubStream", Some("stopped"), Some("substream")),
];

/// `Reason` of an enter (103).
const ENTER_CAUSES: [(i64, &str); 4] = [
    (1, "enter"),
    (2, "network_change"),
    (3, "timeout_retry"),
    (4, "cross_room"),
];

/// `Reason` of an exit (104). Android reports a killed process as 2.
const EXIT_CAUSES: [(i64, &str); 5] = [
    (1, "leave"),
    (2, "timeout"),
    (3, "removed"),
    (4, "cross_room_cancelled"),
    (5, "process_killed"),
];

const ROLES: [(i64, &str); 2] = [(20, "anchor"), (21, "audience")];

const TERMINALS: [(i64, &str); 5] = [
    (1, "windows"),
    (2, "android"),
    (3, "ios"),
    (4, "linux"),
    (100, "other"),
];

/// Every canonical command name, for bounded metric labels.
pub fn commands() -> impl Iterator<Item = &'static str> {
    EVENTS.iter().map(|e| e.1)
}

static PLAN: LazyLock<Plan> = LazyLock::new(|| {
    Plan::new()
        .with("EventGroupId", Want::Int)
        .with("EventType", Want::Int)
        .with("CallbackTs", Want::LenientInt)
        // A number for numeric rooms, a string for string rooms: both become text.
        .with("EventInfo.RoomId", Want::Id)
        .with("EventInfo.EventTs", Want::LenientInt)
        .with("EventInfo.EventMsTs", Want::LenientInt)
        .with("EventInfo.UserId", Want::Id)
        .with("EventInfo.UniqueId", Want::Id)
        .with("EventInfo.Role", Want::Int)
        .with("EventInfo.TerminalType", Want::Int)
        .with("EventInfo.Reason", Want::Int)
});

/// A decoded TRTC callback.
#[derive(Debug)]
pub struct Trtc<'a> {
    s: Scanned<'a>,
    group: i64,
    event: i64,
}

/// Decodes a TRTC body. Room and media events must name their room.
pub fn decode(body: &str) -> Result<Trtc<'_>, Refusal> {
    let s = super::scan_object(body, &PLAN)?;
    if let Some(e) = s.error {
        return Err(e);
    }
    s.require("EventGroupId")?;
    s.require("EventType")?;
    let (group, event) = (
        s.int("EventGroupId").unwrap_or_default(),
        s.int("EventType").unwrap_or_default(),
    );
    if group == ROOM_GROUP || group == MEDIA_GROUP {
        s.require("EventInfo.RoomId")?;
    }
    Ok(Trtc { s, group, event })
}

fn lookup(table: &[(i64, &'static str)], code: i64) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, v)| *v)
}

/// A known code's name, else `<prefix>_<code>`: kept, never refused.
fn named(table: &[(i64, &'static str)], code: Option<i64>, prefix: &str) -> Option<Cow<'static, str>> {
    let code = code?;
    Some(lookup(table, code).map_or_else(|| Cow::Owned(format!("{prefix}_{code}")), Cow::Borrowed))
}

impl Trtc<'_> {
    pub fn family(&self) -> Family {
        match self.group {
            ROOM_GROUP => Family::TrtcMember,
            MEDIA_GROUP => Family::TrtcMedia,
            _ => Family::Other,
        }
    }

    fn known(&self) -> Option<&(i64, &'static str, Option<&'static str>, Option<&'static str>)> {
        EVENTS.iter().find(|e| e.0 == self.event)
    }

    /// The canonical command: `TRTC.EnterRoom`, ..., or `TRTC.Event<type>` for others.
    pub fn command(&self) -> Cow<'static, str> {
        match self.known() {
            Some(e) => Cow::Borrowed(e.1),
            None => Cow::Owned(format!("TRTC.Event{}", self.event)),
        }
    }

    /// `platform` of the envelope, from `TerminalType`.
    pub fn platform(&self) -> Option<Cow<'static, str>> {
        named(&TERMINALS, self.s.int("EventInfo.TerminalType"), "terminal")
    }

    /// `EventMsTs`, else `EventTs` in ms, else `CallbackTs`.
    fn event_time_ms(&self) -> Option<i64> {
        let s = &self.s;
        s.int("EventInfo.EventMsTs")
            .or_else(|| s.int("EventInfo.EventTs").and_then(|t| t.checked_mul(1000)))
            .or_else(|| s.int("CallbackTs"))
    }

    /// What identifies the event, the bytes its `event_id` is derived from: never
    /// `CallbackTs` (each retry has its own) nor the body's whitespace.
    pub fn identity(&self) -> String {
        let s = &self.s;
        let time = s
            .int("EventInfo.EventMsTs")
            .or_else(|| s.int("EventInfo.EventTs"))
            .map(|t| t.to_string())
            .unwrap_or_default();
        format!(
            "{}\n{}\n{}\n{}\n{time}\n{}",
            self.group,
            self.event,
            s.text("EventInfo.RoomId").unwrap_or_default(),
            s.text("EventInfo.UserId").unwrap_or_default(),
            s.text("EventInfo.UniqueId").unwrap_or_default(),
        )
    }

    pub fn facts(&self) -> Facts<'_> {
        let family = self.family();
        let mut facts = match family {
            Family::Other => Facts::other(),
            _ => Facts::new(
                family,
                Subject::Room(self.s.text("EventInfo.RoomId").unwrap_or_default()),
            ),
        };
        facts.event_time_ms = self.event_time_ms();
        if family == Family::Other {
            return facts;
        }
        let known = self.known();
        facts.state = known.and_then(|e| e.2).map(Cow::Borrowed);
        facts.media = known.and_then(|e| e.3);
        let reason = self.s.int("EventInfo.Reason");
        facts.cause = match self.event {
            103 => named(&ENTER_CAUSES, reason, "reason"),
            104 => named(&EXIT_CAUSES, reason, "reason"),
            105 => Some(Cow::Borrowed("role_change")),
            _ => None,
        };
        facts.role = named(&ROLES, self.s.int("EventInfo.Role"), "role");
        facts.members = Some(self.s.text("EventInfo.UserId").into_iter().collect());
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTER: &str = "{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t103,\n\t\"CallbackTs\":\t1615554923704,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t12345,\n\t\t\"EventTs\":\t1615554922,\n\t\t\"EventMsTs\":\t1615554922656,\n\t\t\"UserId\":\t\"test\",\n\t\t\"UniqueId\":\t1615554922656,\n\t\t\"Role\":\t20,\n\t\t\"TerminalType\":\t3,\n\t\t\"UserType\":\t3,\n\t\t\"Reason\":\t1\n\t}\n}";

    #[test]
    fn enter_from_a_pretty_printed_body() {
        let t = decode(ENTER).unwrap();
        let f = t.facts();
        assert_eq!(f.family, Family::TrtcMember);
        assert_eq!(f.subject, Subject::Room("12345"));
        assert_eq!(
            (f.state.as_deref(), f.cause.as_deref()),
            (Some("online"), Some("enter"))
        );
        assert_eq!(
            (f.role.as_deref(), f.members.unwrap()),
            (Some("anchor"), vec!["test"])
        );
        assert_eq!(f.event_time_ms, Some(1615554922656));
        assert_eq!(
            (t.command(), t.platform().as_deref()),
            ("TRTC.EnterRoom".into(), Some("ios"))
        );
    }

    #[test]
    fn dismiss_without_user_and_unknown_codes_are_kept() {
        let t = decode(r#"{"EventGroupId":1,"EventType":102,"CallbackTs":1687771618531,"EventInfo":{"RoomId":"12345","EventTs":1687771618}}"#).unwrap();
        let f = t.facts();
        assert_eq!(
            (f.state.as_deref(), f.members.unwrap().len()),
            (Some("closed"), 0)
        );
        assert_eq!(f.event_time_ms, Some(1687771618000));
        let t = decode(r#"{"EventGroupId":1,"EventType":104,"EventInfo":{"RoomId":"r","UserId":"u","Reason":7,"Role":22,"TerminalType":9}}"#).unwrap();
        let f = t.facts();
        assert_eq!(
            (f.cause.as_deref(), f.role.as_deref()),
            (Some("reason_7"), Some("role_22"))
        );
        assert_eq!(t.platform().as_deref(), Some("terminal_9"));
        let t = decode(r#"{"EventGroupId":1,"EventType":105,"CallbackTs":5,"EventInfo":{"RoomId":"r","UserId":"u","Role":21}}"#).unwrap();
        let f = t.facts();
        assert_eq!(
            (f.state, f.cause.as_deref(), f.event_time_ms),
            (None, Some("role_change"), Some(5))
        );
    }

    #[test]
    fn media_and_other_groups() {
        let t =
            decode(r#"{"EventGroupId":2,"EventType":204,"EventInfo":{"RoomId":"r","UserId":"u"}}"#).unwrap();
        let f = t.facts();
        assert_eq!(
            (f.family, f.state.as_deref(), f.media),
            (Family::TrtcMedia, Some("stopped"), Some("audio"))
        );
        assert_eq!(t.command(), "TRTC.StopAudio");
        let t = decode(r#"{"EventGroupId":3,"EventType":301,"EventInfo":{"TaskId":"x"}}"#).unwrap();
        assert_eq!((t.family(), t.command()), (Family::Other, "TRTC.Event301".into()));
        assert_eq!(t.facts().subject, Subject::App);
    }

    #[test]
    fn retries_share_an_identity_whatever_the_callback_time_or_layout() {
        let a = decode(ENTER).unwrap().identity();
        let retry = ENTER
            .replace("1615554923704", "1615554933704")
            .replace(['\t', '\n'], "");
        assert_eq!(a, decode(&retry).unwrap().identity());
        let other_user = ENTER.replace("\"test\"", "\"test2\"");
        assert_ne!(a, decode(&other_user).unwrap().identity());
    }

    #[test]
    fn undecodable_bodies_name_the_field() {
        let err = |b: &str| decode(b).unwrap_err().to_string();
        assert_eq!(err(r#"{"EventType":103}"#), "EventGroupId: missing");
        assert_eq!(
            err(r#"{"EventGroupId":1,"EventType":103,"EventInfo":{}}"#),
            "EventInfo.RoomId: missing"
        );
        assert_eq!(
            err(r#"{"EventGroupId":"1","EventType":103}"#),
            "EventGroupId: expected integer"
        );
    }
}
