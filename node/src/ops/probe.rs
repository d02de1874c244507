//! `raftgate healthcheck URL`: a dependency-free HTTP probe for container health checks
//! (the image has no shell and no curl). Exits 0 when the URL answers 200.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// GETs `url` (plain `http://host:port/path`); Ok when the answer is 200.
pub fn check(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).map_err(|e| format!("{host}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .map_err(|e| format!("{url}: {e}"))?;
    let status = String::from_utf8_lossy(&head[9..12]).to_string();
    if status == "200" {
        Ok(())
    } else {
        Err(format!("{url} answered {status}"))
    }
}
