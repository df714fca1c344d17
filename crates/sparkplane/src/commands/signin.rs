//! The sign-in and access flags of a server a person opens (`history serve`;
//! the console and the live-UI proxy to come): the door they ask for
//! (`sparkplane_door::door_from_flags`, which checks the flags and reads the
//! secret files) and the access rules beside it, with the Tenants of
//! `--tenants` read.
//!
//! Owns: the exit codes of a refusal (2; 3 when the provider cannot be
//! reached). Must not: check a flag, verify a token, decide what anyone sees,
//! or serve.

use std::net::SocketAddr;

use sparkplane_access::AccessRules;
use sparkplane_access::rules::TeamAccess;
use sparkplane_door::{Door, FlagError, door_from_flags};

use crate::cli::SignInArgs;
use crate::exit::Failure;

/// A server's door and the rules it applies.
pub struct Front {
    pub door: Door,
    pub rules: AccessRules,
}

/// Opens the door `args` ask for in front of a server listening on `listen`, with its access rules.
pub fn open(args: &SignInArgs, listen: SocketAddr) -> Result<Front, Failure> {
    let teams = match &args.access.tenants {
        Some(dir) => super::tenant::read_dir(dir)?.iter().map(|(_, tenant)| TeamAccess::from_tenant(tenant)).collect(),
        None => Vec::new(),
    };
    let rules = args.access.rules(teams).map_err(refused)?;
    let door = door_from_flags(&args.door, listen).map_err(refused)?;
    Ok(Front { door, rules })
}

fn refused(error: FlagError) -> Failure {
    let build = if error.unreachable { Failure::unreachable } else { Failure::invalid };
    build("sign-in", error.flag, error.message, error.help)
}
