//! A disk that fails on command, for the tests: EIO on reads overlapping a chosen range of a
//! chosen file, ENOSPC on writes, and a crash after the n-th change to the disk (the write it
//! falls on lands half-way, as a copy cut short by a kill would).

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::{FileSystem, How};

#[derive(Debug, Default)]
struct Rules {
    /// Reads overlapping `range` of files whose name contains `name` fail `left` more times.
    bad_reads: Vec<(String, Range<u64>, u32)>,
    /// Writes (and new files) whose name contains this fail with ENOSPC.
    no_space: Option<String>,
    /// The disk is full until a file is removed.
    no_space_until_remove: bool,
    /// Changes (create, write, sync, set_len, rename, remove) left before the "crash"; every
    /// change after it fails.
    changes_left: Option<u32>,
    crashed: bool,
    /// Failed reads so far.
    eio_count: u32,
}

#[derive(Debug, Default, Clone)]
pub struct FaultyFs(Arc<Mutex<Rules>>);

pub fn eio() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}
fn enospc() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}
fn crash() -> io::Error {
    io::Error::other("simulated crash")
}
fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl FaultyFs {
    fn rules(&self) -> std::sync::MutexGuard<'_, Rules> {
        self.0.lock().unwrap()
    }
    /// Reads of `range` in files named like `name` fail `times` times (u32::MAX: always).
    pub fn bad_read(&self, name: &str, range: Range<u64>, times: u32) -> &Self {
        self.rules().bad_reads.push((name.into(), range, times));
        self
    }
    /// Writes to files whose name contains `name` ("" for all) fail with ENOSPC.
    pub fn no_space(&self, name: Option<&str>) -> &Self {
        self.rules().no_space = name.map(Into::into);
        self
    }
    /// Every write fails with ENOSPC until some file is removed.
    pub fn full_until_remove(&self) -> &Self {
        self.rules().no_space_until_remove = true;
        self
    }
    /// The disk "crashes" after `n` more changes: the change after them fails (a write lands
    /// half-way), and so does every one after it.
    pub fn crash_after(&self, n: u32) -> &Self {
        self.rules().changes_left = Some(n);
        self
    }
    /// The disk works again after a "crash" (a failed write that could not be cut back yet).
    pub fn heal(&self) -> &Self {
        let mut r = self.rules();
        r.crashed = false;
        r.changes_left = None;
        drop(r);
        self
    }
    pub fn crashed(&self) -> bool {
        self.rules().crashed
    }
    pub fn eio_count(&self) -> u32 {
        self.rules().eio_count
    }
    pub fn fs(&self) -> super::Fs {
        Arc::new(self.clone())
    }

    /// Counts one change; `Err` once the crash point is passed.
    fn change(&self) -> io::Result<()> {
        let mut r = self.rules();
        if r.crashed {
            return Err(crash());
        }
        match r.changes_left {
            Some(0) => {
                r.crashed = true;
                Err(crash())
            }
            Some(n) => {
                r.changes_left = Some(n - 1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn full_for(&self, path: &Path) -> bool {
        let r = self.rules();
        r.no_space_until_remove
            || r.no_space
                .as_ref()
                .is_some_and(|n| name(path).contains(n.as_str()))
    }
}

impl FileSystem for FaultyFs {
    fn open(&self, path: &Path, how: How) -> io::Result<File> {
        if how == How::Fresh || (how == How::Create && !path.exists()) {
            self.change()?;
            if self.full_for(path) && !path.exists() {
                return Err(enospc());
            }
        }
        super::RealFs.open(path, how)
    }

    fn read_at(&self, file: &File, path: &Path, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let end = offset + buf.len() as u64;
        {
            let mut r = self.rules();
            let file_name = name(path);
            let hit = r.bad_reads.iter_mut().find(|(n, range, left)| {
                *left > 0 && file_name.contains(n.as_str()) && range.start < end && offset < range.end
            });
            if let Some((_, _, left)) = hit {
                if *left != u32::MAX {
                    *left -= 1;
                }
                r.eio_count += 1;
                return Err(eio());
            }
        }
        super::RealFs.read_at(file, path, buf, offset)
    }

    fn write_at(&self, file: &File, path: &Path, buf: &[u8], offset: u64) -> io::Result<usize> {
        if self.full_for(path) {
            return Err(enospc());
        }
        let crashed_before = self.rules().crashed;
        if let Err(e) = self.change() {
            // The write the crash falls on lands half-way.
            let half = buf.len() / 2;
            if half > 0 && !crashed_before {
                let _ = super::RealFs.write_at(file, path, &buf[..half], offset);
            }
            return Err(e);
        }
        super::RealFs.write_at(file, path, buf, offset)
    }

    fn sync(&self, file: &File, path: &Path, data_only: bool) -> io::Result<()> {
        self.change()?;
        super::RealFs.sync(file, path, data_only)
    }

    fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()> {
        self.change()?;
        super::RealFs.set_len(file, path, len)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.change()?;
        super::RealFs.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.change()?;
        self.rules().no_space_until_remove = false;
        super::RealFs.remove(path)
    }
}
