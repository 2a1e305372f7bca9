//! The duplicate rule's memory: ids of the events applied lately (`ce_id`, and `event_id` +
//! `received_at_ms`), for the grace window, bounded. After a restart the window starts from
//! the ids the restored records carry (each member's and room's last event, each departed
//! member's), which catches the re-deliveries that matter: they come right after the original.

use std::collections::{HashMap, VecDeque};

use super::input::Input;
use super::state::Ids;

/// Ids kept at most, per partition; the oldest go first.
pub const CAPACITY: usize = 200_000;

#[derive(Debug, Default)]
pub struct Recent {
    expires: HashMap<String, i64>,
    order: VecDeque<(i64, String)>,
}

impl Recent {
    pub fn contains(&self, input: &Input) -> bool {
        tags(&ids_of(input)).iter().any(|t| self.expires.contains_key(t))
    }

    pub fn remember(&mut self, ids: &Ids, expires_ms: i64) {
        for tag in tags(ids) {
            if self.expires.insert(tag.clone(), expires_ms).is_none() {
                self.order.push_back((expires_ms, tag));
            }
        }
        while self.order.len() > CAPACITY {
            if let Some((_, tag)) = self.order.pop_front() {
                self.expires.remove(&tag);
            }
        }
    }

    pub fn expire(&mut self, now_ms: i64) {
        while let Some((at, _)) = self.order.front() {
            if *at > now_ms {
                break;
            }
            if let Some((_, tag)) = self.order.pop_front() {
                self.expires.remove(&tag);
            }
        }
    }
}

pub fn ids_of(input: &Input) -> Ids {
    Ids {
        event_id: input.envelope.event_id.clone(),
        ce_id: input.ce_id.clone(),
        received_at_ms: input.envelope.received_at_ms,
    }
}

/// A `ce_id` equal to the `event_id` (schema 3, where `ce_id` was the content hash) is no
/// proof of a duplicate: only the pair is then.
fn tags(ids: &Ids) -> Vec<String> {
    let mut out = vec![format!("e:{}:{}", ids.event_id, ids.received_at_ms)];
    if let Some(ce) = ids
        .ce_id
        .as_deref()
        .filter(|ce| *ce != ids.event_id && !ce.is_empty())
    {
        out.push(format!("c:{ce}"));
    }
    out
}
