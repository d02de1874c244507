//! The body rewriting of gRPC-Web: base64 in and out for `grpc-web-text`, and the
//! response's HTTP/2 trailers turned into a final length-prefixed frame flagged `0x80`.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderMap;
use hyper::body::{Body, Frame};

use crate::proxy::body::{BoxError, ProxyBody};

/// The flag byte of a gRPC-Web trailers frame.
const TRAILER_FLAG: u8 = 0x80;

/// Encodes `trailers` as a gRPC-Web trailers frame: flag, 4-byte big-endian length, then
/// `name:value\r\n` lines with lower-case names.
pub fn trailer_frame(trailers: &HeaderMap) -> Bytes {
    let mut block = BytesMut::new();
    for (name, value) in trailers {
        block.put_slice(name.as_str().as_bytes());
        block.put_u8(b':');
        block.put_slice(value.as_bytes());
        block.put_slice(b"\r\n");
    }
    let mut frame = BytesMut::with_capacity(5 + block.len());
    frame.put_u8(TRAILER_FLAG);
    frame.put_u32(block.len() as u32);
    frame.put_slice(&block);
    frame.freeze()
}

/// Base64 over a stream: whole 3-byte groups are encoded as they come, the rest waits.
#[derive(Default)]
struct Base64Out {
    pending: Vec<u8>,
}

impl Base64Out {
    fn push(&mut self, data: &[u8]) -> Bytes {
        self.pending.extend_from_slice(data);
        let whole = self.pending.len() / 3 * 3;
        let out = STANDARD.encode(&self.pending[..whole]);
        self.pending.drain(..whole);
        Bytes::from(out)
    }

    fn finish(&mut self) -> Bytes {
        let out = STANDARD.encode(&self.pending);
        self.pending.clear();
        Bytes::from(out)
    }
}

/// A gRPC response body as gRPC-Web: messages as they come, then the trailers as a frame
/// (or, for a trailers-only answer, the `grpc-status`/`grpc-message` of its headers).
pub struct WebResponse {
    inner: ProxyBody,
    text: Option<Base64Out>,
    /// Trailers to send if the body ends without any (from a trailers-only answer).
    fallback: Option<HeaderMap>,
    done: bool,
}

impl WebResponse {
    /// Wraps a gRPC response body; `text` for `grpc-web-text` (base64) clients.
    pub fn new(inner: ProxyBody, text: bool, fallback: Option<HeaderMap>) -> Self {
        Self {
            inner,
            text: text.then(Base64Out::default),
            fallback,
            done: false,
        }
    }

    fn data(&mut self, bytes: &[u8], last: bool) -> Bytes {
        match &mut self.text {
            None => Bytes::copy_from_slice(bytes),
            Some(b64) => {
                let mut out = BytesMut::from(&b64.push(bytes)[..]);
                if last {
                    out.extend_from_slice(&b64.finish());
                }
                out.freeze()
            }
        }
    }
}

impl Body for WebResponse {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    this.done = true;
                    let trailers = this.fallback.take().unwrap_or_default();
                    let last = this.data(&trailer_frame(&trailers), true);
                    return Poll::Ready(Some(Ok(Frame::data(last))));
                }
            };
            match frame.into_data() {
                Ok(data) if this.text.is_none() => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Ok(data) => {
                    let out = this.data(&data, false);
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(out))));
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        this.done = true;
                        let last = this.data(&trailer_frame(&trailers), true);
                        return Poll::Ready(Some(Ok(Frame::data(last))));
                    }
                }
            }
        }
    }
}

/// A `grpc-web-text` request body decoded from base64 as it streams (padded chunks may be
/// concatenated; whitespace is ignored).
pub struct TextRequest {
    inner: ProxyBody,
    pending: Vec<u8>,
}

impl TextRequest {
    /// Wraps the client's base64 body.
    pub fn new(inner: ProxyBody) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }
}

impl Body for TextRequest {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    this.pending
                        .extend(data.iter().filter(|b| !b.is_ascii_whitespace()));
                    let whole = this.pending.len() / 4 * 4;
                    if whole == 0 {
                        continue;
                    }
                    let decoded = decode_groups(&this.pending[..whole]);
                    this.pending.drain(..whole);
                    return Poll::Ready(Some(decoded.map(Frame::data)));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None if this.pending.is_empty() => return Poll::Ready(None),
                None => {
                    this.pending.clear();
                    return Poll::Ready(Some(Err("grpc-web-text body is not whole base64".into())));
                }
            }
        }
    }
}

/// Decodes 4-character groups one padded block at a time.
fn decode_groups(text: &[u8]) -> Result<Bytes, BoxError> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut start = 0;
    for (i, group) in text.chunks(4).enumerate() {
        if group.contains(&b'=') {
            STANDARD.decode_vec(&text[start..(i + 1) * 4], &mut out)?;
            start = (i + 1) * 4;
        }
    }
    STANDARD.decode_vec(&text[start..], &mut out)?;
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    fn body(frames: Vec<Frame<Bytes>>) -> ProxyBody {
        StreamBody::new(futures::stream::iter(
            frames.into_iter().map(Ok::<_, BoxError>),
        ))
        .boxed()
    }

    fn trailers() -> HeaderMap {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", "0".parse().unwrap());
        t.insert("grpc-message", "fine".parse().unwrap());
        t
    }

    #[test]
    fn trailer_frames_are_flagged_and_length_prefixed() {
        let f = trailer_frame(&trailers());
        let block = b"grpc-status:0\r\ngrpc-message:fine\r\n";
        assert_eq!(f[0], 0x80);
        assert_eq!(
            u32::from_be_bytes(f[1..5].try_into().unwrap()) as usize,
            block.len()
        );
        assert_eq!(&f[5..], block);
    }

    #[tokio::test]
    async fn binary_responses_end_with_the_trailers_frame() {
        let inner = body(vec![
            Frame::data(Bytes::from_static(b"\0\0\0\0\x01A")),
            Frame::trailers(trailers()),
        ]);
        let out = WebResponse::new(inner, false, None)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let mut expected = b"\0\0\0\0\x01A".to_vec();
        expected.extend_from_slice(&trailer_frame(&trailers()));
        assert_eq!(out, expected);
    }

    #[tokio::test]
    async fn text_responses_are_one_base64_stream_and_trailers_only_answers_get_a_frame() {
        let inner = body(vec![
            Frame::data(Bytes::from_static(b"\0\0\0")),
            Frame::data(Bytes::from_static(b"\0\x02hi")),
        ]);
        let out = WebResponse::new(inner, true, Some(trailers()))
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let decoded = STANDARD.decode(&out).unwrap();
        let mut expected = b"\0\0\0\0\x02hi".to_vec();
        expected.extend_from_slice(&trailer_frame(&trailers()));
        assert_eq!(decoded, expected);
    }

    #[tokio::test]
    async fn text_requests_decode_across_chunks_and_padded_blocks() {
        let message = b"\0\0\0\0\x03abc";
        let text = format!(
            "{}{}",
            STANDARD.encode(&message[..4]),
            STANDARD.encode(&message[4..])
        );
        let (a, b) = text.split_at(5);
        let inner = body(vec![
            Frame::data(Bytes::from(a.to_string())),
            Frame::data(Bytes::from(format!("{b}\n"))),
        ]);
        let out = TextRequest::new(inner).collect().await.unwrap().to_bytes();
        assert_eq!(&out[..], message);
        let broken = TextRequest::new(body(vec![Frame::data(Bytes::from_static(b"QUJ"))]));
        assert!(broken.collect().await.is_err());
    }
}
