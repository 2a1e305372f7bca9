use super::*;

#[test]
fn trtc_sign_is_base64_hmac_of_the_exact_body() {
    // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"key",b"{}",hashlib.sha256).digest()).decode())'
    assert_eq!(
        trtc_sign("key", b"{}"),
        "p3dyTZQ+tI3Gm8qKSm1XoE2z+ex+HeTlgehgJlvfMDI="
    );
    let a = TrtcAuth::new(vec!["1400".into()], "key");
    let body = b"{\n\t\"EventGroupId\": 1}";
    let good = trtc_sign("key", body);
    assert_eq!(a.check(Some("1400"), Some(&good), body), Ok(()));
    assert_eq!(a.check(Some("1400"), None, body), Err(Refusal::TrtcSignMissing));
    assert_eq!(
        a.check(Some("1400"), Some(&good), b"{\"EventGroupId\": 1}"),
        Err(Refusal::TrtcBadSign)
    );
    assert_eq!(
        a.check(Some("1400"), Some("not base64!"), body),
        Err(Refusal::TrtcBadSign)
    );
    assert_eq!(
        a.check(Some("1400"), Some(&trtc_sign("other", body)), body),
        Err(Refusal::TrtcBadSign)
    );
    assert_eq!(a.check(None, Some(&good), body), Err(Refusal::TrtcAppIdMissing));
    assert_eq!(
        a.check(Some("9"), Some(&good), body),
        Err(Refusal::TrtcAppIdUnknown)
    );
    assert_eq!(a.check(Some("9"), Some("x"), body), Err(Refusal::TrtcBadSign));
}

const NOW: u64 = 1_700_000_000;

fn auth(token: Option<&str>) -> Authenticator {
    Authenticator::new(
        vec!["1400".into()],
        token.map(Into::into),
        Duration::from_secs(300),
    )
}

fn check(a: &Authenticator, raw: &str) -> Result<(), Refusal> {
    let q = CallbackQuery::parse(raw)?;
    a.check_at(&q, UNIX_EPOCH + Duration::from_secs(NOW))
}

#[test]
fn sign_is_sha256_of_token_and_time() {
    // echo -n "abc1700000000" | sha256sum
    assert_eq!(
        sign_hex("abc", "1700000000"),
        "139d720ab3fe33252a099243519e7548ce791f035b647c70bc13e8a12f503cda"
    );
    assert_eq!(sign_hex("", "").len(), 64);
    assert_eq!(
        sign_hex("", ""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn app_id_checks() {
    assert_eq!(
        check(&auth(None), "CallbackCommand=x"),
        Err(Refusal::AppIdMissing)
    );
    assert_eq!(check(&auth(None), "SdkAppid=9"), Err(Refusal::AppIdUnknown));
    assert_eq!(check(&auth(None), "SdkAppid=1400"), Ok(()));
    assert!(matches!(
        check(&auth(None), "SdkAppid=1400&SdkAppid=9"),
        Err(Refusal::BadQuery(_))
    ));
}

#[test]
fn signature_checks() {
    let a = auth(Some("tok"));
    let good = sign_hex("tok", "1700000100");
    assert_eq!(check(&a, "SdkAppid=1400"), Err(Refusal::SignMissing("Sign")));
    assert_eq!(
        check(&a, "SdkAppid=1400&Sign=x"),
        Err(Refusal::SignMissing("RequestTime"))
    );
    assert_eq!(
        check(&a, &format!("SdkAppid=1400&RequestTime=1700000100&Sign={good}")),
        Ok(())
    );
    assert_eq!(
        check(
            &a,
            &format!("SdkAppid=1400&RequestTime=1700000100&Sign={}", &good[1..])
        ),
        Err(Refusal::BadSign)
    );
    assert_eq!(
        check(
            &a,
            &format!(
                "SdkAppid=1400&RequestTime=1700000100&Sign={}",
                good.to_uppercase()
            )
        ),
        Err(Refusal::BadSign)
    );
    let late = sign_hex("tok", "1700000301");
    assert_eq!(
        check(&a, &format!("SdkAppid=1400&RequestTime=1700000301&Sign={late}")),
        Err(Refusal::RequestTimeSkew)
    );
    let early = sign_hex("tok", "1699999699");
    assert_eq!(
        check(&a, &format!("SdkAppid=1400&RequestTime=1699999699&Sign={early}")),
        Err(Refusal::RequestTimeSkew)
    );
    let edge = sign_hex("tok", "1699999700");
    assert_eq!(
        check(&a, &format!("SdkAppid=1400&RequestTime=1699999700&Sign={edge}")),
        Ok(())
    );
    assert_eq!(
        check(&a, "SdkAppid=1400&RequestTime=soon&Sign=x"),
        Err(Refusal::RequestTimeSkew)
    );
}

#[test]
fn sign_is_never_kept() {
    let q = CallbackQuery::parse("SdkAppid=1&Sign=abc&RequestTime=5&x=y%20z").unwrap();
    assert!(q.kept.iter().all(|(k, _)| k != "Sign"));
    assert!(q.kept.iter().any(|(k, v)| k == "x" && v == "y z"));
}

/// A validated configuration from `args`, token files written in a temp dir first.
fn ring_from(files: &[(&str, &str)], args: &[&str]) -> (Keyring, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let d = dir.path().to_str().unwrap().to_owned();
    let mut argv = vec!["tencent-kafka-bridge".to_owned()];
    argv.extend(args.iter().map(|a| a.replace("{dir}", &d)));
    let cli = crate::cli::parse(argv.into_iter().map(Into::into).collect()).unwrap();
    let config = cli.config.validate().unwrap();
    (Keyring::from_config(&config), dir)
}

fn signed(app: &str, token: &str) -> String {
    format!(
        "SdkAppid={app}&RequestTime=1700000100&Sign={}",
        sign_hex(token, "1700000100")
    )
}

fn check_ring(ring: Keyring, raws: &[&str]) -> (Arc<Keyring>, Vec<Result<(), Refusal>>) {
    let ring = Arc::new(ring);
    let a = Authenticator::with_ring(ring.clone(), Duration::from_secs(300));
    let results = raws.iter().map(|raw| check(&a, raw)).collect();
    (ring, results)
}

#[test]
fn any_token_of_the_file_signs_and_its_position_is_counted() {
    let files = [("t", "# rotation under way\nold\n\n  new  \n")];
    let (ring, _dir) = ring_from(&files, &["--sdk-app-id", "1400", "--auth-token-file", "{dir}/t"]);
    let (ring, results) = check_ring(
        ring,
        &[
            &signed("1400", "old"),
            &signed("1400", "new"),
            &signed("1400", "new"),
            &signed("1400", "other"),
        ],
    );
    assert_eq!(results, [Ok(()), Ok(()), Ok(()), Err(Refusal::BadSign)]);
    let app = ring.app("1400").unwrap();
    assert_eq!(app.used.snapshot(2), [("first", 1), ("second", 2)]);
}

#[test]
fn each_app_is_checked_against_its_own_tokens_only() {
    let files = [("shared", "s\n"), ("b", "b1\nb2\n")];
    let args = [
        "--sdk-app-id",
        "1,2,3",
        "--auth-token-file",
        "{dir}/shared",
        "--app-token-file",
        "2={dir}/b",
    ];
    let (ring, _dir) = ring_from(&files, &args);
    let (ring, results) = check_ring(
        ring,
        &[
            &signed("1", "s"),
            &signed("3", "s"),
            &signed("2", "b2"),
            &signed("2", "s"),  // the shared token does not sign an app with its own file
            &signed("1", "b1"), // nor another app's token
        ],
    );
    assert_eq!(
        results,
        [
            Ok(()),
            Ok(()),
            Ok(()),
            Err(Refusal::BadSign),
            Err(Refusal::BadSign)
        ]
    );
    let sets: Vec<usize> = ring.sets().map(|(_, s)| s.len()).collect();
    assert_eq!(sets, [1, 2], "apps 1 and 3 share one set");
}

#[test]
fn unsigned_apps_beside_signed_ones_with_allow_unsigned() {
    let files = [("b", "b1\n")];
    let args = [
        "--sdk-app-id",
        "1,2",
        "--app-token-file",
        "2={dir}/b",
        "--allow-unsigned",
    ];
    let (ring, _dir) = ring_from(&files, &args);
    let (_, results) = check_ring(ring, &["SdkAppid=1", "SdkAppid=2", &signed("2", "b1")]);
    assert_eq!(results, [Ok(()), Err(Refusal::SignMissing("Sign")), Ok(())]);
}

#[test]
fn trtc_takes_any_key_of_its_file() {
    let files = [("k", "k-old\nk-new\n")];
    let args = [
        "--sdk-app-id",
        "1400",
        "--allow-unsigned",
        "--trtc-key-file",
        "{dir}/k",
    ];
    let (ring, _dir) = ring_from(&files, &args);
    let ring = Arc::new(ring);
    let a = TrtcAuth::with_ring(ring.clone()).unwrap();
    let body = b"{}";
    for key in ["k-old", "k-new", "k-new"] {
        assert_eq!(a.check(Some("1400"), Some(&trtc_sign(key, body)), body), Ok(()));
    }
    assert_eq!(
        a.check(Some("1400"), Some(&trtc_sign("k-other", body)), body),
        Err(Refusal::TrtcBadSign)
    );
    assert_eq!(
        ring.trtc_app("1400").unwrap().used.snapshot(2),
        [("first", 1), ("second", 2)]
    );
    assert!(TrtcAuth::with_ring(Arc::new(Keyring::fixed(&["1".into()], None, None))).is_none());
}
