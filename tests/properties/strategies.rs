//! Generators for the property tests: valid callbacks of every modelled command, laid out the
//! ways Tencent might (any field order, any whitespace, extra fields), and arbitrary JSON.

use proptest::prelude::*;
use serde_json::{json, Value};

use tencent_kafka_bridge::callbacks::Kind;

/// A body field: its name, its value, and whether the command requires it.
pub type Field = (&'static str, Value, bool);

/// A generated callback: the command in the query, its kind, and the body's fields.
#[derive(Debug, Clone)]
pub struct Generated {
    pub query_command: &'static str,
    pub kind: Kind,
    pub fields: Vec<Field>,
}

/// Any text a JSON string can carry: quotes, backslashes, controls, non-ASCII, emoji.
pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-zA-Z0-9@#_-]{0,16}",
        1 => "\\PC{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
        1 => Just("\"\\/\u{0}\u{1f}\u{7f}\u{2028}é房间🙂".to_owned()),
    ]
    .boxed()
}

/// Tencent's PascalCase enum values: the documented ones and ones it may add later.
fn enum_value(known: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(known).prop_map(str::to_owned),
        1 => "[A-Z][a-z]{0,6}([A-Z0-9][a-z]{0,5}){0,3}",
    ]
    .boxed()
}

fn millis() -> BoxedStrategy<Value> {
    prop_oneof![Just(json!(1703589922780i64)), any::<i64>().prop_map(Value::from)].boxed()
}

/// Absent, null, or present: Tencent leaves optional fields out; null reads the same.
fn optional(
    name: &'static str,
    value: impl Strategy<Value = Value> + 'static,
) -> BoxedStrategy<Option<Field>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some((name, Value::Null, false))),
        3 => value.prop_map(move |v| Some((name, v, false))),
    ]
    .boxed()
}

fn members_objects(name: &'static str) -> BoxedStrategy<Field> {
    proptest::collection::vec(text(), 0..5)
        .prop_map(move |accounts| {
            let list = accounts
                .into_iter()
                .map(|a| json!({ "Member_Account": a }))
                .collect();
            (name, Value::Array(list), true)
        })
        .boxed()
}

fn members_strings() -> BoxedStrategy<Field> {
    proptest::collection::vec(text(), 0..5)
        .prop_map(|a| ("MemberList_Account", json!(a), true))
        .boxed()
}

fn required(name: &'static str, value: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Field> {
    value.prop_map(move |v| (name, Value::String(v), true)).boxed()
}

fn collect(required: Vec<Field>, optional: Vec<Option<Field>>) -> Vec<Field> {
    required
        .into_iter()
        .chain(optional.into_iter().flatten())
        .collect()
}

const TYPES: &[&str] = &["Online", "Offline"];
const LIVE_CAUSES: &[&str] = &[
    "Enter",
    "Leave",
    "HeartbeatInterrupt",
    "HeartbeatRecover",
    "Kicked",
];
const GROUP_CAUSES: &[&str] = &["HeartbeatInterrupt", "HeartbeatRecover", "Join", "Quit"];
const GROUP_TYPES: &[&str] = &["Private", "Public", "ChatRoom", "AVChatRoom", "Community"];

fn live() -> BoxedStrategy<Generated> {
    let body_command = prop_oneof![
        Just("Live.CallbackAfterMemberStateChanged"),
        Just("Live.CallbackMemberStateChanged")
    ];
    let query_command = body_command.clone();
    (
        (body_command, query_command),
        required("RoomId", text()),
        required("EventType", enum_value(TYPES)),
        required("EventCause", enum_value(LIVE_CAUSES)),
        members_objects("MemberList"),
        optional("EventTime", millis()),
    )
        .prop_map(
            |((body_cmd, query_cmd), room, ty, cause, members, time)| Generated {
                query_command: query_cmd,
                kind: Kind::LiveMemberStateChanged,
                fields: collect(
                    vec![
                        ("CallbackCommand", json!(body_cmd), true),
                        room,
                        ty,
                        cause,
                        members,
                    ],
                    vec![time],
                ),
            },
        )
        .boxed()
}

fn group_state() -> BoxedStrategy<Generated> {
    (
        required("GroupId", text()),
        required("EventType", enum_value(TYPES)),
        optional("EventCause", enum_value(GROUP_CAUSES).prop_map(Value::from)),
        members_objects("MemberList"),
        optional("EventTime", millis()),
    )
        .prop_map(|(group, ty, cause, members, time)| {
            let command = (
                "CallbackCommand",
                json!(Kind::GroupMemberStateChange.canonical()),
                true,
            );
            Generated {
                query_command: Kind::GroupMemberStateChange.canonical(),
                kind: Kind::GroupMemberStateChange,
                fields: collect(vec![command, group, ty, members], vec![cause, time]),
            }
        })
        .boxed()
}

fn room(kind: Kind) -> BoxedStrategy<Generated> {
    let kind_type = if kind == Kind::RoomMemberEnter {
        "Enter"
    } else {
        "Leave"
    };
    (
        required("RoomId", text()),
        members_strings(),
        optional("Operator_Account", text().prop_map(Value::from)),
        optional("MemberCount", any::<i64>().prop_map(Value::from)),
        optional(
            "Type",
            prop_oneof![Just(json!(kind_type)), text().prop_map(Value::from)],
        ),
        optional("EventTime", millis()),
        optional("Reason", text().prop_map(Value::from)),
    )
        .prop_map(move |(room, members, op, count, ty, time, reason)| {
            let reason = if kind == Kind::RoomMemberLeave {
                reason
            } else {
                None
            };
            Generated {
                query_command: kind.canonical(),
                kind,
                fields: collect(
                    vec![("CallbackCommand", json!(kind.canonical()), true), room, members],
                    vec![op, count, ty, time, reason],
                ),
            }
        })
        .boxed()
}

fn group_membership(kind: Kind) -> BoxedStrategy<Generated> {
    type Names = (&'static str, &'static str, &'static [&'static str]);
    let (list, cause, causes): Names = if kind == Kind::GroupNewMemberJoin {
        ("NewMemberList", "JoinType", &["Apply", "Invited"])
    } else {
        ("ExitMemberList", "ExitType", &["Kicked", "Quit"])
    };
    (
        required("GroupId", text()),
        members_objects(list),
        optional(cause, enum_value(causes).prop_map(Value::from)),
        optional("Type", enum_value(GROUP_TYPES).prop_map(Value::from)),
        optional("Operator_Account", text().prop_map(Value::from)),
        optional("EventTime", millis()),
    )
        .prop_map(move |(group, members, cause, ty, op, time)| Generated {
            query_command: kind.canonical(),
            kind,
            fields: collect(
                vec![("CallbackCommand", json!(kind.canonical()), true), group, members],
                vec![cause, ty, op, time],
            ),
        })
        .boxed()
}

/// One valid callback of any of the seven member commands (the Live alias counted), or of
/// the five role, owner and seat commands.
fn valid() -> BoxedStrategy<Generated> {
    prop_oneof![
        1 => live(),
        1 => group_state(),
        1 => room(Kind::RoomMemberEnter),
        1 => room(Kind::RoomMemberLeave),
        1 => group_membership(Kind::GroupNewMemberJoin),
        1 => group_membership(Kind::GroupMemberExit),
        5 => super::roles::valid(),
    ]
    .boxed()
}

/// Fields Tencent may add: ignored by decode, kept in `raw`.
fn extras() -> BoxedStrategy<Vec<(String, Value)>> {
    proptest::collection::vec(("Extra_[A-Za-z]{1,6}", json_value()), 0..3).boxed()
}

/// The body as Tencent might lay it out: any field order, any whitespace between tokens.
fn render(fields: &[(String, Value)], seps: &[&str]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, (k, v))| format!("{}:{}{}", json!(k), seps[i % seps.len()], v))
        .collect();
    format!("{{{}}}", parts.join(&format!(",{}", seps[0])))
}

pub fn body() -> BoxedStrategy<(Generated, String)> {
    let seps = proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("\n"), Just("\t ")], 1..4);
    (valid(), extras(), seps)
        .prop_flat_map(|(g, extras, seps)| {
            let mut all: Vec<(String, Value)> = g
                .fields
                .iter()
                .map(|(k, v, _)| ((*k).to_owned(), v.clone()))
                .collect();
            all.extend(extras);
            (Just(g), Just(all).prop_shuffle(), Just(seps))
        })
        .prop_map(|(g, all, seps)| {
            let body = render(&all, &seps);
            (g, body)
        })
        .boxed()
}

/// Any JSON value, nested a few levels.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[A-Za-z_]{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

pub fn field_name() -> BoxedStrategy<String> {
    const NAMES: &[&str] = &[
        "CallbackCommand",
        "RoomId",
        "GroupId",
        "EventType",
        "EventCause",
        "MemberList",
        "MemberList_Account",
        "NewMemberList",
        "ExitMemberList",
        "EventTime",
        "MemberCount",
        "Operator_Account",
        "Type",
        "JoinType",
        "ExitType",
        "Reason",
        "Member_Account",
        "Role",
        "NewOwner_Account",
        "OldOwner_Account",
        "Admin_Account",
        "opType",
        "CurrentOwner_Account",
        "OriginalOwner_Account",
        "SeatList",
    ];
    prop_oneof![4 => proptest::sample::select(NAMES).prop_map(str::to_owned), 1 => "[A-Za-z_]{0,10}"].boxed()
}
