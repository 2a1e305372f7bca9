//! decode → normalize → route: a callback's bytes to the Kafka record they become, or the
//! refusal. No authentication and no delivery: the pipeline runs it after its checks, and
//! `dlq redrive` runs it again over what an earlier version refused.

use std::borrow::Cow;

use crate::callbacks::{trtc, Callback, Kind};
use crate::config::UnknownCommands;
use crate::dlq::Dlq;
use crate::event::{Event, Origin};
use crate::query::CallbackQuery;
use crate::record::Record;
use crate::refusal::Refusal;
use crate::route::{self, Topics};

pub struct Decoder {
    pub topics: Topics,
    pub unknown: UnknownCommands,
    /// The producer's `message.max.bytes`: a bigger event is refused before the OK, not lost
    /// after it.
    pub max_record_bytes: usize,
}

impl Decoder {
    /// Builds the DLQ copies of what this decoder refuses, within the same record limit.
    pub fn dlq(&self) -> Dlq {
        Dlq::new(self.topics.clone(), self.max_record_bytes)
    }

    /// decode → normalize → route. `ce_suffix` makes the record's `ce_id`
    /// ([`route::ce_id`]): a fresh one per accepted callback, a stable one on redrive.
    pub fn callback(
        &self,
        query: &CallbackQuery<'_>,
        command: &str,
        body: &[u8],
        received_at_ms: i64,
        ce_suffix: &str,
    ) -> Result<Record, Refusal> {
        let text = utf8(body)?;
        let kind = Kind::from_name(command);
        let callback = Callback::decode(kind, command, text)?;
        if kind.is_none() && self.unknown == UnknownCommands::Reject {
            return Err(Refusal::UnknownCommand(crate::refusal::clip(command)));
        }
        let facts = callback.facts();
        let origin = Origin {
            sdk_app_id: query.sdk_app_id.as_deref().unwrap_or(""),
            client_ip: query.client_ip.as_deref(),
            platform: query.platform.as_deref(),
            received_at_ms,
        };
        let event = Event::new(&facts, kind.map_or(command, |k| k.canonical()), origin, body);
        let record = route::event_record(&self.topics, facts.family, &event, text, Some(ce_suffix));
        self.fits(record)
    }

    /// decode → normalize → route, with the event's id and canonical command.
    pub fn trtc(
        &self,
        app: &str,
        body: &[u8],
        received_at_ms: i64,
    ) -> Result<(Record, String, Cow<'static, str>), Refusal> {
        let text = utf8(body)?;
        let callback = trtc::decode(text)?;
        let facts = callback.facts();
        let command = callback.command();
        let platform = callback.platform();
        let origin = Origin {
            sdk_app_id: app,
            client_ip: None,
            platform: platform.as_deref(),
            received_at_ms,
        };
        let event = Event::new(&facts, &command, origin, callback.identity().as_bytes());
        let record = self.fits(route::event_record(
            &self.topics,
            facts.family,
            &event,
            text,
            None,
        ))?;
        Ok((record, event.event_id.clone(), command))
    }

    /// The producer would refuse a larger record after the OK: refuse it now instead (and
    /// keep the callback on the DLQ).
    fn fits(&self, record: Record) -> Result<Record, Refusal> {
        let size = record.encoded_len();
        if size > self.max_record_bytes {
            return Err(Refusal::EventTooLarge {
                size,
                limit: self.max_record_bytes,
            });
        }
        Ok(record)
    }
}

fn utf8(body: &[u8]) -> Result<&str, Refusal> {
    std::str::from_utf8(body)
        .map_err(|e| Refusal::NotJson(format!("invalid UTF-8 at byte {}", e.valid_up_to())))
}
