//! The TwinNet node.

// `sc_cli::Error` and `sc_service::Error` are large upstream types that every
// command returns; boxing them here would only add noise.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

/// Runs the node; a failure ends it with a one-line error and exit code 1.
fn main() {
	if let Err(error) = command::run() {
		eprintln!("Error: {error}");
		std::process::exit(1);
	}
}
