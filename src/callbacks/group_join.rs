//! `Group.CallbackAfterNewMemberJoin` (Chat pages): members joined a group. Membership, not
//! presence: `state: joined`, `cause` from `JoinType` (`apply`, `invited`, later ones kept in
//! snake_case), the group type in `group_type`. No `EventTime`.

use std::borrow::Cow;

use serde::Deserialize;

use super::Member;
use crate::event::{snake_case, Facts, Family, Subject};

#[derive(Debug, Deserialize)]
pub struct GroupNewMemberJoin<'a> {
    #[serde(rename = "CallbackCommand", borrow)]
    pub command: Cow<'a, str>,
    #[serde(rename = "GroupId", borrow)]
    pub group_id: Cow<'a, str>,
    /// `Private` | `Public` | `ChatRoom` | `AVChatRoom` | `Community` | later ones.
    #[serde(rename = "Type", borrow, default)]
    pub group_type: Option<Cow<'a, str>>,
    /// `Apply` | `Invited`.
    #[serde(rename = "JoinType", borrow, default)]
    pub join_type: Option<Cow<'a, str>>,
    #[serde(rename = "Operator_Account", borrow, default)]
    pub operator: Option<Cow<'a, str>>,
    #[serde(rename = "NewMemberList", borrow)]
    pub members: Vec<Member<'a>>,
    #[serde(rename = "EventTime", default)]
    pub event_time: Option<i64>,
}

impl GroupNewMemberJoin<'_> {
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            family: Family::GroupMember,
            subject: Subject::Group(&self.group_id),
            state: Some("joined".into()),
            cause: self.join_type.as_deref().map(snake_case),
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

    const COMMAND: &str = "Group.CallbackAfterNewMemberJoin";

    #[test]
    fn join_is_membership_with_its_cause_and_group_type() {
        let body = r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"@TGS#1","Type":"AVChatRoom","JoinType":"Invited","Operator_Account":"admin","NewMemberList":[{"Member_Account":"a"},{"Member_Account":"b"}]}"#;
        let cb = Callback::decode(Kind::from_name(COMMAND), COMMAND, body).unwrap();
        let f = cb.facts();
        assert_eq!(
            (f.state.as_deref(), f.cause.as_deref()),
            (Some("joined"), Some("invited"))
        );
        assert_eq!(f.group_type.as_deref(), Some("av_chat_room"));
        assert_eq!(f.members.unwrap(), ["a", "b"]);
        assert_eq!(f.event_time_ms, None);
    }

    #[test]
    fn member_list_is_required() {
        let body =
            r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g","JoinType":"Apply"}"#;
        let err = Callback::decode(Kind::from_name(COMMAND), COMMAND, body).unwrap_err();
        assert_eq!(err, Refusal::BadField("NewMemberList: missing".into()));
    }
}
