//! The seed samples, comments removed (the `//` comments are documentation, not wire format),
//! and query strings built the way Tencent sends them.

pub const LIVE_000: &str = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room_id","EventType":"Online","EventCause":"Enter","MemberList":[{"Member_Account": "jared"},{"Member_Account": "tommy"}],"EventTime":1703589922780}"#;

pub const LIVE_001: &str = "{\n\"CallbackCommand\":\"Live.CallbackAfterMemberStateChanged\",\n\"RoomId\":\"room_id\",\n\"EventType\":\"Online\",\n\"EventCause\":\"Enter\",\n\"MemberList\":[\n{\n\"Member_Account\": \"jared\"\n},\n{\n\"Member_Account\": \"tommy\"\n}\n],\n\"EventTime\":1703589922780\n}";

pub const GROUP_002: &str = "{\n\"CallbackCommand\": \"Group.CallbackOnMemberStateChange\",\n\"GroupId\": \"@TGS#2J4SZEAEL\",\n\"EventType\": \"Offline\",\n\"MemberList\": [\n{\n\"Member_Account\": \"jared\"\n},\n{\n\"Member_Account\": \"tommy\"\n}\n]\n}";

pub const ROOM_003: &str = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"user1","RoomId":"rid-123","MemberCount":20,"Type":"Enter","MemberList_Account":["user1"],"EventTime":1670574414123}"#;

/// A Live callback for `room` with one member and a cause.
pub fn live(room: &str, state: &str, cause: &str, member: &str) -> String {
    serde_json::json!({
        "CallbackCommand": "Live.CallbackAfterMemberStateChanged",
        "RoomId": room, "EventType": state, "EventCause": cause,
        "MemberList": [{"Member_Account": member}], "EventTime": 1703589922780i64
    })
    .to_string()
}

/// `path?SdkAppid=..&CallbackCommand=..&contenttype=json&ClientIP=..&OptPlatform=..`, signed
/// with `token` at the current time when given.
pub fn query(path: &str, app_id: &str, command: &str, token: Option<&str>) -> String {
    let mut q = format!(
        "{path}?SdkAppid={app_id}&CallbackCommand={command}&contenttype=json&ClientIP=10.0.0.7&OptPlatform=iOS"
    );
    if let Some(token) = token {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string();
        let sign = tencent_kafka_bridge::auth::sign_hex(token, &time);
        q.push_str(&format!("&RequestTime={time}&Sign={sign}"));
    }
    q
}

/// The TRTC key the tests configure.
pub const TRTC_KEY: &str = "trtcTestKey0123456789";

/// A TRTC room or media event, pretty-printed with tabs as TRTC sends them. `room` is JSON
/// (a number or a string); `callback_ts` differs between retries of one event.
pub fn trtc(
    group: i64,
    event: i64,
    room: serde_json::Value,
    user: Option<&str>,
    reason: i64,
    callback_ts: i64,
) -> String {
    let mut info = serde_json::json!({
        "RoomId": room, "EventTs": 1_615_554_922i64, "EventMsTs": 1_615_554_922_656i64,
        "Role": 20, "TerminalType": 2, "UserType": 3, "Reason": reason
    });
    if let Some(user) = user {
        info["UserId"] = user.into();
    }
    let body = serde_json::json!({
        "EventGroupId": group, "EventType": event, "CallbackTs": callback_ts, "EventInfo": info
    });
    serde_json::to_string_pretty(&body)
        .expect("JSON")
        .replace("  ", "\t")
}

/// TRTC's headers for `body`: `SdkAppId` and `Sign` = base64(HMAC-SHA256(key, body)).
pub fn trtc_headers(app_id: &str, key: &str, body: &str) -> [(String, String); 2] {
    [
        ("SdkAppId".into(), app_id.into()),
        (
            "Sign".into(),
            tencent_kafka_bridge::auth::trtc_sign(key, body.as_bytes()),
        ),
    ]
}
