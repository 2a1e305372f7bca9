//! Roles, owners and seats: the samples Tencent publishes for these callbacks, exactly as
//! published (quirks included), and the bad inputs each row refuses.

use super::*;
use crate::event::{Family, Seat};

use super::tests::{decode, field_error};

const FIELD_CHANGED: &str = "Group.CallbackAfterMemberFieldChanged";
const GROUP_OWNER: &str = "Group.CallbackAfterChangeGroupOwner";
const MODIFY_ADMIN: &str = "Live.CallbackAfterModifyAdmin";
const LIVE_OWNER: &str = "Live.CallbackAfterChangeOwner";
const SEATS: &str = "Mic.CallbackAfterSeatInfoChanged";

/// Tencent's sample: `EventTime` a string, `Role` PascalCase.
#[test]
fn member_field_changed_sample_is_a_role_change() {
    let body = r#"{"CallbackCommand": "Group.CallbackAfterMemberFieldChanged", "GroupId": "@TGS#xxxx",
 "Type": "Community", "Operator_Account": "admin", "Member_Account": "123456",
 "Role": "Admin", "NameCard": "jacky", "EventTime": "1670574414123"}"#;
    let f = decode(FIELD_CHANGED, body).unwrap();
    assert_eq!(f.family, Family::GroupMember);
    assert_eq!(f.subject, Subject::Group("@TGS#xxxx"));
    assert_eq!(f.state.as_deref(), Some("role_changed"));
    assert_eq!(f.role.as_deref(), Some("admin"));
    assert_eq!(f.members.unwrap(), ["123456"]);
    assert_eq!(f.operator, Some("admin"));
    assert_eq!(f.group_type.as_deref(), Some("community"));
    assert_eq!(f.event_time_ms, Some(1_670_574_414_123));

    let revoked = body.replace("\"Admin\"", "\"Member\"");
    assert_eq!(
        decode(FIELD_CHANGED, &revoked).unwrap().role.as_deref(),
        Some("member")
    );
    let owner = body.replace("\"Admin\"", "\"Owner\"");
    assert_eq!(
        decode(FIELD_CHANGED, &owner).unwrap().role.as_deref(),
        Some("owner")
    );
    // Tencent adds roles: kept snake-cased, never refused.
    let new_role = body.replace("\"Admin\"", "\"SuperAdmin\"");
    assert_eq!(
        decode(FIELD_CHANGED, &new_role).unwrap().role.as_deref(),
        Some("super_admin")
    );
}

#[test]
fn a_name_card_change_alone_is_a_member_update_without_a_role() {
    let body = r#"{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"g","Type":"Public","Operator_Account":"admin","Member_Account":144115233775727695,"NameCard":"jacky","EventTime":1670574414123}"#;
    let f = decode(FIELD_CHANGED, body).unwrap();
    assert_eq!((f.state.as_deref(), f.role), (Some("member_updated"), None));
    assert_eq!(
        f.members.unwrap(),
        ["144115233775727695"],
        "exact digits above 2^53"
    );
}

#[test]
fn change_group_owner_sample() {
    let body = r#"{"CallbackCommand": "Group.CallbackAfterChangeGroupOwner", "GroupId": "@TGS#2TTV7VSII",
 "Type": "Public", "Operator_Account": "admin", "OldOwner_Account": "user1",
 "NewOwner_Account": "user2", "EventTime": "1670574414123"}"#;
    let f = decode(GROUP_OWNER, body).unwrap();
    assert_eq!(f.state.as_deref(), Some("owner_changed"));
    assert_eq!((f.owner, f.previous_owner), (Some("user2"), Some("user1")));
    assert_eq!(f.members.unwrap(), ["user2"]);
    assert_eq!(f.operator, Some("admin"));
    assert_eq!(f.event_time_ms, Some(1_670_574_414_123));
}

/// `opType`, lower-camel as Tencent spells it.
#[test]
fn modify_admin_sample() {
    let body = r#"{"CallbackCommand": "Live.CallbackAfterModifyAdmin", "RoomId": "room_id",
 "EventTime": 1703589922780, "Operator_Account": "admin",
 "Admin_Account": ["user1", "user2"], "opType": "add"}"#;
    let f = decode(MODIFY_ADMIN, body).unwrap();
    assert_eq!(f.family, Family::LiveMember);
    assert_eq!(f.subject, Subject::Room("room_id"));
    assert_eq!(
        (f.state.as_deref(), f.role.as_deref()),
        (Some("role_changed"), Some("admin"))
    );
    assert_eq!(f.members.unwrap(), ["user1", "user2"]);
    assert_eq!(f.operator, Some("admin"));
    let revoked = body.replace("\"add\"", "\"delete\"");
    assert_eq!(
        decode(MODIFY_ADMIN, &revoked).unwrap().role.as_deref(),
        Some("member")
    );
}

#[test]
fn live_change_owner_sample() {
    let body = r#"{"CallbackCommand": "Live.CallbackAfterChangeOwner", "RoomId": "room_id",
 "EventTime": 1703589922780, "Operator_Account": "admin",
 "CurrentOwner_Account": "user2", "OriginalOwner_Account": "user1"}"#;
    let f = decode(LIVE_OWNER, body).unwrap();
    assert_eq!(f.state.as_deref(), Some("owner_changed"));
    assert_eq!((f.owner, f.previous_owner), (Some("user2"), Some("user1")));
    assert_eq!((f.operator, f.members), (Some("admin"), None));
}

/// The sample as published lacks a comma before `EventTime`: not JSON (refused, and kept on
/// the DLQ by the pipeline). With the comma, every quirk: an account as a bare number above
/// 2^53, an empty seat without `Member_Account`.
#[test]
fn seat_info_sample_with_its_quirks() {
    let published = r#"{"CallbackCommand": "Mic.CallbackAfterSeatInfoChanged", "RoomId": "rid-123",
 "SeatList": [{"Index": 1, "Member_Account": 144115233775727695,
               "IsTakenDisabled": false, "IsVideoDisabled": false, "IsAudioDisabled": false}]
 "EventTime": 1670574414123}"#;
    assert!(matches!(decode(SEATS, published), Err(Refusal::NotJson(_))));
    let body = published.replace("}]\n", "},\n {\"Index\": 2, \"IsTakenDisabled\": true}],\n");
    let f = decode(SEATS, &body).unwrap();
    assert_eq!(f.family, Family::MicSeat);
    assert_eq!(f.subject, Subject::Room("rid-123"));
    assert_eq!(f.state.as_deref(), Some("seats_changed"));
    assert_eq!(f.members.as_deref(), Some(&["144115233775727695"][..]));
    assert_eq!(f.event_time_ms, Some(1_670_574_414_123));
    let seats = f.seats.unwrap();
    assert_eq!(
        seats,
        [
            Seat {
                index: 1,
                member: Some("144115233775727695".into()),
                taken_disabled: Some(false),
                video_disabled: Some(false),
                audio_disabled: Some(false),
            },
            Seat {
                index: 2,
                member: None,
                taken_disabled: Some(true),
                video_disabled: None,
                audio_disabled: None,
            },
        ]
    );
    assert_eq!(f.operator, None, "Live's variant names no operator");
}

#[test]
fn the_room_variant_of_the_seat_table_names_the_operator() {
    let body = r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"conf-9","Operator_Account":"host","SeatList":[{"Index":0,"Member_Account":"alice","IsTakenDisabled":"false","IsVideoDisabled":"true","IsAudioDisabled":null}],"EventTime":"1670574414123"}"#;
    let f = decode(SEATS, body).unwrap();
    assert_eq!(f.operator, Some("host"));
    let seat = &f.seats.unwrap()[0];
    assert_eq!(
        (seat.taken_disabled, seat.video_disabled, seat.audio_disabled),
        (Some(false), Some(true), None)
    );
    let empty = r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","SeatList":[]}"#;
    let f = decode(SEATS, empty).unwrap();
    assert_eq!((f.members.unwrap().len(), f.seats.unwrap().len()), (0, 0));
}

/// Room leave's `cause` says why: `Type` snake-cased; without `Type`, `leave` as before.
#[test]
fn room_leave_cause_comes_from_type() {
    let body = |t: &str| {
        format!(
            r#"{{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":"r",{t}"MemberList_Account":["a"],"Reason":"kicked by host"}}"#
        )
    };
    for (t, cause) in [
        (r#""Type":"Leave","#, "leave"),
        (r#""Type":"Kicked","#, "kicked"),
        (r#""Type":"Expired","#, "expired"),
        (r#""Type":"HostEnded","#, "host_ended"),
        ("", "leave"),
    ] {
        let f = decode("Room.CallbackAfterMemberLeave", &body(t)).unwrap();
        assert_eq!(f.cause.as_deref(), Some(cause), "{t}");
        assert_eq!(f.reason, Some("kicked by host"));
    }
}

#[test]
fn bad_role_owner_and_seat_input_is_refused_naming_the_field() {
    for (command, body, named) in [
        (
            FIELD_CHANGED,
            r#"{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","Member_Account":"a","Role":"Admin"}"#,
            "GroupId: missing",
        ),
        (
            FIELD_CHANGED,
            r#"{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"g","Member_Account":"a","Role":1}"#,
            "Role: expected string",
        ),
        (
            FIELD_CHANGED,
            r#"{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"g","Role":"Admin"}"#,
            "Member_Account: missing",
        ),
        (
            GROUP_OWNER,
            r#"{"CallbackCommand":"Group.CallbackAfterChangeGroupOwner","NewOwner_Account":"b"}"#,
            "GroupId: missing",
        ),
        (
            GROUP_OWNER,
            r#"{"CallbackCommand":"Group.CallbackAfterChangeGroupOwner","GroupId":"g","OldOwner_Account":"a"}"#,
            "NewOwner_Account: missing",
        ),
        (
            MODIFY_ADMIN,
            r#"{"CallbackCommand":"Live.CallbackAfterModifyAdmin","Admin_Account":["a"],"opType":"add"}"#,
            "RoomId: missing",
        ),
        (
            MODIFY_ADMIN,
            r#"{"CallbackCommand":"Live.CallbackAfterModifyAdmin","RoomId":"r","Admin_Account":"a","opType":"add"}"#,
            "Admin_Account: expected array",
        ),
        (
            MODIFY_ADMIN,
            r#"{"CallbackCommand":"Live.CallbackAfterModifyAdmin","RoomId":"r","Admin_Account":["a"],"opType":"promote"}"#,
            "opType: expected one of add, delete",
        ),
        (
            MODIFY_ADMIN,
            r#"{"CallbackCommand":"Live.CallbackAfterModifyAdmin","RoomId":"r","Admin_Account":["a"]}"#,
            "opType: missing",
        ),
        (
            LIVE_OWNER,
            r#"{"CallbackCommand":"Live.CallbackAfterChangeOwner","CurrentOwner_Account":"b"}"#,
            "RoomId: missing",
        ),
        (
            SEATS,
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","SeatList":[]}"#,
            "RoomId: missing",
        ),
        (
            SEATS,
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","SeatList":[{"Index":0},{"Member_Account":"a"}]}"#,
            "SeatList[1].Index: missing",
        ),
        (
            SEATS,
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","SeatList":[{"Index":"one"}]}"#,
            "SeatList[0].Index: expected integer",
        ),
        (
            SEATS,
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","SeatList":[{"Index":0,"IsAudioDisabled":2}]}"#,
            "SeatList[0].IsAudioDisabled: expected boolean",
        ),
        (
            SEATS,
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","SeatList":[{"Index":0,"Member_Account":true}]}"#,
            "SeatList[0].Member_Account: expected string",
        ),
        (
            SEATS,
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","SeatList":[7]}"#,
            "SeatList[0]: expected object",
        ),
        (
            SEATS,
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","SeatList":{}}"#,
            "SeatList: expected array",
        ),
        (
            SEATS,
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r"}"#,
            "SeatList: missing",
        ),
    ] {
        let got = field_error(command, body);
        assert!(got.starts_with(named), "{command} {body}: {got}");
    }
}
