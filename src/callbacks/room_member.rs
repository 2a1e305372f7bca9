//! `Room.CallbackAfterMemberEnter`: a user joined a conference Room (seed 003). Its member list
//! is an array of plain strings, unlike Live and Chat. Being in a room is presence, so the
//! event says `state: online`, `cause: enter`.

use std::borrow::Cow;

use serde::Deserialize;

use crate::event::{Facts, Family, Subject};

#[derive(Debug, Deserialize)]
pub struct RoomMemberEnter<'a> {
    #[serde(rename = "CallbackCommand", borrow)]
    pub command: Cow<'a, str>,
    #[serde(rename = "Operator_Account", borrow, default)]
    pub operator: Option<Cow<'a, str>>,
    #[serde(rename = "RoomId", borrow)]
    pub room_id: Cow<'a, str>,
    #[serde(rename = "MemberCount", default)]
    pub member_count: Option<i64>,
    /// How the member joined: `Enter` (by themselves). Kept in `raw`.
    #[serde(rename = "Type", borrow, default)]
    pub join_type: Option<Cow<'a, str>>,
    #[serde(rename = "MemberList_Account", borrow)]
    pub members: Vec<Cow<'a, str>>,
    #[serde(rename = "EventTime", default)]
    pub event_time: Option<i64>,
}

impl RoomMemberEnter<'_> {
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            family: Family::RoomMember,
            subject: Subject::Room(&self.room_id),
            state: Some("online".into()),
            cause: Some("enter".into()),
            members: Some(self.members.iter().map(AsRef::as_ref).collect()),
            operator: self.operator.as_deref(),
            member_count: self.member_count,
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
        Callback::decode(Some(Kind::RoomMemberEnter), "Room.CallbackAfterMemberEnter", body)
    }

    #[test]
    fn seed_003_sample() {
        let body = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"user1","RoomId":"rid-123","MemberCount":20,"Type":"Enter","MemberList_Account":["user1"],"EventTime":1670574414123}"#;
        let cb = decode(body).unwrap();
        let f = cb.facts();
        assert_eq!(f.operator, Some("user1"));
        assert_eq!(f.member_count, Some(20));
        assert_eq!(f.members.unwrap(), ["user1"]);
    }

    #[test]
    fn member_count_must_be_an_integer() {
        let body = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","MemberCount":"20","MemberList_Account":[]}"#;
        assert_eq!(
            decode(body).unwrap_err(),
            Refusal::BadField("MemberCount: expected integer".into())
        );
        let body = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","MemberCount":2.5,"MemberList_Account":[]}"#;
        assert_eq!(
            decode(body).unwrap_err(),
            Refusal::BadField("MemberCount: expected integer".into())
        );
        let body = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","MemberList_Account":[{"Member_Account":"x"}]}"#;
        assert_eq!(
            decode(body).unwrap_err(),
            Refusal::BadField("MemberList_Account[0]: expected string".into())
        );
    }
}
