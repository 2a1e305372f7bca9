use super::*;

fn parse(args: &[&str]) -> Result<Config, String> {
    let mut argv = vec!["tencent-kafka-bridge"];
    argv.extend_from_slice(args);
    let cli = crate::cli::parse(argv.into_iter().map(Into::into).collect()).map_err(|e| e.to_string())?;
    cli.config.validate().map_err(|e| e.to_string())
}

/// The values given for one librdkafka property, in order.
pub(crate) fn property<'c>(cfg: &'c Config, key: &str) -> Vec<&'c str> {
    cfg.kafka_properties
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn comma_list_and_repeats_both_work() {
    let cfg = parse(&["--sdk-app-id", "1,2", "--sdk-app-id", "3"]).unwrap();
    assert_eq!(cfg.sdk_app_ids, ["1", "2", "3"]);
}

#[test]
fn empty_app_id_list_is_refused() {
    let err = parse(&["--sdk-app-id", ","]).unwrap_err();
    assert!(err.contains("at least one SdkAppid"), "{err}");
}

#[test]
fn bad_values_are_named() {
    assert!(parse(&["--sdk-app-id", "1", "--listen", "nope"])
        .unwrap_err()
        .contains("--listen"));
    assert!(parse(&["--sdk-app-id", "abc"]).unwrap_err().contains("\"abc\""));
    assert!(parse(&["--sdk-app-id", "1", "--kafka-property", "x"])
        .unwrap_err()
        .contains("KEY=VALUE"));
    assert!(parse(&["--sdk-app-id", "1", "--callback-path", "/readyz"]).is_err());
    assert!(parse(&["--sdk-app-id", "1", "--sign-max-skew", "5 parsecs"]).is_err());
}

#[test]
fn sizes_take_units_and_segments_fit_the_limit() {
    let cfg = parse(&["--sdk-app-id", "1", "--spool-max-bytes", "1MiB"]).unwrap();
    assert_eq!(cfg.spool_max_bytes, 1 << 20);
    assert_eq!(cfg.spool_segment_bytes, 1 << 18);
    assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
    assert_eq!(parse_bytes("5000"), Ok(5000));
    assert!(parse_bytes("5 parsecs").is_err());
    assert!(parse(&["--sdk-app-id", "1", "--spool-max-bytes", "10"]).is_err());
}

#[test]
fn durations_take_units() {
    let cfg = parse(&["--sdk-app-id", "1", "--shutdown-timeout", "1500ms"]).unwrap();
    assert_eq!(cfg.shutdown_timeout, Duration::from_millis(1500));
    assert_eq!(cfg.sign_max_skew, Duration::from_secs(300));
}

#[test]
fn a_comma_without_equals_stays_in_the_value() {
    let cfg = parse(&[
        "--sdk-app-id",
        "1",
        "--kafka-property",
        "linger.ms=7,ssl.cipher.suites=A,B,C",
        "--kafka-property",
        "client.id=x",
    ])
    .unwrap();
    let props = |key| property(&cfg, key);
    assert_eq!(props("ssl.cipher.suites"), ["A,B,C"]);
    assert_eq!(props("linger.ms"), ["7"]);
    assert_eq!(props("client.id"), ["x"]);
    // Within one flag only: a flag of its own must still be KEY=VALUE.
    let err = parse(&[
        "--sdk-app-id",
        "1",
        "--kafka-property",
        "a=1",
        "--kafka-property",
        "B",
    ])
    .unwrap_err();
    assert!(err.contains("\"B\" is not KEY=VALUE"), "{err}");
    // A stray comma is not a value.
    let cfg = parse(&["--sdk-app-id", "1", "--kafka-property", ",linger.ms=7,"]).unwrap();
    assert!(cfg
        .kafka_properties
        .contains(&("linger.ms".to_owned(), "7".to_owned())));
}

#[test]
fn tail_rejoins_cut_values_too() {
    let argv = [
        "tencent-kafka-bridge",
        "tail",
        "--kafka-property",
        "ssl.cipher.suites=A,B",
    ];
    let cli = crate::cli::parse(argv.into_iter().map(Into::into).collect()).unwrap();
    let Some(crate::cli::Tool::Tail(tail)) = cli.command else {
        panic!("not tail");
    };
    assert_eq!(
        tail.kafka_properties,
        [("ssl.cipher.suites".to_owned(), "A,B".to_owned())]
    );
}

#[test]
fn spool_retain_is_a_duration_or_a_size() {
    assert_eq!(
        parse_retain("6h"),
        Ok(Retain::For(std::time::Duration::from_secs(6 * 3600)))
    );
    assert_eq!(parse_retain("10GiB"), Ok(Retain::UpTo(10 << 30)));
    assert_eq!(parse_retain("1048576"), Ok(Retain::UpTo(1 << 20)));
    assert!(parse_retain("soon").unwrap_err().contains("neither a size"));
    assert_eq!(
        Retain::For(std::time::Duration::from_secs(90)).to_string(),
        "1m 30s"
    );
}

#[test]
fn the_trtc_key_is_read_from_its_file_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("trtc-key");
    std::fs::write(&key, "s3cretTrtcKey\n").unwrap();
    let path = key.to_str().unwrap();
    let cfg = parse(&["--sdk-app-id", "1", "--trtc-key-file", path]).unwrap();
    assert_eq!(cfg.trtc_key.as_deref(), Some("s3cretTrtcKey"));
    assert!(!cfg.describe().contains("s3cretTrtcKey"));
    assert!(cfg.describe().contains("trtc-path = \"/trtc\""));
    assert!(parse(&["--sdk-app-id", "1"]).unwrap().trtc_key.is_none());
    std::fs::write(&key, "\n").unwrap();
    assert!(parse(&["--sdk-app-id", "1", "--trtc-key-file", path]).is_err());
    assert!(parse(&["--sdk-app-id", "1", "--trtc-path", "/callback"]).is_err());
}
