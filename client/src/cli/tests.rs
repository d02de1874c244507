//! Parsing of every command, with no network.

use super::*;

fn parse(args: &[&str]) -> Cli {
    let mut argv = vec!["raftgatectl"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn fails(args: &[&str]) -> clap::error::ErrorKind {
    let mut argv = vec!["raftgatectl"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).expect_err("should fail").kind()
}

#[test]
fn global_flags_before_and_after_the_subcommand() {
    let a = parse(&["--endpoints", "http://a:1,http://b:2/", "cluster", "status"]);
    assert_eq!(a.global.endpoints, ["http://a:1", "http://b:2"]);
    assert_eq!(a.global.timeout, Duration::from_secs(10));
    assert_eq!(a.global.output, Output::Table);
    let b = parse(&["cluster", "status", "-o", "json", "--timeout", "500ms"]);
    assert_eq!(b.global.output, Output::Json);
    assert_eq!(b.global.timeout, Duration::from_millis(500));
    assert!(matches!(b.command, Command::Cluster(ClusterCmd::Status)));
}

#[test]
fn bad_global_values_are_usage_errors() {
    use clap::error::ErrorKind::ValueValidation;
    assert_eq!(
        fails(&["--endpoints", "127.0.0.1:7001", "cluster", "status"]),
        ValueValidation
    );
    assert_eq!(
        fails(&["--timeout", "ten", "cluster", "status"]),
        ValueValidation
    );
    assert_eq!(
        fails(&["--timeout", "0s", "cluster", "status"]),
        ValueValidation
    );
}

#[test]
fn cluster_commands() {
    match parse(&[
        "cluster",
        "add-node",
        "--id",
        "4",
        "--addr",
        "http://10.0.0.4:7001",
    ])
    .command
    {
        Command::Cluster(ClusterCmd::AddNode { id, addr, learner }) => {
            assert_eq!(
                (id, addr.as_str(), learner),
                (4, "http://10.0.0.4:7001", false)
            );
        }
        c => panic!("{c:?}"),
    }
    let c = parse(&[
        "cluster",
        "add-node",
        "--id",
        "5",
        "--addr",
        "http://x:1",
        "--learner",
    ]);
    assert!(matches!(
        c.command,
        Command::Cluster(ClusterCmd::AddNode { learner: true, .. })
    ));
    let c = parse(&["cluster", "remove-node", "--id", "4"]);
    assert!(matches!(
        c.command,
        Command::Cluster(ClusterCmd::RemoveNode { id: 4 })
    ));
    let c = parse(&["cluster", "transfer-leader", "--to", "2"]);
    assert!(matches!(
        c.command,
        Command::Cluster(ClusterCmd::TransferLeader { to: 2 })
    ));
    assert_eq!(
        fails(&["cluster", "remove-node"]),
        clap::error::ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn router_create_and_update() {
    let c = parse(&[
        "router",
        "create",
        "web",
        "--rule",
        "Host(`a`)",
        "--service",
        "api",
        "--priority",
        "-3",
        "--entrypoint",
        "web",
        "--entrypoint",
        "websecure",
        "--middleware",
        "strip",
    ]);
    let Command::Router(RouterCmd::Create(r)) = c.command else {
        panic!()
    };
    assert_eq!(
        (r.name.as_str(), r.rule.as_str(), r.service.as_str()),
        ("web", "Host(`a`)", "api")
    );
    assert_eq!(r.extra.priority, Some(-3));
    assert_eq!(r.extra.entrypoints, ["web", "websecure"]);
    assert_eq!(r.extra.middlewares, ["strip"]);
    assert_eq!(
        fails(&["router", "create", "web", "--rule", "Host(`a`)"]),
        clap::error::ErrorKind::MissingRequiredArgument
    );
    let c = parse(&["router", "update", "web", "--service", "b"]);
    let Command::Router(RouterCmd::Update(u)) = c.command else {
        panic!()
    };
    assert_eq!((u.rule, u.service.as_deref()), (None, Some("b")));
}

#[test]
fn service_create_and_update() {
    let c = parse(&[
        "service",
        "create",
        "api",
        "--server",
        "http://a:80",
        "--server",
        "http://b:80",
        "--weight",
        "http://b:80=3",
        "--strategy",
        "p2c",
        "--pass-host-header",
        "false",
        "--sticky-cookie",
        "sid",
        "--health-path",
        "/health",
        "--health-interval",
        "5s",
    ]);
    let Command::Service(ServiceCmd::Create(s)) = c.command else {
        panic!()
    };
    assert_eq!(s.servers, ["http://a:80", "http://b:80"]);
    assert_eq!(s.lb.weights, [("http://b:80".to_string(), 3)]);
    assert_eq!(s.lb.strategy, Some(Strategy::P2c));
    assert_eq!(s.lb.pass_host_header, Some(false));
    assert_eq!(s.lb.health_interval, Some(Duration::from_secs(5)));
    assert_eq!(
        fails(&["service", "create", "api"]),
        clap::error::ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        fails(&["service", "create", "api", "--server", "http://a", "--weight", "http://a"]),
        clap::error::ErrorKind::ValueValidation
    );
    let c = parse(&["service", "update", "api", "--strategy", "wrr"]);
    let Command::Service(ServiceCmd::Update(u)) = c.command else {
        panic!()
    };
    assert!(u.servers.is_empty());
}

#[test]
fn middleware_needs_exactly_one_source() {
    let c = parse(&["middleware", "create", "strip", "--spec", "{}"]);
    let Command::Middleware(SpecCmd::Create(m)) = c.command else {
        panic!()
    };
    assert_eq!(m.source.spec.as_deref(), Some("{}"));
    let c = parse(&["middleware", "update", "strip", "-f", "m.yaml"]);
    let Command::Middleware(SpecCmd::Update(m)) = c.command else {
        panic!()
    };
    assert_eq!(m.source.file, Some(PathBuf::from("m.yaml")));
    assert_eq!(
        fails(&["middleware", "create", "strip"]),
        clap::error::ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        fails(&[
            "middleware",
            "create",
            "strip",
            "--spec",
            "{}",
            "-f",
            "x.json"
        ]),
        clap::error::ErrorKind::ArgumentConflict
    );
}

#[test]
fn delete_get_list_on_every_kind() {
    let c = parse(&["router", "delete", "web", "--if-revision", "7"]);
    let Command::Router(RouterCmd::Common(CommonCmd::Delete(d))) = c.command else {
        panic!()
    };
    assert_eq!((d.name.as_str(), d.if_revision), ("web", Some(7)));
    let c = parse(&["service", "get", "api", "--consistent"]);
    let Command::Service(ServiceCmd::Common(CommonCmd::Get(g))) = c.command else {
        panic!()
    };
    assert!(g.read.consistent);
    let c = parse(&["middleware", "list", "--min-revision", "9"]);
    let Command::Middleware(SpecCmd::Common(CommonCmd::List(r))) = c.command else {
        panic!()
    };
    assert_eq!(r.min_revision, Some(9));
}

#[test]
fn get_accepts_singular_aliases() {
    for (word, want) in [
        ("routers", GetWhat::Routers),
        ("router", GetWhat::Routers),
        ("service", GetWhat::Services),
        ("middlewares", GetWhat::Middlewares),
        ("serverstransports", GetWhat::ServersTransports),
        ("servers-transport", GetWhat::ServersTransports),
        ("all", GetWhat::All),
    ] {
        let Command::Get(g) = parse(&["get", word]).command else {
            panic!()
        };
        assert_eq!(g.what, want);
    }
    let Command::Get(g) = parse(&["get", "router", "web", "-o", "yaml"]).command else {
        panic!()
    };
    assert_eq!(g.name.as_deref(), Some("web"));
}

#[test]
fn watch_and_wait_applied() {
    let Command::Watch(w) = parse(&["watch"]).command else {
        panic!()
    };
    assert_eq!(w.from, 0);
    let Command::Watch(w) = parse(&["watch", "--from", "12"]).command else {
        panic!()
    };
    assert_eq!(w.from, 12);
    let c = parse(&["wait-applied", "--revision", "5", "--node", "http://n:7001"]);
    let Command::WaitApplied(a) = c.command else {
        panic!()
    };
    assert_eq!((a.revision, a.node.as_deref()), (5, Some("http://n:7001")));
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}
