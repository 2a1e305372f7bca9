//! Generators and expectations for the role, owner and seat rows (schema 4): valid bodies of
//! each, and what normalize must make of them, field by field.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::strategies::{text, Field, Generated};
use tencent_kafka_bridge::callbacks::Kind;
use tencent_kafka_bridge::event::snake_case;

/// An account as Tencent sends one: a string, or a bare number (often above 2^53). Ids take
/// both, so no "wrong type" exists for them: they are generated as not required, though the
/// row requires them (the refusal test picks only fields with a wrong type).
fn account() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => text().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => Just(json!(144_115_233_775_727_695u64)),
    ]
    .boxed()
}

/// `EventTime`: a number or a numeric string (the Group samples send a string).
fn event_time() -> BoxedStrategy<Option<Field>> {
    prop_oneof![
        1 => Just(None),
        2 => any::<i64>().prop_map(|t| Some(("EventTime", json!(t), false))),
        2 => (0..=i64::MAX).prop_map(|t| Some(("EventTime", json!(t.to_string()), false))),
    ]
    .boxed()
}

fn maybe(name: &'static str, value: BoxedStrategy<Value>) -> BoxedStrategy<Option<Field>> {
    prop_oneof![
        1 => Just(None),
        3 => value.prop_map(move |v| Some((name, v, false))),
    ]
    .boxed()
}

fn command(kind: Kind) -> Field {
    ("CallbackCommand", json!(kind.canonical()), true)
}

fn generated(kind: Kind, required: Vec<Field>, optional: Vec<Option<Field>>) -> Generated {
    let mut fields = vec![command(kind)];
    fields.extend(required);
    fields.extend(optional.into_iter().flatten());
    Generated {
        query_command: kind.canonical(),
        kind,
        fields,
    }
}

fn member_field_changed() -> BoxedStrategy<Generated> {
    let role = prop_oneof![
        Just(json!("Admin")),
        Just(json!("Member")),
        "[A-Z][a-z]{0,6}([A-Z][a-z]{0,5}){0,2}".prop_map(Value::from),
    ];
    (
        text(),
        account(),
        maybe("Role", role.boxed()),
        maybe("Type", "[A-Z][A-Za-z]{0,10}".prop_map(Value::from).boxed()),
        maybe("Operator_Account", account()),
        maybe("NameCard", text().prop_map(Value::from).boxed()),
        event_time(),
    )
        .prop_map(|(group, member, role, ty, op, card, time)| {
            generated(
                Kind::GroupMemberFieldChanged,
                vec![("GroupId", json!(group), true), ("Member_Account", member, false)],
                vec![role, ty, op, card, time],
            )
        })
        .boxed()
}

fn group_owner() -> BoxedStrategy<Generated> {
    (
        text(),
        account(),
        maybe("OldOwner_Account", account()),
        maybe("Operator_Account", account()),
        event_time(),
    )
        .prop_map(|(group, new, old, op, time)| {
            generated(
                Kind::GroupOwnerChanged,
                vec![("GroupId", json!(group), true), ("NewOwner_Account", new, false)],
                vec![old, op, time],
            )
        })
        .boxed()
}

fn modify_admin() -> BoxedStrategy<Generated> {
    (
        text(),
        proptest::collection::vec(account(), 0..4),
        prop_oneof![Just("add"), Just("delete")],
        maybe("Operator_Account", account()),
        event_time(),
    )
        .prop_map(|(room, admins, op_type, op, time)| {
            generated(
                Kind::LiveAdminModified,
                vec![
                    ("RoomId", json!(room), true),
                    ("Admin_Account", Value::Array(admins), true),
                    ("opType", json!(op_type), true),
                ],
                vec![op, time],
            )
        })
        .boxed()
}

fn live_owner() -> BoxedStrategy<Generated> {
    (
        text(),
        account(),
        maybe("OriginalOwner_Account", account()),
        maybe("Operator_Account", account()),
        event_time(),
    )
        .prop_map(|(room, current, original, op, time)| {
            generated(
                Kind::LiveOwnerChanged,
                vec![
                    ("RoomId", json!(room), true),
                    ("CurrentOwner_Account", current, false),
                ],
                vec![original, op, time],
            )
        })
        .boxed()
}

fn flag() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        any::<bool>().prop_map(|b| Some(json!(b))),
        any::<bool>().prop_map(|b| Some(json!(b.to_string()))),
    ]
    .boxed()
}

fn seat() -> BoxedStrategy<Value> {
    (0..64i64, prop::option::of(account()), flag(), flag(), flag())
        .prop_map(|(index, member, taken, video, audio)| {
            let mut seat = serde_json::Map::new();
            seat.insert("Index".into(), json!(index));
            if let Some(m) = member {
                seat.insert("Member_Account".into(), m);
            }
            for (name, v) in [
                ("IsTakenDisabled", taken),
                ("IsVideoDisabled", video),
                ("IsAudioDisabled", audio),
            ] {
                if let Some(v) = v {
                    seat.insert(name.into(), v);
                }
            }
            Value::Object(seat)
        })
        .boxed()
}

fn seats() -> BoxedStrategy<Generated> {
    (
        text(),
        proptest::collection::vec(seat(), 0..6),
        maybe("Operator_Account", account()),
        event_time(),
    )
        .prop_map(|(room, list, op, time)| {
            generated(
                Kind::SeatInfoChanged,
                vec![
                    ("RoomId", json!(room), true),
                    ("SeatList", Value::Array(list), true),
                ],
                vec![op, time],
            )
        })
        .boxed()
}

/// One valid callback of any of the five role, owner and seat commands.
pub fn valid() -> BoxedStrategy<Generated> {
    prop_oneof![
        member_field_changed(),
        group_owner(),
        modify_admin(),
        live_owner(),
        seats()
    ]
    .boxed()
}

fn field<'a>(g: &'a Generated, name: &str) -> Option<&'a Value> {
    g.fields.iter().find(|(k, _, _)| *k == name).map(|(_, v, _)| v)
}

/// An account as the envelope carries it: its exact digits when it came as a number.
fn id(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Number(n)) => json!(n.to_string()),
        Some(Value::String(s)) => json!(s),
        _ => Value::Null,
    }
}

fn flag_of(seat: &Value, name: &str) -> Value {
    match &seat[name] {
        Value::String(s) => json!(s == "true"),
        other => other.clone(),
    }
}

/// What normalize must make of a role, owner or seat callback; `false` for other kinds.
pub fn check_facts(g: &Generated, v: &Value) -> bool {
    let time = match field(g, "EventTime") {
        Some(Value::String(s)) => json!(s.parse::<i64>().unwrap()),
        Some(t) => t.clone(),
        None => Value::Null,
    };
    assert_eq!(v["event_time_ms"], time);
    assert_eq!(v["operator"], id(field(g, "Operator_Account")));
    let snake = |f: &str| {
        field(g, f)
            .and_then(Value::as_str)
            .map_or(Value::Null, |s| json!(snake_case(s)))
    };
    match g.kind {
        Kind::GroupMemberFieldChanged => {
            let state = if field(g, "Role").is_some() {
                "role_changed"
            } else {
                "member_updated"
            };
            assert_eq!((&v["state"], &v["role"]), (&json!(state), &snake("Role")));
            assert_eq!(v["members"], json!([id(field(g, "Member_Account"))]));
            assert_eq!(v["group_type"], snake("Type"));
        }
        Kind::GroupOwnerChanged | Kind::LiveOwnerChanged => {
            let (new, old) = if g.kind == Kind::GroupOwnerChanged {
                ("NewOwner_Account", "OldOwner_Account")
            } else {
                ("CurrentOwner_Account", "OriginalOwner_Account")
            };
            assert_eq!(v["state"], "owner_changed");
            assert_eq!(
                (&v["owner"], &v["previous_owner"]),
                (&id(field(g, new)), &id(field(g, old)))
            );
            let members = if g.kind == Kind::GroupOwnerChanged {
                json!([id(field(g, new))])
            } else {
                Value::Null
            };
            assert_eq!(v["members"], members);
        }
        Kind::LiveAdminModified => {
            let role = if field(g, "opType") == Some(&json!("add")) {
                "admin"
            } else {
                "member"
            };
            assert_eq!((&v["state"], &v["role"]), (&json!("role_changed"), &json!(role)));
            let admins: Vec<Value> = field(g, "Admin_Account")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|a| id(Some(a)))
                .collect();
            assert_eq!(v["members"], Value::Array(admins));
        }
        Kind::SeatInfoChanged => {
            assert_eq!(
                (&v["state"], &v["room_id"]),
                (&json!("seats_changed"), &field(g, "RoomId").cloned().unwrap())
            );
            let list = field(g, "SeatList").unwrap().as_array().unwrap();
            let want: Vec<Value> = list
                .iter()
                .map(|s| {
                    json!({
                        "index": s["Index"],
                        "member": id(s.get("Member_Account")),
                        "taken_disabled": flag_of(s, "IsTakenDisabled"),
                        "video_disabled": flag_of(s, "IsVideoDisabled"),
                        "audio_disabled": flag_of(s, "IsAudioDisabled"),
                    })
                })
                .collect();
            assert_eq!(v["seats"], Value::Array(want));
            let occupied: Vec<Value> = list
                .iter()
                .filter_map(|s| s.get("Member_Account"))
                .map(|m| id(Some(m)))
                .collect();
            assert_eq!(v["members"], Value::Array(occupied));
        }
        _ => return false,
    }
    true
}
