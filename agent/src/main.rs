//! `twinnet-agent`: an institution's compute agent (see the crate docs).

use std::{path::PathBuf, sync::Arc};

use clap::{Parser, Subcommand};
use twinnet_agent::{agreement::AgreementKey, data::Rows, node::Node, round::hash_hex, service};
use twinnet_primitives::did::{format_did, parse_did};

#[derive(Parser)]
#[command(
	version,
	about = "TwinNet's compute agent: trains federated rounds on local rows with DP-SGD"
)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Serves the institution's node: trains the rounds it hands over.
	///
	/// Example: twinnet-agent serve --institution did:twin:… --data rows.csv
	///          --token-file /var/lib/twinnet-agent/token
	Serve {
		/// The institution's DID.
		#[arg(long)]
		institution: String,
		/// The local rows: `twin,features…,label` with a header line.
		#[arg(long)]
		data: PathBuf,
		/// The institution's node (WebSocket RPC).
		#[arg(long, default_value = "ws://127.0.0.1:9944")]
		node: String,
		/// Where to listen for the node's off-chain worker (loopback unless
		/// the node runs on another machine).
		#[arg(long, default_value = "127.0.0.1:8700")]
		listen: String,
		/// The file of the token the node's worker must send with every
		/// request, created (mode 0600) if it is not there. Store its text
		/// in the node's offchain storage under
		/// `twinnet/federated/agent-token` (or
		/// `twinnet/federated/agent-token/<institution DID>`).
		#[arg(long, value_name = "FILE")]
		token_file: PathBuf,
		/// Makes sampling and noise reproducible. Tests only: real noise
		/// must be unpredictable.
		#[arg(long)]
		seed: Option<u64>,
		/// The institution's X25519 key agreement key (the file that
		/// `agreement-key` creates), for jobs with secure aggregation:
		/// without it the agent refuses their rounds.
		#[arg(long, value_name = "FILE")]
		agreement_key: Option<PathBuf>,
		/// The most rounds that train at once (others wait their turn);
		/// one per core if not given.
		#[arg(long, value_name = "N")]
		max_trainings: Option<usize>,
		/// How long one round may train before it is stopped and refused.
		#[arg(
			long,
			value_name = "SECONDS",
			default_value_t = 300,
			value_parser = clap::value_parser!(u64).range(1..)
		)]
		training_timeout: u64,
	},
	/// Prints the code hash that jobs and dataset allow-lists must name.
	CodeHash,
	/// Prints the public key of the institution's X25519 key agreement key
	/// (hex), creating the key in `--file` (mode 0600) if it is not there.
	/// The institution's DID lists it under `keyAgreement` for secure
	/// aggregation.
	///
	/// Example: twinnet-agent agreement-key --file /var/lib/twinnet-agent/agreement.key
	AgreementKey {
		/// The file that holds the secret key.
		#[arg(long)]
		file: PathBuf,
	},
}

#[tokio::main]
async fn main() {
	if let Err(error) = run(Cli::parse()).await {
		eprintln!("twinnet-agent: {error}");
		std::process::exit(1);
	}
}

async fn run(cli: Cli) -> Result<(), String> {
	match cli.command {
		Command::CodeHash => {
			println!("{}", hash_hex(&twinnet_agent::code_hash()));
			Ok(())
		},
		Command::AgreementKey { file } => {
			let key = AgreementKey::load_or_create(&file).map_err(|e| e.to_string())?;
			println!("{}", hash_hex(&key.public()));
			Ok(())
		},
		Command::Serve {
			institution,
			data,
			node,
			listen,
			token_file,
			seed,
			agreement_key,
			max_trainings,
			training_timeout,
		} => {
			let institution = parse_did(&institution)
				.map_err(|e| format!("{institution} is not a did:twin DID: {e:?}"))?;
			let rows = Rows::read(&data).map_err(|e| format!("{}: {e}", data.display()))?;
			let token = service::ApiToken::load_or_create(&token_file)?;
			let agreement_key = agreement_key
				.map(|file| {
					AgreementKey::load_or_create(&file)
						.map_err(|e| format!("{}: {e}", file.display()))
				})
				.transpose()?;
			let listener = tokio::net::TcpListener::bind(&listen)
				.await
				.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
			let address = listener.local_addr().map_err(|e| e.to_string())?;
			// One line, which whoever started the agent may stop reading after.
			let masking = agreement_key.as_ref().map(|key| {
				format!(", secure aggregation with key agreement key {}", hash_hex(&key.public()))
			});
			println!(
				"twinnet-agent listening on http://{address} for {} with {} rows{}",
				format_did(&institution),
				rows.len(),
				masking.unwrap_or_default()
			);
			let defaults = service::TrainingLimits::default();
			let limits = service::TrainingLimits {
				concurrent: max_trainings.unwrap_or(defaults.concurrent),
				timeout: std::time::Duration::from_secs(training_timeout),
				..defaults
			};
			let mut agent = service::Agent::new(institution, rows, Node::new(node), seed)
				.with_training_limits(limits);
			if let Some(key) = agreement_key {
				agent = agent.with_agreement_key(key);
			}
			let agent = Arc::new(agent);
			tokio::select! {
				served = service::serve(listener, agent, token) => served.map_err(|e| e.to_string()),
				_ = tokio::signal::ctrl_c() => Ok(()),
			}
		},
	}
}
