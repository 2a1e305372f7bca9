//! The token series, read from the keyring at scrape time: how many tokens each app holds,
//! which position signed its callbacks (a rotation is done when `first`, the old token, stops
//! rising), and whether a token file is being re-read or is failing. Label values are the
//! configured app ids and paths and the bounded position names, never a client's input.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::auth::Keyring;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    sdk_app_id: String,
    scheme: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignedLabels {
    sdk_app_id: String,
    scheme: &'static str,
    token: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FileLabels {
    path: String,
    scheme: &'static str,
}

#[derive(Debug)]
pub struct AuthSeries(pub Arc<Keyring>);

impl Collector for AuthSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let ring = &self.0;
        let mut family = encoder.encode_descriptor(
            "tencent_bridge_auth_tokens",
            "Tokens (or TRTC keys) each app's callbacks are checked against now (0: unsigned)",
            None,
            MetricType::Gauge,
        )?;
        for (scheme, app) in ring.apps() {
            let labels = AppLabels {
                sdk_app_id: app.app.clone(),
                scheme: scheme.as_str(),
            };
            let n = app.keys.as_ref().map_or(0, |k| k.len());
            ConstGauge::new(n as i64).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "tencent_bridge_auth_signed",
            "Callbacks whose signature checked, by app and by the position in its token file of the token that signed (first, second, ...): during a rotation, the old token is no longer used once its position stops rising",
            None,
            MetricType::Counter,
        )?;
        for (scheme, app) in ring.apps() {
            let held = app.keys.as_ref().map_or(0, |k| k.len());
            for (token, n) in app.used.snapshot(held) {
                let labels = SignedLabels {
                    sdk_app_id: app.app.clone(),
                    scheme: scheme.as_str(),
                    token,
                };
                ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
            }
        }
        let files = || ring.sets().filter(|(_, set)| set.path.is_some());
        let mut family = encoder.encode_descriptor(
            "tencent_bridge_auth_token_file_failing",
            "1 while a token or TRTC key file cannot be read or holds no token: the tokens it held last are still used, a change to it is not",
            None,
            MetricType::Gauge,
        )?;
        for (scheme, set) in files() {
            let labels = FileLabels {
                path: set.label.clone(),
                scheme: scheme.as_str(),
            };
            ConstGauge::new(i64::from(set.failing())).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "tencent_bridge_auth_token_file_reloads",
            "Changes of a token or TRTC key file taken in since start",
            None,
            MetricType::Counter,
        )?;
        for (scheme, set) in files() {
            let labels = FileLabels {
                path: set.label.clone(),
                scheme: scheme.as_str(),
            };
            ConstCounter::new(set.reloads()).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, Readings};
    use crate::route::Topics;

    #[test]
    fn the_token_series_name_apps_positions_and_files_never_a_token() {
        let ring = Arc::new(Keyring::fixed(
            &["1400".into(), "1500".into()],
            Some("s3cret"),
            Some("k3y"),
        ));
        let metrics = Metrics::with_auth(&Topics::new("t."), Some(ring.clone()));
        ring.app("1400").unwrap().used.record(0);
        let text = metrics.render(&Readings::default());
        for line in [
            "tencent_bridge_auth_tokens{sdk_app_id=\"1400\",scheme=\"sign\"} 1\n",
            "tencent_bridge_auth_tokens{sdk_app_id=\"1500\",scheme=\"trtc\"} 1\n",
            "tencent_bridge_auth_signed_total{sdk_app_id=\"1400\",scheme=\"sign\",token=\"first\"} 1\n",
            "tencent_bridge_auth_signed_total{sdk_app_id=\"1500\",scheme=\"sign\",token=\"first\"} 0\n",
            // No file here (the flag), yet the families are declared: the alert's series exists.
            "# TYPE tencent_bridge_auth_token_file_failing gauge\n",
            "# TYPE tencent_bridge_auth_token_file_reloads counter\n",
        ] {
            assert!(text.contains(line), "{line:?} not in:\n{text}");
        }
        assert!(!text.contains("s3cret") && !text.contains("k3y"), "{text}");
    }
}
