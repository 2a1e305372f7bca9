//! Built-in callbacks, as Tencent sends them, for `send --sample` and the demo: the seed
//! samples (comments removed; they are documentation, not wire format) and one of each other
//! modelled command, and TRTC room events (command [`TRTC`]: sent to the TRTC path, signed
//! with the TRTC key).

/// The command column of a TRTC sample: TRTC has no `CallbackCommand`.
pub const TRTC: &str = "TRTC";

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
    (
        "user-login",
        "State.StateChange",
        r#"{"CallbackCommand":"State.StateChange","EventTime":1629883332497,"Info":{"Action":"Login","To_Account":"testuser316","Reason":"Register"},"KickedDevice":[{"Platform":"Windows"},{"Platform":"Android"}]}"#,
    ),
    (
        "group-create",
        "Group.CallbackAfterCreateGroup",
        r#"{"CallbackCommand":"Group.CallbackAfterCreateGroup","EventTime":1682914763569,"GroupId":"@TGS#2Z4CLQE5CM","InviteOption":"NeedPermission","MemberList":[{"Member_Account":"PLNJEE0k"}],"Name":"test8888","Operator_Account":"PLNJEE0k","Owner_Account":"PLNJEE0k","Type":"Public"}"#,
    ),
    (
        "group-destroy",
        "Group.CallbackAfterGroupDestroyed",
        r#"{"CallbackCommand":"Group.CallbackAfterGroupDestroyed","GroupId":"@TGS#2Z4CLQE5CM","Type":"Public","Owner_Account":"PLNJEE0k","Name":"test8888","MemberList":[{"Member_Account":"PLNJEE0k"}],"EventTime":"1682914863569"}"#,
    ),
    (
        "live-create",
        "Live.CallbackAfterCreateRoom",
        r#"{"CallbackCommand":"Live.CallbackAfterCreateRoom","Operator_Account":"admin","RoomInfo":{"RoomId":"tandy-test-rest","RoomName":"tandy-test-rest","RoomType":"Live","Owner_Account":"user3","MaxMemberCount":300,"IsMessageDisabled":true,"IsSeatEnabled":true,"TakeSeatMode":"ApplyToTake","MaxSeatCount":16,"CreateTime":1703589922,"IsPublicVisible":true,"CoverURL":"cover url","Category":[1,2]}}"#,
    ),
    (
        "live-destroy",
        "Live.CallbackAfterDestroyRoom",
        r#"{"CallbackCommand":"Live.CallbackAfterDestroyRoom","Operator_Account":"admin","RoomId":"tandy-test-rest","EventType":"DestroyByUser","EventTime":1703589922780,"RoomInfo":{"RoomName":"live name","RoomType":"Live","Owner_Account":144115216631667826,"MaxMemberCount":400},"Statistic":{"TotalViewers":0,"TotalGiftsSent":0,"TotalGiftCoins":0,"TotalUniqueGiftSenders":0,"TotalLikesReceived":0}}"#,
    ),
    (
        "room-create",
        "Room.CallbackAfterCreateRoom",
        r#"{"CallbackCommand":"Room.CallbackAfterCreateRoom","Operator_Account":"admin","RoomInfo":{"RoomId":"rid-123","RoomName":"rid-123","RoomType":"Meeting","Owner_Account":"user3","MaxMemberCount":300,"MaxSeatCount":16,"IsCloudRecordingDisabled":"false","RoomStatus":"Running","ScheduleStartTime":1703589922,"ScheduleEndTime":1703593522,"CreateTime":1703589922},"ScheduleInviteeList_Account":["user2","user3"],"EventTime":1703589922780}"#,
    ),
    (
        "room-destroy",
        "Room.CallbackAfterDestroyRoom",
        r#"{"CallbackCommand":"Room.CallbackAfterDestroyRoom","Operator_Account":"admin","RoomId":"rid-123","EventTime":1703589923780}"#,
    ),
    // Roles, owners, seats: Tencent's samples (the seat table's with the comma it lacks).
    (
        "group-role",
        "Group.CallbackAfterMemberFieldChanged",
        r#"{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"@TGS#2J4SZEAEL","Type":"Public","Operator_Account":"admin","Member_Account":"jared","Role":"Admin","NameCard":"jacky","EventTime":"1670574414123"}"#,
    ),
    (
        "group-owner",
        "Group.CallbackAfterChangeGroupOwner",
        r#"{"CallbackCommand":"Group.CallbackAfterChangeGroupOwner","GroupId":"@TGS#2J4SZEAEL","Type":"Public","Operator_Account":"admin","OldOwner_Account":"jared","NewOwner_Account":"tommy","EventTime":"1670574415123"}"#,
    ),
    (
        "live-admin",
        "Live.CallbackAfterModifyAdmin",
        r#"{"CallbackCommand":"Live.CallbackAfterModifyAdmin","RoomId":"room_id","EventTime":1703589924780,"Operator_Account":"admin","Admin_Account":["jared","tommy"],"opType":"add"}"#,
    ),
    (
        "live-owner",
        "Live.CallbackAfterChangeOwner",
        r#"{"CallbackCommand":"Live.CallbackAfterChangeOwner","RoomId":"room_id","EventTime":1703589925780,"Operator_Account":"admin","CurrentOwner_Account":"tommy","OriginalOwner_Account":"jared"}"#,
    ),
    (
        "mic-seats",
        "Mic.CallbackAfterSeatInfoChanged",
        r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"rid-123","SeatList":[{"Index":1,"Member_Account":144115233775727695,"IsTakenDisabled":false,"IsVideoDisabled":false,"IsAudioDisabled":false},{"Index":2,"IsTakenDisabled":true,"IsVideoDisabled":false,"IsAudioDisabled":false}],"EventTime":1670574414123}"#,
    ),
    (
        "trtc-enter",
        TRTC,
        "{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t103,\n\t\"CallbackTs\":\t1615554923704,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t12345,\n\t\t\"EventTs\":\t1615554922,\n\t\t\"EventMsTs\":\t1615554922656,\n\t\t\"UserId\":\t\"test\",\n\t\t\"UniqueId\":\t1615554922656,\n\t\t\"Role\":\t20,\n\t\t\"TerminalType\":\t3,\n\t\t\"UserType\":\t3,\n\t\t\"Reason\":\t1\n\t}\n}",
    ),
    (
        "trtc-exit",
        TRTC,
        r#"{"EventGroupId":1,"EventType":104,"CallbackTs":1615554983704,"EventInfo":{"RoomId":12345,"EventTs":1615554982,"EventMsTs":1615554982656,"UserId":"test","UniqueId":1615554982656,"Role":20,"TerminalType":3,"UserType":3,"Reason":1}}"#,
    ),
    (
        "trtc-video",
        TRTC,
        r#"{"EventGroupId":2,"EventType":201,"CallbackTs":1615554925704,"EventInfo":{"RoomId":12345,"EventTs":1615554925,"EventMsTs":1615554925656,"UserId":"test","Role":20,"TerminalType":3,"UserType":3}}"#,
    ),
];

/// The built-in sample names, for `send --help` and its error.
pub fn names() -> Vec<&'static str> {
    SAMPLES.iter().map(|(n, _, _)| *n).collect()
}

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
            if *command == TRTC {
                assert!(crate::callbacks::trtc::decode(body).is_ok(), "{name}");
                continue;
            }
            let kind = Kind::from_name(command);
            assert!(kind.is_some(), "{name}");
            assert!(Callback::decode(kind, command, body).is_ok(), "{name}");
        }
    }
}
