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
    GroupMemberFieldChanged,
    GroupOwnerChanged,
    LiveAdminModified,
    LiveOwnerChanged,
    SeatInfoChanged,
}

/// How many commands the catalog models.
pub const KINDS: usize = 18;

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
    /// One id field names the one member (`Member_Account`); `[]` when absent.
    One(&'static str),
    /// The occupied seats of the row's seat table.
    Seated,
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
    /// As `Map`, but any other value is refused (`opType`: only `add` and `delete` mean
    /// anything); absent = null.
    Only(&'static str, &'static [(&'static str, &'static str)]),
    /// As `Snake`, with a value for when the field is absent.
    SnakeOr(&'static str, &'static str),
    /// The first value when the field is present, the second when it is not.
    IfPresent(&'static str, &'static str, &'static str),
}

impl Rule {
    pub(super) fn field(self) -> Option<&'static str> {
        match self {
            Rule::Snake(f)
            | Rule::Map(f, _)
            | Rule::Only(f, _)
            | Rule::SnakeOr(f, _)
            | Rule::IfPresent(f, ..) => Some(f),
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
    /// The owner before a transfer.
    pub previous_owner: Option<&'static str>,
    /// Chat/Live role (`admin`, `member`).
    pub role: Rule,
    /// The seat table ([`super::scan::Want::Seats`]).
    pub seats: Option<&'static str>,
    pub member_count: Option<&'static str>,
    /// Snake-cased.
    pub group_type: Option<&'static str>,
    /// An array of objects with a `Platform`: `[]` when absent.
    pub kicked_platforms: Option<&'static str>,
    /// Fields whose absence (or null) is refused, besides the key and `CallbackCommand`.
    pub required: &'static [&'static str],
}

mod rows;
pub use rows::ROWS;

impl Kind {
    pub const ALL: [Kind; KINDS] = {
        let mut all = [Kind::LiveMemberStateChanged; KINDS];
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
        static PLANS: LazyLock<[Plan; KINDS]> = LazyLock::new(|| ROWS.map(|r| r.plan()));
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
            Members::One(f) => plan.with(f, Want::Id),
            Members::None | Members::Key | Members::Seated => plan,
        };
        for f in [
            self.state.field(),
            self.cause.field(),
            self.role.field(),
            self.reason,
            self.group_type,
        ]
        .into_iter()
        .flatten()
        {
            plan = plan.with(f, Want::Text);
        }
        for f in [self.operator, self.owner, self.previous_owner]
            .into_iter()
            .flatten()
        {
            plan = plan.with(f, Want::Id);
        }
        if let Some(f) = self.seats {
            plan = plan.with(f, Want::Seats);
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

    /// The README's contract table is the catalog's user-facing list: every row is in it.
    #[test]
    fn the_readme_lists_all_18_commands() {
        assert_eq!(ROWS.len(), 18);
        let readme = include_str!("../../README.md");
        for row in &ROWS {
            assert!(
                readme.contains(&format!("| `{}`", row.command)),
                "{}",
                row.command
            );
        }
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
