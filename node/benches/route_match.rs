//! Route lookup on a 10 000-router table, the shape of a large multi-tenant gateway:
//! 7 900 ``Host(`svcN.example.com`) && PathPrefix(`/api/vN`)`` routers, 2 000
//! ``HostRegexp(`^[a-z0-9-]+\.tenantN\.example\.net$`) && Path(`/app/N`)`` routers and 100
//! host-less `PathRegexp` / `Header` routers, all at Traefik's default priority.
//!
//! Measures one lookup for a hit on an exact host, a hit on a suffix host, and a miss (which
//! tries every host-less router). Run with
//! `cargo bench -p raftgate --bench route_match -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, Method};
use raftgate::proxy::request::RequestInfo;
use raftgate::proxy::rule::CompiledRule;
use raftgate::proxy::table::{RouteEntry, RouteTable};
use raftgate_model::default_priority;

const EXACT: usize = 7_900;
const SUFFIX: usize = 2_000;
const HOSTLESS: usize = 100;

/// The rule of router `i`.
fn rule(i: usize) -> String {
    if i < EXACT {
        format!("Host(`svc{i}.example.com`) && PathPrefix(`/api/v{i}`)")
    } else if i < EXACT + SUFFIX {
        let n = i - EXACT;
        format!(r"HostRegexp(`^[a-z0-9-]+\.tenant{n}\.example\.net$`) && Path(`/app/{n}`)")
    } else if i < EXACT + SUFFIX + HOSTLESS / 2 {
        format!("PathRegexp(`^/legacy/{i}/[a-z]+$`)")
    } else {
        format!("Header(`X-Tenant`, `t{i}`) && PathPrefix(`/internal`)")
    }
}

fn table() -> RouteTable<usize> {
    let entries = (0..EXACT + SUFFIX + HOSTLESS)
        .map(|i| {
            let text = rule(i);
            let expr = raftgate_model::rule::parse(&text).expect("bench rules parse");
            RouteEntry {
                name: format!("router-{i}"),
                priority: default_priority(&text),
                rule: CompiledRule::compile(&expr),
                target: i,
            }
        })
        .collect();
    RouteTable::build(entries)
}

fn lookups(c: &mut Criterion) {
    let table = table();
    let method = Method::GET;
    let headers = HeaderMap::new();
    let request = |host, path| RequestInfo {
        method: &method,
        host,
        path,
        query: None,
        headers: &headers,
        client_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    };
    let cases = [
        (
            "exact_hit",
            request("svc4242.example.com", "/api/v4242/users"),
            Some(4242),
        ),
        (
            "suffix_hit",
            request("shop.tenant1234.example.net", "/app/1234"),
            Some(EXACT + 1234),
        ),
        (
            "miss",
            request("unknown.example.org", "/nothing/here"),
            None,
        ),
    ];
    let mut group = c.benchmark_group("route_lookup_10k");
    for (name, req, want) in &cases {
        assert_eq!(table.lookup(req).map(|e| e.target), *want, "{name}");
        group.bench_function(*name, |b| {
            b.iter(|| table.lookup(black_box(req)).map(|e| e.target))
        });
    }
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
