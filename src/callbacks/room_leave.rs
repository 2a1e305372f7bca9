//! `Room.CallbackAfterMemberLeave` (TRTC Room pages, not in the seeds): a member left a room —
//! on their own, kicked, or their heartbeat expired. Presence, like Live: `state: offline`,
//! `cause: leave`, and Tencent's `Reason` text kept verbatim in `reason` (the page lists no
//! values, so none is refused).

use std::borrow::Cow;

use serde::Deserialize;

use crate::event::{Facts, Family, Subject};

#[derive(Debug, Deserialize)]
pub struct RoomMemberLeave<'a> {
    #[serde(rename = "CallbackCommand", borrow)]
    pub command: Cow<'a, str>,
    #[serde(rename = "Operator_Account", borrow, default)]
    pub operator: Option<Cow<'a, str>>,
    #[serde(rename = "RoomId", borrow)]
    pub room_id: Cow<'a, str>,
    /// Members left in the room.
    #[serde(rename = "MemberCount", default)]
    pub member_count: Option<i64>,
    /// `Leave`. Kept in `raw`.
    #[serde(rename = "Type", borrow, default)]
    pub leave_type: Option<Cow<'a, str>>,
    #[serde(rename = "MemberList_Account", borrow)]
    pub members: Vec<Cow<'a, str>>,
    #[serde(rename = "Reason", borrow, default)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(rename = "EventTime", default)]
    pub event_time: Option<i64>,
}

impl RoomMemberLeave<'_> {
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            family: Family::RoomMember,
            subject: Subject::Room(&self.room_id),
            state: Some("offline".into()),
            cause: Some("leave".into()),
            members: Some(self.members.iter().map(AsRef::as_ref).collect()),
            operator: self.operator.as_deref(),
            member_count: self.member_count,
            event_time_ms: self.event_time,
            reason: self.reason.as_deref(),
            group_type: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Callback, Kind};
    use crate::refusal::Refusal;

    const COMMAND: &str = "Room.CallbackAfterMemberLeave";

    #[test]
    fn page_example() {
        let body = r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","Operator_Account":"alice","RoomId":"conf-42","MemberCount":7,"Type":"Leave","MemberList_Account":["alice"],"Reason":"kicked by host","EventTime":1700000000123}"#;
        let cb = Callback::decode(Kind::from_name(COMMAND), COMMAND, body).unwrap();
        let f = cb.facts();
        assert_eq!(
            (f.state.as_deref(), f.cause.as_deref()),
            (Some("offline"), Some("leave"))
        );
        assert_eq!(f.reason, Some("kicked by host"));
        assert_eq!(f.member_count, Some(7));
        assert_eq!(f.subject.id(), Some("conf-42"));
    }

    #[test]
    fn reason_must_be_a_string() {
        let body = r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":"r","MemberList_Account":[],"Reason":3}"#;
        let err = Callback::decode(Kind::from_name(COMMAND), COMMAND, body).unwrap_err();
        assert_eq!(err, Refusal::BadField("Reason: expected string".into()));
    }
}
