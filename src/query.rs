//! The query string Tencent puts on every callback URL, parsed. Read by the pipeline, auth,
//! decode and route, so it sits at the bottom, apart from the stage that checks it.

use std::borrow::Cow;

use crate::refusal::Refusal;

/// The query parameters Tencent puts on every callback URL, percent-decoded.
#[derive(Debug, Default, Clone)]
pub struct CallbackQuery<'a> {
    pub sdk_app_id: Option<Cow<'a, str>>,
    pub callback_command: Option<Cow<'a, str>>,
    pub content_type: Option<Cow<'a, str>>,
    pub client_ip: Option<Cow<'a, str>>,
    pub platform: Option<Cow<'a, str>>,
    pub sign: Option<Cow<'a, str>>,
    pub request_time: Option<Cow<'a, str>>,
    /// Every parameter but `Sign`, in order, as kept on the DLQ.
    pub kept: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> CallbackQuery<'a> {
    /// Parses the raw query. A parameter we act on given twice is refused: two `SdkAppid`s
    /// would let a forger pick which one each check sees. The Live webhook overview spells
    /// two of them `SdkAppId` and `WebhookCommand` (every per-callback page: `SdkAppid`,
    /// `CallbackCommand`): either spelling is taken, both only when they agree.
    pub fn parse(raw: &'a str) -> Result<Self, Refusal> {
        let mut q = CallbackQuery {
            kept: Vec::with_capacity(8),
            ..CallbackQuery::default()
        };
        let (mut app_id, mut webhook_command) = (None, None);
        for (name, value) in pairs(raw) {
            let slot = match name.as_ref() {
                "SdkAppid" => &mut q.sdk_app_id,
                "SdkAppId" => &mut app_id,
                "CallbackCommand" => &mut q.callback_command,
                "WebhookCommand" => &mut webhook_command,
                "contenttype" => &mut q.content_type,
                "ClientIP" => &mut q.client_ip,
                "OptPlatform" => &mut q.platform,
                "Sign" => &mut q.sign,
                "RequestTime" => &mut q.request_time,
                _ => {
                    q.kept.push((name, value));
                    continue;
                }
            };
            if slot.is_some() {
                return Err(Refusal::BadQuery(format!("{name}: given more than once")));
            }
            if name != "Sign" {
                q.kept.push((name.clone(), value.clone()));
            }
            *slot = Some(value);
        }
        merge(&mut q.sdk_app_id, app_id, "SdkAppid", "SdkAppId")?;
        merge(
            &mut q.callback_command,
            webhook_command,
            "CallbackCommand",
            "WebhookCommand",
        )?;
        Ok(q)
    }
}

/// The second spelling of a parameter fills the first's place; both given must agree.
fn merge<'a>(
    slot: &mut Option<Cow<'a, str>>,
    other: Option<Cow<'a, str>>,
    name: &str,
    other_name: &str,
) -> Result<(), Refusal> {
    match (slot.as_deref(), other) {
        (_, None) => Ok(()),
        (None, Some(v)) => {
            *slot = Some(v);
            Ok(())
        }
        (Some(a), Some(b)) if a == b => Ok(()),
        (Some(a), Some(b)) => Err(Refusal::BadQuery(crate::refusal::clip(&format!(
            "{other_name}: {b:?} disagrees with {name}: {a:?}"
        )))),
    }
}

/// `application/x-www-form-urlencoded` pairs, exactly as `form_urlencoded::parse` reads them,
/// but a pair with nothing to decode (no `%`, no `+`: every pair Tencent sends) is borrowed as
/// it is instead of being scanned and decoded byte by byte — that was 5 % of a request's CPU.
fn pairs(raw: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    raw.split('&').filter(|pair| !pair.is_empty()).filter_map(|pair| {
        if memchr::memchr2(b'%', b'+', pair.as_bytes()).is_some() {
            return form_urlencoded::parse(pair.as_bytes()).next();
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        Some((Cow::Borrowed(name), Cow::Borrowed(value)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_overview_spelling_is_taken_when_it_agrees() {
        let q = CallbackQuery::parse("SdkAppId=1400&WebhookCommand=Live.CallbackAfterModifyAdmin").unwrap();
        assert_eq!(q.sdk_app_id.as_deref(), Some("1400"));
        assert_eq!(
            q.callback_command.as_deref(),
            Some("Live.CallbackAfterModifyAdmin")
        );
        let both = CallbackQuery::parse("SdkAppid=1400&SdkAppId=1400&CallbackCommand=A.B&WebhookCommand=A.B")
            .unwrap();
        assert_eq!(
            (both.sdk_app_id.as_deref(), both.callback_command.as_deref()),
            (Some("1400"), Some("A.B"))
        );
        for raw in [
            "SdkAppid=1400&SdkAppId=1401",
            "CallbackCommand=A.B&WebhookCommand=A.C",
        ] {
            assert!(
                matches!(CallbackQuery::parse(raw), Err(Refusal::BadQuery(m)) if m.contains("disagrees")),
                "{raw}"
            );
        }
        assert!(
            CallbackQuery::parse("SdkAppId=1&SdkAppId=1").is_err(),
            "twice is twice"
        );
    }

    #[test]
    fn pairs_read_like_form_urlencoded() {
        for raw in [
            "",
            "&",
            "a=1&&b=2&",
            "=x&y=",
            "a",
            "a=b=c",
            "%41=%42&c=%zz&d=%",
            "a+b=c+d",
            "k=%E4%B8%AD&l=%FF%FE",
            "SdkAppid=1400000000&CallbackCommand=Live.CallbackAfterMemberStateChanged&ClientIP=10.0.0.7",
            "é=ü&x=%C3%A9",
        ] {
            let ours: Vec<_> = pairs(raw).collect();
            let theirs: Vec<_> = form_urlencoded::parse(raw.as_bytes()).collect();
            assert_eq!(ours, theirs, "{raw:?}");
        }
        assert!(pairs("a=1&b=2").all(|(n, v)| matches!((n, v), (Cow::Borrowed(_), Cow::Borrowed(_)))));
    }
}
