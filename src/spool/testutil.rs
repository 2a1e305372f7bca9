//! Helpers shared by the spool tests.

use std::path::Path;
use std::sync::Arc;

use super::Reader;
use crate::record::Record;

/// A distinguishable record: its value names `i`.
pub fn rec(i: u64) -> Record {
    Record {
        topic: Arc::from(if i % 2 == 0 { "t.even" } else { "t.odd" }),
        key: format!("k{i}").into_bytes(),
        headers: vec![("ce_id".into(), i.to_le_bytes().to_vec().into())],
        value: format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat((i % 7) as usize * 10)).into_bytes(),
        timestamp_ms: Some(i as i64),
    }
}

pub fn recs(range: std::ops::Range<u64>) -> Vec<Record> {
    range.map(rec).collect()
}

/// Every readable record from `from` below `committed`, in small batches.
pub fn read_all(dir: &Path, from: u64, committed: u64) -> Vec<(u64, Record)> {
    let mut reader = Reader::new(dir, from);
    let mut out = Vec::new();
    loop {
        let batch = reader.next_batch(committed, 3, 1 << 20).unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

pub fn seqs(records: &[(u64, Record)]) -> Vec<u64> {
    records.iter().map(|(s, _)| *s).collect()
}

/// Lists the directory's file names, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn log_files(dir: &Path) -> Vec<String> {
    names(dir).into_iter().filter(|n| n.ends_with(".log")).collect()
}
