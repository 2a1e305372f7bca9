//! The log's file operations behind one seam, so that a test can make the disk misbehave the
//! way real disks do: a read that fails with EIO at one offset (a bad sector), a write that
//! fails with ENOSPC (a full volume), a copy that stops half-way (a crash). Production uses
//! [`RealFs`]; the tests' `FaultyFs` (`fs/faults.rs`) fails what it is told to.
//!
//! The seam is deliberately thin: it keeps `std::fs::File` as the handle and routes each
//! operation through the trait with the file's path, which is all a fault needs to choose
//! its victim. Listing and locking stay direct (nothing to inject there that a test needs).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Read,
    /// Read and write an existing file.
    Write,
    /// Read and write, created if missing, never truncated.
    Create,
    /// Write a new file from empty (truncating one left over).
    Fresh,
}

/// The file operations the spool performs. Every method has the real behaviour as its
/// default, so a fault-injecting implementation overrides only what it fails.
pub trait FileSystem: Send + Sync + fmt::Debug {
    fn open(&self, path: &Path, how: How) -> io::Result<File> {
        let mut o = OpenOptions::new();
        match how {
            How::Read => o.read(true),
            How::Write => o.read(true).write(true),
            How::Create => o.read(true).write(true).create(true).truncate(false),
            How::Fresh => o.read(true).write(true).create(true).truncate(true),
        };
        o.open(path)
    }
    fn read_at(&self, file: &File, _path: &Path, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        file.read_at(buf, offset)
    }
    fn write_at(&self, file: &File, _path: &Path, buf: &[u8], offset: u64) -> io::Result<usize> {
        file.write_at(buf, offset)
    }
    /// `fdatasync` (`data_only`) or `fsync`.
    fn sync(&self, file: &File, _path: &Path, data_only: bool) -> io::Result<()> {
        if data_only {
            file.sync_data()
        } else {
            file.sync_all()
        }
    }
    fn set_len(&self, file: &File, _path: &Path, len: u64) -> io::Result<()> {
        file.set_len(len)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
}

/// The disk as it is.
#[derive(Debug, Default)]
pub struct RealFs;
impl FileSystem for RealFs {}

pub type Fs = Arc<dyn FileSystem>;

pub fn real() -> Fs {
    Arc::new(RealFs)
}

/// An open file with its path, its operations going through the seam.
#[derive(Debug)]
pub struct FsFile {
    file: File,
    path: PathBuf,
    fs: Fs,
}

/// Reads are retried in pieces this small after an error, so that one unreadable sector costs
/// only the frames on it, not every byte a large read would have covered.
pub const SECTOR: u64 = 4096;

impl FsFile {
    pub fn open(fs: &Fs, path: &Path, how: How) -> io::Result<FsFile> {
        Ok(FsFile {
            file: fs.open(path, how)?,
            path: path.to_path_buf(),
            fs: Arc::clone(fs),
        })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The handle itself, for what the seam does not cover (fallocate, metadata).
    pub fn raw(&self) -> &File {
        &self.file
    }
    pub fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.fs.read_at(&self.file, &self.path, buf, offset)
    }
    pub fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ended")),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    pub fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.fs.write_at(&self.file, &self.path, buf, offset) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "nothing written")),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    pub fn sync_data(&self) -> io::Result<()> {
        self.fs.sync(&self.file, &self.path, true)
    }
    pub fn sync_all(&self) -> io::Result<()> {
        self.fs.sync(&self.file, &self.path, false)
    }
    pub fn set_len(&self, len: u64) -> io::Result<()> {
        self.fs.set_len(&self.file, &self.path, len)
    }
}

/// Sequential reads through the seam. A large read that fails is retried up to the next
/// sector boundary, so the bytes before a bad sector are still read and the error surfaces
/// at the sector itself.
pub struct FsReader {
    file: Arc<FsFile>,
    pos: u64,
}

impl FsReader {
    pub fn new(file: Arc<FsFile>, offset: u64) -> FsReader {
        FsReader { file, pos: offset }
    }
    pub fn file(&self) -> &FsFile {
        &self.file
    }
}

impl Read for FsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.file.read_at(buf, self.pos) {
            Ok(n) => n,
            Err(e) => {
                let to_boundary = (SECTOR - self.pos % SECTOR) as usize;
                if to_boundary >= buf.len() {
                    return Err(e);
                }
                self.file.read_at(&mut buf[..to_boundary], self.pos)?
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for FsReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(n) => n,
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
            SeekFrom::End(d) => self.file.len()?.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

/// Whether an error is the disk refusing new bytes (a full volume or quota).
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// Whether an error says the bytes cannot be read (as opposed to the process being out of
/// something, or the file being gone).
pub fn is_unreadable(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EIO | libc::EBADMSG))
}

/// Reads `buf.len()` bytes at `offset`, a sector at a time where a read fails: unreadable
/// sectors come back as zeros, and the count of bytes that could not be read is returned.
/// For copies of damaged bytes and searches through them, where a hole is better than giving up.
pub fn read_around_holes(file: &FsFile, buf: &mut [u8], offset: u64) -> io::Result<u64> {
    if file.read_exact_at(buf, offset).is_ok() {
        return Ok(0);
    }
    let mut holes = 0;
    let mut done = 0usize;
    while done < buf.len() {
        let at = offset + done as u64;
        let n = ((SECTOR - at % SECTOR) as usize).min(buf.len() - done);
        if let Err(e) = file.read_exact_at(&mut buf[done..done + n], at) {
            if !is_unreadable(&e) {
                return Err(e);
            }
            buf[done..done + n].fill(0);
            holes += n as u64;
        }
        done += n;
    }
    Ok(holes)
}

#[cfg(test)]
pub mod faults;
