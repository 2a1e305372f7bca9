//! One callback through the stages, in the order of the HTTP contract: authenticate, decode,
//! normalize, route, deliver. Knows nothing of sockets; the ingress hands it a query and a body.

use std::borrow::Cow;
use std::sync::Arc;

use self::dedup::Recent;
use crate::auth::{Authenticator, TrtcAuth};
use crate::clock::now_ms;
use crate::decode::Decoder;
use crate::deliver::Delivery;
use crate::dlq::Dlq;
use crate::query::CallbackQuery;
use crate::record::Record;
use crate::refusal::Refusal;
use crate::route;

mod dedup;

/// Which topics the cluster lacks, as the last check found (health, in the bridge): handed in,
/// so the pipeline knows no health type.
pub trait MissingTopics: Send + Sync {
    fn topic_missing(&self, topic: &str) -> bool;
}

pub struct Pipeline {
    auth: Authenticator,
    /// `None`: no TRTC key configured, the TRTC path is not served.
    trtc: Option<TrtcAuth>,
    recent: Recent,
    decoder: Decoder,
    /// Builds "the DLQ copy of this", within the decoder's limit.
    dlq: Dlq,
    delivery: Delivery,
    missing: Option<Arc<dyn MissingTopics>>,
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
    /// The stages, built by the caller from the configuration. `trtc`: `None` when no TRTC
    /// key is configured (the TRTC path is not served).
    pub fn new(auth: Authenticator, trtc: Option<TrtcAuth>, decoder: Decoder, delivery: Delivery) -> Self {
        Pipeline {
            auth,
            trtc,
            recent: Recent::default(),
            dlq: decoder.dlq(),
            decoder,
            delivery,
            missing: None,
        }
    }

    /// An event whose topic the cluster is known to lack goes to the DLQ at once, as the
    /// broker's refusal would send it (5041), instead of failing or waiting for the topic: a
    /// deployment upgraded before its new topics exist keeps every callback.
    pub fn with_missing_topics(mut self, missing: Arc<dyn MissingTopics>) -> Self {
        self.missing = Some(missing);
        self
    }

    fn keepable(&self, record: Record) -> Record {
        match &self.missing {
            Some(m) if record.topic != *self.dlq.topic() && m.topic_missing(&record.topic) => {
                self.dlq.refused_by_broker(
                    &record,
                    "the topic does not exist (the bridge's last check of the cluster)",
                    now_ms(),
                )
            }
            _ => record,
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
        let ce_suffix = route::fresh_ce_suffix();
        match self
            .decoder
            .callback(query, command, body, received_at_ms, &ce_suffix)
        {
            Ok(record) => self.delivery.deliver(self.keepable(record)).await,
            Err(refusal) => {
                if refusal.keeps_on_dlq() {
                    let record = route::with_ce_suffix(
                        self.dlq.refused_callback(query, &refusal, body, received_at_ms),
                        &ce_suffix,
                    );
                    if let Err(e) = self.delivery.deliver(record).await {
                        tracing::error!(reason = %refusal, error = %e, "refused callback could not be kept on the DLQ");
                    }
                }
                Err(refusal)
            }
        }
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
        let record = match self.decoder.trtc(app, body, received_at_ms) {
            Ok(record) => record,
            Err(refusal) => {
                let query = CallbackQuery {
                    sdk_app_id: Some(Cow::Borrowed(app)),
                    callback_command: Some(Cow::Borrowed("TRTC")),
                    kept: vec![(Cow::Borrowed("SdkAppId"), Cow::Borrowed(app))],
                    ..CallbackQuery::default()
                };
                let dead = self.dlq.refused_callback(&query, &refusal, body, received_at_ms);
                // Not kept (spool full, broker down): then a retry can help.
                self.delivery.deliver(dead).await?;
                return Ok(TrtcOutcome::KeptOnDlq(refusal));
            }
        };
        let (record, id, command) = record;
        if self.recent.contains(&id) {
            return Ok(TrtcOutcome::Duplicate(command));
        }
        self.delivery.deliver(self.keepable(record)).await?;
        self.recent.insert(&id);
        Ok(TrtcOutcome::Accepted(command))
    }
}
