//! Kafka does the distribution: a killed instance replaced by one joining the group, and a
//! fresh instance after a rolling stop, end in the same state, restored from the state topic.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::support::{self, broker, member, room, room_partitions, Feed, Presence};
use super::{counted, expect_state};

#[test]
fn a_killed_instance_is_replaced_by_one_joining_the_group_with_the_same_state() {
    let broker = broker();
    let brokers = broker.bootstrap();
    let group = "presence-takeover";
    let mut a = Presence::start(&brokers, group);
    let mut b = Presence::start(&brokers, group);
    let mut feed = Feed::new(&brokers);
    let rooms = support::rooms_on_every_partition(3);
    support::wait_assigned(&a);
    support::wait_assigned(&b);
    for r in &rooms {
        feed.emit(
            "live.member",
            r,
            Some("role_changed"),
            &["pre"],
            Some(10),
            json!({ "role": "admin" }),
        );
        feed.emit(
            "live.member",
            r,
            Some("online"),
            &["u1", "u2"],
            Some(100),
            json!({}),
        );
    }
    let phase1: BTreeMap<String, Value> = rooms
        .iter()
        .flat_map(|r| {
            [
                (
                    room("live", r),
                    json!({ "owner": null, "admins": ["pre"], "closed": false }),
                ),
                (member("live", r, "u1"), json!({ "role": "member" })),
                (member("live", r, "u2"), json!({ "role": "member" })),
            ]
        })
        .collect();
    expect_state(&brokers, &phase1, &[&a, &b]);
    let split = (counted(&a.metrics()), counted(&b.metrics()));
    assert!(split.0 > 0 && split.1 > 0, "both instances work: {split:?}");
    // One instance dies without a word; a replacement joins the group, as a Deployment does.
    a.stop(libc::SIGKILL);
    let c = Presence::start(&brokers, group);
    for r in &rooms {
        feed.emit("live.member", r, Some("offline"), &["u1"], Some(200), json!({}));
        feed.emit("live.member", r, Some("online"), &["u1"], Some(150), json!({}));
        feed.emit(
            "live.member",
            r,
            Some("role_changed"),
            &["later"],
            Some(250),
            json!({ "role": "admin" }),
        );
        feed.emit("live.member", r, Some("online"), &["pre"], Some(300), json!({}));
    }
    let phase2: BTreeMap<String, Value> = rooms
        .iter()
        .flat_map(|r| {
            [
                (
                    room("live", r),
                    json!({ "owner": null, "admins": ["later", "pre"], "closed": false }),
                ),
                (member("live", r, "u2"), json!({ "role": "member" })),
                (member("live", r, "pre"), json!({ "role": "admin" })),
            ]
        })
        .collect();
    let folded = expect_state(&brokers, &phase2, &[&b, &c]);
    room_partitions(&folded);
    // A graceful stop hands the partitions over and exits 0.
    assert!(b.stop(libc::SIGTERM), "SIGTERM exits 0: {}", b.log());
    let mut c = c;
    assert!(c.stop(libc::SIGTERM), "SIGTERM exits 0: {}", c.log());
}

#[test]
fn a_fresh_instance_started_after_both_stopped_knows_a_role_granted_before_it() {
    let broker = broker();
    let brokers = broker.bootstrap();
    let group = "presence-fresh";
    let mut a = Presence::start(&brokers, group);
    let mut b = Presence::start(&brokers, group);
    support::wait_assigned(&a);
    support::wait_assigned(&b);
    let rooms = support::rooms_on_every_partition(2);
    let mut feed = Feed::new(&brokers);
    for r in &rooms {
        feed.emit("live.member", r, Some("online"), &["m"], Some(100), json!({}));
        feed.emit(
            "live.member",
            r,
            Some("role_changed"),
            &["later"],
            Some(200),
            json!({ "role": "admin" }),
        );
    }
    let before: BTreeMap<String, Value> = rooms
        .iter()
        .flat_map(|r| {
            [
                (
                    room("live", r),
                    json!({ "owner": null, "admins": ["later"], "closed": false }),
                ),
                (member("live", r, "m"), json!({ "role": "member" })),
            ]
        })
        .collect();
    expect_state(&brokers, &before, &[&a, &b]);
    // A rolling stop: the second goes once the group settled on it alone.
    assert!(a.stop(libc::SIGTERM), "SIGTERM exits 0: {}", a.log());
    support::wait_holding(&b, 3);
    assert!(b.stop(libc::SIGTERM), "SIGTERM exits 0: {}", b.log());
    // The fresh instance resumes at the committed offsets: it never reads the grants again,
    // so it knows them from the state topic alone.
    let fresh = Presence::start(&brokers, group);
    support::wait_assigned_or(&fresh, || broker.log());
    for r in &rooms {
        feed.emit("live.member", r, Some("online"), &["later"], Some(300), json!({}));
    }
    let mut after = before.clone();
    for r in &rooms {
        after.insert(member("live", r, "later"), json!({ "role": "admin" }));
    }
    expect_state(&brokers, &after, &[&fresh]);
    assert_eq!(
        counted(&fresh.metrics()),
        rooms.len() as u64,
        "only the new events: {}",
        fresh.metrics()
    );
    assert!(fresh.log().contains("state restored"), "{}", fresh.log());
}
