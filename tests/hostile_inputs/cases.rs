//! The hostile cases: every body and query the bridge must refuse (with what status, code and
//! ErrorInfo), and the hostile-but-valid bodies it must accept.

use serde_json::{json, Value};

use super::common::bridge::{APP_ID, TOKEN};
use tencent_kafka_bridge::auth::sign_hex;
use tencent_kafka_bridge::tools::samples;

pub const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
pub const ROOM: &str = "Room.CallbackAfterMemberEnter";

/// One request and what must come of it.
pub struct Case {
    pub what: String,
    pub query: String,
    pub body: Vec<u8>,
    pub status: u16,
    pub code: i64,
    /// The exact ErrorInfo, when it matters.
    pub info: Option<String>,
}

impl Case {
    pub fn new(what: &str, query: String, body: impl Into<Vec<u8>>, status: u16, code: i64) -> Case {
        Case {
            what: what.into(),
            query,
            body: body.into(),
            status,
            code,
            info: None,
        }
    }

    pub fn info(mut self, info: &str) -> Case {
        self.info = Some(info.into());
        self
    }

    /// The README's error table: authentic callbacks refused for their content are kept.
    pub fn dlq(&self) -> bool {
        (4003..=4007).contains(&self.code)
    }
}

pub fn now() -> i64 {
    tencent_kafka_bridge::clock::now_ms() / 1000
}

/// The query Tencent sends for `command`, with `extra` parameters, signed at `time`.
pub fn query_at(command: &str, extra: &str, time: i64) -> String {
    let (t, app) = (time.to_string(), APP_ID);
    let sign = sign_hex(TOKEN, &t);
    format!("/callback?SdkAppid={app}&CallbackCommand={command}&contenttype=json&ClientIP=10.0.0.7{extra}&RequestTime={t}&Sign={sign}")
}

pub fn signed(command: &str) -> String {
    query_at(command, "", now())
}

pub fn sample(name: &str) -> (&'static str, Value) {
    let (command, body) = samples::find(name).unwrap();
    (command, serde_json::from_str(body).unwrap())
}

/// The Live sample with `field` set to `raw_value`, spliced in as text (it may be any JSON).
pub fn live_with(field: &str, raw_value: &str) -> String {
    let (_, mut v) = sample("live");
    v.as_object_mut().unwrap().remove(field);
    let body = v.to_string();
    format!("{},\"{field}\":{raw_value}}}", &body[..body.len() - 1])
}

pub fn marked(marker: &str) -> String {
    live_with("Marker", &format!("\"{marker}\""))
}

pub fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// Every required field of every command: missing, then each JSON type it is not.
pub fn wrong_type_cases() -> Vec<Case> {
    let table: [(&str, &[&str]); 6] = [
        (
            "live",
            &[
                "CallbackCommand",
                "RoomId",
                "EventType",
                "EventCause",
                "MemberList",
            ],
        ),
        (
            "group",
            &["CallbackCommand", "GroupId", "EventType", "MemberList"],
        ),
        ("room-enter", &["CallbackCommand", "RoomId", "MemberList_Account"]),
        ("room-leave", &["CallbackCommand", "RoomId", "MemberList_Account"]),
        ("group-join", &["CallbackCommand", "GroupId", "NewMemberList"]),
        ("group-exit", &["CallbackCommand", "GroupId", "ExitMemberList"]),
    ];
    let types = [
        json!(null),
        json!(true),
        json!(7),
        json!(1.5),
        json!("s"),
        json!([]),
        json!({}),
    ];
    let mut cases = Vec::new();
    for (name, fields) in table {
        let (command, body) = sample(name);
        for field in fields {
            let want = body[*field].clone();
            let mut b = body.clone();
            b.as_object_mut().unwrap().remove(*field);
            let what = format!("{name} {field} missing");
            cases.push(
                Case::new(&what, signed(command), b.to_string(), 400, 4005)
                    .info(&format!("{field}: missing")),
            );
            let expected = if want.is_string() { "string" } else { "array" };
            let wrong = types
                .iter()
                .filter(|t| t.is_string() != want.is_string() || t.is_array() != want.is_array());
            for value in wrong {
                b[*field] = value.clone();
                let what = format!("{name} {field}={value}");
                let info = format!("{field}: expected {expected}");
                cases.push(Case::new(&what, signed(command), b.to_string(), 400, 4005).info(&info));
            }
        }
    }
    // A number is an account id (its digits); other types are not.
    for wrong in ["null", "true", "1.5", "[]", "{}"] {
        let body = live_with("MemberList", &format!("[{{\"Member_Account\":{wrong}}}]"));
        let info = "MemberList[0].Member_Account: expected string";
        cases.push(Case::new(&format!("Member_Account={wrong}"), signed(LIVE), body, 400, 4005).info(info));
    }
    cases
}

#[rustfmt::skip]
pub fn body_cases() -> Vec<Case> {
    let live = sample("live").1.to_string();
    let room = sample("room-enter").1.to_string();
    let zeros = format!("[{}0]", "0,".repeat(1_999_999));
    let q = || signed(LIVE);
    let mut cases = vec![
        Case::new("invalid UTF-8", q(), b"{\"RoomId\":\"\xff\xfe\"}".to_vec(), 400, 4003),
        Case::new("invalid UTF-8 after a valid body", q(), [live.as_bytes(), b"\xc3"].concat(), 400, 4003),
        Case::new("empty body", q(), "", 400, 4003),
        Case::new("whitespace body", signed(ROOM), " \r\n\t", 400, 4003),
        Case::new("NUL bytes", q(), b"{\"RoomId\":\0}".to_vec(), 400, 4003),
        Case::new("trailing garbage", q(), format!("{live}}}"), 400, 4003),
        Case::new("deep nesting, not an object", q(), nested(100_000), 400, 4004),
        Case::new("deep nesting in a field", q(), live_with("Extra", &nested(100_000)), 400, 4003),
        Case::new("65 levels in a field", q(), live_with("Extra", &nested(64)), 400, 4003).info("body: not JSON (nested deeper than 64)"),
        Case::new("unclosed objects in a field", q(), live_with("Extra", &"{\"a\":".repeat(5000)), 400, 4003),
        Case::new("number past f64", q(), live_with("EventTime", &format!("1{}", "0".repeat(400))), 400, 4003),
        Case::new("1e999 in an unknown field", q(), live_with("Extra", "1e999"), 400, 4003),
        Case::new("lone surrogate in an unknown field", q(), live_with("Extra", "\"\\ud800\""), 400, 4003),
        Case::new("EventTime past i64", q(), live_with("EventTime", "9223372036854775808"), 400, 4005).info("EventTime: expected integer"),
        Case::new("EventTime a float", q(), live_with("EventTime", "1.5e12"), 400, 4005).info("EventTime: expected integer"),
        Case::new("MemberCount past u64", signed(ROOM), room.replace(":20,", ":99999999999999999999,"), 400, 4005).info("MemberCount: expected integer"),
        Case::new("duplicate RoomId", q(), live_with("RoomId", "\"a\",\"RoomId\":\"b\""), 400, 4005).info("RoomId: given more than once"),
        Case::new("duplicate CallbackCommand", q(), live_with("CallbackCommand", &format!("\"{LIVE}\",\"CallbackCommand\":\"{LIVE}\"")), 400, 4005),
        Case::new("two million array members", q(), live_with("MemberList", &zeros), 400, 4005).info("MemberList[0]: expected object"),
        Case::new("two million members, not an object", q(), zeros, 400, 4004),
        Case::new("body names another command", signed(ROOM), live, 400, 4006),
    ];
    cases.extend(wrong_type_cases());
    cases
}

#[rustfmt::skip]
pub fn query_cases() -> Vec<Case> {
    let t = now();
    let sign = sign_hex(TOKEN, &t.to_string());
    let twice = |extra: &str, what: &str| Case::new(what, query_at(LIVE, extra, t), marked(what), 400, 4000);
    // Unsigned prefix: each case adds its own RequestTime and Sign.
    let q = |rest: &str| format!("/callback?SdkAppid={APP_ID}&CallbackCommand={LIVE}&contenttype=json{rest}");
    let with_app = |app: &str| q(&format!("&RequestTime={t}&Sign={sign}")).replacen(&format!("SdkAppid={APP_ID}"), app, 1);
    let bad_sign = |s: &str, what: &str| Case::new(what, q(&format!("&RequestTime={t}&Sign={s}")), marked(what), 401, 4012);
    let long = "9".repeat(8000);
    let mut cases = vec![
        twice(&format!("&SdkAppid={APP_ID}"), "SdkAppid twice"),
        twice(&format!("&CallbackCommand={ROOM}"), "CallbackCommand twice"),
        twice("&contenttype=json", "contenttype twice"),
        twice(&format!("&Sign={sign}"), "Sign twice"),
        twice(&format!("&RequestTime={t}"), "RequestTime twice"),
        twice(&format!("&Sdk%41ppid={APP_ID}"), "SdkAppid twice, once percent-encoded"),
        Case::new("SdkAppid with NUL", with_app(&format!("SdkAppid={APP_ID}%00")), marked("q7"), 403, 4031),
        Case::new("SdkAppid with a plus", with_app(&format!("SdkAppid=+{APP_ID}")), marked("q8"), 403, 4031),
        Case::new("SdkAppid empty", with_app("SdkAppid="), marked("q9"), 403, 4031),
        Case::new("SdkAppid of 8000 digits", with_app(&format!("SdkAppid={long}")), marked("q10"), 403, 4031),
        Case::new("RequestTime of 8000 digits", q(&format!("&RequestTime={long}&Sign={sign}")), marked("q11"), 401, 4011),
        Case::new("RequestTime not a number", q(&format!("&RequestTime=now&Sign={}", sign_hex(TOKEN, "now"))), marked("q12"), 401, 4011),
        bad_sign(&"a".repeat(8000), "Sign of 8000 characters"),
        bad_sign("", "Sign empty"),
        bad_sign(&sign[..63], "Sign of 63 characters"),
        bad_sign(&format!("{sign}0"), "Sign of 65 characters"),
        bad_sign(&sign.to_uppercase(), "Sign in capitals"),
        bad_sign("%ff%00%2e", "Sign of percent-encoded junk"),
        bad_sign(&sign_hex("guess", &t.to_string()), "Sign made with another token"),
        bad_sign("test-token-%CE%A9", "the token itself as Sign"),
        Case::new("contenttype json plus a space", query_at(LIVE, "", t).replace("contenttype=json", "contenttype=json%20"), marked("q21"), 400, 4001),
        Case::new("CallbackCommand empty", query_at("", "", t), marked("q22"), 400, 4002),
        Case::new("CallbackCommand with NUL", query_at(&format!("{LIVE}%00"), "", t), marked("q23"), 400, 4006),
    ];
    // Accepted: encodings that decode to the real thing, repeats of parameters we ignore.
    for (what, query) in [
        ("SdkAppid name and value percent-encoded", with_app(&format!("Sdk%41ppid=%31{}", &APP_ID[1..]))),
        ("RequestTime percent-encoded", q(&format!("&RequestTime={}&Sign={sign}", t.to_string().replace('1', "%31")))),
        ("contenttype in capitals", query_at(LIVE, "", t).replace("contenttype=json", "contenttype=JSON")),
        ("repeated unknown parameter", query_at(LIVE, "&x=1&x=2&x=%zz", t)),
        ("OptPlatform of 8000 characters", query_at(LIVE, &format!("&OptPlatform={}", "p".repeat(8000)), t)),
    ] {
        cases.push(Case::new(what, query, marked(what), 200, 0));
    }
    cases
}

/// Bodies that are hostile in shape but valid: accepted, and their event is on Kafka.
#[rustfmt::skip]
pub fn accepted_bodies() -> Vec<(&'static str, &'static str, String)> {
    let members = format!("[{}\"\"]", "\"\",".repeat(999_999));
    let room = sample("room-enter").1.to_string();
    let live = "tencent.live.member";
    vec![
        // Regression: an EventTime past year 9999 panicked the request (ce_time formatting).
        (live, LIVE, live_with("EventTime", "9223372036854775807")),
        (live, LIVE, live_with("EventTime", "-9223372036854775808")),
        (live, LIVE, live_with("Extra", "1,\"Extra\":2")),
        (live, LIVE, live_with("Extra", "123456789012345678901234567890")),
        (live, LIVE, live_with("Extra", &format!("[{}0]", "0,".repeat(999_999)))),
        (live, LIVE, live_with("Extra", &nested(63))),
        // Regression: non-ASCII enum values left the schemas' [a-z0-9_] alphabet.
        (live, LIVE, live_with("EventCause", "\"Ünïcödé\\u0000Cause\"")),
        ("tencent.room.member", ROOM, room.replace("[\"user1\"]", &members)),
    ]
}
