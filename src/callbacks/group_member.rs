//! `Group.CallbackOnMemberStateChange`: a Chat audio-video group member went online or offline
//! (seed 002). No `EventTime`; the page's sample shows `EventCause` only as a comment, so a body
//! without it is accepted with `cause: null` rather than refused and lost.

use std::borrow::Cow;

use serde::Deserialize;

use super::Member;
use crate::event::{snake_case, Facts, Family, Subject};

#[derive(Debug, Deserialize)]
pub struct GroupMemberStateChange<'a> {
    #[serde(rename = "CallbackCommand", borrow)]
    pub command: Cow<'a, str>,
    #[serde(rename = "GroupId", borrow)]
    pub group_id: Cow<'a, str>,
    /// `Online` | `Offline`.
    #[serde(rename = "EventType", borrow)]
    pub event_type: Cow<'a, str>,
    /// `HeartbeatInterrupt` | `HeartbeatRecover` | `Join` | `Quit`.
    #[serde(rename = "EventCause", borrow, default)]
    pub event_cause: Option<Cow<'a, str>>,
    #[serde(rename = "MemberList", borrow)]
    pub members: Vec<Member<'a>>,
    #[serde(rename = "EventTime", default)]
    pub event_time: Option<i64>,
}

impl GroupMemberStateChange<'_> {
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            family: Family::GroupMember,
            subject: Subject::Group(&self.group_id),
            state: Some(snake_case(&self.event_type)),
            cause: self.event_cause.as_deref().map(snake_case),
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

    #[test]
    fn seed_002_sample_without_event_time_or_cause() {
        let body = r#"{"CallbackCommand": "Group.CallbackOnMemberStateChange","GroupId": "@TGS#2J4SZEAEL","EventType": "Offline","MemberList": [{"Member_Account": "jared"},{"Member_Account": "tommy"}]}"#;
        let cb = Callback::decode(
            Some(Kind::GroupMemberStateChange),
            "Group.CallbackOnMemberStateChange",
            body,
        )
        .unwrap();
        let f = cb.facts();
        assert_eq!(f.subject.id(), Some("@TGS#2J4SZEAEL"));
        assert_eq!(f.state.as_deref(), Some("offline"));
        assert_eq!(f.cause, None);
        assert_eq!(f.event_time_ms, None);
    }

    #[test]
    fn causes_become_snake_case() {
        let body = r#"{"CallbackCommand":"Group.CallbackOnMemberStateChange","GroupId":"g","EventType":"Online","EventCause":"HeartbeatRecover","MemberList":[]}"#;
        let cb = Callback::decode(
            Some(Kind::GroupMemberStateChange),
            "Group.CallbackOnMemberStateChange",
            body,
        )
        .unwrap();
        assert_eq!(cb.facts().cause.as_deref(), Some("heartbeat_recover"));
    }
}
