use super::*;

/// Parses and validates `args`, with a token added unless they give one or `--allow-unsigned`
/// (so tests about other flags need not repeat it).
fn parse(args: &[&str]) -> Result<Config, String> {
    let auth = |a: &&str| a.starts_with("--auth-token") || a.starts_with("--allow-unsigned");
    let token: &[&str] = if args.iter().any(auth) {
        &[]
    } else {
        &["--auth-token", "t"]
    };
    parse_exactly(&[args, token].concat())
}

/// Parses and validates exactly `args`.
fn parse_exactly(args: &[&str]) -> Result<Config, String> {
    let mut argv = vec!["tencent-kafka-bridge"];
    argv.extend_from_slice(args);
    let cli = crate::cli::parse(argv.into_iter().map(Into::into).collect()).map_err(|e| e.to_string())?;
    cli.config.validate().map_err(|e| e.to_string())
}

/// The values given for one librdkafka property, in order.
pub(crate) fn property<'c>(cfg: &'c Config, key: &str) -> Vec<&'c str> {
    cfg.kafka
        .kafka_properties
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
        .kafka
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
        tail.kafka.kafka_properties,
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

#[test]
fn no_token_is_refused_naming_both_ways_out() {
    let err = parse_exactly(&["--sdk-app-id", "1"]).unwrap_err();
    for way_out in [
        "--auth-token-file",
        "Tencent console",
        "--allow-unsigned",
        "BRIDGE_ALLOW_UNSIGNED=true",
        "allow-unsigned = true",
    ] {
        assert!(err.contains(way_out), "{way_out:?} not in: {err}");
    }
    // The same for check-config, which validates the same way.
    let argv = ["tencent-kafka-bridge", "check-config", "--sdk-app-id", "1"];
    let cli = crate::cli::parse(argv.into_iter().map(Into::into).collect()).unwrap();
    let Some(crate::cli::Tool::CheckConfig(config)) = cli.command else {
        panic!("not check-config");
    };
    assert!(matches!(config.validate(), Err(ConfigError::NoToken)));
}

#[test]
fn allow_unsigned_runs_without_a_token_and_says_so() {
    let cfg = parse_exactly(&["--sdk-app-id", "1", "--allow-unsigned"]).unwrap();
    assert!(cfg.allow_unsigned && cfg.auth_token.is_none());
    assert!(cfg.describe().contains("allow-unsigned = true\n"));
    let cfg = parse_exactly(&["--sdk-app-id", "1", "--auth-token", "t"]).unwrap();
    assert!(!cfg.allow_unsigned);
    assert!(cfg.describe().contains("allow-unsigned = false\n"));
}

#[test]
fn a_token_and_allow_unsigned_together_are_refused() {
    let err = parse_exactly(&["--sdk-app-id", "1", "--auth-token", "t", "--allow-unsigned"]).unwrap_err();
    assert!(
        err.contains("--allow-unsigned") && err.contains("not both"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "t\n").unwrap();
    let file = file.to_str().unwrap();
    let args = ["--sdk-app-id", "1", "--auth-token-file", file, "--allow-unsigned"];
    assert!(parse_exactly(&args).unwrap_err().contains("not both"));
    // An empty token is no token.
    std::fs::write(dir.path().join("token"), "\n").unwrap();
    let err = parse_exactly(&["--sdk-app-id", "1", "--auth-token-file", file]).unwrap_err();
    assert!(err.contains("must not be empty"), "{err}");
}

#[test]
fn allow_unsigned_has_an_env_twin_and_a_file_key() {
    use clap::CommandFactory;
    let cmd = crate::cli::Cli::command();
    let arg = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some("allow-unsigned"))
        .unwrap();
    assert_eq!(arg.get_env(), Some(std::ffi::OsStr::new("BRIDGE_ALLOW_UNSIGNED")));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.toml");
    let load = |toml: &str, args: &[&str]| {
        std::fs::write(&path, toml).unwrap();
        let mut argv = vec!["--config", path.to_str().unwrap()];
        argv.extend_from_slice(args);
        parse_exactly(&argv)
    };
    let cfg = load("sdk-app-id = [\"1\"]\nallow-unsigned = true\n", &[]).unwrap();
    assert!(cfg.allow_unsigned);
    let err = load("sdk-app-id = [\"1\"]\nallow-unsigned = false\n", &[]).unwrap_err();
    assert!(err.contains("--allow-unsigned"), "{err}");
    let err = load("sdk-app-id = [\"1\"]\nallow-unsigned = \"maybe\"\n", &[]).unwrap_err();
    assert!(err.contains("maybe"), "{err}");
    let toml = "sdk-app-id = [\"1\"]\nallow-unsigned = true\nauth-token = \"t\"\n";
    assert!(load(toml, &[]).unwrap_err().contains("not both"));
}

#[test]
fn a_token_file_holds_tokens_one_a_line() {
    use super::tokens::parse_tokens;
    assert_eq!(parse_tokens("tok\n"), ["tok"]);
    assert_eq!(parse_tokens("old\r\nnew\r\n"), ["old", "new"]);
    assert_eq!(
        parse_tokens("# rotation, 2026-12\n\n  old  \n\t\n# new one:\nnew"),
        ["old", "new"]
    );
    assert!(parse_tokens("\n# only a comment\n").is_empty());
    assert!(parse_tokens("").is_empty());
    // `#` inside a token is part of it.
    assert_eq!(parse_tokens("a#b\n"), ["a#b"]);
}

/// Token files in a temp dir; `{dir}` in `args` is replaced by its path.
fn with_files(files: &[(&str, &str)], args: &[&str]) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let d = dir.path().to_str().unwrap();
    let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", d)).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    parse_exactly(&args).map_err(|e| e.replace(d, "{dir}"))
}

#[test]
fn each_app_takes_its_own_token_file_or_the_shared_one() {
    let files = [("shared", "s1\ns2\n"), ("b", "b1\n")];
    let args = [
        "--sdk-app-id",
        "1,2,3",
        "--auth-token-file",
        "{dir}/shared",
        "--app-token-file",
        "2={dir}/b",
    ];
    let cfg = with_files(&files, &args).unwrap();
    let got: Vec<(&str, usize, bool)> = cfg
        .app_tokens
        .iter()
        .map(|a| {
            (
                a.app.as_str(),
                a.tokens.len(),
                matches!(a.source, TokenSource::OwnFile(_)),
            )
        })
        .collect();
    assert_eq!(got, [("1", 2, false), ("2", 1, true), ("3", 2, false)]);
    let described = cfg.describe();
    for line in [
        "#   1: 2 tokens, from --auth-token-file",
        "#   2: 1 token, from --app-token-file",
        "[app-token-file]\n\"2\" = ",
    ] {
        assert!(described.contains(line), "{line:?} not in:\n{described}");
    }
    assert!(
        !described.contains("s1") && !described.contains("b1"),
        "{described}"
    );
}

#[test]
fn an_app_without_a_token_is_refused_by_name() {
    let files = [("b", "b1\n")];
    let err = with_files(&files, &["--sdk-app-id", "1,2", "--app-token-file", "2={dir}/b"]).unwrap_err();
    assert!(
        err.contains("SdkAppid 1: no token") && err.contains("--allow-unsigned"),
        "{err}"
    );
    let args = [
        "--sdk-app-id",
        "1,2",
        "--app-token-file",
        "2={dir}/b",
        "--allow-unsigned",
    ];
    let cfg = with_files(&files, &args).unwrap();
    assert_eq!(cfg.app_tokens[0].source, TokenSource::Unsigned);
    assert!(cfg.describe().contains("#   1: unsigned (--allow-unsigned)"));
    let err = with_files(
        &files,
        &[
            "--sdk-app-id",
            "1",
            "--auth-token",
            "t",
            "--app-token-file",
            "9={dir}/b",
        ],
    )
    .unwrap_err();
    assert!(err.contains("9 is not one of --sdk-app-id"), "{err}");
    let twice = [
        "--sdk-app-id",
        "2",
        "--app-token-file",
        "2={dir}/b",
        "--app-token-file",
        "2={dir}/b",
    ];
    assert!(with_files(&files, &twice).unwrap_err().contains("given twice"));
    let bad = ["--sdk-app-id", "2", "--app-token-file", "{dir}/b"];
    assert!(with_files(&files, &bad).unwrap_err().contains("SDKAPPID=PATH"));
    let files = [("b", "# no token yet\n")];
    let err = with_files(&files, &["--sdk-app-id", "2", "--app-token-file", "2={dir}/b"]).unwrap_err();
    assert!(err.contains("{dir}/b: holds no token"), "{err}");
    let err = with_files(&[], &["--sdk-app-id", "2", "--app-token-file", "2={dir}/missing"]).unwrap_err();
    assert!(err.contains("--app-token-file {dir}/missing"), "{err}");
}

#[test]
fn app_token_files_have_an_env_twin_and_a_config_file_table() {
    use clap::CommandFactory;
    let cmd = crate::cli::Cli::command();
    let arg = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some("app-token-file"))
        .unwrap();
    assert_eq!(
        arg.get_env(),
        Some(std::ffi::OsStr::new("BRIDGE_APP_TOKEN_FILES"))
    );
    let toml = "sdk-app-id = [\"1\", \"2\"]\n[app-token-file]\n\"1\" = \"{dir}/a\"\n\"2\" = \"{dir}/b\"\n";
    let files = [("a", "a1\n"), ("b", "b1\nb2\n"), ("bridge.toml", toml)];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text.replace("{dir}", d)).unwrap();
    }
    let cfg = parse_exactly(&["--config", &format!("{d}/bridge.toml")]).unwrap();
    let counts: Vec<usize> = cfg.app_tokens.iter().map(|a| a.tokens.len()).collect();
    assert_eq!(counts, [1, 2]);
}

#[test]
fn tls_files_have_env_twins_and_file_keys_and_come_as_a_pair() {
    use clap::CommandFactory;
    let cmd = crate::cli::Cli::command();
    for (long, env) in [
        ("tls-cert-file", "BRIDGE_TLS_CERT_FILE"),
        ("tls-key-file", "BRIDGE_TLS_KEY_FILE"),
    ] {
        let arg = cmd.get_arguments().find(|a| a.get_long() == Some(long)).unwrap();
        assert_eq!(arg.get_env(), Some(std::ffi::OsStr::new(env)));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.toml");
    std::fs::write(
        &path,
        "sdk-app-id = [\"1\"]\nauth-token = \"t\"\ntls-cert-file = \"/c.pem\"\n",
    )
    .unwrap();
    let err = parse_exactly(&["--config", path.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("give both"), "{err}");
    let cfg = parse_exactly(&["--config", path.to_str().unwrap(), "--tls-key-file", "/k.pem"]).unwrap();
    assert_eq!(cfg.tls_cert_file.as_deref(), Some(std::path::Path::new("/c.pem")));
    let text = cfg.describe();
    assert!(
        text.contains("tls-key-file = \"/k.pem\"") && text.contains("# tls: "),
        "{text}"
    );
}
