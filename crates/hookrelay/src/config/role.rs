//! `role`: what a `serve` process does when several share one PostgreSQL database, and the
//! rule that SQLite, whose leases and failure clocks live in one process's memory, takes only
//! `all`.

use anyhow::bail;
use serde::Deserialize;

use super::Config;

/// What a `serve` process does when several share one PostgreSQL database.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The API and delivery, with the periodic jobs: the only role on SQLite.
    All,
    /// The API, publishing included; no delivery worker and no periodic jobs.
    Api,
    /// Delivery and the periodic jobs (retention); of the API only `GET /healthz`.
    Worker,
}

impl Role {
    /// Whether this node runs the delivery worker and the periodic jobs.
    pub fn delivers(self) -> bool {
        self != Role::Api
    }

    /// Whether this node serves the whole API (a worker serves health checks only).
    pub fn serves_api(self) -> bool {
        self != Role::Worker
    }

    /// The name used in settings and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Api => "api",
            Role::Worker => "worker",
        }
    }
}

impl Config {
    /// Refuses a role other than `all` on SQLite. `App::build` calls it too, as tests build
    /// `Config` in code without `validate`.
    pub fn check_role(&self) -> anyhow::Result<()> {
        if self.role != Role::All && self.database_url.starts_with("sqlite:") {
            // SQLite keeps leases and failure clocks in the one process's memory: nodes with
            // roles would need another process on the same file.
            bail!(
                "role: {:?} needs PostgreSQL (database_url = postgres://…); on SQLite one process does everything (role = \"all\")",
                self.role.as_str()
            );
        }
        Ok(())
    }

    /// The role in force: `role`, or `api` when the deprecated `deliver = false` is set (on
    /// SQLite that is one process that queues without delivering, as the bench's backlog fill
    /// uses; `validate` refuses it beside `role = "worker"`).
    pub fn effective_role(&self) -> Role {
        if self.deliver { self.role } else { Role::Api }
    }
}
