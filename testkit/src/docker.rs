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

/// A `RAFTGATE_PORT_BASE` under which the compose deployment's nine host ports are free,
/// held until dropped.
#[derive(Debug)]
pub struct PortBase {
    /// The prefix, `2` to `6`.
    pub base: String,
    _held: Vec<crate::Reservation>,
}

/// The first `RAFTGATE_PORT_BASE` from 2 to 6 whose nine host ports are all free, reserved
/// (see [`crate::reserve`]).
pub fn compose_port_base() -> Option<PortBase> {
    (2..=6).map(|b| b.to_string()).find_map(|base| {
        let held = COMPOSE_PORTS
            .iter()
            .map(|p| format!("{base}{p}").parse().ok().and_then(crate::reserve))
            .collect::<Option<Vec<_>>>()?;
        Some(PortBase { base, _held: held })
    })
}
