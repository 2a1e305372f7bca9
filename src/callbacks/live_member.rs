//! `Live.CallbackAfterMemberStateChanged` (URL spelling `Live.CallbackMemberStateChanged`):
//! a Live room member went online or offline. Seeds 000 (five causes, incl. `Kicked`) and 001
//! (four causes). Causes Tencent adds later are kept in snake_case.

use std::borrow::Cow;

use serde::Deserialize;

use super::Member;
use crate::event::{snake_case, Facts, Family, Subject};

#[derive(Debug, Deserialize)]
pub struct LiveMemberStateChanged<'a> {
    #[serde(rename = "CallbackCommand", borrow)]
    pub command: Cow<'a, str>,
    #[serde(rename = "RoomId", borrow)]
    pub room_id: Cow<'a, str>,
    /// `Online` | `Offline`.
    #[serde(rename = "EventType", borrow)]
    pub event_type: Cow<'a, str>,
    /// `Enter` | `Leave` | `HeartbeatInterrupt` | `HeartbeatRecover` | `Kicked`.
    #[serde(rename = "EventCause", borrow)]
    pub event_cause: Cow<'a, str>,
    #[serde(rename = "MemberList", borrow)]
    pub members: Vec<Member<'a>>,
    /// Milliseconds. Both Live pages send it; kept optional so a missing one is a null, not a
    /// lost event.
    #[serde(rename = "EventTime", default)]
    pub event_time: Option<i64>,
}

impl LiveMemberStateChanged<'_> {
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            family: Family::LiveMember,
            subject: Subject::Room(&self.room_id),
            state: Some(snake_case(&self.event_type)),
            cause: Some(snake_case(&self.event_cause)),
            members: Some(self.members.iter().map(|m| m.account.as_ref()).collect()),
            operator: None,
            member_count: None,
            event_time_ms: self.event_time,
            reason: None,
            group_type: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Callback, Kind};
    use crate::refusal::Refusal;

    fn decode(body: &str) -> Result<Callback<'_>, Refusal> {
        Callback::decode(
            Some(Kind::LiveMemberStateChanged),
            "Live.CallbackMemberStateChanged",
            body,
        )
    }

    #[test]
    fn seed_000_sample_with_comments_removed() {
        let body = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room_id","EventType":"Online","EventCause":"Kicked","MemberList":[{"Member_Account": "jared"},{"Member_Account": "tommy"}],"EventTime":1703589922780}"#;
        let cb = decode(body).unwrap();
        let f = cb.facts();
        assert_eq!(f.state.as_deref(), Some("online"));
        assert_eq!(f.cause.as_deref(), Some("kicked"));
        assert_eq!(f.members.unwrap(), ["jared", "tommy"]);
        assert_eq!(f.event_time_ms, Some(1703589922780));
    }

    #[test]
    fn fields_are_named_in_errors() {
        let missing = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","EventType":"Online","EventCause":"Enter","MemberList":[]}"#;
        assert_eq!(
            decode(missing).unwrap_err(),
            Refusal::BadField("RoomId: missing".into())
        );
        let wrong = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":[{"Member_Account":7}]}"#;
        assert_eq!(
            decode(wrong).unwrap_err(),
            Refusal::BadField("MemberList[0].Member_Account: expected string".into())
        );
        let time = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":[],"EventTime":"soon"}"#;
        assert_eq!(
            decode(time).unwrap_err(),
            Refusal::BadField("EventTime: expected integer".into())
        );
        let list = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":{}}"#;
        assert_eq!(
            decode(list).unwrap_err(),
            Refusal::BadField("MemberList: expected array".into())
        );
    }

    #[test]
    fn escaped_and_unicode_strings_decode() {
        let body = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"房间\u00e9\"1","EventType":"Offline","EventCause":"SomethingNew","MemberList":[{"Member_Account":"用户🙂"}],"Extra":{"x":1}}"#;
        let cb = decode(body).unwrap();
        let f = cb.facts();
        assert_eq!(f.subject.id(), Some("房间é\"1"));
        assert_eq!(f.cause.as_deref(), Some("something_new"));
        assert_eq!(f.event_time_ms, None);
    }
}
