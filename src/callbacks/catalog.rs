//! The catalog: one row per Tencent command the bridge models. Tencent's membership commands
//! differ in field names, not in behaviour (`MemberList` vs `NewMemberList` vs
//! `MemberList_Account`, `EventCause` vs `JoinType`), so a command of a known shape is a row
//! here plus a sample and a test case; the decoder in `mod.rs` is driven by the row.
//!
//! Field names are exactly Tencent's; a dotted path reaches one object down
//! (`RoomInfo.RoomId`). Every row reads `EventTime` (a number or a numeric string, absent =
//! null) and checks `CallbackCommand` against the query. Booleans never reach the envelope, so
//! `true` and `"true"` alike are simply kept in `raw`, as are fields no row names.

use std::sync::LazyLock;

use crate::event::Family;

use super::scan::{Plan, Want};

/// The commands the bridge models; `ROWS[kind as usize]` is the kind's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    LiveMemberStateChanged,
    GroupMemberStateChange,
    RoomMemberEnter,
    RoomMemberLeave,
    GroupNewMemberJoin,
    GroupMemberExit,
    UserStateChange,
    GroupCreated,
    GroupDestroyed,
    LiveRoomCreated,
    LiveRoomDestroyed,
    RoomCreated,
    RoomDestroyed,
}

/// What the Kafka key (and `room_id` / `group_id`) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Room,
    Group,
    /// A Chat user (`user.state`): neither room nor group; the account is the key.
    User,
}

/// Where `members` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// The command names no member: `members` is null.
    None,
    /// An array of objects whose `Member_Account` is the id; `[]` when absent and optional.
    Objects(&'static str),
    /// An array of ids.
    Ids(&'static str),
    /// The key itself is the one member (`State.StateChange`).
    Key,
}

/// How `state` or `cause` is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Null,
    Fixed(&'static str),
    /// The field's value in snake_case; values Tencent adds later are kept, not refused.
    Snake(&'static str),
    /// The field's value looked up in the table; null for any other value.
    Map(&'static str, &'static [(&'static str, &'static str)]),
}

impl Rule {
    fn field(self) -> Option<&'static str> {
        match self {
            Rule::Snake(f) | Rule::Map(f, _) => Some(f),
            Rule::Null | Rule::Fixed(_) => None,
        }
    }
}

/// One modelled command.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub kind: Kind,
    /// The canonical spelling: the envelope's `command` and `ce_type`.
    pub command: &'static str,
    /// Other spellings Tencent uses for it.
    pub aliases: &'static [&'static str],
    pub family: Family,
    pub subject: Subject,
    /// The key's field; the first one present wins. All absent: the first is named missing.
    pub key: &'static [&'static str],
    pub members: Members,
    pub state: Rule,
    pub cause: Rule,
    /// Tencent's free text, verbatim.
    pub reason: Option<&'static str>,
    pub operator: Option<&'static str>,
    pub owner: Option<&'static str>,
    pub member_count: Option<&'static str>,
    /// Snake-cased.
    pub group_type: Option<&'static str>,
    /// An array of objects with a `Platform`: `[]` when absent.
    pub kicked_platforms: Option<&'static str>,
    /// Fields whose absence (or null) is refused, besides the key and `CallbackCommand`.
    pub required: &'static [&'static str],
}

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
    member_count: None,
    group_type: None,
    kicked_platforms: None,
    required: &[],
};

const OPERATOR: Option<&str> = Some("Operator_Account");
const ROOM_OWNER: Option<&str> = Some("RoomInfo.Owner_Account");

/// The catalog, in [`Kind`] order.
pub const ROWS: [Row; 13] = [
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
    // On their own, kicked, or heartbeat expired: `Reason` says which, in free text.
    Row {
        kind: Kind::RoomMemberLeave,
        command: "Room.CallbackAfterMemberLeave",
        family: Family::RoomMember,
        members: Members::Ids("MemberList_Account"),
        state: Rule::Fixed("offline"),
        cause: Rule::Fixed("leave"),
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
];

impl Kind {
    pub const ALL: [Kind; 13] = {
        let mut all = [Kind::LiveMemberStateChanged; 13];
        let mut i = 0;
        while i < ROWS.len() {
            all[i] = ROWS[i].kind;
            i += 1;
        }
        all
    };

    /// `None` for a command we do not model (the passthrough). Aliases resolve here only.
    pub fn from_name(name: &str) -> Option<Kind> {
        ROWS.iter()
            .find(|r| r.command == name || r.aliases.contains(&name))
            .map(|r| r.kind)
    }

    pub fn row(self) -> &'static Row {
        &ROWS[self as usize]
    }

    pub fn canonical(self) -> &'static str {
        self.row().command
    }

    /// The row's [`Plan`], built once.
    pub fn plan(self) -> &'static Plan {
        static PLANS: LazyLock<[Plan; 13]> = LazyLock::new(|| ROWS.map(|r| r.plan()));
        &PLANS[self as usize]
    }
}

impl Row {
    /// Every field the row reads, with how it is read.
    pub fn plan(&self) -> Plan {
        let id_or_text = if self.subject == Subject::User {
            Want::Id
        } else {
            Want::Text
        };
        let mut plan = Plan::new()
            .with("CallbackCommand", Want::Text)
            .with("EventTime", Want::LenientInt);
        for key in self.key {
            plan = plan.with(key, id_or_text);
        }
        plan = match self.members {
            Members::Objects(f) => plan.with(f, Want::Objects("Member_Account")),
            Members::Ids(f) => plan.with(f, Want::Ids),
            Members::None | Members::Key => plan,
        };
        for f in [
            self.state.field(),
            self.cause.field(),
            self.reason,
            self.group_type,
        ]
        .into_iter()
        .flatten()
        {
            plan = plan.with(f, Want::Text);
        }
        for f in [self.operator, self.owner].into_iter().flatten() {
            plan = plan.with(f, Want::Id);
        }
        if let Some(f) = self.member_count {
            plan = plan.with(f, Want::Int);
        }
        if let Some(f) = self.kicked_platforms {
            plan = plan.with(f, Want::Objects("Platform"));
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_in_kind_order_and_names_are_unique() {
        for (i, row) in ROWS.iter().enumerate() {
            assert_eq!(row.kind as usize, i, "{}", row.command);
            assert_eq!(Kind::from_name(row.command), Some(row.kind));
            for alias in row.aliases {
                assert_eq!(Kind::from_name(alias), Some(row.kind));
            }
        }
        assert_eq!(Kind::ALL.len(), ROWS.len());
    }

    #[test]
    fn every_plan_fits_and_reaches_at_most_one_object_down() {
        for row in &ROWS {
            let plan = row.plan();
            for f in row.key.iter().chain(row.required) {
                assert!(plan.index(f).is_some(), "{}: {f}", row.command);
            }
            for f in row.key {
                assert!(f.matches('.').count() <= 1, "{f}");
            }
        }
    }
}
