//! `spool inspect | verify | replay`: what is in a spool directory, whether it is intact, and
//! publishing its records again. Read-only on the directory (no lock, nothing written), so
//! each works beside a running bridge.

use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};

use super::error::ToolError;
use super::filter::Filter;
use crate::config::SpoolDirArg;
use crate::event::received_at_ms;
use crate::record::Record;
use crate::spool::{SpoolView, Walk};

pub(crate) mod replay;

#[derive(Debug, Subcommand)]
pub enum SpoolCommand {
    /// What is in a spool: segments, record counts, sizes, seq ranges, the delivery watermark,
    /// the oldest undelivered record's age, damaged and set-aside bytes. --records lists the
    /// records themselves.
    ///
    ///   tencent-kafka-bridge spool inspect --spool-dir /var/lib/bridge/spool
    ///   tencent-kafka-bridge spool inspect --spool-dir D --records --since 1h --family room.member
    #[command(verbatim_doc_comment)]
    Inspect(InspectArgs),
    /// Checks every frame (length and CRC) and exits 1 on damage, naming where; 0 when intact.
    Verify(SpoolDirArg),
    /// Publishes matching records again, as they were (key, headers, value, event_id) plus a
    /// `replayed-at` header, in spool order, with the bridge's producer settings.
    ///
    ///   tencent-kafka-bridge spool replay --spool-dir D --brokers kafka-1:9092 --since 2h --dry-run
    #[command(verbatim_doc_comment)]
    Replay(replay::ReplayArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub dir: SpoolDirArg,
    /// List the records (seq, received time, topic, key, event_id, size) too.
    #[arg(long)]
    pub records: bool,
    #[command(flatten)]
    pub filter: Filter,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    /// One JSON object per line.
    Json,
}

/// Runs a spool tool; `Ok(false)` means it ran and found something wrong (exit 1).
pub fn run(command: SpoolCommand) -> Result<bool, ToolError> {
    match command {
        SpoolCommand::Inspect(args) => inspect(&args).map(|()| true),
        SpoolCommand::Verify(args) => verify(&args),
        SpoolCommand::Replay(args) => replay::run(&args),
    }
}

fn inspect(args: &InspectArgs) -> Result<(), ToolError> {
    let view = SpoolView::read(&args.dir.spool_dir)?;
    let mut out = std::io::stdout().lock();
    let oldest = oldest_undelivered(&view)?;
    match args.format {
        Format::Text => summary_text(&view, oldest, &mut out),
        Format::Json => summary_json(&view, oldest, &mut out),
    }?;
    if args.records {
        let mut failed = None;
        let walk = view.walk_records(|seq, record, len| {
            if !args.filter.matches(record) {
                return true;
            }
            let line = record_line(args.format, seq, record, len);
            failed = writeln!(out, "{line}").err();
            failed.is_none()
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        not_listed(&view, &walk);
    }
    Ok(())
}

/// Says on stderr (stdout may be parsed) what `--records` could not list: nothing is skipped
/// without a word.
fn not_listed(view: &SpoolView, walk: &Walk) {
    for (s, t) in view.in_flight() {
        eprintln!(
            "note: {} bytes at byte {} of {} are not a whole record yet (a write in progress, or a torn tail): not listed",
            t.len,
            t.offset,
            s.seg.path.display()
        );
    }
    for (path, from, to) in &walk.changed {
        eprintln!(
            "note: {} changed while it was read: seqs {from}..{to} not listed",
            path.display()
        );
    }
    for (path, records) in &walk.gone {
        eprintln!(
            "note: {} was deleted while it was read (delivered meanwhile): {records} records not listed",
            path.display()
        );
    }
}

/// The first record at or past the watermark: (seq, received_at_ms).
fn oldest_undelivered(view: &SpoolView) -> Result<Option<(u64, i64)>, ToolError> {
    let mut oldest = None;
    view.for_each_record(|seq, record, _| {
        if seq < view.watermark {
            return true;
        }
        oldest = Some((seq, received_at_ms(&record.value)));
        false
    })?;
    Ok(oldest)
}

fn summary_text(view: &SpoolView, oldest: Option<(u64, i64)>, out: &mut impl Write) -> std::io::Result<()> {
    let records: u64 = view.segments.iter().map(|s| s.records()).sum();
    let undelivered = undelivered(view);
    writeln!(out, "spool {}", view.dir.display())?;
    writeln!(
        out,
        "  delivery watermark: {} (every seq below it is delivered)",
        view.watermark
    )?;
    writeln!(
        out,
        "  {} segments, {records} records, {undelivered} not yet delivered",
        view.segments.len()
    )?;
    match oldest {
        Some((seq, ms)) => writeln!(
            out,
            "  oldest undelivered: seq {seq}, received {} ({} ago)",
            super::filter::time(ms),
            age(ms)
        )?,
        None => writeln!(out, "  oldest undelivered: none")?,
    }
    for s in &view.segments {
        let seqs = s
            .seqs()
            .map_or("no records".to_owned(), |(a, b)| format!("seqs {a}..{b}"));
        let name = s
            .seg
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let state = if s.seqs().is_some_and(|(_, b)| b <= view.watermark) {
            ", delivered"
        } else {
            ""
        };
        writeln!(
            out,
            "  {name}: {} records, {seqs}, {} data bytes of {} on disk{state}",
            s.records(),
            s.data_bytes(),
            s.file_bytes
        )?;
        for d in &s.damage {
            writeln!(
                out,
                "    DAMAGED at byte {}: {} bytes ({}), seqs {}..{} lost",
                d.offset, d.len, d.error, d.first, d.resume
            )?;
        }
        if let Some(t) = &s.tail {
            writeln!(
                out,
                "    {} bytes at byte {} past the last record: a write in progress, or a torn tail",
                t.len, t.offset
            )?;
        }
        for u in &s.unsettled {
            writeln!(
                out,
                "    {} bytes at byte {} changed while read: a write in progress, not damage",
                u.len, u.offset
            )?;
        }
    }
    for (path, bytes) in &view.set_aside {
        writeln!(out, "  set aside: {} ({bytes} bytes)", path.display())?;
    }
    Ok(())
}

fn summary_json(view: &SpoolView, oldest: Option<(u64, i64)>, out: &mut impl Write) -> std::io::Result<()> {
    let segments: Vec<_> = view
        .segments
        .iter()
        .map(|s| {
            let damage: Vec<_> = s
                .damage
                .iter()
                .map(|d| serde_json::json!({"offset": d.offset, "bytes": d.len, "error": d.error.to_string(), "lost_seqs": [d.first, d.resume]}))
                .collect();
            serde_json::json!({
                "path": s.seg.path, "records": s.records(), "seqs": s.seqs().map(|(a, b)| [a, b]),
                "data_bytes": s.data_bytes(), "file_bytes": s.file_bytes, "damage": damage,
                "tail_bytes": s.tail.as_ref().map(|t| t.len),
            })
        })
        .collect();
    let set_aside: Vec<_> = view
        .set_aside
        .iter()
        .map(|(p, b)| serde_json::json!({"path": p, "bytes": b}))
        .collect();
    let line = serde_json::json!({
        "spool_dir": view.dir, "watermark": view.watermark, "undelivered": undelivered(view),
        "oldest_undelivered": oldest.map(|(seq, ms)| serde_json::json!({"seq": seq, "received_at_ms": ms})),
        "segments": segments, "set_aside": set_aside,
    });
    writeln!(out, "{line}")
}

fn undelivered(view: &SpoolView) -> u64 {
    let w = view.watermark;
    view.segments
        .iter()
        .flat_map(|s| &s.pieces)
        .map(|p| p.next.saturating_sub(p.first.max(w)))
        .sum()
}

fn record_line(format: Format, seq: u64, record: &Record, len: usize) -> String {
    let ms = received_at_ms(&record.value);
    let key = String::from_utf8_lossy(&record.key);
    let id = super::filter::event_id(record).unwrap_or_default();
    match format {
        Format::Text => format!("{seq}\t{}\t{}\t{key}\t{id}\t{len}", super::filter::time(ms), record.topic),
        Format::Json => serde_json::json!({
            "seq": seq, "received_at_ms": ms, "topic": &*record.topic, "key": key, "event_id": id, "bytes": len,
        })
        .to_string(),
    }
}

fn verify(args: &SpoolDirArg) -> Result<bool, ToolError> {
    let view = SpoolView::read(&args.spool_dir)?;
    let records: u64 = view.segments.iter().map(|s| s.records()).sum();
    let mut damaged = 0;
    for (s, d) in view.damaged() {
        damaged += 1;
        println!(
            "DAMAGED {} at byte {}: {} bytes ({}), seqs {}..{} unreadable",
            s.seg.path.display(),
            d.offset,
            d.len,
            d.error,
            d.first,
            d.resume
        );
    }
    for (s, t) in view.in_flight() {
        println!("note: {} has {} bytes at byte {} that are not a whole record: a write in progress, or a torn tail (cut at the next start)", s.seg.path.display(), t.len, t.offset);
    }
    for (path, bytes) in &view.set_aside {
        println!(
            "note: {} ({bytes} bytes) holds bytes set aside earlier",
            path.display()
        );
    }
    if damaged == 0 {
        println!(
            "ok: {} segments, {records} records, every frame intact",
            view.segments.len()
        );
    }
    Ok(damaged == 0)
}

fn age(ms: i64) -> String {
    let now = crate::clock::now_ms();
    let secs = u64::try_from((now - ms).max(0) / 1000).unwrap_or(0);
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}
