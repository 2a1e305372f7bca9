//! Instructions per callback of decode → normalize → route, without I/O: run it under
//! `valgrind --tool=callgrind` (BENCHMARKS.md, session 5), whose counts do not move with load.
use tencent_kafka_bridge::callbacks::{Callback, Kind};
use tencent_kafka_bridge::event::{Event, Origin};
use tencent_kafka_bridge::route::{self, Topics};

const BODIES: [(&str, &str); 3] = [
    (
        "Live.CallbackAfterMemberStateChanged",
        r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room_id","EventType":"Online","EventCause":"Enter","MemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":1703589922780}"#,
    ),
    (
        "Room.CallbackAfterMemberEnter",
        r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"user1","RoomId":"rid-123","MemberCount":20,"Type":"Enter","MemberList_Account":["user1"],"EventTime":1670574414123}"#,
    ),
    (
        "Group.CallbackAfterNewMemberJoin",
        r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"@TGS#2J4SZEAEL","Type":"Public","JoinType":"Apply","Operator_Account":"jared","NewMemberList":[{"Member_Account":"jared"}]}"#,
    ),
];

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    let topics = Topics::new("tencent.");
    let mut total = 0usize;
    for i in 0..n {
        let (command, body) = BODIES[i % BODIES.len()];
        let kind = Kind::from_name(command);
        let Ok(callback) = Callback::decode(kind, command, body) else {
            eprintln!("{command}: the sample no longer decodes");
            std::process::exit(1);
        };
        let facts = callback.facts();
        let origin = Origin {
            sdk_app_id: "1400000000",
            client_ip: Some("203.0.113.9"),
            platform: Some("iOS"),
            received_at_ms: 1_700_000_000_000 + i as i64,
        };
        let event = Event::new(
            &facts,
            kind.map_or(command, |k| k.canonical()),
            origin,
            body.as_bytes(),
        );
        let record = route::event_record(&topics, facts.family, &event, body, Some("x-1"));
        total += record.value.len();
    }
    println!("{total}");
}
