//! Password hashes of htpasswd files: bcrypt (`$2y$`, `$2a$`, `$2b$`), Apache MD5 (`$apr1$`),
//! MD5-crypt (`$1$`, which Traefik's htpasswd library also accepts) and SHA1 (`{SHA}`).
//! Plain-text passwords are not accepted, as in Traefik.

use base64::Engine;
use md5::{Digest, Md5};
use sha1::Sha1;

/// A parsed password hash, ready to verify passwords against.
#[derive(Clone)]
pub enum PasswordHash {
    /// A bcrypt hash, kept whole (the `bcrypt` crate parses it on each verification).
    Bcrypt(String),
    /// An MD5-crypt hash: its magic (`$apr1$` or `$1$`), salt and whole text.
    Md5Crypt {
        /// `$apr1$` or `$1$`.
        magic: &'static str,
        /// At most 8 salt characters.
        salt: String,
        /// The whole hash, compared against a recomputed one.
        hash: String,
    },
    /// SHA1 of the password.
    Sha1([u8; 20]),
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            PasswordHash::Bcrypt(_) => "bcrypt",
            PasswordHash::Md5Crypt { .. } => "md5-crypt",
            PasswordHash::Sha1(_) => "sha1",
        };
        write!(f, "PasswordHash({kind})")
    }
}

impl PasswordHash {
    /// Parses a hash; the error says which forms are accepted (never echoing the hash).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        const FORMS: &str =
            "hash must be bcrypt ($2y$, $2a$, $2b$), MD5 ($apr1$, $1$) or SHA1 ({SHA})";
        if ["$2y$", "$2a$", "$2b$"].iter().any(|p| text.starts_with(p)) {
            return if text.len() == 60 {
                Ok(PasswordHash::Bcrypt(text.to_string()))
            } else {
                Err("bcrypt hash must be 60 characters long")
            };
        }
        for magic in ["$apr1$", "$1$"] {
            if let Some(rest) = text.strip_prefix(magic) {
                let (salt, digest) = rest.split_once('$').ok_or(FORMS)?;
                if salt.len() > 8 || digest.len() != 22 {
                    return Err("MD5 hash must look like $apr1$salt$22-characters");
                }
                return Ok(PasswordHash::Md5Crypt {
                    magic,
                    salt: salt.to_string(),
                    hash: text.to_string(),
                });
            }
        }
        if let Some(b64) = text.strip_prefix("{SHA}") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| "SHA1 hash must be base64")?;
            return bytes
                .try_into()
                .map(PasswordHash::Sha1)
                .map_err(|_| "SHA1 hash must be 20 bytes");
        }
        Err(FORMS)
    }

    /// Whether verifying costs enough CPU to keep it off the async executor (bcrypt).
    pub fn is_slow(&self) -> bool {
        matches!(self, PasswordHash::Bcrypt(_))
    }

    /// Whether `password` matches.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            PasswordHash::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            PasswordHash::Md5Crypt { magic, salt, hash } => {
                ct_eq(md5_crypt(password, salt, magic).as_bytes(), hash.as_bytes())
            }
            PasswordHash::Sha1(digest) => ct_eq(&Sha1::digest(password), digest),
        }
    }
}

/// Compares two byte strings in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The MD5-crypt algorithm (Poul-Henning Kamp's, which Apache's `$apr1$` reuses with another
/// magic string): the whole hash text for `password` with `salt` (at most 8 characters).
pub fn md5_crypt(password: &[u8], salt: &str, magic: &str) -> String {
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let mut alt = Md5::new();
    alt.update(password);
    alt.update(salt);
    alt.update(password);
    let alt = alt.finalize();

    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(magic.as_bytes());
    ctx.update(salt);
    for chunk in password.chunks(16) {
        ctx.update(&alt[..chunk.len()]);
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut digest = ctx.finalize();

    for round in 0..1000 {
        let mut ctx = Md5::new();
        if round & 1 == 1 {
            ctx.update(password);
        } else {
            ctx.update(digest);
        }
        if round % 3 != 0 {
            ctx.update(salt);
        }
        if round % 7 != 0 {
            ctx.update(password);
        }
        if round & 1 == 1 {
            ctx.update(digest);
        } else {
            ctx.update(password);
        }
        digest = ctx.finalize();
    }

    let mut out = String::with_capacity(magic.len() + salt.len() + 23);
    out.push_str(magic);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let d = digest;
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        let v = (u32::from(d[a]) << 16) | (u32::from(d[b]) << 8) | u32::from(d[c]);
        push_b64(&mut out, v, 4);
    }
    push_b64(&mut out, u32::from(d[11]), 2);
    out
}

fn push_b64(out: &mut String, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(ITOA64[(v & 0x3f) as usize] as char);
        v >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from `openssl passwd -apr1` / `-1` and `htpasswd -nbB/-nbs/-nbm`.
    const VECTORS: &[(&str, &str)] = &[
        ("test", "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"),
        ("test", "$apr1$sAlT1234$bh7Lpe.00aw1Xgz7shxNb."),
        ("p@ss w0rd", "$apr1$sAlT1234$kQRu3lV.8sxw3DwzJvj3m1"),
        ("", "$apr1$sAlT1234$mNy/S/SJj/NCjGtJyaoNn1"),
        (
            "a-much-longer-password-than-sixteen-bytes-xyz",
            "$apr1$sAlT1234$iDPpK6nmU6jh7tvkSpyvN0",
        ),
        ("secret", "$apr1$xy$94JxxwMvxqQwA3Iid6OL9."),
        ("c4rol!", "$apr1$YgGaA8tq$unGp4Mn0htTX/XOHGjHAK/"),
        ("test", "$1$abc$B..HicC/afMveWeNyfNsf/"),
        ("p@ss w0rd", "$1$abc$b1Y7sLcCVp5fnycgiQNrK."),
        ("", "$1$abc$Or2rbeUYTvt12aiVzMuS/."),
        (
            "a-much-longer-password-than-sixteen-bytes-xyz",
            "$1$abc$JFVYb50jnoe9iRCdfoVSX0",
        ),
        ("builder", "{SHA}9SMYoF5RilWWASry7TjeaKwmpGg="),
        ("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="),
        (
            "wonderland",
            "$2y$04$kvvZ9v/HX5KIz84fsvqDp.KcCo6fiJ374F7Vrd3u2giYpaD4QoqNW",
        ),
    ];

    #[test]
    fn known_vectors_verify_and_wrong_passwords_do_not() {
        for (password, hash) in VECTORS {
            let parsed = PasswordHash::parse(hash).unwrap();
            assert!(parsed.verify(password.as_bytes()), "{password:?} vs {hash}");
            assert!(!parsed.verify(b"wrong"), "{hash} accepted a wrong password");
        }
    }

    #[test]
    fn md5_crypt_reproduces_the_vectors_exactly() {
        for (password, hash) in VECTORS
            .iter()
            .filter(|(_, h)| h.starts_with("$1$") || h.starts_with("$apr1$"))
        {
            let magic = if hash.starts_with("$1$") {
                "$1$"
            } else {
                "$apr1$"
            };
            let salt = hash[magic.len()..].split('$').next().unwrap();
            assert_eq!(&md5_crypt(password.as_bytes(), salt, magic), hash);
        }
    }

    #[test]
    fn bcrypt_variants_and_slowness() {
        let y = PasswordHash::parse("$2y$04$kvvZ9v/HX5KIz84fsvqDp.KcCo6fiJ374F7Vrd3u2giYpaD4QoqNW")
            .unwrap();
        assert!(y.is_slow());
        let b = PasswordHash::parse(
            &bcrypt::hash_with_result("pw", 4)
                .unwrap()
                .format_for_version(bcrypt::Version::TwoB),
        )
        .unwrap();
        assert!(b.verify(b"pw") && !b.verify(b"px"));
        let a = PasswordHash::parse(
            &bcrypt::hash_with_result("pw", 4)
                .unwrap()
                .format_for_version(bcrypt::Version::TwoA),
        )
        .unwrap();
        assert!(a.verify(b"pw"));
        assert!(!PasswordHash::parse("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=")
            .unwrap()
            .is_slow());
    }

    #[test]
    fn unknown_or_malformed_hashes_are_refused() {
        for bad in [
            "plain",
            "$2y$04$short",
            "$apr1$nosalt",
            "$apr1$s$short",
            "{SHA}!!",
            "{SHA}YWJj",
            "$5$x$y",
        ] {
            let err = PasswordHash::parse(bad).unwrap_err();
            assert!(!err.contains(bad), "{err}");
        }
    }
}
