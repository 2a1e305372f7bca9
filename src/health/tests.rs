use super::*;

fn stats(max_bytes: u64) -> Arc<SpoolStats> {
    let stats = SpoolStats::default();
    stats.set_max_bytes(max_bytes);
    Arc::new(stats)
}
#[test]
fn readiness_and_liveness_follow_the_delivery_mode() {
    let direct = Health::new();
    assert!(direct.readiness().is_err(), "not yet connected");
    direct.set(None);
    assert_eq!(direct.readiness(), Ok(None));
    direct.set_fatal("fenced".into());
    assert_eq!(direct.liveness(), Err("fenced".into()));
    assert!(direct.readiness().is_err());

    let spool = Health::new();
    spool.watch_spool(stats(1 << 20));
    assert!(matches!(spool.readiness(), Ok(Some(note)) if note.contains("spooled")));
    spool.set(Some(KafkaProblem::MissingTopics {
        topics: vec!["t".into()],
        dlq: false,
    }));
    assert!(spool.topic_missing("t") && !spool.topic_missing("u"));
    assert_eq!(
        spool.readiness(),
        Ok(Some("missing topics: t; their events are kept on the DLQ".into()))
    );
    // The drain replaces a fenced producer itself: no restart needed.
    spool.set_fatal("fenced".into());
    assert_eq!(spool.liveness(), Ok(()));
}

/// A missing topic is degraded, never unready, in every mode: its events go to the DLQ.
/// Only a missing DLQ (or one refusing records) leaves nothing kept.
#[test]
fn a_missing_topic_degrades_and_only_a_missing_dlq_makes_unready() {
    let health = Health::new();
    health.set(Some(KafkaProblem::MissingTopics {
        topics: vec!["t.user.state".into(), "t.mic.seat".into()],
        dlq: false,
    }));
    let note = health.readiness().unwrap().unwrap();
    assert!(note.contains("t.user.state, t.mic.seat"), "{note}");
    assert_eq!(health.missing_topics().len(), 2);
    health.set_delivery_problem(Some("the DLQ refuses records".into()));
    assert!(health.readiness().is_err());
    health.set_delivery_problem(None);
    health.set(Some(KafkaProblem::MissingTopics {
        topics: vec!["t.dlq".into()],
        dlq: true,
    }));
    assert!(health.readiness().unwrap_err().contains("t.dlq"));
    health.set(None);
    assert!(!health.topic_missing("t.user.state"));
    assert_eq!(health.readiness(), Ok(None));
}

/// A spool that cannot be read stays ready (appends are durable) but says so; one that
/// cannot be written is not ready, since every callback gets 503.
#[test]
fn spool_disk_problems_show_in_readiness() {
    let health = Health::new();
    let stats = stats(1 << 20);
    health.watch_spool(stats.clone());
    health.set(None);
    assert_eq!(health.readiness(), Ok(None));
    assert!(stats.set_read_problem(Some("EMFILE".into())));
    assert!(
        !stats.set_read_problem(Some("EMFILE again".into())),
        "logged once"
    );
    assert_eq!(
        health.readiness(),
        Ok(Some("spool cannot be read, retrying: EMFILE again".into()))
    );
    stats.set_write_problem(Some("No space left on device".into()));
    assert_eq!(
        health.readiness(),
        Err("spool cannot write: No space left on device".into())
    );
    stats.set_write_problem(None);
    stats.set_read_problem(None);
    assert_eq!(health.readiness(), Ok(None));
}

#[tokio::test]
async fn a_fenced_producer_is_replaced_without_a_restart() {
    let metrics = crate::metrics::Metrics::new(&Topics::new("t."));
    let publisher = Publisher::new("127.0.0.1:9", &[], metrics).unwrap();
    let health = Health::new();
    publisher.clone().mark_fenced();
    assert!(publisher.is_fenced());
    renew(&health, &publisher).await;
    assert!(!publisher.is_fenced(), "every clone sees the new producer");
    assert_eq!(health.liveness(), Ok(()));
}
