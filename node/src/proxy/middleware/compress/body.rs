//! The streaming side of `compress`: a response body read as bytes, fed through an
//! async-compression encoder and read back out as frames, chunk by chunk. The encoder
//! flushes whenever the upstream has nothing more to give yet, so slow streams (server-sent
//! events) reach the client promptly instead of waiting for a full buffer.

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use http_body_util::{BodyExt, BodyStream, StreamBody};
use hyper::body::Frame;
use sync_wrapper::SyncStream;
use tokio::io::AsyncRead;
use tokio_util::io::{ReaderStream, StreamReader};

use super::negotiate::Encoding;
use crate::proxy::body::{BoxError, ProxyBody};

/// Bytes read from the encoder at a time.
const CHUNK: usize = 16 * 1024;

/// A body's frames: what was already read (`head`), then the rest of `body`.
pub fn rejoin(head: Vec<Frame<Bytes>>, body: ProxyBody) -> ProxyBody {
    if head.is_empty() {
        return body;
    }
    let stream = futures::stream::iter(head.into_iter().map(Ok)).chain(BodyStream::new(body));
    BodyExt::boxed(StreamBody::new(stream))
}

/// `body` compressed with `encoding`, streamed. Trailers of the original are dropped (a
/// compressed HTTP/1.1 body is sent chunked, and few clients read trailers).
pub fn compressed(encoding: Encoding, body: ProxyBody) -> ProxyBody {
    let data = BodyStream::new(body)
        .try_filter_map(|frame| futures::future::ready(Ok(frame.into_data().ok())))
        .map_err(std::io::Error::other);
    let reader = StreamReader::new(data);
    let encoded: Box<dyn AsyncRead + Send + Unpin> = match encoding {
        Encoding::Gzip => Box::new(async_compression::tokio::bufread::GzipEncoder::new(reader)),
        Encoding::Brotli => Box::new(async_compression::tokio::bufread::BrotliEncoder::new(
            reader,
        )),
        Encoding::Zstd => Box::new(async_compression::tokio::bufread::ZstdEncoder::new(reader)),
    };
    frames(ReaderStream::with_capacity(encoded, CHUNK))
}

fn frames<S>(stream: S) -> ProxyBody
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let frames = stream
        .map_ok(Frame::data)
        .map_err(|e| -> BoxError { e.into() });
    // Encoders are Send but not all are Sync; the body is only ever polled through
    // `&mut`, which SyncStream turns into Sync without a lock.
    BodyExt::boxed(StreamBody::new(SyncStream::new(frames)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::proxy::body::full;

    async fn decode(encoding: Encoding, bytes: Bytes) -> Vec<u8> {
        let reader = std::io::Cursor::new(bytes.to_vec());
        let mut out = Vec::new();
        match encoding {
            Encoding::Gzip => {
                async_compression::tokio::bufread::GzipDecoder::new(reader)
                    .read_to_end(&mut out)
                    .await
            }
            Encoding::Brotli => {
                async_compression::tokio::bufread::BrotliDecoder::new(reader)
                    .read_to_end(&mut out)
                    .await
            }
            Encoding::Zstd => {
                async_compression::tokio::bufread::ZstdDecoder::new(reader)
                    .read_to_end(&mut out)
                    .await
            }
        }
        .unwrap();
        out
    }

    #[tokio::test]
    async fn every_encoding_round_trips() {
        let original: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for enc in [Encoding::Gzip, Encoding::Brotli, Encoding::Zstd] {
            let body = compressed(enc, full(original.clone()));
            let bytes = body.collect().await.unwrap().to_bytes();
            assert!(bytes.len() < original.len(), "{enc:?} did not shrink");
            assert_eq!(decode(enc, bytes).await, original, "{enc:?}");
        }
    }

    #[tokio::test]
    async fn a_stalled_upstream_gets_what_was_written_so_far_flushed() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(4);
        let body = BodyExt::boxed(StreamBody::new(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ));
        let mut body = compressed(Encoding::Gzip, body);
        tx.send(Ok(Frame::data(Bytes::from_static(
            b"data: first event\n\n",
        ))))
        .await
        .unwrap();
        // The sender stays open: the encoder must still hand out a decodable prefix.
        let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a flushed chunk while the upstream stalls")
            .unwrap()
            .unwrap()
            .into_data()
            .unwrap();
        let mut decoder = async_compression::tokio::write::GzipDecoder::new(Vec::new());
        decoder.write_all(&first).await.unwrap();
        decoder.flush().await.unwrap();
        assert_eq!(decoder.get_ref().as_slice(), b"data: first event\n\n");
        drop(tx);
    }
}
