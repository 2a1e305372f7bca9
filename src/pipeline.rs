//! One callback through the stages, in the order of the HTTP contract: authenticate, decode,
//! normalize, route, deliver. Knows nothing of sockets; the ingress hands it a query and a body.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::auth::{Authenticator, CallbackQuery};
use crate::callbacks::{Callback, Kind};
use crate::config::{Config, UnknownCommands};
use crate::deliver::Delivery;
use crate::event::{Event, Origin};
use crate::refusal::Refusal;
use crate::route::{self, Record, Topics};

pub struct Pipeline {
    auth: Authenticator,
    topics: Topics,
    delivery: Delivery,
    unknown: UnknownCommands,
    max_record_bytes: usize,
}

impl Pipeline {
    /// `max_record_bytes`: the producer's `message.max.bytes`; a bigger event is refused
    /// before the OK, not lost after it.
    pub fn new(config: &Config, topics: Topics, delivery: Delivery, max_record_bytes: usize) -> Self {
        Pipeline {
            auth: Authenticator::new(
                config.sdk_app_ids.clone(),
                config.auth_token.clone(),
                config.sign_max_skew,
            ),
            topics,
            delivery,
            unknown: config.unknown_commands,
            max_record_bytes,
        }
    }

    /// `Ok` only when the event is handed off as the delivery mode promises.
    pub async fn handle(&self, query: &CallbackQuery<'_>, body: &[u8]) -> Result<(), Refusal> {
        self.auth.check(query)?;
        if let Some(ct) = &query.content_type {
            if !ct.eq_ignore_ascii_case("json") {
                return Err(Refusal::ContentType);
            }
        }
        let command = query
            .callback_command
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(Refusal::CommandMissing)?;
        let received_at_ms = now_ms();
        match self.record(query, command, body, received_at_ms) {
            Ok(record) => self.delivery.deliver(record).await,
            Err(refusal) => {
                if refusal.keeps_on_dlq() {
                    let record = route::dlq_record_within(
                        &self.topics,
                        query,
                        &refusal,
                        body,
                        received_at_ms,
                        self.max_record_bytes,
                    );
                    if let Err(e) = self.delivery.deliver(record).await {
                        tracing::error!(reason = %refusal, error = %e, "refused callback could not be kept on the DLQ");
                    }
                }
                Err(refusal)
            }
        }
    }

    /// decode → normalize → route.
    fn record(
        &self,
        query: &CallbackQuery<'_>,
        command: &str,
        body: &[u8],
        received_at_ms: i64,
    ) -> Result<Record, Refusal> {
        let text = std::str::from_utf8(body)
            .map_err(|e| Refusal::NotJson(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
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
        let record = route::event_record(&self.topics, facts.family, &event, text);
        // The producer would refuse it after the OK; refuse it now, and keep it on the DLQ.
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

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
