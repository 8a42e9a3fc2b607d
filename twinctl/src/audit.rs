//! `twinctl audit`: what an auditor checks (pallet-commitments and the
//! federated rounds' record): a commitment, a job's commitments, the
//! provenance graph down to datasets, an inclusion proof, that proof
//! checked here with `twinnet-merkle` rather than taken from the node, and
//! whether a twin's rows were used in a round.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::{json, Value};
use subxt::rpcs::{client::RpcParams, rpc_params};
use twinnet_merkle::json::{hex, parse_hash, ProofJson};

use crate::{args::Did, Failure, Output, Session};

/// Audits: commitments, provenance, inclusion proofs, twins' use in rounds.
#[derive(Subcommand)]
pub enum AuditCommand {
	/// Shows a commitment: its kind, hash, Merkle root, inputs, status and
	/// attestations.
	///
	/// Example: twinctl audit get 4
	Get {
		/// The commitment's id.
		id: u64,
	},
	/// Lists a federated job's commitments, round by round.
	///
	/// Example: twinctl audit by-job 1
	ByJob {
		/// The job's id.
		job: u64,
	},
	/// Shows the graph of what a commitment was computed from, down to
	/// datasets.
	///
	/// Example: twinctl audit provenance 7 --depth 3
	Provenance {
		/// The commitment's id.
		id: u64,
		/// The most links to follow.
		#[arg(long, value_parser = clap::value_parser!(u32).range(1..=32))]
		depth: Option<u32>,
	},
	/// The inclusion proof of a stored leaf of a commitment's Merkle tree,
	/// as the node computes it (check it with `audit verify`).
	///
	/// Example: twinctl audit prove 4 3 --json > proof.json
	Prove {
		/// The commitment's id.
		id: u64,
		/// The leaf's position, from 0.
		leaf_index: u32,
	},
	/// Checks, here, that a proof includes a leaf under a commitment's
	/// Merkle root as the chain records it: the root and leaf count come
	/// from the chain, the hashing from twinnet-merkle. Exit 0 if it does,
	/// 1 if not.
	///
	/// Example: twinctl audit verify 4 --proof proof.json
	Verify {
		/// The commitment's id.
		id: u64,
		/// The proof: a file with `audit prove --json`'s output, or the
		/// proof alone; `-` for standard input.
		#[arg(long, value_name = "FILE")]
		proof: PathBuf,
		/// The leaf, 0x and 64 hex digits [default: the one in the proof
		/// file].
		#[arg(long, value_name = "HEX")]
		leaf: Option<String>,
	},
	/// Whether a twin's rows were used in a job's round: used (with what it
	/// was charged), admitted, excluded (and why), or not in the round.
	///
	/// Example: twinctl audit twin-usage 1 3 did:twin:GXy…
	TwinUsage {
		/// The job's id.
		job: u64,
		/// The round.
		round: u32,
		/// The twin's DID.
		twin: Did,
	},
}

/// Whether `command` signs a transaction: audits only read.
pub fn signs(_command: &AuditCommand) -> bool {
	false
}

/// `method` of the commitments RPC, its error codes as exit codes: no such
/// commitment, no Merkle root or no stored leaves (4), a leaf index out of
/// range (2).
async fn commitments(
	session: &Session,
	method: &str,
	params: RpcParams,
	id: u64,
) -> Result<Value, Failure> {
	session
		.chain
		.rpc_answer(method, params)
		.await?
		.map_err(|(code, message)| match code {
			1001 => Failure::NotFound(format!("no commitment {id} on this chain")),
			1002 | 1003 => Failure::NotFound(format!("commitment {id}: {message}")),
			1004 => Failure::Usage(format!("commitment {id}: {message}")),
			_ => Failure::Failed(format!("{method}: {message}")),
		})
}

/// The most pages of a job's commitments read (100 commitments a page).
const MAX_PAGES: usize = 1_000;

/// A job's commitments, every page, each round once.
async fn by_job(session: &Session, job: u64) -> Result<Value, Failure> {
	let mut rounds: Vec<Value> = Vec::new();
	let mut after: Option<Value> = None;
	for _ in 0..MAX_PAGES {
		let page = session.chain.rpc("commitments_byJob", rpc_params![job, after.clone()]).await?;
		for round in page.get("rounds").and_then(Value::as_array).cloned().unwrap_or_default() {
			// A round cut by a page's end continues on the next page.
			let continued =
				rounds.last_mut().filter(|last| last.get("round") == round.get("round"));
			match (continued, round.get("commitments").and_then(Value::as_array)) {
				(Some(last), Some(more)) => {
					if let Some(Value::Array(all)) = last.get_mut("commitments") {
						all.extend(more.iter().cloned());
					}
				},
				_ => rounds.push(round),
			}
		}
		match page.get("next") {
			Some(next) if !next.is_null() && Some(next) != after.as_ref() => {
				after = Some(next.clone())
			},
			_ => return Ok(json!({ "job": job, "rounds": rounds })),
		}
	}
	Err(Failure::Failed(format!("commitments_byJob: more than {MAX_PAGES} pages")))
}

/// Runs `command`.
pub async fn run(command: &AuditCommand, session: &Session) -> Result<Output, Failure> {
	match command {
		AuditCommand::Get { id } => Ok(Output::json_only(
			commitments(session, "commitments_get", rpc_params![id], *id).await?,
		)),
		AuditCommand::ByJob { job } => Ok(Output::json_only(by_job(session, *job).await?)),
		AuditCommand::Provenance { id, depth } => Ok(Output::json_only(
			commitments(session, "commitments_provenance", rpc_params![id, depth], *id).await?,
		)),
		AuditCommand::Prove { id, leaf_index } => Ok(Output::json_only(
			commitments(session, "commitments_prove", rpc_params![id, leaf_index], *id).await?,
		)),
		AuditCommand::Verify { id, proof, leaf } => {
			verify(session, *id, proof, leaf.as_deref()).await
		},
		AuditCommand::TwinUsage { job, round, twin } => Ok(Output::json_only(
			session
				.chain
				.rpc("federated_twinUsage", rpc_params![job, round, twin.to_string()])
				.await?,
		)),
	}
}

/// The proof and leaf of a proof file: `audit prove --json`'s output, or a
/// proof alone (the leaf then given with --leaf).
fn read_proof(
	path: &PathBuf,
	leaf: Option<&str>,
) -> Result<(ProofJson, [u8; 32], &'static str), Failure> {
	use std::io::Read;
	let mut text = String::new();
	let read = if path.as_os_str() == "-" {
		std::io::stdin().lock().take(1 << 20).read_to_string(&mut text)
	} else {
		std::fs::File::open(path).and_then(|file| file.take(1 << 20).read_to_string(&mut text))
	};
	read.map_err(|e| {
		let message = format!("{}: {e}", path.display());
		match e.kind() {
			std::io::ErrorKind::NotFound => Failure::NotFound(message),
			_ => Failure::Failed(message),
		}
	})?;
	let value: Value = serde_json::from_str(&text)
		.map_err(|e| Failure::Usage(format!("{}: not JSON: {e}", path.display())))?;
	let (proof, served_leaf) = match value.get("proof") {
		Some(proof) => {
			(proof.clone(), value.get("leaf").and_then(Value::as_str).map(str::to_string))
		},
		None => (value, None),
	};
	let proof: ProofJson = serde_json::from_value(proof)
		.map_err(|e| Failure::Usage(format!("{}: not a proof: {e}", path.display())))?;
	let (leaf, source) = match (leaf, served_leaf) {
		(Some(leaf), _) => (leaf.to_string(), "--leaf"),
		(None, Some(leaf)) => (leaf, "the proof file"),
		(None, None) => {
			return Err(Failure::Usage(String::from(
				"which leaf? --leaf, or a proof file with one",
			)))
		},
	};
	let leaf = parse_hash(&leaf).ok_or_else(|| {
		Failure::Usage(format!("{source}: the leaf {leaf:?} is not 0x and 64 hex digits"))
	})?;
	Ok((proof, leaf, source))
}

async fn verify(
	session: &Session,
	id: u64,
	path: &PathBuf,
	leaf: Option<&str>,
) -> Result<Output, Failure> {
	let (proof, leaf, source) = read_proof(path, leaf)?;
	// The root as the chain records it at the node's finalized block.
	let finalized = session.chain.rpc("chain_getFinalizedHead", rpc_params![]).await?;
	let commitment =
		commitments(session, "commitments_get", rpc_params![id, finalized.clone()], id).await?;
	let merkle = commitment
		.get("merkle")
		.filter(|merkle| !merkle.is_null())
		.ok_or_else(|| Failure::NotFound(format!("commitment {id} has no Merkle root")))?;
	let root = merkle.get("root").and_then(Value::as_str).and_then(parse_hash);
	let count = merkle
		.get("leafCount")
		.and_then(Value::as_u64)
		.and_then(|n| u32::try_from(n).ok());
	let (Some(root), Some(count)) = (root, count) else {
		return Err(Failure::Failed(format!(
			"commitments_get: no root and leaf count in {merkle}"
		)));
	};
	let proof = proof.proof(count).map_err(|e| Failure::Usage(format!("not a proof: {e:?}")))?;
	let outcome = if proof.leaf_count != count {
		Err("leafCountMismatch")
	} else {
		twinnet_merkle::verify(&root, &twinnet_merkle::leaf_hash(&leaf), &proof)
			.map_err(|e| e.name())
	};
	match outcome {
		Ok(()) => Ok(Output {
			json: json!({
				"commitment": id,
				"valid": true,
				"root": hex(&root),
				"leaf": hex(&leaf),
				"leafFrom": source,
				"leafIndex": proof.leaf_index,
				"leafCount": count,
				"finalizedBlock": finalized,
			}),
			text: format!(
				"Leaf {} of commitment {id} is included under its root {} ({} leaves, at the \
				 finalized block {}): checked here\nleaf {} (from {source})",
				proof.leaf_index,
				hex(&root),
				count,
				finalized.as_str().unwrap_or("?"),
				hex(&leaf),
			),
		}),
		Err(reason) => Err(Failure::Failed(format!(
			"the proof does not include {} in commitment {id} (root {}): {reason}",
			hex(&leaf),
			hex(&root)
		))),
	}
}
