//! The record frame: one self-checking unit of the log.
//!
//! `[len: u32 LE][crc32c: u32 LE of payload][payload: len bytes]`, payload =
//! `[seq u64][topic_len u16][topic][key_len u32][key][header_count u16]`
//! `{[name_len u16][name][value_len u32][value]}*[value_len u32][value]`, then, since schema 4,
//! the optional extension `[timestamp_ms i64][1u8]` (the record's Kafka timestamp), all
//! integers LE. A frame without the extension (written before it, or a record with no
//! timestamp) still reads: its timestamp comes from the event's own fields in the value.
//! The extension is a tagged tail rather than a new field in the middle, so every frame ever
//! written reads alike; its tag comes last because recovery reads zero bytes at the end of a
//! segment as space never written, so a frame must not end in zeros (a timestamp's high bytes
//! are). A version before it reads a frame with the tail as damage: drain the spool before a
//! downgrade.
//!
//! The length comes first so a reader knows how much to wait for; the CRC covers the payload
//! so a torn or rotten frame is never mistaken for a record. The seq lives inside the payload
//! (under the CRC) so a frame can never be attributed to the wrong position.

use std::borrow::Cow;
use std::io::{self, Read};
use std::sync::Arc;

use crate::record::Record;
use crate::record::{record_time_ms, HEADER_NAMES};

/// Tag of the timestamp extension at the end of a payload.
const TIMESTAMP_TAG: u8 = 1;
/// The extension's size: an i64 and its tag.
const TIMESTAMP_EXT_LEN: usize = 1 + 8;

/// Bytes before the payload: length and CRC.
pub const HEADER_LEN: usize = 8;
/// The smallest possible payload: seq, three length fields and a header count.
pub const MIN_PAYLOAD_LEN: usize = 8 + 2 + 4 + 2 + 4;
/// Larger lengths are treated as damage, so a garbage length never makes us wait for (or
/// allocate) gigabytes. Callback bodies are far smaller.
pub const MAX_RECORD_LEN: usize = 64 * 1024 * 1024;

/// Why bytes do not (yet) form a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The buffer ends before the frame does: a torn tail, or data still being written.
    #[error("incomplete frame")]
    Incomplete,
    /// The length field is impossible: damage, not a short read.
    #[error("impossible frame length")]
    BadLength,
    /// The payload does not match its checksum.
    #[error("frame checksum mismatch")]
    BadCrc,
    /// The checksum matches but the payload is not a record (a bug, or a format change).
    #[error("malformed frame payload")]
    BadPayload,
    /// The disk cannot read the frame's bytes (EIO: a bad sector), however often asked.
    #[error("unreadable bytes (I/O error)")]
    Unreadable,
}

/// A record that cannot be framed: one of its fields outgrows its length field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {what} is {len} bytes, over the spool limit of {max}")]
pub struct EncodeError {
    pub what: &'static str,
    pub len: usize,
    pub max: usize,
}

fn limit(what: &'static str, len: usize, max: usize) -> Result<(), EncodeError> {
    if len > max {
        return Err(EncodeError { what, len, max });
    }
    Ok(())
}

/// Rejects a record up front rather than writing a frame that would later read as damage.
fn check(record: &Record) -> Result<(), EncodeError> {
    limit("topic", record.topic.len(), u16::MAX.into())?;
    limit("header count", record.headers.len(), u16::MAX.into())?;
    let mut total =
        MIN_PAYLOAD_LEN + TIMESTAMP_EXT_LEN + record.topic.len() + record.key.len() + record.value.len();
    for (name, value) in &record.headers {
        limit("header name", name.len(), u16::MAX.into())?;
        total = total.saturating_add(2 + name.len() + 4 + value.len());
    }
    limit("frame", total, MAX_RECORD_LEN)
}

/// Appends one frame for `record` at `seq` to `out`. On error `out` is untouched.
pub fn encode(seq: u64, record: &Record, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    check(record)?;
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    out.extend_from_slice(&seq.to_le_bytes());
    put_u16_bytes(out, record.topic.as_bytes());
    put_u32_bytes(out, &record.key);
    put_len16(out, record.headers.len());
    for (name, value) in &record.headers {
        put_u16_bytes(out, name.as_bytes());
        put_u32_bytes(out, value);
    }
    put_u32_bytes(out, &record.value);
    if let Some(ms) = record.timestamp_ms {
        out.extend_from_slice(&ms.to_le_bytes());
        out.push(TIMESTAMP_TAG);
    }
    let payload_len = out.len() - start - HEADER_LEN;
    let crc = crc32c::crc32c(&out[start + HEADER_LEN..]);
    // check() bounded payload_len by MAX_RECORD_LEN, which fits a u32.
    let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

// Lengths below were bounded by check(); saturating keeps clippy and the impossible case honest.
fn put_len16(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes());
}

fn put_u16_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len16(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn put_u32_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Validates a frame header: the payload length it announces.
pub fn payload_len(header: &[u8; HEADER_LEN]) -> Result<usize, FrameError> {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if !(MIN_PAYLOAD_LEN..=MAX_RECORD_LEN).contains(&len) {
        return Err(FrameError::BadLength);
    }
    Ok(len)
}

/// Decodes the frame at the start of `buf`: `(seq, record, bytes consumed)`.
pub fn decode(buf: &[u8]) -> Result<(u64, Record, usize), FrameError> {
    let header: &[u8; HEADER_LEN] = buf
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(FrameError::Incomplete)?;
    let len = payload_len(header)?;
    let payload = buf
        .get(HEADER_LEN..HEADER_LEN + len)
        .ok_or(FrameError::Incomplete)?;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if crc32c::crc32c(payload) != crc {
        return Err(FrameError::BadCrc);
    }
    let (seq, record) = parse(payload).ok_or(FrameError::BadPayload)?;
    Ok((seq, record, HEADER_LEN + len))
}

/// Reads a payload field by field; `None` on any overrun.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]).into())
    }
    fn u32(&mut self) -> Option<usize> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn u64(&mut self) -> Option<u64> {
        let b: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_le_bytes(b))
    }
    fn str16(&mut self) -> Option<&'a str> {
        let n = self.u16()?;
        std::str::from_utf8(self.take(n)?).ok()
    }
    fn bytes32(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()?;
        self.take(n).map(<[u8]>::to_vec)
    }
}

fn parse(payload: &[u8]) -> Option<(u64, Record)> {
    let mut c = Cursor(payload);
    let seq = c.u64()?;
    let topic: Arc<str> = Arc::from(c.str16()?);
    let key = c.bytes32()?;
    let count = c.u16()?;
    // Each header takes at least 6 bytes, so a lying count cannot make us over-allocate.
    let mut headers = Vec::with_capacity(count.min(c.0.len() / 6));
    for _ in 0..count {
        let name = c.str16()?;
        // The bridge's own names come back borrowed, as they were written.
        let name = match HEADER_NAMES.iter().find(|n| **n == name) {
            Some(known) => Cow::Borrowed(*known),
            None => Cow::Owned(name.to_owned()),
        };
        headers.push((name, c.bytes32()?.into()));
    }
    let value = c.bytes32()?;
    let timestamp_ms = match c.0 {
        [] => record_time_ms(&value),
        [ms @ .., TIMESTAMP_TAG] => Some(i64::from_le_bytes(<[u8; 8]>::try_from(ms).ok()?)),
        // Other trailing bytes mean the writer and reader disagree on the format: not a record.
        _ => return None,
    };
    Some((
        seq,
        Record {
            topic,
            key,
            headers,
            value,
            timestamp_ms,
        },
    ))
}

/// What [`read_frame`] found at the current position of a stream.
#[derive(Debug)]
pub enum ReadFrame {
    /// A whole, valid frame.
    Record { seq: u64, record: Record, len: usize },
    /// The stream ended exactly at a frame boundary.
    End,
    /// The bytes here are not a valid frame (`Incomplete` if the stream ended inside one).
    Broken(FrameError),
}

/// Reads the next frame from a stream, holding at most one frame in `buf`, so scanning a
/// segment needs memory for one record, not for the file.
pub fn read_frame<R: Read>(r: &mut R, buf: &mut Vec<u8>) -> io::Result<ReadFrame> {
    buf.clear();
    let got = r.by_ref().take(HEADER_LEN as u64).read_to_end(buf)?;
    if got == 0 {
        return Ok(ReadFrame::End);
    }
    let Ok(header) = <[u8; HEADER_LEN]>::try_from(buf.as_slice()) else {
        return Ok(ReadFrame::Broken(FrameError::Incomplete));
    };
    let len = match payload_len(&header) {
        Ok(len) => len,
        Err(e) => return Ok(ReadFrame::Broken(e)),
    };
    r.by_ref().take(len as u64).read_to_end(buf)?;
    Ok(match decode(buf) {
        Ok((seq, record, len)) => ReadFrame::Record { seq, record, len },
        Err(e) => ReadFrame::Broken(e),
    })
}

#[cfg(test)]
mod tests;
