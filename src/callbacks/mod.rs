//! decode: a callback body into what it says. The Chat/Live/Room commands the bridge models
//! are rows of one table ([`catalog`]); one pass ([`scan`]) checks the whole body and reads the
//! row's fields; [`Callback::facts`] turns them into the envelope's terms. TRTC, a second
//! protocol with a shape of its own, is decoded by [`trtc`].

pub(crate) mod catalog;
mod errors;
pub(crate) mod scan;
pub(crate) mod trtc;

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::event::{snake_case, Facts, Subject};
use crate::refusal::{clip, Refusal};

pub use catalog::{Kind, Row, KINDS};
use catalog::{Members, Rule};
use scan::{Plan, Scanned, Want};

/// A decoded callback body. Large, but it lives on the stack for one request: boxing it
/// would cost an allocation per callback.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Callback<'a> {
    /// A command of the catalog, with the fields its row reads.
    Modelled(&'static Row, Scanned<'a>),
    /// A command we do not model: only its JSON-object-ness is checked. Holds the body's
    /// `CallbackCommand`, if any.
    Other(Option<Cow<'a, str>>),
}

impl<'a> Callback<'a> {
    /// Decodes `body` as the command the query named (`None` = not modelled), and checks that
    /// the body's own `CallbackCommand` names the same command.
    pub fn decode(kind: Option<Kind>, query_command: &str, body: &'a str) -> Result<Self, Refusal> {
        static OTHER: LazyLock<Plan> = LazyLock::new(|| Plan::new().with("CallbackCommand", Want::Text));
        let plan = match kind {
            Some(k) => k.plan(),
            None => &OTHER,
        };
        let scanned = scan_object(body, plan)?;
        if let Some(body_command) = scanned.text("CallbackCommand") {
            let same = match kind {
                Some(k) => Kind::from_name(body_command) == Some(k),
                None => body_command == query_command,
            };
            if !same {
                return Err(Refusal::CommandMismatch {
                    body: clip(body_command),
                    query: clip(query_command),
                });
            }
        }
        if let Some(error) = scanned.error {
            return Err(error);
        }
        let Some(kind) = kind else {
            let command = match scanned.vals.into_iter().next() {
                Some(scan::Val::Text(c)) => Some(c),
                _ => None,
            };
            return Ok(Callback::Other(command));
        };
        let row = kind.row();
        scanned.require("CallbackCommand")?;
        if !row.key.iter().any(|k| scanned.text(k).is_some()) {
            scanned.require(row.key.first().copied().unwrap_or("RoomId"))?;
        }
        for field in row.required {
            scanned.require(field)?;
        }
        for rule in [row.state, row.cause, row.role] {
            if let Rule::Only(field, table) = rule {
                only(&scanned, field, table)?;
            }
        }
        Ok(Callback::Modelled(row, scanned))
    }

    /// normalize, first half: what the callback says, in the envelope's terms.
    pub fn facts(&self) -> Facts<'_> {
        match self {
            Callback::Modelled(row, s) => row_facts(row, s),
            Callback::Other(_) => Facts::other(),
        }
    }
}

/// The body must be a JSON object; "not JSON at all" and "JSON, but not an object" are told
/// apart for the operator.
pub(crate) fn scan_object<'a>(body: &'a str, plan: &'static Plan) -> Result<Scanned<'a>, Refusal> {
    if !body.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(body) {
            Ok(_) => Refusal::NotObject,
            Err(e) => Refusal::NotJson(errors::without_position(&e)),
        });
    }
    scan::scan(body, plan)
}

/// A field whose every meaningful value is known: any other is refused, naming them.
fn only(s: &Scanned<'_>, field: &str, table: &[(&str, &str)]) -> Result<(), Refusal> {
    match s.text(field) {
        Some(v) if !table.iter().any(|(from, _)| *from == v) => {
            let known: Vec<&str> = table.iter().map(|(from, _)| *from).collect();
            Err(Refusal::BadField(clip(&format!(
                "{field}: expected one of {}, got {v:?}",
                known.join(", ")
            ))))
        }
        _ => Ok(()),
    }
}

fn row_facts<'s>(row: &Row, s: &'s Scanned<'_>) -> Facts<'s> {
    let key = row.key.iter().find_map(|k| s.text(k)).unwrap_or_default();
    let subject = match row.subject {
        catalog::Subject::Room => Subject::Room(key),
        catalog::Subject::Group => Subject::Group(key),
        catalog::Subject::User => Subject::User(key),
    };
    let list = |field: &str| {
        Some(
            s.list(field)
                .map_or_else(Vec::new, |l| l.iter().map(AsRef::as_ref).collect()),
        )
    };
    let mut facts = Facts::new(row.family, subject);
    facts.members = match row.members {
        Members::None => None,
        Members::Objects(f) | Members::Ids(f) => list(f),
        Members::Key => Some(vec![key]),
        Members::One(f) => Some(s.text(f).into_iter().collect()),
        Members::Seated => Some(
            row.seats
                .and_then(|f| s.seats(f))
                .unwrap_or_default()
                .iter()
                .filter_map(|seat| seat.member.as_deref())
                .collect(),
        ),
    };
    facts.state = rule(row.state, s);
    facts.cause = rule(row.cause, s);
    facts.reason = row.reason.and_then(|f| s.text(f));
    facts.operator = row.operator.and_then(|f| s.text(f));
    facts.owner = row.owner.and_then(|f| s.text(f));
    facts.previous_owner = row.previous_owner.and_then(|f| s.text(f));
    facts.role = rule(row.role, s);
    facts.seats = row.seats.map(|f| s.seats(f).unwrap_or_default());
    facts.member_count = row.member_count.and_then(|f| s.int(f));
    facts.event_time_ms = s.int("EventTime");
    facts.group_type = row.group_type.and_then(|f| s.text(f)).map(snake_case);
    facts.kicked_platforms = row.kicked_platforms.and_then(list);
    facts
}

fn rule<'s>(rule: Rule, s: &'s Scanned<'_>) -> Option<Cow<'s, str>> {
    match rule {
        Rule::Null => None,
        Rule::Fixed(v) => Some(Cow::Borrowed(v)),
        Rule::Snake(f) => s.text(f).map(snake_case),
        Rule::SnakeOr(f, absent) => Some(s.text(f).map_or(Cow::Borrowed(absent), snake_case)),
        Rule::IfPresent(f, present, absent) => Some(Cow::Borrowed(match s.get(f) {
            scan::Val::Absent | scan::Val::Null => absent,
            _ => present,
        })),
        Rule::Map(f, table) | Rule::Only(f, table) => {
            let v = s.text(f)?;
            table
                .iter()
                .find(|(from, _)| *from == v)
                .map(|(_, to)| Cow::Borrowed(*to))
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod roles_tests;
