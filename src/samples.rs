//! Built-in callbacks, as Tencent sends them, for `send --sample` and the demo: the seed
//! samples (comments removed; they are documentation, not wire format) and one of each other
//! modelled command.

/// (name, CallbackCommand as Tencent puts it in the URL, body).
pub const SAMPLES: &[(&str, &str, &str)] = &[
    (
        "live",
        "Live.CallbackMemberStateChanged",
        r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room_id","EventType":"Online","EventCause":"Enter","MemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":1703589922780}"#,
    ),
    (
        "live-kicked",
        "Live.CallbackAfterMemberStateChanged",
        r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room_id","EventType":"Offline","EventCause":"Kicked","MemberList":[{"Member_Account":"tommy"}],"EventTime":1703589923780}"#,
    ),
    (
        "group",
        "Group.CallbackOnMemberStateChange",
        r#"{"CallbackCommand":"Group.CallbackOnMemberStateChange","GroupId":"@TGS#2J4SZEAEL","EventType":"Offline","EventCause":"HeartbeatInterrupt","MemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}]}"#,
    ),
    (
        "room-enter",
        "Room.CallbackAfterMemberEnter",
        r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"user1","RoomId":"rid-123","MemberCount":20,"Type":"Enter","MemberList_Account":["user1"],"EventTime":1670574414123}"#,
    ),
    (
        "room-leave",
        "Room.CallbackAfterMemberLeave",
        r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","Operator_Account":"user1","RoomId":"rid-123","MemberCount":19,"Type":"Leave","MemberList_Account":["user1"],"Reason":"kicked by host","EventTime":1670574415123}"#,
    ),
    (
        "group-join",
        "Group.CallbackAfterNewMemberJoin",
        r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"@TGS#2J4SZEAEL","Type":"Public","JoinType":"Apply","Operator_Account":"jared","NewMemberList":[{"Member_Account":"jared"}]}"#,
    ),
    (
        "group-exit",
        "Group.CallbackAfterMemberExit",
        r#"{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"@TGS#2J4SZEAEL","Type":"Public","ExitType":"Kicked","Operator_Account":"admin","ExitMemberList":[{"Member_Account":"jared"}]}"#,
    ),
];

pub fn find(name: &str) -> Option<(&'static str, &'static str)> {
    SAMPLES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, c, b)| (*c, *b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::{Callback, Kind};

    #[test]
    fn every_sample_decodes_as_its_command() {
        for (name, command, body) in SAMPLES {
            let kind = Kind::from_name(command);
            assert!(kind.is_some(), "{name}");
            assert!(Callback::decode(kind, command, body).is_ok(), "{name}");
        }
    }
}
