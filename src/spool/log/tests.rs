use super::*;
use proptest::prelude::*;

fn rec(topic: &str, key: &[u8], value: &[u8]) -> Record {
    Record {
        topic: Arc::from(topic),
        key: key.to_vec(),
        headers: vec![
            ("ce_id".into(), b"1".to_vec().into()),
            ("h".into(), vec![].into()),
        ],
        value: value.to_vec(),
        timestamp_ms: Some(1_670_574_414_123),
    }
}

fn arb_record() -> impl Strategy<Value = Record> {
    (
        ".{0,12}",
        proptest::collection::vec(any::<u8>(), 0..24),
        // Some of the bridge's own names, which decode borrowed, and arbitrary ones.
        proptest::collection::vec(
            (
                prop_oneof![Just("ce_id".to_owned()), ".{0,8}"],
                proptest::collection::vec(any::<u8>(), 0..16),
            ),
            0..4,
        ),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<i64>(),
    )
        .prop_map(|(topic, key, headers, value, timestamp_ms)| Record {
            topic: Arc::from(topic.as_str()),
            key,
            headers: headers.into_iter().map(|(n, v)| (n.into(), v.into())).collect(),
            value,
            timestamp_ms: Some(timestamp_ms),
        })
}

/// Decodes frames from the start until the first error.
fn decode_all(mut buf: &[u8]) -> (Vec<(u64, Record)>, Option<FrameError>) {
    let mut out = Vec::new();
    while !buf.is_empty() {
        match decode(buf) {
            Ok((seq, r, n)) => {
                out.push((seq, r));
                buf = &buf[n..];
            }
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// A frame written before the timestamp extension (none at the end of the payload) still
/// reads, its time taken from the event in the value; one with an unknown tail does not.
#[test]
fn frames_without_the_timestamp_still_read() {
    let mut old = rec(
        "t.x",
        b"room",
        br#"{"event_time_ms":1670574414123,"received_at_ms":1700000000000}"#,
    );
    old.timestamp_ms = None;
    let mut buf = Vec::new();
    encode(3, &old, &mut buf).unwrap();
    let (_, back, _) = decode(&buf).unwrap();
    assert_eq!(back.timestamp_ms, Some(1_670_574_414_123));
    let mut dlq = rec(
        "t.dlq",
        b"1400",
        br#"{"received_at_ms":1700000000000,"body":"{}"}"#,
    );
    dlq.timestamp_ms = None;
    buf.clear();
    encode(4, &dlq, &mut buf).unwrap();
    assert_eq!(decode(&buf).unwrap().1.timestamp_ms, Some(1_700_000_000_000));

    let with = rec("t.x", b"room", b"{}");
    buf.clear();
    encode(5, &with, &mut buf).unwrap();
    assert_eq!(buf.len() - HEADER_LEN, {
        let mut without = with.clone();
        without.timestamp_ms = None;
        let mut b = Vec::new();
        encode(5, &without, &mut b).unwrap();
        b.len() - HEADER_LEN + 9
    });
    // A tail that is not the extension: the reader does not know this format.
    let mut bad = Vec::new();
    let mut payload = buf[HEADER_LEN..].to_vec();
    payload.push(TIMESTAMP_TAG); // the extension and one byte more
    bad.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bad.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    bad.extend_from_slice(&payload);
    assert_eq!(decode(&bad).map(|_| ()), Err(FrameError::BadPayload));
    // Recovery reads zeros at a segment's end as unwritten: a frame never ends in one.
    for ms in [0, 1, 1_670_574_414_123, -1] {
        let mut r = rec("t.x", b"room", b"{}");
        r.timestamp_ms = Some(ms);
        buf.clear();
        encode(6, &r, &mut buf).unwrap();
        assert_ne!(buf.last(), Some(&0), "{ms}");
    }
}

#[test]
fn round_trip_and_exact_length() {
    let r = rec("t.x", b"room", b"{\"a\":1}");
    let mut buf = vec![9, 9];
    encode(42, &r, &mut buf).unwrap();
    let (seq, back, n) = decode(&buf[2..]).unwrap();
    assert_eq!((seq, &back, n), (42, &r, buf.len() - 2));
}

#[test]
fn the_bridges_header_names_decode_without_allocating() {
    let mut buf = Vec::new();
    encode(1, &rec("t", b"k", b"v"), &mut buf).unwrap();
    let (_, r, _) = decode(&buf).unwrap();
    assert!(matches!(r.headers[0].0, Cow::Borrowed("ce_id")));
    assert!(matches!(&r.headers[1].0, Cow::Owned(name) if name == "h"));
}

#[test]
fn damage_is_classified() {
    let mut buf = Vec::new();
    encode(1, &rec("t", b"k", b"v"), &mut buf).unwrap();
    assert_eq!(decode(&buf[..3]).unwrap_err(), FrameError::Incomplete);
    assert_eq!(decode(&buf[..buf.len() - 1]).unwrap_err(), FrameError::Incomplete);
    assert_eq!(decode(&[0; 16]).unwrap_err(), FrameError::BadLength);
    assert_eq!(decode(&[0xff; 16]).unwrap_err(), FrameError::BadLength);
    let mut flipped = buf.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(decode(&flipped).unwrap_err(), FrameError::BadCrc);
}

#[test]
fn valid_crc_over_a_bad_payload_is_bad_payload() {
    let payload = [0u8; MIN_PAYLOAD_LEN + 1]; // trailing byte after an empty record
    let mut buf = (payload.len() as u32).to_le_bytes().to_vec();
    buf.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    buf.extend_from_slice(&payload);
    assert_eq!(decode(&buf).unwrap_err(), FrameError::BadPayload);
    let exact = &payload[..MIN_PAYLOAD_LEN];
    let mut ok = (exact.len() as u32).to_le_bytes().to_vec();
    ok.extend_from_slice(&crc32c::crc32c(exact).to_le_bytes());
    ok.extend_from_slice(exact);
    assert!(decode(&ok).is_ok());
}

#[test]
fn oversized_fields_are_refused_and_leave_out_untouched() {
    let mut r = rec("t", b"k", b"v");
    r.topic = Arc::from("x".repeat(70_000));
    let mut buf = vec![1];
    assert_eq!(encode(0, &r, &mut buf).unwrap_err().what, "topic");
    assert_eq!(buf, [1]);
    let big = rec("t", b"k", &vec![0; MAX_RECORD_LEN]);
    assert_eq!(encode(0, &big, &mut buf).unwrap_err().what, "frame");
}

#[test]
fn read_frame_streams_records_and_stops_cleanly() {
    let mut buf = Vec::new();
    encode(5, &rec("a", b"", b""), &mut buf).unwrap();
    encode(6, &rec("b", b"k", b"v"), &mut buf).unwrap();
    let mut r = &buf[..buf.len() - 2];
    let mut scratch = Vec::new();
    assert!(matches!(
        read_frame(&mut r, &mut scratch).unwrap(),
        ReadFrame::Record { seq: 5, .. }
    ));
    assert!(matches!(
        read_frame(&mut r, &mut scratch).unwrap(),
        ReadFrame::Broken(FrameError::Incomplete)
    ));
    let mut whole = &buf[..];
    read_frame(&mut whole, &mut scratch).unwrap();
    read_frame(&mut whole, &mut scratch).unwrap();
    assert!(matches!(
        read_frame(&mut whole, &mut scratch).unwrap(),
        ReadFrame::End
    ));
}

proptest! {
    #[test]
    fn random_records_round_trip(seq in any::<u64>(), r in arb_record()) {
        let mut buf = Vec::new();
        encode(seq, &r, &mut buf).unwrap();
        let (s, back, n) = decode(&buf).unwrap();
        prop_assert_eq!((s, back, n), (seq, r, buf.len()));
    }

    #[test]
    fn every_truncation_recovers_exactly_the_complete_prefix(
        records in proptest::collection::vec(arb_record(), 1..6),
        start in any::<u32>(),
    ) {
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        for (i, r) in records.iter().enumerate() {
            encode(u64::from(start) + i as u64, r, &mut buf).unwrap();
            ends.push(buf.len());
        }
        for cut in 0..=buf.len() {
            let (got, err) = decode_all(&buf[..cut]);
            let complete = ends.iter().filter(|&&e| e <= cut).count();
            prop_assert_eq!(got.len(), complete);
            for (i, (seq, r)) in got.iter().enumerate() {
                prop_assert_eq!(*seq, u64::from(start) + i as u64);
                prop_assert_eq!(r, &records[i]);
            }
            let at_boundary = cut == 0 || ends.contains(&cut);
            prop_assert_eq!(err, if at_boundary { None } else { Some(FrameError::Incomplete) });
        }
    }

    #[test]
    fn a_flipped_byte_never_yields_a_wrong_record(
        records in proptest::collection::vec(arb_record(), 1..5),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut buf = Vec::new();
        for (i, r) in records.iter().enumerate() {
            encode(i as u64, r, &mut buf).unwrap();
        }
        let at = pos.index(buf.len());
        buf[at] ^= 1 << bit;
        let (got, err) = decode_all(&buf);
        prop_assert!(err.is_some());
        for (i, (seq, r)) in got.iter().enumerate() {
            prop_assert_eq!((*seq, r), (i as u64, &records[i]));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_all(&bytes);
        let mut r = &bytes[..];
        let mut scratch = Vec::new();
        while let Ok(ReadFrame::Record { .. }) = read_frame(&mut r, &mut scratch) {}
    }

    #[test]
    fn arbitrary_payloads_under_a_valid_crc_never_panic(payload in proptest::collection::vec(any::<u8>(), MIN_PAYLOAD_LEN..256)) {
        let mut buf = (payload.len() as u32).to_le_bytes().to_vec();
        buf.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
        buf.extend_from_slice(&payload);
        let _ = decode(&buf);
    }
}
