//! The catalog's table: one row per modelled command, in [`Kind`] order. Field names exactly
//! as Tencent publishes them (their samples and quirks are the unit tests in `callbacks/tests.rs` and `roles_tests.rs`).

use super::{Kind, Members, Row, Rule, Subject, KINDS};
use crate::event::Family;

const BASE: Row = Row {
    kind: Kind::LiveMemberStateChanged,
    command: "",
    aliases: &[],
    family: Family::Other,
    subject: Subject::Room,
    key: &["RoomId"],
    members: Members::None,
    state: Rule::Null,
    cause: Rule::Null,
    reason: None,
    operator: None,
    owner: None,
    previous_owner: None,
    role: Rule::Null,
    seats: None,
    member_count: None,
    group_type: None,
    kicked_platforms: None,
    required: &[],
};

const OPERATOR: Option<&str> = Some("Operator_Account");
const ROOM_OWNER: Option<&str> = Some("RoomInfo.Owner_Account");

/// The catalog, in [`Kind`] order.
pub const ROWS: [Row; KINDS] = [
    // Seeds 000/001. The Live page's URL table spells it without "After".
    Row {
        kind: Kind::LiveMemberStateChanged,
        command: "Live.CallbackAfterMemberStateChanged",
        aliases: &["Live.CallbackMemberStateChanged"],
        family: Family::LiveMember,
        members: Members::Objects("MemberList"),
        state: Rule::Snake("EventType"),
        cause: Rule::Snake("EventCause"),
        required: &["EventType", "EventCause", "MemberList"],
        ..BASE
    },
    // Seed 002: no EventTime; EventCause appears only as a comment, so it is optional.
    Row {
        kind: Kind::GroupMemberStateChange,
        command: "Group.CallbackOnMemberStateChange",
        family: Family::GroupMember,
        subject: Subject::Group,
        key: &["GroupId"],
        members: Members::Objects("MemberList"),
        state: Rule::Snake("EventType"),
        cause: Rule::Snake("EventCause"),
        required: &["EventType", "MemberList"],
        ..BASE
    },
    // Seed 003: the member list is plain strings. Being in a room is presence.
    Row {
        kind: Kind::RoomMemberEnter,
        command: "Room.CallbackAfterMemberEnter",
        family: Family::RoomMember,
        members: Members::Ids("MemberList_Account"),
        state: Rule::Fixed("online"),
        cause: Rule::Fixed("enter"),
        operator: OPERATOR,
        member_count: Some("MemberCount"),
        required: &["MemberList_Account"],
        ..BASE
    },
    // `Type`: Leave (on their own), Kicked, or Expired (heartbeat lost); `Reason` is free
    // text. Bodies without `Type` said `leave` before schema 4, and still do.
    Row {
        kind: Kind::RoomMemberLeave,
        command: "Room.CallbackAfterMemberLeave",
        family: Family::RoomMember,
        members: Members::Ids("MemberList_Account"),
        state: Rule::Fixed("offline"),
        cause: Rule::SnakeOr("Type", "leave"),
        reason: Some("Reason"),
        operator: OPERATOR,
        member_count: Some("MemberCount"),
        required: &["MemberList_Account"],
        ..BASE
    },
    // Membership, not presence.
    Row {
        kind: Kind::GroupNewMemberJoin,
        command: "Group.CallbackAfterNewMemberJoin",
        family: Family::GroupMember,
        subject: Subject::Group,
        key: &["GroupId"],
        members: Members::Objects("NewMemberList"),
        state: Rule::Fixed("joined"),
        cause: Rule::Snake("JoinType"),
        operator: OPERATOR,
        group_type: Some("Type"),
        required: &["NewMemberList"],
        ..BASE
    },
    Row {
        kind: Kind::GroupMemberExit,
        command: "Group.CallbackAfterMemberExit",
        family: Family::GroupMember,
        subject: Subject::Group,
        key: &["GroupId"],
        members: Members::Objects("ExitMemberList"),
        state: Rule::Fixed("left"),
        cause: Rule::Snake("ExitType"),
        operator: OPERATOR,
        group_type: Some("Type"),
        required: &["ExitMemberList"],
        ..BASE
    },
    // A Chat user's own connection. Action/Reason pairs vary on the wire: none is checked.
    Row {
        kind: Kind::UserStateChange,
        command: "State.StateChange",
        family: Family::UserState,
        subject: Subject::User,
        key: &["Info.To_Account"],
        members: Members::Key,
        state: Rule::Map(
            "Info.Action",
            &[
                ("Login", "online"),
                ("Logout", "offline"),
                ("Disconnect", "offline"),
            ],
        ),
        cause: Rule::Snake("Info.Action"),
        reason: Some("Info.Reason"),
        kicked_platforms: Some("KickedDevice"),
        ..BASE
    },
    // Lifecycle: `opened` = the group now exists; `closed` = it and every membership are gone.
    // Communities send no MemberList: `[]`.
    Row {
        kind: Kind::GroupCreated,
        command: "Group.CallbackAfterCreateGroup",
        family: Family::GroupMember,
        subject: Subject::Group,
        key: &["GroupId"],
        members: Members::Objects("MemberList"),
        state: Rule::Fixed("opened"),
        operator: OPERATOR,
        owner: Some("Owner_Account"),
        group_type: Some("Type"),
        ..BASE
    },
    Row {
        kind: Kind::GroupDestroyed,
        command: "Group.CallbackAfterGroupDestroyed",
        family: Family::GroupMember,
        subject: Subject::Group,
        key: &["GroupId"],
        members: Members::Objects("MemberList"),
        state: Rule::Fixed("closed"),
        operator: OPERATOR,
        owner: Some("Owner_Account"),
        group_type: Some("Type"),
        ..BASE
    },
    Row {
        kind: Kind::LiveRoomCreated,
        command: "Live.CallbackAfterCreateRoom",
        family: Family::LiveMember,
        key: &["RoomInfo.RoomId"],
        state: Rule::Fixed("opened"),
        operator: OPERATOR,
        owner: ROOM_OWNER,
        ..BASE
    },
    // `EventType`: DestroyByUser, or DestroyBySystem (the room was empty).
    Row {
        kind: Kind::LiveRoomDestroyed,
        command: "Live.CallbackAfterDestroyRoom",
        family: Family::LiveMember,
        key: &["RoomId", "RoomInfo.RoomId"],
        state: Rule::Fixed("closed"),
        cause: Rule::Snake("EventType"),
        operator: OPERATOR,
        owner: ROOM_OWNER,
        ..BASE
    },
    Row {
        kind: Kind::RoomCreated,
        command: "Room.CallbackAfterCreateRoom",
        family: Family::RoomMember,
        key: &["RoomInfo.RoomId"],
        state: Rule::Fixed("opened"),
        operator: OPERATOR,
        owner: ROOM_OWNER,
        ..BASE
    },
    Row {
        kind: Kind::RoomDestroyed,
        command: "Room.CallbackAfterDestroyRoom",
        family: Family::RoomMember,
        state: Rule::Fixed("closed"),
        operator: OPERATOR,
        ..BASE
    },
    // Roles, owners, seats (catalog.md). `Role`: Admin granted, Member revoked; a name-card
    // change alone comes without it.
    Row {
        kind: Kind::GroupMemberFieldChanged,
        command: "Group.CallbackAfterMemberFieldChanged",
        family: Family::GroupMember,
        subject: Subject::Group,
        key: &["GroupId"],
        members: Members::One("Member_Account"),
        state: Rule::IfPresent("Role", "role_changed", "member_updated"),
        role: Rule::Snake("Role"),
        operator: OPERATOR,
        group_type: Some("Type"),
        required: &["Member_Account"],
        ..BASE
    },
    Row {
        kind: Kind::GroupOwnerChanged,
        command: "Group.CallbackAfterChangeGroupOwner",
        family: Family::GroupMember,
        subject: Subject::Group,
        key: &["GroupId"],
        members: Members::One("NewOwner_Account"),
        state: Rule::Fixed("owner_changed"),
        operator: OPERATOR,
        owner: Some("NewOwner_Account"),
        previous_owner: Some("OldOwner_Account"),
        group_type: Some("Type"),
        required: &["NewOwner_Account"],
        ..BASE
    },
    // `opType`, lower-camel as Tencent spells it.
    Row {
        kind: Kind::LiveAdminModified,
        command: "Live.CallbackAfterModifyAdmin",
        family: Family::LiveMember,
        members: Members::Ids("Admin_Account"),
        state: Rule::Fixed("role_changed"),
        role: Rule::Only("opType", &[("add", "admin"), ("delete", "member")]),
        operator: OPERATOR,
        required: &["Admin_Account", "opType"],
        ..BASE
    },
    Row {
        kind: Kind::LiveOwnerChanged,
        command: "Live.CallbackAfterChangeOwner",
        family: Family::LiveMember,
        state: Rule::Fixed("owner_changed"),
        operator: OPERATOR,
        owner: Some("CurrentOwner_Account"),
        previous_owner: Some("OriginalOwner_Account"),
        required: &["CurrentOwner_Account"],
        ..BASE
    },
    // Live and Room alike; `SeatList` is every seat (a snapshot, not a delta). The Room
    // variant adds `Operator_Account`.
    Row {
        kind: Kind::SeatInfoChanged,
        command: "Mic.CallbackAfterSeatInfoChanged",
        family: Family::MicSeat,
        members: Members::Seated,
        state: Rule::Fixed("seats_changed"),
        operator: OPERATOR,
        seats: Some("SeatList"),
        required: &["SeatList"],
        ..BASE
    },
];
