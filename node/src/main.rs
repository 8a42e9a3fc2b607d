//! The TwinNet node.

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
