//! One callback through the stages, in the order of the HTTP contract: authenticate, decode,
//! normalize, route, deliver. Knows nothing of sockets; the ingress hands it a query and a body.

use std::time::{SystemTime, UNIX_EPOCH};

use std::borrow::Cow;

use crate::auth::{Authenticator, CallbackQuery, TrtcAuth};
use crate::callbacks::{trtc, Callback, Kind};
use crate::config::{Config, UnknownCommands};
use crate::dedup::Recent;
use crate::deliver::Delivery;
use crate::event::{Event, Origin};
use crate::refusal::Refusal;
use crate::route::{self, Record, Topics};

pub struct Pipeline {
    auth: Authenticator,
    /// `None`: no TRTC key configured, the TRTC path is not served.
    trtc: Option<TrtcAuth>,
    recent: Recent,
    topics: Topics,
    delivery: Delivery,
    unknown: UnknownCommands,
    max_record_bytes: usize,
}

/// How a TRTC callback that is answered 200 was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrtcOutcome {
    /// Published (as the delivery mode promises), under this canonical command.
    Accepted(Cow<'static, str>),
    /// A retry of an event accepted within the dedup window: not published again.
    Duplicate(Cow<'static, str>),
    /// Authentic but undecodable: kept on the DLQ. A retry would carry the same bytes, so it
    /// is answered 200 rather than invited.
    KeptOnDlq(Refusal),
}

/// The two TRTC headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrtcHeaders<'a> {
    pub sdk_app_id: Option<&'a str>,
    pub sign: Option<&'a str>,
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
            trtc: config
                .trtc_key
                .as_deref()
                .map(|key| TrtcAuth::new(config.sdk_app_ids.clone(), key)),
            recent: Recent::default(),
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

impl Pipeline {
    /// A TRTC callback: authenticate (before any parse), decode, drop a retry of an event
    /// accepted lately, deliver. `Err` only for what a retry can fix or what is not TRTC's.
    pub async fn handle_trtc(&self, headers: TrtcHeaders<'_>, body: &[u8]) -> Result<TrtcOutcome, Refusal> {
        let auth = self.trtc.as_ref().ok_or(Refusal::NotFound)?;
        auth.check(headers.sdk_app_id, headers.sign, body)?;
        let app = headers.sdk_app_id.unwrap_or_default().trim();
        let received_at_ms = now_ms();
        let record = match self.trtc_record(app, body, received_at_ms) {
            Ok(record) => record,
            Err(refusal) => {
                let query = CallbackQuery {
                    sdk_app_id: Some(Cow::Borrowed(app)),
                    callback_command: Some(Cow::Borrowed("TRTC")),
                    kept: vec![(Cow::Borrowed("SdkAppId"), Cow::Borrowed(app))],
                    ..CallbackQuery::default()
                };
                let dead = route::dlq_record_within(
                    &self.topics,
                    &query,
                    &refusal,
                    body,
                    received_at_ms,
                    self.max_record_bytes,
                );
                // Not kept (spool full, broker down): then a retry can help.
                self.delivery.deliver(dead).await?;
                return Ok(TrtcOutcome::KeptOnDlq(refusal));
            }
        };
        let (record, id, command) = record;
        if self.recent.contains(&id) {
            return Ok(TrtcOutcome::Duplicate(command));
        }
        self.delivery.deliver(record).await?;
        self.recent.insert(&id);
        Ok(TrtcOutcome::Accepted(command))
    }

    /// decode → normalize → route, with the event's id and canonical command.
    fn trtc_record(
        &self,
        app: &str,
        body: &[u8],
        received_at_ms: i64,
    ) -> Result<(Record, String, Cow<'static, str>), Refusal> {
        let text = std::str::from_utf8(body)
            .map_err(|e| Refusal::NotJson(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
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
        let record = route::event_record(&self.topics, facts.family, &event, text);
        let size = record.encoded_len();
        if size > self.max_record_bytes {
            return Err(Refusal::EventTooLarge {
                size,
                limit: self.max_record_bytes,
            });
        }
        let id = event.event_id.clone();
        Ok((record, id, command))
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
