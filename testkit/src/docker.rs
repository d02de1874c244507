//! Whether a Docker engine and `docker-compose` answer here.

use std::process::Command;

/// Whether `docker info` and `docker-compose version` both succeed.
pub fn docker_available() -> bool {
    let ok = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    ok("docker", "info") && ok("docker-compose", "version")
}

/// The host ports `deploy/compose/docker-compose.yml` publishes, after `RAFTGATE_PORT_BASE`.
const COMPOSE_PORTS: [&str; 9] = [
    "7001", "7002", "7003", "8081", "8082", "8083", "9001", "9002", "9003",
];

/// A `RAFTGATE_PORT_BASE` (2 to 6) under which the compose deployment's nine host ports are
/// all free, reserved for this process (see [`crate::reserve`]).
pub fn compose_port_base() -> Option<String> {
    (2..=6).map(|b| b.to_string()).find(|base| {
        COMPOSE_PORTS
            .iter()
            .all(|p| format!("{base}{p}").parse().is_ok_and(crate::reserve))
    })
}
