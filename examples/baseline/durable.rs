//! The spool-mode ceiling's durable write: one thread takes every body waiting, writes them
//! with one positioned write into preallocated space and one fdatasync (group commit, as the
//! spool writer does, without its framing, checksums, recovery or drain), answers them all,
//! then hands them to librdkafka. Like the spool, it writes zeros a chunk ahead of its data, so
//! an append's fdatasync rarely has to journal the allocated space becoming written.
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{produce, Producer};

/// The file is reused from the start when full: only the cost of the write matters here.
const FILE_BYTES: u64 = 1 << 30;
const MAX_BATCH: usize = 1024;
/// As the spool's `ZERO_AHEAD`.
const ZERO_AHEAD: u64 = 256 << 10;
static ZEROS: [u8; ZERO_AHEAD as usize] = [0; ZERO_AHEAD as usize];

pub struct Append {
    body: Bytes,
    done: oneshot::Sender<bool>,
}

/// `true` once the body is on disk.
pub async fn append(tx: &mpsc::Sender<Append>, body: Bytes) -> bool {
    let (done, rx) = oneshot::channel();
    tx.send(Append { body, done }).await.is_ok() && rx.await.unwrap_or(false)
}

pub fn start(dir: &Path, producer: Producer) -> std::io::Result<mpsc::Sender<Append>> {
    std::fs::create_dir_all(dir)?;
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("ceiling.log"))?;
    // SAFETY: a plain syscall on a descriptor this function owns.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, FILE_BYTES as libc::off_t) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    file.sync_all()?;
    let (tx, rx) = mpsc::channel(4096);
    std::thread::Builder::new()
        .name("ceiling-writer".into())
        .spawn(move || write_loop(file, rx, producer))?;
    Ok(tx)
}

fn write_loop(file: File, mut rx: mpsc::Receiver<Append>, producer: Producer) {
    let (mut offset, mut buf, mut batch) = (0u64, Vec::new(), Vec::new());
    let mut zeroed = 0u64;
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(a) => batch.push(a),
                Err(_) => break,
            }
        }
        buf.clear();
        for a in &batch {
            buf.extend_from_slice(&(a.body.len() as u32).to_le_bytes());
            buf.extend_from_slice(&a.body);
        }
        if offset + buf.len() as u64 > FILE_BYTES {
            offset = 0;
        }
        let end = offset + buf.len() as u64;
        let zeros = (zeroed < FILE_BYTES && zeroed.saturating_sub(end) < ZERO_AHEAD / 2).then(|| {
            let start = zeroed.max(end);
            (start, (start + ZERO_AHEAD).min(FILE_BYTES))
        });
        let ok = file
            .write_all_at(&buf, offset)
            .and_then(|()| match zeros {
                Some((start, stop)) if start < stop => {
                    file.write_all_at(&ZEROS[..(stop - start) as usize], start)
                }
                _ => Ok(()),
            })
            .and_then(|()| file.sync_data())
            .is_ok();
        offset = end;
        zeroed = zeros.map_or(zeroed, |(_, stop)| stop).max(end);
        let bodies: Vec<Bytes> = batch
            .drain(..)
            .map(|a| {
                let _ = a.done.send(ok);
                a.body
            })
            .collect();
        for body in bodies {
            // A full queue waits, as the spool's drain does; the record is on disk already.
            for _ in 0..10_000 {
                if produce(&producer, &body) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}
