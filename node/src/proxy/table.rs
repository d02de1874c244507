//! The route table: compiled routers in priority order, indexed by host.
//!
//! Routers are tried in one global order, priority first (higher first, Traefik's default
//! being the rule's length, see [`raftgate_model::default_priority`]), then name. A lookup does not scan them
//! all: each router's [`HostConstraint`] files it under exact hosts, under host suffixes
//! (`.example.com`), or among the routers that can match any host. A request then has at most
//! three candidate lists, each already in the global order: the exact list for its host, the
//! list of the longest suffix of its host that has one (which also holds the routers of every
//! shorter indexed suffix), and the any-host list. [`RouteTable::lookup`] merges them lazily
//! and returns the first router whose rule matches: a few hash lookups, no allocation, no lock.

use std::collections::HashMap;

use super::request::RequestInfo;
use super::rule::{CompiledRule, HostConstraint, HostKey};

/// One router of the table.
#[derive(Debug)]
pub struct RouteEntry<T> {
    /// The router's name; breaks ties between equal priorities (ascending).
    pub name: String,
    /// Higher is tried first.
    pub priority: i64,
    /// The compiled rule.
    pub rule: CompiledRule,
    /// What a matched request goes to.
    pub target: T,
}

/// Routers ordered and indexed for lookup; immutable after [`RouteTable::build`], `Send + Sync`
/// when `T` is.
#[derive(Debug)]
pub struct RouteTable<T> {
    /// In lookup order; the lists below hold indexes into it, ascending.
    entries: Vec<RouteEntry<T>>,
    /// Exact host → entries constrained to it.
    exact: HashMap<Box<str>, Box<[usize]>>,
    /// Suffix (starting with '.') → entries constrained to it or to any shorter suffix of it.
    suffix: HashMap<Box<str>, Box<[usize]>>,
    /// Entries that may match any host.
    any: Box<[usize]>,
}

impl<T> RouteTable<T> {
    /// Orders entries by priority (higher first), ties broken by name (ascending), and indexes
    /// them by host.
    pub fn build(mut entries: Vec<RouteEntry<T>>) -> Self {
        entries.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        let mut exact: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        let mut own_suffix: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        let mut any = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match entry.rule.host_constraint_ref() {
                HostConstraint::Any => any.push(i),
                HostConstraint::Hosts(keys) => {
                    for key in keys {
                        let (map, key) = match key {
                            HostKey::Exact(h) => (&mut exact, h),
                            HostKey::Suffix(s) => (&mut own_suffix, s),
                        };
                        let list = map.entry(key.as_str().into()).or_default();
                        // Keys are deduplicated per rule, but keep lists strictly ascending.
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        let suffix = with_shorter_suffixes(&own_suffix);
        RouteTable {
            entries,
            exact: exact.into_iter().map(|(k, v)| (k, v.into())).collect(),
            suffix,
            any: any.into(),
        }
    }

    /// Every entry, in lookup order.
    pub fn entries(&self) -> &[RouteEntry<T>] {
        &self.entries
    }

    /// The first entry, in priority order, whose rule matches the request. `req.host` must be
    /// normalized (see [`super::request::normalize_host`]).
    pub fn lookup(&self, req: &RequestInfo<'_>) -> Option<&RouteEntry<T>> {
        let exact = self.exact.get(req.host).map_or(&[][..], |l| &l[..]);
        let suffix = self.longest_suffix_list(req.host);
        let mut lists: [&[usize]; 3] = [exact, suffix, &self.any];
        loop {
            let next = lists.iter().filter_map(|l| l.first().copied()).min()?;
            for list in lists.iter_mut() {
                if let Some((&first, rest)) = list.split_first() {
                    if first == next {
                        *list = rest;
                    }
                }
            }
            let entry = self.entries.get(next)?;
            if entry.rule.matches(req) {
                return Some(entry);
            }
        }
    }

    /// The list of the longest indexed suffix of `host` (it also holds the shorter ones).
    fn longest_suffix_list(&self, host: &str) -> &[usize] {
        if self.suffix.is_empty() {
            return &[];
        }
        host.match_indices('.')
            .find_map(|(i, _)| self.suffix.get(&host[i..]))
            .map_or(&[][..], |l| &l[..])
    }

    /// The entries in lookup order.
    pub fn iter(&self) -> impl Iterator<Item = &RouteEntry<T>> {
        self.entries.iter()
    }

    /// How many entries the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// For each suffix, its own entries merged with those of every shorter indexed suffix of it
/// (`.a.example.com` also gets those of `.example.com`), ascending and without duplicates.
fn with_shorter_suffixes(own: &HashMap<Box<str>, Vec<usize>>) -> HashMap<Box<str>, Box<[usize]>> {
    own.iter()
        .map(|(key, list)| {
            let mut merged = list.clone();
            // The shorter suffixes of `key` that start at one of its dots, after the first.
            for (i, _) in key.match_indices('.').skip(1) {
                if let Some(shorter) = own.get(&key[i..]) {
                    merged.extend_from_slice(shorter);
                }
            }
            merged.sort_unstable();
            merged.dedup();
            (key.clone(), merged.into())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;

    use super::*;
    use crate::proxy::rule::test_support::{compile, Req};
    use raftgate_model::default_priority;

    fn entry(name: &str, priority: i64, rule: &str) -> RouteEntry<String> {
        RouteEntry {
            name: name.to_string(),
            priority,
            rule: compile(rule),
            target: format!("svc-{name}"),
        }
    }

    fn table(entries: &[(&str, i64, &str)]) -> RouteTable<String> {
        RouteTable::build(entries.iter().map(|(n, p, r)| entry(n, *p, r)).collect())
    }

    fn hit<'a>(table: &'a RouteTable<String>, req: &Req) -> Option<&'a str> {
        table.lookup(&req.info()).map(|e| e.name.as_str())
    }

    #[test]
    fn higher_priority_first() {
        let t = table(&[
            ("low", 1, "PathPrefix(`/`)"),
            ("high", 10, "PathPrefix(`/api`)"),
        ]);
        assert_eq!(hit(&t, &Req::get("a.com", "/api/x")), Some("high"));
        assert_eq!(hit(&t, &Req::get("a.com", "/web")), Some("low"));
        let order: Vec<_> = t.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(order, ["high", "low"]);
    }

    #[test]
    fn ties_are_broken_by_name() {
        let t = table(&[
            ("b", 5, "PathPrefix(`/`)"),
            ("c", 5, "Host(`a.com`)"),
            ("a", 5, "Host(`a.com`)"),
        ]);
        assert_eq!(hit(&t, &Req::get("a.com", "/")), Some("a"));
        let t = table(&[("b", 5, "PathPrefix(`/`)"), ("c", 5, "Host(`a.com`)")]);
        assert_eq!(hit(&t, &Req::get("a.com", "/")), Some("b"));
    }

    #[test]
    fn any_host_routers_interleave_with_host_routers() {
        let t = table(&[
            ("any-high", 100, "Path(`/admin`)"),
            ("exact", 50, "Host(`a.example.com`)"),
            ("suffix", 40, r"HostRegexp(`^.+\.example\.com$`)"),
            ("any-low", 1, "PathPrefix(`/`)"),
        ]);
        assert_eq!(
            hit(&t, &Req::get("a.example.com", "/admin")),
            Some("any-high")
        );
        assert_eq!(hit(&t, &Req::get("a.example.com", "/x")), Some("exact"));
        assert_eq!(hit(&t, &Req::get("b.example.com", "/x")), Some("suffix"));
        assert_eq!(hit(&t, &Req::get("example.com", "/x")), Some("any-low"));
        assert_eq!(hit(&t, &Req::get("other.org", "/admin")), Some("any-high"));
    }

    #[test]
    fn suffix_beats_exact_when_higher() {
        let t = table(&[
            ("exact", 1, "Host(`a.example.com`)"),
            ("suffix", 2, r"HostRegexp(`^[^.]+\.example\.com$`)"),
        ]);
        assert_eq!(hit(&t, &Req::get("a.example.com", "/")), Some("suffix"));
    }

    #[test]
    fn nested_suffixes_all_apply() {
        let t = table(&[
            (
                "deep",
                3,
                r"HostRegexp(`^.+\.a\.example\.com$`) && Path(`/deep`)",
            ),
            ("wide", 2, r"HostRegexp(`^.+\.example\.com$`)"),
            ("tld", 1, r"HostRegexp(`^.+\.com$`)"),
        ]);
        assert_eq!(hit(&t, &Req::get("x.a.example.com", "/deep")), Some("deep"));
        assert_eq!(hit(&t, &Req::get("x.a.example.com", "/")), Some("wide"));
        assert_eq!(hit(&t, &Req::get("x.b.example.com", "/deep")), Some("wide"));
        assert_eq!(hit(&t, &Req::get("example.com", "/")), Some("tld"));
        assert_eq!(hit(&t, &Req::get("example.org", "/")), None);
    }

    #[test]
    fn hosts_with_ports_and_case() {
        let t = table(&[("web", 1, "Host(`Shop.Example.com`)")]);
        assert_eq!(
            hit(&t, &Req::get("shop.example.com:8443", "/")),
            Some("web")
        );
        assert_eq!(hit(&t, &Req::get("SHOP.example.COM", "/")), Some("web"));
        assert_eq!(hit(&t, &Req::get("shop.example.com.:80", "/")), Some("web"));
    }

    #[test]
    fn a_router_under_several_keys_is_tried_once() {
        let t = table(&[
            (
                "multi",
                2,
                r"(Host(`a.example.com`) || HostRegexp(`^.+\.example\.com$`)) && Path(`/m`)",
            ),
            ("rest", 1, "PathPrefix(`/`)"),
        ]);
        assert_eq!(hit(&t, &Req::get("a.example.com", "/m")), Some("multi"));
        assert_eq!(hit(&t, &Req::get("a.example.com", "/x")), Some("rest"));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn no_match_is_none() {
        let t = table(&[("a", 1, "Host(`a.com`)")]);
        assert_eq!(hit(&t, &Req::get("b.com", "/")), None);
        let empty = RouteTable::<String>::build(Vec::new());
        assert!(empty.is_empty());
        assert_eq!(hit(&empty, &Req::get("a.com", "/")), None);
    }

    #[test]
    fn the_target_comes_back() {
        let t = table(&[("a", 1, "Host(`a.com`)")]);
        let e = t.lookup(&Req::get("a.com", "/").info()).expect("a route");
        assert_eq!(e.target, "svc-a");
    }

    #[test]
    fn default_priority_is_the_rule_length() {
        assert_eq!(default_priority("Host(`a.com`)"), 13);
        assert_eq!(default_priority(""), 0);
    }

    #[test]
    fn tables_are_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RouteTable<String>>();
    }

    /// SplitMix64: a small deterministic generator for the property test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// One of about 130 hosts, in a few zones that suffix rules cover.
    fn random_host(rng: &mut Rng) -> String {
        match rng.below(4) {
            0 => format!("z{}.example.com", rng.below(4)),
            1 => format!("h{}.test.org", rng.below(10)),
            _ => format!("h{}.z{}.example.com", rng.below(30), rng.below(4)),
        }
    }

    fn random_suffix(rng: &mut Rng) -> String {
        match rng.below(8) {
            0 => ".example.com".to_string(),
            1 => ".test.org".to_string(),
            2 => ".org".to_string(),
            _ => format!(".z{}.example.com", rng.below(4)),
        }
    }

    const PATHS: [&str; 5] = ["/", "/api", "/api/v1", "/web", "/static/x"];

    fn random_matcher(rng: &mut Rng) -> String {
        match rng.below(10) {
            0 | 1 => format!("Host(`{}`)", random_host(rng)),
            2 => {
                let label = rng.pick(&[".+", "[^.]+", "[a-z]+", ".*"]);
                let suffix = random_suffix(rng).replace('.', r"\.");
                format!("HostRegexp(`^{label}{suffix}$`)")
            }
            3 => format!(
                "HostRegexp(`{}`)",
                rng.pick(&["example", "^[a-c]\\.", "org$"])
            ),
            4 => format!("Path(`{}`)", rng.pick(&PATHS)),
            5 => format!("PathPrefix(`{}`)", rng.pick(&PATHS)),
            6 => format!("Method(`{}`)", rng.pick(&["GET", "POST"])),
            7 => format!("Header(`X-Env`, `{}`)", rng.pick(&["prod", "dev"])),
            8 => format!("Query(`{}`)", rng.pick(&["debug", "v"])),
            _ => format!(
                "ClientIP(`{}`)",
                rng.pick(&["10.0.0.0/8", "192.0.2.1", "::1"])
            ),
        }
    }

    fn random_rule(rng: &mut Rng, depth: usize) -> String {
        if depth == 0 {
            return random_matcher(rng);
        }
        match rng.below(6) {
            0 | 1 => format!(
                "{} && {}",
                random_rule(rng, depth - 1),
                random_rule(rng, depth - 1)
            ),
            2 => format!(
                "({} || {})",
                random_rule(rng, depth - 1),
                random_rule(rng, depth - 1)
            ),
            3 => format!("!({})", random_rule(rng, depth - 1)),
            _ => random_matcher(rng),
        }
    }

    /// Mostly host-constrained rules (as real tables are), some any-host ones.
    fn random_router_rule(rng: &mut Rng) -> String {
        let host = match rng.below(40) {
            0 => return format!("{} && {}", random_rule(rng, 2), random_rule(rng, 2)),
            1 => random_rule(rng, 1),
            2..=19 => format!("Host(`{}`)", random_host(rng)),
            20 | 21 => format!(
                "(Host(`{}`) || Host(`{}`))",
                random_host(rng),
                random_host(rng)
            ),
            22..=33 => {
                let label = rng.pick(&[".+", "[^.]+", "[a-z0-9]+", ".*"]);
                let suffix = random_suffix(rng).replace('.', r"\.");
                format!("HostRegexp(`^{label}{suffix}$`)")
            }
            _ => format!("HostRegexp(`{}`)", rng.pick(&["z1", "^h1", "org$"])),
        };
        format!("{host} && {}", random_rule(rng, 1))
    }

    fn random_request(rng: &mut Rng) -> Req {
        let host = match rng.below(8) {
            0 => "unknown.example.com:8080".to_string(),
            1 => "nowhere.io".to_string(),
            2 => random_host(rng).to_ascii_uppercase(),
            3 => format!("{}:8443", random_host(rng)),
            _ => random_host(rng),
        };
        let path = format!("{}{}", rng.pick(&PATHS), rng.pick(&["", "/y", "x"]));
        let mut req = Req::get(&host, &path)
            .method(rng.pick(&["GET", "POST"]))
            .query([None, Some("debug=1"), Some("v=2&x")][rng.below(3)])
            .client_ip(
                rng.pick(&["10.1.1.1", "192.0.2.1", "::1"])
                    .parse()
                    .expect("ip"),
            );
        if rng.below(2) == 0 {
            req = req.header("x-env", rng.pick(&["prod", "dev"]));
        }
        req
    }

    /// The indexed lookup agrees with a linear scan of every router, in priority order.
    #[test]
    fn lookup_agrees_with_a_linear_scan() {
        let mut rng = Rng(0x5EED_0001);
        let rules: Vec<(String, i64, String)> = (0..1000)
            .map(|i| {
                let rule = random_router_rule(&mut rng);
                // Few distinct priorities, so that names often break ties.
                let priority = match rng.below(10) {
                    0 => default_priority(&rule) / 10,
                    _ => rng.below(12) as i64,
                };
                (format!("r{:04}", (i * 7919) % 1000), priority, rule)
            })
            .collect();
        let t = RouteTable::build(rules.iter().map(|(n, p, r)| entry(n, *p, r)).collect());
        let linear: Vec<(&str, i64, CompiledRule)> = rules
            .iter()
            .map(|(n, p, r)| (n.as_str(), *p, compile(r)))
            .collect();
        let mut winners = std::collections::BTreeSet::new();
        let mut kinds = [0; 4];
        for _ in 0..3000 {
            let req = random_request(&mut rng);
            let info = req.info();
            let want = linear
                .iter()
                .filter(|(_, _, rule)| rule.matches(&info))
                .min_by_key(|(name, priority, _)| (Reverse(*priority), *name))
                .map(|(name, _, _)| *name);
            let got = t.lookup(&info);
            assert_eq!(got.map(|e| e.name.as_str()), want, "request {req:?}");
            match got.map(|e| e.rule.host_constraint_ref()) {
                Some(HostConstraint::Any) => kinds[0] += 1,
                Some(HostConstraint::Hosts(keys)) => {
                    let suffix = keys.iter().any(|k| matches!(k, HostKey::Suffix(_)));
                    kinds[1 + usize::from(suffix)] += 1;
                }
                None => kinds[3] += 1,
            }
            winners.extend(want);
        }
        // The generator must exercise every kind of winner, and misses.
        assert!(
            kinds.iter().all(|&n| n > 20),
            "any/exact/suffix/miss: {kinds:?}"
        );
        assert!(winners.len() > 30, "only {} routers won", winners.len());
    }
}
