use super::*;

fn v_of(r: &Record) -> serde_json::Value {
    serde_json::from_slice(&r.value).unwrap()
}

fn dlq() -> Dlq {
    Dlq::new(Topics::new("t."), usize::MAX)
}

#[test]
fn dlq_keeps_binary_bodies_as_base64_and_never_the_sign() {
    let q = CallbackQuery::parse("SdkAppid=14&CallbackCommand=A.B&Sign=secret&RequestTime=1").unwrap();
    let r = dlq().refused_callback(&q, &Refusal::NotJson("x".into()), &[0xff, 0x00], 7);
    let v: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
    assert_eq!(v["body_encoding"], "base64");
    assert_eq!(v["body"], "/wA=");
    assert_eq!(v["error_code"], 4003);
    assert_eq!(v["query"]["RequestTime"], "1");
    assert!(v["query"].get("Sign").is_none());
    assert!(!String::from_utf8_lossy(&r.value).contains("secret"));
    assert_eq!(r.key, b"14");
}

#[test]
fn broker_refused_records_keep_the_original_value() {
    let q = CallbackQuery::parse("SdkAppid=14&CallbackCommand=A.B").unwrap();
    let original = dlq().refused_callback(&q, &Refusal::NotObject, b"[1]", 7);
    let mut event = original.clone();
    event.headers[3].1 = format!("{CE_TYPE_PREFIX}Live.X").into_bytes().into();
    let id = v_of(&original)["event_id"].as_str().unwrap().to_owned();
    event.headers[1].1 = format!("{id}-0123456789abcdef-7").into_bytes().into();
    let r = Dlq::new(Topics::new("t."), crate::route::DEFAULT_MAX_RECORD_BYTES).refused_by_broker(
        &event,
        "INVALID_RECORD",
        9,
    );
    let v = v_of(&r);
    assert_eq!(
        v["event_id"], id,
        "the event's content hash, as the DLQ schema wants"
    );
    assert_eq!(
        r.headers[1].1.as_ref(),
        event.headers[1].1.as_ref(),
        "the event's ce_id"
    );
    assert_eq!(v["error_code"], BROKER_REFUSED_CODE);
    assert_eq!(v["sdk_app_id"], "14");
    assert_eq!(v["command"], "Live.X");
    assert_eq!(v["body"], String::from_utf8(event.value).unwrap());
    assert!(v["reason"].as_str().unwrap().contains("INVALID_RECORD"));
}

/// What the bridge writes, redrive reads back: the body, the query in its order, the cut.
#[test]
fn the_value_written_is_the_value_parsed() {
    let q = CallbackQuery::parse("SdkAppid=14&CallbackCommand=A.B&RequestTime=1&ClientIP=x").unwrap();
    let r = dlq().refused_callback(&q, &Refusal::NotJson("x".into()), &[0xff, 0x00], 7);
    let v = DlqValue::parse(&r.value).unwrap();
    assert_eq!(v.body_bytes().unwrap(), [0xff, 0x00]);
    assert_eq!(v.sdk_app_id, "14");
    assert_eq!(v.command.as_deref(), Some("A.B"));
    assert!(!v.body_cut() && !v.broker_refused());
    assert_eq!(serde_json::to_vec(&v).unwrap().len(), r.value.len());
    let body = "é".repeat(10_000);
    let cut = Dlq::new(Topics::new("t."), 4096).refused_callback(&q, &Refusal::NotObject, body.as_bytes(), 7);
    let v = DlqValue::parse(&cut.value).unwrap();
    assert!(v.body_cut(), "{}", v.reason);
    assert!(body.starts_with(&v.body));
    assert!(cut.encoded_len() <= 4096);
}
