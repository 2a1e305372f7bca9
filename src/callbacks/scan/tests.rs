use super::plan::MAX_NESTING;
use super::*;

fn leak(plan: Plan) -> &'static Plan {
    Box::leak(Box::new(plan))
}

fn nested(depth: usize) -> String {
    // The object itself is one level.
    let n = depth - 1;
    format!("{{\"x\":{}1{}}}", "[".repeat(n), "]".repeat(n))
}

fn check(body: &str) -> Result<(), Refusal> {
    scan(body, leak(Plan::new())).map(|_| ())
}

#[test]
fn what_consumers_cannot_read_is_refused() {
    assert!(check(r#"{"a":[1,2.5,"s",null,true,{"b":{}}],"c":-1e300}"#).is_ok());
    assert!(check(&nested(MAX_NESTING)).is_ok());
    assert!(check(&nested(MAX_NESTING + 1)).is_err());
    assert!(check(&nested(100_000)).is_err());
    assert!(check(r#"{"x":1e999}"#).is_err());
    assert!(check(r#"{"x":"\ud800"}"#).is_err());
    assert!(check(r#"{"x":123456789012345678901234567890}"#).is_ok());
    assert!(check(r#"{} {}"#).is_err());
}

#[test]
fn nesting_is_counted_inside_wanted_fields_too() {
    let plan = leak(Plan::new().with("L", Want::Objects("M")));
    let deep = format!(
        "{{\"L\":[{{\"M\":\"a\",\"x\":{}1{}}}]}}",
        "[".repeat(MAX_NESTING - 3),
        "]".repeat(MAX_NESTING - 3)
    );
    assert!(scan(&deep, plan).is_ok());
    let deeper = deep.replacen("\"x\":", "\"x\":[", 1).replacen("]}]}", "]]}]}", 1);
    assert!(matches!(scan(&deeper, plan), Err(Refusal::NotJson(_))));
}

#[test]
fn ids_keep_every_digit_and_times_may_be_strings() {
    let plan = leak(
        Plan::new()
            .with("Owner", Want::Id)
            .with("RoomInfo.Owner", Want::Id)
            .with("T", Want::LenientInt)
            .with("L", Want::Objects("Member_Account"))
            .with("S", Want::Ids),
    );
    let body = r#"{"Owner":144115216631667826,"RoomInfo":{"Owner":-5,"x":[1]},"T":"1670574414123",
        "L":[{"Member_Account":18446744073709551615,"y":{}},{"Member_Account":"b"}],"S":["a",7]}"#;
    let s = scan(body, plan).unwrap();
    assert_eq!(s.error, None);
    assert_eq!(s.text("Owner"), Some("144115216631667826"));
    assert_eq!(s.text("RoomInfo.Owner"), Some("-5"));
    assert_eq!(s.int("T"), Some(1_670_574_414_123));
    assert_eq!(s.list("L").unwrap(), ["18446744073709551615", "b"]);
    assert_eq!(s.list("S").unwrap(), ["a", "7"]);
}

#[test]
fn wrong_fields_are_named_and_the_first_one_wins() {
    let plan = leak(
        Plan::new()
            .with("T", Want::LenientInt)
            .with("N", Want::Int)
            .with("L", Want::Objects("Member_Account"))
            .with("Info.A", Want::Text),
    );
    let err = |body: &str| scan(body, plan).unwrap().error.map(|e| e.to_string());
    assert_eq!(err(r#"{"T":"soon"}"#).unwrap(), "T: expected integer");
    assert_eq!(err(r#"{"T":1.5e12}"#).unwrap(), "T: expected integer");
    assert_eq!(
        err(r#"{"T":9223372036854775808}"#).unwrap(),
        "T: expected integer"
    );
    assert_eq!(err(r#"{"N":"20"}"#).unwrap(), "N: expected integer");
    assert_eq!(err(r#"{"L":{}}"#).unwrap(), "L: expected array");
    assert_eq!(err(r#"{"L":[7]}"#).unwrap(), "L[0]: expected object");
    assert_eq!(err(r#"{"L":[{}]}"#).unwrap(), "L[0].Member_Account: missing");
    assert_eq!(
        err(r#"{"L":[{"Member_Account":"a"},{"Member_Account":null}]}"#).unwrap(),
        "L[1].Member_Account: expected string"
    );
    assert_eq!(err(r#"{"Info":"x"}"#).unwrap(), "Info: expected object");
    assert_eq!(err(r#"{"Info":{"A":1}}"#).unwrap(), "Info.A: expected string");
    assert_eq!(err(r#"{"T":1,"T":2}"#).unwrap(), "T: given more than once");
    assert_eq!(err(r#"{"N":"x","T":"y"}"#).unwrap(), "N: expected integer");
    assert_eq!(err(r#"{"Info":null,"T":null}"#), None);
    // Broken JSON later on outranks a wrong field earlier.
    assert!(matches!(
        scan(r#"{"N":"x","z":1e999}"#, plan),
        Err(Refusal::NotJson(_))
    ));
}
