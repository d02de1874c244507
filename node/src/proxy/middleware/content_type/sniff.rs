//! Media type sniffing from a body's first bytes, following the WHATWG MIME Sniffing
//! standard the way Go's `http.DetectContentType` applies it (the first 512 bytes; HTML and
//! XML after leading whitespace; images, audio, video, fonts and archives by signature;
//! text when no binary byte is present; `application/octet-stream` otherwise).

/// At most this many bytes are considered.
pub const SNIFF_LEN: usize = 512;

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const OCTET_STREAM: &str = "application/octet-stream";

/// Tags that mark a document as HTML when followed by a space or `>` (ASCII case-insensitive).
const HTML_TAGS: &[&[u8]] = &[
    b"<!DOCTYPE HTML",
    b"<HTML",
    b"<HEAD",
    b"<SCRIPT",
    b"<IFRAME",
    b"<H1",
    b"<DIV",
    b"<FONT",
    b"<TABLE",
    b"<A",
    b"<STYLE",
    b"<TITLE",
    b"<B",
    b"<BODY",
    b"<BR",
    b"<P",
    b"<!--",
];

/// A byte pattern compared under a mask: `(byte & mask) == pattern`.
struct Masked {
    mask: &'static [u8],
    pattern: &'static [u8],
    skip_whitespace: bool,
    media_type: &'static str,
}

const fn masked(mask: &'static [u8], pattern: &'static [u8], media_type: &'static str) -> Masked {
    Masked {
        mask,
        pattern,
        skip_whitespace: false,
        media_type,
    }
}

const ALL: &[u8] = &[0xFF; 16];

/// Signatures checked after HTML, in order; a prefix of [`ALL`] as mask means exact bytes.
const SIGNATURES: &[Masked] = &[
    Masked {
        mask: ALL,
        pattern: b"<?xml",
        skip_whitespace: true,
        media_type: "text/xml; charset=utf-8",
    },
    masked(ALL, b"%PDF-", "application/pdf"),
    masked(ALL, b"%!PS-Adobe-", "application/postscript"),
    masked(
        b"\xFF\xFF\x00\x00",
        b"\xFE\xFF\x00\x00",
        "text/plain; charset=utf-16be",
    ),
    masked(
        b"\xFF\xFF\x00\x00",
        b"\xFF\xFE\x00\x00",
        "text/plain; charset=utf-16le",
    ),
    masked(b"\xFF\xFF\xFF\x00", b"\xEF\xBB\xBF\x00", TEXT),
    masked(ALL, b"\x00\x00\x01\x00", "image/x-icon"),
    masked(ALL, b"\x00\x00\x02\x00", "image/x-icon"),
    masked(ALL, b"BM", "image/bmp"),
    masked(ALL, b"GIF87a", "image/gif"),
    masked(ALL, b"GIF89a", "image/gif"),
    masked(
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
        b"RIFF\x00\x00\x00\x00WEBPVP",
        "image/webp",
    ),
    masked(ALL, b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    masked(ALL, b"\xFF\xD8\xFF", "image/jpeg"),
    masked(
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        b"FORM\x00\x00\x00\x00AIFF",
        "audio/aiff",
    ),
    masked(ALL, b"ID3", "audio/mpeg"),
    masked(ALL, b"OggS\x00", "application/ogg"),
    masked(ALL, b"MThd\x00\x00\x00\x06", "audio/midi"),
    masked(
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        b"RIFF\x00\x00\x00\x00AVI ",
        "video/avi",
    ),
    masked(
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        b"RIFF\x00\x00\x00\x00WAVE",
        "audio/wave",
    ),
];

/// Signatures checked after MP4, in order.
const LATE_SIGNATURES: &[Masked] = &[
    masked(ALL, b"\x1A\x45\xDF\xA3", "video/webm"),
    masked(
        &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0xFF, 0xFF,
        ],
        &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, b'L', b'P',
        ],
        "application/vnd.ms-fontobject",
    ),
    masked(ALL, b"\x00\x01\x00\x00", "font/ttf"),
    masked(ALL, b"OTTO", "font/otf"),
    masked(ALL, b"ttcf", "font/collection"),
    masked(ALL, b"wOFF", "font/woff"),
    masked(ALL, b"wOF2", "font/woff2"),
    masked(ALL, b"\x1F\x8B\x08", "application/x-gzip"),
    masked(ALL, b"PK\x03\x04", "application/zip"),
    masked(ALL, b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    masked(ALL, b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
    masked(ALL, b"\x00\x61\x73\x6D", "application/wasm"),
];

fn is_whitespace(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// Bytes that never occur in text.
fn is_binary(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F)
}

impl Masked {
    fn matches(&self, data: &[u8], text_start: usize) -> bool {
        let data = if self.skip_whitespace {
            &data[text_start..]
        } else {
            data
        };
        data.len() >= self.pattern.len()
            && self
                .pattern
                .iter()
                .zip(self.mask)
                .zip(data)
                .all(|((p, m), d)| d & m == *p)
    }
}

fn is_html(data: &[u8]) -> bool {
    HTML_TAGS.iter().any(|tag| {
        data.len() > tag.len()
            && data[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(data[tag.len()], b' ' | b'>')
    })
}

/// An ISO base media file whose `ftyp` box names an `mp4` brand.
fn is_mp4(data: &[u8]) -> bool {
    if data.len() < 12 {
        return false;
    }
    let size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if data.len() < size || !size.is_multiple_of(4) || &data[4..8] != b"ftyp" {
        return false;
    }
    (8..size)
        .step_by(4)
        .filter(|at| *at != 12) // the major brand's version
        .any(|at| data.get(at..at + 3) == Some(b"mp4".as_slice()))
}

/// The media type of a body starting with `data`.
pub fn detect(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(SNIFF_LEN)];
    let text_start = data
        .iter()
        .position(|b| !is_whitespace(*b))
        .unwrap_or(data.len());
    if is_html(&data[text_start..]) {
        return HTML;
    }
    let by_signature = |list: &[Masked]| {
        list.iter()
            .find(|s| s.matches(data, text_start))
            .map(|s| s.media_type)
    };
    if let Some(t) = by_signature(SIGNATURES) {
        return t;
    }
    if is_mp4(data) {
        return "video/mp4";
    }
    if let Some(t) = by_signature(LATE_SIGNATURES) {
        return t;
    }
    if data[text_start..].iter().any(|b| is_binary(*b)) {
        OCTET_STREAM
    } else {
        TEXT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_like_go() {
        for (data, want) in [
            (&b""[..], TEXT),
            (b"Hello, world", TEXT),
            (b"  \n<!DOCTYPE html><html>", HTML),
            (b"<HtMl><body>", HTML),
            (b"<p>hi</p>", HTML),
            (b"<pre>x</pre>", TEXT),
            (b"<?xml version=\"1.0\"?>", "text/xml; charset=utf-8"),
            (b"%PDF-1.7", "application/pdf"),
            (b"\x89PNG\x0D\x0A\x1A\x0A\x00\x00", "image/png"),
            (b"\xFF\xD8\xFF\xE0", "image/jpeg"),
            (b"GIF89a...", "image/gif"),
            (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
            (b"\x1F\x8B\x08\x00\x00", "application/x-gzip"),
            (b"PK\x03\x04....", "application/zip"),
            (b"\x00asm\x01\x00\x00\x00", "application/wasm"),
            (b"\xEF\xBB\xBFtext", TEXT),
            (b"\xFE\xFF\x00h", "text/plain; charset=utf-16be"),
            (b"{\"json\": true}", TEXT),
            (b"\x00\x01\x02binary", OCTET_STREAM),
            (b"wOF2....", "font/woff2"),
        ] {
            assert_eq!(detect(data), want, "{data:?}");
        }
        let mut mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp41isom".to_vec();
        assert_eq!(detect(&mp4), "video/mp4");
        mp4[8..11].copy_from_slice(b"xxx");
        mp4[16..19].copy_from_slice(b"xxx");
        assert_eq!(detect(&mp4), OCTET_STREAM);
        // Only the first 512 bytes count.
        let mut late = vec![b'a'; SNIFF_LEN];
        late.push(0);
        assert_eq!(detect(&late), TEXT);
    }
}
