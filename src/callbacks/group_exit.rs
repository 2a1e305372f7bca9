//! `Group.CallbackAfterMemberExit` (Chat pages): members quit or were removed from a group.
//! Membership: `state: left`, `cause` from `ExitType` (`kicked`, `quit`, later ones kept in
//! snake_case), the group type in `group_type`. No `EventTime`.

use std::borrow::Cow;

use serde::Deserialize;

use super::Member;
use crate::event::{snake_case, Facts, Family, Subject};

#[derive(Debug, Deserialize)]
pub struct GroupMemberExit<'a> {
    #[serde(rename = "CallbackCommand", borrow)]
    pub command: Cow<'a, str>,
    #[serde(rename = "GroupId", borrow)]
    pub group_id: Cow<'a, str>,
    #[serde(rename = "Type", borrow, default)]
    pub group_type: Option<Cow<'a, str>>,
    /// `Kicked` | `Quit`.
    #[serde(rename = "ExitType", borrow, default)]
    pub exit_type: Option<Cow<'a, str>>,
    #[serde(rename = "Operator_Account", borrow, default)]
    pub operator: Option<Cow<'a, str>>,
    #[serde(rename = "ExitMemberList", borrow)]
    pub members: Vec<Member<'a>>,
    #[serde(rename = "EventTime", default)]
    pub event_time: Option<i64>,
}

impl GroupMemberExit<'_> {
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            family: Family::GroupMember,
            subject: Subject::Group(&self.group_id),
            state: Some("left".into()),
            cause: self.exit_type.as_deref().map(snake_case),
            members: Some(self.members.iter().map(|m| m.account.as_ref()).collect()),
            operator: self.operator.as_deref(),
            member_count: None,
            event_time_ms: self.event_time,
            reason: None,
            group_type: self.group_type.as_deref().map(snake_case),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Callback, Kind};
    use crate::refusal::Refusal;

    const COMMAND: &str = "Group.CallbackAfterMemberExit";

    #[test]
    fn exit_is_membership_and_keeps_unknown_values() {
        let body = r#"{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g","Type":"FutureGroup","ExitType":"Dissolved","Operator_Account":"o","ExitMemberList":[{"Member_Account":"x"}]}"#;
        let cb = Callback::decode(Kind::from_name(COMMAND), COMMAND, body).unwrap();
        let f = cb.facts();
        assert_eq!(
            (f.state.as_deref(), f.cause.as_deref()),
            (Some("left"), Some("dissolved"))
        );
        assert_eq!(f.group_type.as_deref(), Some("future_group"));
        assert_eq!(f.operator, Some("o"));
    }

    #[test]
    fn members_must_be_objects() {
        let body =
            r#"{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g","ExitMemberList":["x"]}"#;
        let err = Callback::decode(Kind::from_name(COMMAND), COMMAND, body).unwrap_err();
        assert_eq!(
            err,
            Refusal::BadField("ExitMemberList[0]: expected object".into())
        );
    }
}
