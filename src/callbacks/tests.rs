//! The decoder, driven by the catalog: one test per behaviour, across rows.

use super::*;

pub(super) fn decode(command: &str, body: &str) -> Result<Facts<'static>, Refusal> {
    // Leaked: a test's bodies live as long as the test.
    let body: &'static str = Box::leak(body.to_owned().into_boxed_str());
    let cb: &'static Callback<'static> = Box::leak(Box::new(Callback::decode(
        Kind::from_name(command),
        command,
        body,
    )?));
    Ok(cb.facts())
}

pub(super) fn field_error(command: &str, body: &str) -> String {
    match decode(command, body) {
        Err(Refusal::BadField(m)) => m,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn aliases_resolve_to_one_kind() {
    assert_eq!(
        Kind::from_name("Live.CallbackMemberStateChanged"),
        Some(Kind::LiveMemberStateChanged)
    );
    for k in Kind::ALL {
        assert_eq!(Kind::from_name(k.canonical()), Some(k));
    }
    assert_eq!(Kind::from_name("live.callbackafterMemberStateChanged"), None);
}

#[test]
fn not_json_and_not_object_are_told_apart() {
    let d = |b: &'static str| Callback::decode(None, "X", b);
    assert!(matches!(d("[1]"), Err(Refusal::NotObject)));
    assert!(matches!(d("  \"s\""), Err(Refusal::NotObject)));
    for bad in ["{", "nope", "", "{} x"] {
        assert!(matches!(d(bad), Err(Refusal::NotJson(_))), "{bad:?}");
    }
}

#[test]
fn other_commands_must_agree_with_the_query() {
    let d = |b: &'static str| Callback::decode(None, "X.Y", b);
    assert!(matches!(
        d(r#"{"CallbackCommand":"X.Y","a":[1]}"#),
        Ok(Callback::Other(Some(_)))
    ));
    assert!(matches!(d(r#"{"a":1}"#), Ok(Callback::Other(None))));
    assert!(matches!(
        d(r#"{"CallbackCommand":"X.Z"}"#),
        Err(Refusal::CommandMismatch { .. })
    ));
    assert_eq!(
        d(r#"{"CallbackCommand":5}"#).unwrap_err(),
        Refusal::BadField("CallbackCommand: expected string".into())
    );
}

#[test]
fn a_huge_command_is_not_echoed_whole() {
    let huge = "X".repeat(100_000);
    let body = format!(r#"{{"CallbackCommand":"{huge}"}}"#);
    let err = Callback::decode(None, &huge[..50_000], &body).unwrap_err();
    assert!(matches!(err, Refusal::CommandMismatch { .. }));
    assert!(
        err.to_string().len() < 3 * crate::refusal::MAX_QUOTED_BYTES,
        "{err}"
    );
}

#[test]
fn alias_in_query_and_canonical_in_body_agree() {
    let body = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":[]}"#;
    assert!(decode("Live.CallbackMemberStateChanged", body).is_ok());
    assert!(matches!(
        decode("Room.CallbackAfterMemberEnter", body),
        Err(Refusal::CommandMismatch { .. })
    ));
}

#[test]
fn live_member_state_seed_000() {
    let body = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room_id","EventType":"Online","EventCause":"Kicked","MemberList":[{"Member_Account": "jared"},{"Member_Account": "tommy"}],"EventTime":1703589922780}"#;
    let f = decode("Live.CallbackMemberStateChanged", body).unwrap();
    assert_eq!(f.subject, Subject::Room("room_id"));
    assert_eq!(
        (f.state.as_deref(), f.cause.as_deref()),
        (Some("online"), Some("kicked"))
    );
    assert_eq!(f.members.unwrap(), ["jared", "tommy"]);
    assert_eq!(f.event_time_ms, Some(1703589922780));
    assert_eq!((f.owner, f.kicked_platforms), (None, None));
}

#[test]
fn group_presence_seed_002_without_event_time_or_cause() {
    let body = r#"{"CallbackCommand": "Group.CallbackOnMemberStateChange","GroupId": "@TGS#2J4SZEAEL","EventType": "Offline","MemberList": [{"Member_Account": "jared"},{"Member_Account": "tommy"}]}"#;
    let f = decode("Group.CallbackOnMemberStateChange", body).unwrap();
    assert_eq!(f.subject, Subject::Group("@TGS#2J4SZEAEL"));
    assert_eq!(
        (f.state.as_deref(), f.cause, f.event_time_ms),
        (Some("offline"), None, None)
    );
}

#[test]
fn room_enter_and_leave() {
    let enter = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"user1","RoomId":"rid-123","MemberCount":20,"Type":"Enter","MemberList_Account":["user1"],"EventTime":1670574414123}"#;
    let f = decode("Room.CallbackAfterMemberEnter", enter).unwrap();
    assert_eq!(
        (f.state.as_deref(), f.cause.as_deref()),
        (Some("online"), Some("enter"))
    );
    assert_eq!((f.operator, f.member_count), (Some("user1"), Some(20)));
    assert_eq!(f.members.unwrap(), ["user1"]);
    let leave = r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":"conf-42","MemberCount":7,"MemberList_Account":["alice"],"Reason":"kicked by host"}"#;
    let f = decode("Room.CallbackAfterMemberLeave", leave).unwrap();
    assert_eq!(
        (f.state.as_deref(), f.reason),
        (Some("offline"), Some("kicked by host"))
    );
}

#[test]
fn group_join_and_exit_keep_unknown_values_in_snake_case() {
    let join = r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"@TGS#1","Type":"AVChatRoom","JoinType":"Invited","Operator_Account":"admin","NewMemberList":[{"Member_Account":"a"},{"Member_Account":"b"}]}"#;
    let f = decode("Group.CallbackAfterNewMemberJoin", join).unwrap();
    assert_eq!(
        (f.state.as_deref(), f.cause.as_deref()),
        (Some("joined"), Some("invited"))
    );
    assert_eq!(f.group_type.as_deref(), Some("av_chat_room"));
    let exit = r#"{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g","Type":"FutureGroup","ExitType":"Dissolved","ExitMemberList":[{"Member_Account":"x"}]}"#;
    let f = decode("Group.CallbackAfterMemberExit", exit).unwrap();
    assert_eq!(
        (f.state.as_deref(), f.cause.as_deref()),
        (Some("left"), Some("dissolved"))
    );
    assert_eq!(f.group_type.as_deref(), Some("future_group"));
}

#[test]
fn user_state_maps_actions_and_keeps_kicked_platforms() {
    let c = "State.StateChange";
    let login = r#"{"CallbackCommand":"State.StateChange","EventTime":1629883332497,"Info":{"Action":"Login","To_Account":"testuser316","Reason":"Register"},"KickedDevice":[{"Platform":"Windows"},{"Platform":"Android"}]}"#;
    let f = decode(c, login).unwrap();
    assert_eq!(f.family, crate::event::Family::UserState);
    assert_eq!(f.subject, Subject::User("testuser316"));
    assert_eq!(f.members.unwrap(), ["testuser316"]);
    assert_eq!(
        (f.state.as_deref(), f.cause.as_deref()),
        (Some("online"), Some("login"))
    );
    assert_eq!(f.reason, Some("Register"));
    assert_eq!(f.kicked_platforms.unwrap(), ["Windows", "Android"]);
    // Older payloads: no EventTime. Numbers as accounts.
    let old = r#"{"CallbackCommand":"State.StateChange","Info":{"Action":"Disconnect","To_Account":144115216631667826,"Reason":"TimeOut"}}"#;
    let f = decode(c, old).unwrap();
    assert_eq!(f.subject, Subject::User("144115216631667826"));
    assert_eq!(
        (f.state.as_deref(), f.cause.as_deref()),
        (Some("offline"), Some("disconnect"))
    );
    assert_eq!((f.event_time_ms, f.kicked_platforms.unwrap().len()), (None, 0));
    let custom = r#"{"CallbackCommand":"State.StateChange","Info":{"Action":"CustomStatusChange","To_Account":"u","Reason":"SetCustomStatus","CustomStatus":"busy"}}"#;
    let f = decode(c, custom).unwrap();
    assert_eq!(
        (f.state, f.cause.as_deref()),
        (None, Some("custom_status_change"))
    );
    assert_eq!(
        field_error(
            c,
            r#"{"CallbackCommand":"State.StateChange","Info":{"Action":"Login"}}"#
        ),
        "Info.To_Account: missing"
    );
}

#[test]
fn lifecycle_rows() {
    let create = r#"{"CallbackCommand":"Group.CallbackAfterCreateGroup","GroupId":"@TGS#2J4SZEAEL","Operator_Account":"group_root","Owner_Account":"leckie","Type":"Public","Name":"MyFirstGroup","MemberList":[{"Member_Account":"bob"},{"Member_Account":"peter"}],"UserDefinedDataList":[{"Key":"UserDefined1","Value":"hello"}],"EventTime":"1670574414123"}"#;
    let f = decode("Group.CallbackAfterCreateGroup", create).unwrap();
    assert_eq!(
        (f.state.as_deref(), f.owner, f.operator),
        (Some("opened"), Some("leckie"), Some("group_root"))
    );
    assert_eq!(
        (f.group_type.as_deref(), f.event_time_ms),
        (Some("public"), Some(1670574414123))
    );
    assert_eq!(f.members.unwrap(), ["bob", "peter"]);
    let community = r#"{"CallbackCommand":"Group.CallbackAfterGroupDestroyed","GroupId":"@TGS#_c","Type":"Community","Owner_Account":"o"}"#;
    let f = decode("Group.CallbackAfterGroupDestroyed", community).unwrap();
    assert_eq!(
        (f.state.as_deref(), f.members.unwrap().len()),
        (Some("closed"), 0)
    );

    let live = r#"{"CallbackCommand":"Live.CallbackAfterCreateRoom","Operator_Account":"admin","RoomInfo":{"RoomId":"tandy-test-rest","RoomType":"Live","Owner_Account":"user3","IsMessageDisabled":"true","Category":[1,2]}}"#;
    let f = decode("Live.CallbackAfterCreateRoom", live).unwrap();
    assert_eq!(
        (f.subject, f.owner, f.members),
        (Subject::Room("tandy-test-rest"), Some("user3"), None)
    );
    let gone = r#"{"CallbackCommand":"Live.CallbackAfterDestroyRoom","Operator_Account":"admin","RoomId":"tandy-test-rest","EventType":"DestroyByUser","EventTime":1703589922780,"RoomInfo":{"RoomName":"live name","Owner_Account":144115216631667826},"Statistic":{"TotalViewers":0}}"#;
    let f = decode("Live.CallbackAfterDestroyRoom", gone).unwrap();
    assert_eq!(
        (f.state.as_deref(), f.cause.as_deref()),
        (Some("closed"), Some("destroy_by_user"))
    );
    assert_eq!(f.owner, Some("144115216631667826"));
    let only_info = r#"{"CallbackCommand":"Live.CallbackAfterDestroyRoom","EventType":"DestroyBySystem","RoomInfo":{"RoomId":"436"}}"#;
    assert_eq!(
        decode("Live.CallbackAfterDestroyRoom", only_info)
            .unwrap()
            .subject,
        Subject::Room("436")
    );
    assert_eq!(
        field_error(
            "Live.CallbackAfterDestroyRoom",
            r#"{"CallbackCommand":"Live.CallbackAfterDestroyRoom","RoomInfo":{}}"#
        ),
        "RoomId: missing"
    );
    let room = r#"{"CallbackCommand":"Room.CallbackAfterCreateRoom","Operator_Account":"admin","RoomInfo":{"RoomId":"r1","Owner_Account":"user3","IsCloudRecordingDisabled":"false"},"ScheduleInviteeList_Account":["user2"],"EventTime":1703589922780}"#;
    let f = decode("Room.CallbackAfterCreateRoom", room).unwrap();
    assert_eq!((f.state.as_deref(), f.owner), (Some("opened"), Some("user3")));
    let closed = r#"{"CallbackCommand":"Room.CallbackAfterDestroyRoom","Operator_Account":"admin","RoomId":"r1","EventTime":1703589922780}"#;
    let f = decode("Room.CallbackAfterDestroyRoom", closed).unwrap();
    assert_eq!(
        (f.state.as_deref(), f.operator, f.owner),
        (Some("closed"), Some("admin"), None)
    );
}

#[test]
fn quirks_are_accepted_in_the_seed_commands_too() {
    let room = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","MemberList_Account":["u"],"EventTime":"1670574414123"}"#;
    assert_eq!(
        decode("Room.CallbackAfterMemberEnter", room)
            .unwrap()
            .event_time_ms,
        Some(1670574414123)
    );
    let live = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":[{"Member_Account":144115216631667826,"Extra":true}]}"#;
    assert_eq!(
        decode("Live.CallbackAfterMemberStateChanged", live)
            .unwrap()
            .members
            .unwrap(),
        ["144115216631667826"]
    );
    let op = r#"{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g","Operator_Account":42,"ExitMemberList":[]}"#;
    assert_eq!(
        decode("Group.CallbackAfterMemberExit", op).unwrap().operator,
        Some("42")
    );
}

#[test]
fn what_is_still_malformed_names_its_field() {
    let live = "Live.CallbackAfterMemberStateChanged";
    let with = |extra: &str| {
        format!(
            r#"{{"CallbackCommand":"{live}","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":[]{extra}}}"#
        )
    };
    assert_eq!(
        field_error(live, &with(r#","EventTime":"soon""#)),
        "EventTime: expected integer"
    );
    assert_eq!(
        field_error(live, &with(r#","RoomId":"b""#)),
        "RoomId: given more than once"
    );
    assert_eq!(
        field_error(
            live,
            &format!(
                r#"{{"CallbackCommand":"{live}","EventType":"Online","EventCause":"Enter","MemberList":[]}}"#
            )
        ),
        "RoomId: missing"
    );
    assert_eq!(
        field_error(
            live,
            &format!(
                r#"{{"CallbackCommand":"{live}","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":{{}}}}"#
            )
        ),
        "MemberList: expected array"
    );
    assert_eq!(
        field_error(
            live,
            &format!(
                r#"{{"CallbackCommand":"{live}","RoomId":null,"EventType":"Online","EventCause":"Enter","MemberList":[]}}"#
            )
        ),
        "RoomId: expected string"
    );
    let join = "Group.CallbackAfterNewMemberJoin";
    assert_eq!(
        field_error(
            join,
            r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g"}"#
        ),
        "NewMemberList: missing"
    );
    assert_eq!(
        field_error(
            join,
            r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","NewMemberList":[]}"#
        ),
        "GroupId: missing"
    );
    let enter = "Room.CallbackAfterMemberEnter";
    assert_eq!(
        field_error(
            enter,
            r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","MemberCount":"20","MemberList_Account":[]}"#
        ),
        "MemberCount: expected integer"
    );
    assert_eq!(
        field_error(
            enter,
            r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","MemberList_Account":[{"Member_Account":"x"}]}"#
        ),
        "MemberList_Account[0]: expected string"
    );
    let leave = "Room.CallbackAfterMemberLeave";
    assert_eq!(
        field_error(
            leave,
            r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":"r","MemberList_Account":[],"Reason":3}"#
        ),
        "Reason: expected string"
    );
    assert_eq!(
        field_error(
            leave,
            r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":7,"MemberList_Account":[]}"#
        ),
        "RoomId: expected string"
    );
}

#[test]
fn escaped_and_unicode_strings_decode() {
    let body = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"房间\u00e9\"1","EventType":"Offline","EventCause":"SomethingNew","MemberList":[{"Member_Account":"用户🙂"}],"Extra":{"x":1}}"#;
    let f = decode("Live.CallbackAfterMemberStateChanged", body).unwrap();
    assert_eq!(f.subject.id(), Some("房间é\"1"));
    assert_eq!(f.cause.as_deref(), Some("something_new"));
}
