//! Choosing a content coding from `Accept-Encoding` (RFC 9110 12.5.3) the way Traefik v3
//! does: highest q-value wins, ties go to the server's `encodings` order, `*` means the
//! `defaultEncoding` (or the first of `encodings`), and `q=0` refuses a coding.

use http::header::{HeaderMap, ACCEPT_ENCODING};

/// A coding the middleware produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `gzip`.
    Gzip,
    /// `br` (Brotli).
    Brotli,
    /// `zstd`.
    Zstd,
}

impl Encoding {
    /// Parses a coding name as written in configs and headers (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "gzip" => Some(Self::Gzip),
            "br" => Some(Self::Brotli),
            "zstd" => Some(Self::Zstd),
            _ => None,
        }
    }

    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
        }
    }
}

/// The server's side of the negotiation: what it offers, in order of preference.
#[derive(Debug, Clone)]
pub struct Offer {
    /// Encodings offered, most preferred first (never empty).
    pub encodings: Vec<Encoding>,
    /// Used when the client sends no `Accept-Encoding` or only `*` wins.
    pub default: Option<Encoding>,
}

impl Offer {
    /// The coding to use for a request with `headers`, or `None` to send the body as is.
    pub fn choose(&self, headers: &HeaderMap) -> Option<Encoding> {
        let mut values = headers.get_all(ACCEPT_ENCODING).iter().peekable();
        if values.peek().is_none() {
            // No header: any coding is acceptable (RFC 9110), but Traefik only compresses
            // then when a defaultEncoding is configured.
            return self.default;
        }
        // (q in thousandths, server rank, coding; None for `*`)
        let mut best: Option<(u16, usize, Option<Encoding>)> = None;
        let mut refused: Vec<Encoding> = Vec::new();
        let mut wildcard_refused = false;
        for item in values
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
        {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            if name.is_empty() {
                continue;
            }
            let q = parts
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1000), |(_, v)| parse_q(v.trim()));
            let Some(q) = q else { continue };
            let candidate = if name == "*" {
                if q == 0 {
                    wildcard_refused = true;
                }
                (q, self.encodings.len(), None)
            } else {
                let Some(enc) = Encoding::parse(name) else {
                    continue;
                };
                let Some(rank) = self.encodings.iter().position(|e| *e == enc) else {
                    continue;
                };
                if q == 0 {
                    refused.push(enc);
                }
                (q, rank, Some(enc))
            };
            if candidate.0 == 0 {
                continue;
            }
            let better = match best {
                None => true,
                Some((bq, brank, _)) => {
                    candidate.0 > bq || (candidate.0 == bq && candidate.1 < brank)
                }
            };
            if better {
                best = Some(candidate);
            }
        }
        let (_, _, chosen) = best?;
        match chosen {
            Some(enc) => Some(enc),
            None if wildcard_refused => None,
            None => self
                .default
                .into_iter()
                .chain(self.encodings.iter().copied())
                .find(|e| !refused.contains(e)),
        }
    }
}

/// Parses a q-value (`0`, `0.5`, `1.000`) into thousandths; `None` if malformed.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    let q = whole * 1000 + thousandths;
    (q <= 1000).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::*;

    fn offer(encodings: &[Encoding], default: Option<Encoding>) -> Offer {
        Offer {
            encodings: encodings.to_vec(),
            default,
        }
    }

    fn choose(offer: &Offer, accept: Option<&str>) -> Option<Encoding> {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(ACCEPT_ENCODING, a.parse().unwrap());
        }
        offer.choose(&h)
    }

    #[test]
    fn q_values_win_and_ties_follow_the_server_order() {
        let o = offer(&[Zstd, Brotli, Gzip], None);
        assert_eq!(choose(&o, Some("gzip, br")), Some(Brotli));
        assert_eq!(choose(&o, Some("gzip, br, zstd")), Some(Zstd));
        assert_eq!(choose(&o, Some("gzip;q=1.0, br;q=0.5")), Some(Gzip));
        assert_eq!(choose(&o, Some("GZIP")), Some(Gzip));
        assert_eq!(choose(&o, Some("deflate, identity")), None);
        let gzip_first = offer(&[Gzip, Brotli], None);
        assert_eq!(choose(&gzip_first, Some("br, gzip, zstd")), Some(Gzip));
    }

    #[test]
    fn zero_q_refuses_and_empty_or_missing_headers_do_not_compress() {
        let o = offer(&[Zstd, Brotli, Gzip], None);
        assert_eq!(choose(&o, Some("gzip;q=0")), None);
        assert_eq!(choose(&o, Some("")), None);
        assert_eq!(choose(&o, None), None);
        assert_eq!(choose(&o, Some("gzip;q=2")), None, "malformed q is ignored");
        let with_default = offer(&[Zstd, Brotli, Gzip], Some(Gzip));
        assert_eq!(choose(&with_default, None), Some(Gzip));
    }

    #[test]
    fn wildcard_means_the_default_or_the_first_offered() {
        let o = offer(&[Zstd, Brotli, Gzip], None);
        assert_eq!(choose(&o, Some("*")), Some(Zstd));
        assert_eq!(choose(&o, Some("*, zstd;q=0")), Some(Brotli));
        assert_eq!(choose(&o, Some("*;q=0")), None);
        assert_eq!(choose(&o, Some("gzip;q=0.8, *;q=0.1")), Some(Gzip));
        let d = offer(&[Zstd, Brotli, Gzip], Some(Brotli));
        assert_eq!(choose(&d, Some("*")), Some(Brotli));
    }
}
