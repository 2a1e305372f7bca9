use super::*;
use crate::presence::input::{Envelope, Seat};

const GRACE: i64 = 600_000;

fn fold() -> Fold {
    Fold::new(Limits {
        grace_ms: GRACE,
        departed_per_room: 1000,
    })
}

struct Ev(Input);

fn ev(source: Source, state: &str, members: &[&str], time: Option<i64>, id: &str) -> Ev {
    Ev(Input {
        source,
        envelope: Envelope {
            event_id: format!("{id:0>32}"),
            sdk_app_id: "1400000000".into(),
            room_id: (source != Source::Group).then(|| "r/1#x".into()),
            group_id: (source == Source::Group).then(|| "@TGS#g".into()),
            state: Some(state.into()),
            members: Some(members.iter().map(|m| m.to_string()).collect()),
            event_time_ms: time,
            received_at_ms: 5_000_000 + time.unwrap_or(0),
            ..Envelope::default()
        },
        ce_id: Some(format!("ce-{id}")),
    })
}

impl Ev {
    fn role(mut self, role: &str) -> Ev {
        self.0.envelope.role = Some(role.into());
        self
    }
    fn owner(mut self, owner: &str, previous: Option<&str>) -> Ev {
        self.0.envelope.owner = Some(owner.into());
        self.0.envelope.previous_owner = previous.map(Into::into);
        self
    }
    fn rx(mut self, rx: i64) -> Ev {
        self.0.envelope.received_at_ms = rx;
        self
    }
    fn ce(mut self, ce: &str) -> Ev {
        self.0.ce_id = Some(ce.into());
        self
    }
}

fn apply(f: &mut Fold, e: &Ev) -> (Verdict, Vec<Write>) {
    f.apply(&e.0, 1_000)
}

fn live_key(member: &str) -> String {
    format!(r#"["1400000000","live","r/1#x","{member}"]"#)
}

const LIVE_ROOM: &str = r#"["1400000000","live","r/1#x"]"#;

fn value(writes: &[Write], key: &str) -> Option<serde_json::Value> {
    let w = writes
        .iter()
        .rev()
        .find(|w| w.key == key)
        .unwrap_or_else(|| panic!("no write for {key}: {writes:?}"));
    w.value.as_deref().map(|v| serde_json::from_str(v).unwrap())
}

#[test]
fn keys_are_json_arrays_and_ids_with_slash_or_hash_stay_whole() {
    let mut f = fold();
    let (v, w) = apply(&mut f, &ev(Source::Live, "online", &["a/b"], Some(10), "1"));
    assert_eq!(v, Verdict::Applied);
    assert_eq!(w[0].key, r#"["1400000000","live","r/1#x","a/b"]"#);
    let m = value(&w, &w[0].key).unwrap();
    assert_eq!(m["role"], "member");
    assert_eq!(m["since_ms"], 10);
    assert_eq!(m["event_id"], format!("{:0>32}", "1"));
    assert_eq!(m["ce_id"], "ce-1");
}

#[test]
fn a_leave_tombstones_the_member_and_keeps_its_clock_on_the_room() {
    let mut f = fold();
    apply(&mut f, &ev(Source::Live, "online", &["jared"], Some(10), "1"));
    let (v, w) = apply(&mut f, &ev(Source::Live, "offline", &["jared"], Some(20), "2"));
    assert_eq!(v, Verdict::Applied);
    assert_eq!(value(&w, &live_key("jared")), None);
    let room = value(&w, LIVE_ROOM).unwrap();
    assert_eq!(room["departed"]["jared"]["clock_ms"], 20);
    assert_eq!(room["departed"]["jared"]["expires_ms"], 1_000 + GRACE);
}

#[test]
fn a_late_enter_does_not_resurrect_a_member_who_left() {
    let mut f = fold();
    apply(&mut f, &ev(Source::Live, "online", &["jared"], Some(10), "1"));
    apply(&mut f, &ev(Source::Live, "offline", &["jared"], Some(20), "2"));
    let (v, w) = apply(&mut f, &ev(Source::Live, "online", &["jared"], Some(15), "3"));
    assert_eq!((v, w), (Verdict::Late, vec![]));
    // A leave seen first, its older enter after it (a spool catch-up): still out.
    let (_, _) = apply(&mut f, &ev(Source::Live, "offline", &["tommy"], Some(30), "4"));
    let (v, _) = apply(&mut f, &ev(Source::Live, "online", &["tommy"], Some(25), "5"));
    assert_eq!(v, Verdict::Late);
    assert!(f.rooms.values().all(|r| r.members.is_empty()));
}

#[test]
fn one_event_for_several_members_is_judged_per_member() {
    let mut f = fold();
    apply(&mut f, &ev(Source::Live, "offline", &["a"], Some(30), "1"));
    let (v, w) = apply(&mut f, &ev(Source::Live, "online", &["a", "b"], Some(20), "2"));
    assert_eq!(v, Verdict::Applied);
    assert!(w.iter().all(|w| w.key != live_key("a")));
    assert!(value(&w, &live_key("b")).is_some());
}

#[test]
fn events_without_a_time_apply_in_topic_order() {
    let mut f = fold();
    apply(&mut f, &ev(Source::Group, "joined", &["a"], None, "1").rx(100));
    let (v, _) = apply(&mut f, &ev(Source::Group, "left", &["a"], None, "2").rx(50));
    assert_eq!(v, Verdict::Applied);
    let (v, _) = apply(&mut f, &ev(Source::Group, "joined", &["a"], None, "3").rx(10));
    assert_eq!(v, Verdict::Applied);
    assert_eq!(f.members(), 1);
}

#[test]
fn duplicates_by_ce_id_or_by_event_id_and_received_at_change_nothing() {
    let mut f = fold();
    let first = ev(Source::Group, "joined", &["a"], None, "1").rx(100);
    apply(&mut f, &first);
    apply(&mut f, &ev(Source::Group, "left", &["a"], None, "2").rx(200));
    // The same accepted callback re-sent: same ce_id.
    assert_eq!(
        apply(
            &mut f,
            &ev(Source::Group, "joined", &["a"], None, "9").rx(300).ce("ce-1")
        )
        .0,
        Verdict::Duplicate
    );
    // Schema 3 (ce_id = event_id): the pair decides.
    let same_pair = ev(Source::Group, "joined", &["a"], None, "1")
        .rx(100)
        .ce(&format!("{:0>32}", "1"));
    assert_eq!(apply(&mut f, &same_pair).0, Verdict::Duplicate);
    // Same body (same event_id), received later: a genuine second event.
    let again = ev(Source::Group, "joined", &["a"], None, "1")
        .rx(400)
        .ce("ce-other");
    assert_eq!(apply(&mut f, &again).0, Verdict::Applied);
    assert_eq!(f.members(), 1);
}

#[test]
fn a_closed_room_tombstones_its_members_and_later_its_own_key() {
    let mut f = fold();
    apply(
        &mut f,
        &ev(Source::Live, "opened", &[], Some(5), "0").owner("boss", None),
    );
    apply(&mut f, &ev(Source::Live, "online", &["a", "b"], Some(10), "1"));
    let (v, w) = apply(&mut f, &ev(Source::Live, "closed", &[], Some(50), "2"));
    assert_eq!(v, Verdict::Applied);
    assert_eq!(value(&w, &live_key("a")), None);
    assert_eq!(value(&w, &live_key("b")), None);
    let room = value(&w, LIVE_ROOM).unwrap();
    assert_eq!(
        (room["closed"].clone(), room["closed_ms"].clone()),
        (true.into(), 50.into())
    );
    assert_eq!(room["owner"], serde_json::Value::Null);
    // Late events of the closed room change nothing.
    assert_eq!(
        apply(&mut f, &ev(Source::Live, "online", &["a"], Some(40), "3")).0,
        Verdict::Late
    );
    assert_eq!(
        apply(
            &mut f,
            &ev(Source::Live, "role_changed", &["a"], Some(40), "4").role("admin")
        )
        .0,
        Verdict::Late
    );
    // Within the grace window the closed record stays; after it, the tombstone.
    assert!(f.expire(1_000 + GRACE - 1).is_empty());
    let w = f.expire(1_000 + GRACE);
    assert_eq!(
        w,
        vec![Write {
            key: LIVE_ROOM.into(),
            value: None
        }]
    );
    assert!(f.rooms.is_empty());
}

#[test]
fn a_role_granted_before_entering_is_kept_on_the_room_and_applies_on_entry() {
    let mut f = fold();
    let (_, w) = apply(
        &mut f,
        &ev(Source::Live, "role_changed", &["a"], Some(10), "1").role("admin"),
    );
    assert_eq!(value(&w, LIVE_ROOM).unwrap()["admins"], serde_json::json!(["a"]));
    assert!(w.iter().all(|w| w.key != live_key("a")));
    let (_, w) = apply(&mut f, &ev(Source::Live, "online", &["a"], Some(20), "2"));
    assert_eq!(value(&w, &live_key("a")).unwrap()["role"], "admin");
}

#[test]
fn a_late_grant_still_applies_after_a_later_enter_one_clock_per_kind_of_fact() {
    let mut f = fold();
    apply(&mut f, &ev(Source::Live, "online", &["a"], Some(20), "1"));
    let (v, w) = apply(
        &mut f,
        &ev(Source::Live, "role_changed", &["a"], Some(10), "2").role("admin"),
    );
    assert_eq!(v, Verdict::Applied);
    assert_eq!(value(&w, &live_key("a")).unwrap()["role"], "admin");
    // But a revoke older than the grant is late.
    let (v, _) = apply(
        &mut f,
        &ev(Source::Live, "role_changed", &["a"], Some(5), "3").role("member"),
    );
    assert_eq!(v, Verdict::Late);
    let (_, w) = apply(
        &mut f,
        &ev(Source::Live, "role_changed", &["a"], Some(30), "4").role("member"),
    );
    assert_eq!(value(&w, &live_key("a")).unwrap()["role"], "member");
    assert_eq!(value(&w, LIVE_ROOM).unwrap()["admins"], serde_json::json!([]));
}

#[test]
fn an_owner_transfer_rewrites_both_members_and_the_room() {
    let mut f = fold();
    apply(
        &mut f,
        &ev(Source::Group, "opened", &["old", "new"], None, "1").owner("old", None),
    );
    let (_, w) = apply(
        &mut f,
        &ev(Source::Group, "owner_changed", &["new"], None, "2").owner("new", Some("old")),
    );
    let group = |m: &str| format!(r#"["1400000000","group","@TGS#g","{m}"]"#);
    assert_eq!(value(&w, &group("new")).unwrap()["role"], "owner");
    assert_eq!(value(&w, &group("old")).unwrap()["role"], "member");
    assert_eq!(
        value(&w, r#"["1400000000","group","@TGS#g"]"#).unwrap()["owner"],
        "new"
    );
}

#[test]
fn a_group_opened_with_members_has_them_in() {
    let mut f = fold();
    let (_, w) = apply(
        &mut f,
        &ev(Source::Group, "opened", &["a", "b"], None, "1").owner("a", None),
    );
    let group = |m: &str| format!(r#"["1400000000","group","@TGS#g","{m}"]"#);
    assert_eq!(value(&w, &group("a")).unwrap()["role"], "owner");
    assert_eq!(value(&w, &group("b")).unwrap()["role"], "member");
}

#[test]
fn seats_go_to_the_scope_the_room_is_held_under() {
    let mut f = fold();
    apply(&mut f, &ev(Source::Room, "online", &["a"], Some(10), "1"));
    let mut seats = ev(Source::Seat, "seats_changed", &["a"], Some(20), "2");
    seats.0.envelope.seats = Some(vec![
        Seat {
            index: 0,
            member: None,
            taken_disabled: None,
            video_disabled: None,
            audio_disabled: None,
        },
        Seat {
            index: 1,
            member: Some("a".into()),
            taken_disabled: Some(false),
            video_disabled: None,
            audio_disabled: None,
        },
    ]);
    let (v, w) = apply(&mut f, &seats);
    assert_eq!(v, Verdict::Applied);
    let room = |m: &str| format!(r#"["1400000000","room","r/1#x","{m}"]"#);
    assert_eq!(value(&w, &room("a")).unwrap()["seat"], 1);
    assert_eq!(
        value(&w, r#"["1400000000","room","r/1#x"]"#).unwrap()["seats"][1]["member"],
        "a"
    );
    // A room not seen yet: live.
    let mut fresh = fold();
    let (_, w) = apply(&mut fresh, &seats);
    assert!(value(&w, LIVE_ROOM).is_some());
}

#[test]
fn trtc_enter_carries_its_role_and_a_role_change_without_state_applies() {
    let mut f = fold();
    let (_, w) = apply(
        &mut f,
        &ev(Source::Trtc, "online", &["a"], Some(10), "1").role("anchor"),
    );
    let trtc = r#"["1400000000","trtc","r/1#x","a"]"#;
    assert_eq!(value(&w, trtc).unwrap()["role"], "anchor");
    let mut change = ev(Source::Trtc, "x", &["a"], Some(20), "2").role("audience");
    change.0.envelope.state = None;
    let (_, w) = apply(&mut f, &change);
    assert_eq!(value(&w, trtc).unwrap()["role"], "audience");
}

#[test]
fn states_the_view_does_not_fold_are_irrelevant() {
    let mut f = fold();
    let (v, w) = apply(&mut f, &ev(Source::Group, "member_updated", &["a"], None, "1"));
    assert_eq!((v, w), (Verdict::Irrelevant, vec![]));
    assert!(f.rooms.is_empty());
}

/// Replays `writes` into a fresh fold, as a restore from the topic does.
fn restored(writes: &[Write]) -> Fold {
    let mut f = fold();
    for w in writes {
        assert!(f.restore(w.key.as_bytes(), w.value.as_deref().map(str::as_bytes)));
    }
    f
}

#[test]
fn the_departed_clock_outlives_the_tombstone_across_a_restore() {
    let mut f = fold();
    let mut all = Vec::new();
    all.extend(apply(&mut f, &ev(Source::Live, "online", &["a"], Some(10), "1")).1);
    all.extend(apply(&mut f, &ev(Source::Live, "offline", &["a"], Some(20), "2")).1);
    let mut g = restored(&all);
    assert_eq!(
        apply(&mut g, &ev(Source::Live, "online", &["a"], Some(15), "3")).0,
        Verdict::Late
    );
    // After the grace window, the clock goes (and the room record with it).
    let w = g.expire(1_000 + GRACE);
    assert_eq!(
        w,
        vec![Write {
            key: LIVE_ROOM.into(),
            value: None
        }]
    );
}

#[test]
fn a_redelivery_after_a_restore_is_still_a_duplicate() {
    let mut f = fold();
    let enter = ev(Source::Group, "joined", &["a"], None, "1");
    let mut all = apply(&mut f, &enter).1;
    all.extend(
        apply(
            &mut f,
            &ev(Source::Group, "role_changed", &["b"], None, "2").role("admin"),
        )
        .1,
    );
    let mut g = restored(&all);
    assert_eq!(apply(&mut g, &enter).0, Verdict::Duplicate);
    assert_eq!(
        apply(
            &mut g,
            &ev(Source::Group, "role_changed", &["b"], None, "2").role("admin")
        )
        .0,
        Verdict::Duplicate
    );
}

#[test]
fn a_restore_keeps_roles_granted_before_entry_and_the_owner() {
    let mut f = fold();
    let mut all = apply(
        &mut f,
        &ev(Source::Live, "role_changed", &["a"], Some(10), "1").role("admin"),
    )
    .1;
    all.extend(
        apply(
            &mut f,
            &ev(Source::Live, "owner_changed", &[], Some(11), "2").owner("o", Some("p")),
        )
        .1,
    );
    let mut g = restored(&all);
    let (_, w) = apply(&mut g, &ev(Source::Live, "online", &["a", "o"], Some(20), "3"));
    assert_eq!(value(&w, &live_key("a")).unwrap()["role"], "admin");
    assert_eq!(value(&w, &live_key("o")).unwrap()["role"], "owner");
}

#[test]
fn a_room_keeps_at_most_its_cap_of_departed_clocks() {
    let mut f = Fold::new(Limits {
        grace_ms: GRACE,
        departed_per_room: 2,
    });
    for (i, m) in ["a", "b", "c"].iter().enumerate() {
        apply(
            &mut f,
            &ev(Source::Live, "offline", &[m], Some(10 + i as i64), &i.to_string()),
        );
    }
    assert_eq!(f.evicted, 1);
    assert_eq!(f.rooms.values().next().unwrap().value.departed.len(), 2);
}

#[test]
fn a_record_that_is_not_ours_is_refused_on_restore() {
    let mut f = fold();
    assert!(!f.restore(b"room-1", Some(b"{}")));
    assert!(!f.restore(br#"["1","live","r","m"]"#, Some(b"not json")));
    assert!(f.rooms.is_empty());
}
