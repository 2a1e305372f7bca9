//! The bridge's JSON answers, shared by the callback paths and the admin paths.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::refusal::{answer_body, Refusal};

pub(super) fn refuse(refusal: &Refusal) -> Response<Full<Bytes>> {
    answer(refusal.status_and_code().0, answer_body(Some(refusal)))
}

pub(super) fn answer(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
