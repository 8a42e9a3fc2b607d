//! `twinctl institution`: an institution's DID, its custody of patient
//! twins' data (pallet-twins), and the setup of the node that trains for it
//! (pallet-federated's off-chain worker and the institution's agent).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{json, Value};
use sp_core::{bytes::to_hex, sr25519, Pair as _};
use subxt::{
	dynamic::Value as Dyn,
	ext::scale_decode::{self, DecodeAsType},
	rpcs::rpc_params,
};
use twinnet_primitives::{
	did::{format_did, DidId, Relationship},
	federated::{institution_setting, AGENT_TOKEN_KEY, AGENT_URL_KEY, REPORT_KEY_TYPE},
};
use zeroize::Zeroizing;

use crate::{
	args::{none, variant, verification_method, Did, Hex},
	transacted, Failure, Output, Session,
};

/// The error code of a node's answer to an unsafe RPC method it does not
/// allow this connection (`-32601`, as for a method it does not have).
const UNSAFE_RPC_REFUSED: i32 = -32601;

/// Institutions: registration, custody of twins' data, node setup.
#[derive(Subcommand)]
pub enum InstitutionCommand {
	/// Registers an institution: a DID of kind institution that the signer
	/// controls, with the signer's sr25519 key for authentication.
	///
	/// Example: twinctl --signer hospital institution register
	Register,
	/// Custody of a twin's data: the institution whose agent trains on it.
	#[command(subcommand)]
	Custody(CustodyCommand),
	/// Sets up the node that trains for an institution: a report key in the
	/// node's keystore and on the institution's DID (capabilityInvocation),
	/// its agent's URL and token in the node's offchain storage, and
	/// optionally the agent's key-agreement key (for masked jobs) on the
	/// DID. Needs the node's unsafe RPC methods (a node on this machine, or
	/// one started with --rpc-methods unsafe behind a trusted network).
	///
	/// Example: twinctl --signer hospital institution node-setup did:twin:8Qd…
	/// --agent-url http://127.0.0.1:8700 --agent-token-file agent.token
	NodeSetup(NodeSetup),
}

/// Custody of a twin's data.
#[derive(Subcommand)]
pub enum CustodyCommand {
	/// Offers, as the institution's controller, to hold a twin's data.
	///
	/// Example: twinctl --signer hospital institution custody offer did:twin:8Qd… did:twin:GXy…
	Offer {
		/// The institution's DID.
		institution: Did,
		/// The twin's DID.
		twin: Did,
	},
	/// Accepts, as the twin's patient or controller, an institution's offer.
	///
	/// Example: twinctl --signer patient institution custody accept did:twin:8Qd… did:twin:GXy…
	Accept {
		/// The institution's DID.
		institution: Did,
		/// The twin's DID.
		twin: Did,
	},
	/// Withdraws (the institution) or rejects (the patient) an offer.
	///
	/// Example: twinctl --signer patient institution custody cancel did:twin:8Qd… did:twin:GXy…
	Cancel {
		/// The institution's DID.
		institution: Did,
		/// The twin's DID.
		twin: Did,
	},
	/// Ends custody of a twin, as its patient or its custodian.
	///
	/// Example: twinctl --signer patient institution custody end did:twin:GXy…
	End {
		/// The twin's DID.
		twin: Did,
	},
}

/// The node setup of an institution.
#[derive(Args)]
pub struct NodeSetup {
	/// The institution's DID.
	institution: Did,
	/// The agent's address, as the node reaches it (http://host:port).
	#[arg(long, value_name = "URL")]
	agent_url: String,
	/// The agent's token file (the agent writes it on its first start).
	#[arg(long, value_name = "FILE")]
	agent_token_file: PathBuf,
	/// A file with the report key's secret URI (to set up again with the
	/// same key) [default: a new random key, which only the node's keystore
	/// keeps].
	#[arg(long, value_name = "FILE")]
	report_suri_file: Option<PathBuf>,
	/// The report key's fragment on the DID.
	#[arg(long, default_value = "report-1")]
	report_fragment: String,
	/// The agent's X25519 key-agreement public key (`twinnet-agent
	/// agreement-key` prints it), for masked jobs.
	#[arg(long, value_name = "HEX")]
	agreement_key: Option<Hex>,
	/// The agreement key's fragment on the DID.
	#[arg(long, default_value = "agreement-1")]
	agreement_fragment: String,
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct DidCreated {
	did: [u8; 32],
}

/// Whether `command` signs a transaction.
pub fn signs(_command: &InstitutionCommand) -> bool {
	true
}

/// Runs `command`.
pub async fn run(command: &InstitutionCommand, session: &Session) -> Result<Output, Failure> {
	match command {
		InstitutionCommand::Register => {
			let key = variant("Sr25519", [Dyn::from_bytes(session.signer()?.id().0)]);
			let call = subxt::dynamic::tx(
				"Twins",
				"create",
				(
					variant("Institution", []),
					none(),
					Dyn::unnamed_composite([verification_method(
						"key-1",
						key,
						&[Relationship::Authentication],
					)]),
				),
			);
			let included = session.submit(&call).await?;
			let created: DidCreated = included.event("Twins::DidCreated")?;
			let did = format_did(&DidId::from(created.did));
			Ok(transacted(&included, json!({ "did": did }), format!("Registered {did}")))
		},
		InstitutionCommand::Custody(command) => custody(command, session).await,
		InstitutionCommand::NodeSetup(setup) => node_setup(setup, session).await,
	}
}

async fn custody(command: &CustodyCommand, session: &Session) -> Result<Output, Failure> {
	let pair = |institution: &Did, twin: &Did, state: &str| json!({ "institution": institution.to_string(), "twin": twin.to_string(), "state": state });
	let tx = |call: &str, twin: &Did, institution: &Did| {
		subxt::dynamic::tx("Twins", call, (twin.value(), institution.value()))
	};
	let (included, fields, text) = match command {
		CustodyCommand::Offer { institution, twin } => (
			session.submit(&tx("offer_custody", institution, twin)).await?,
			pair(institution, twin, "offered"),
			format!("{institution} offered custody of {twin}"),
		),
		CustodyCommand::Accept { institution, twin } => (
			session.submit(&tx("accept_custody", twin, institution)).await?,
			pair(institution, twin, "custodian"),
			format!("{institution} holds custody of {twin}"),
		),
		CustodyCommand::Cancel { institution, twin } => (
			session.submit(&tx("cancel_custody_offer", twin, institution)).await?,
			pair(institution, twin, "cancelled"),
			format!("Cancelled {institution}'s custody offer for {twin}"),
		),
		CustodyCommand::End { twin } => (
			session
				.submit(&subxt::dynamic::tx("Twins", "end_custody", (twin.value(),)))
				.await?,
			json!({ "twin": twin.to_string(), "state": "ended" }),
			format!("Ended custody of {twin}"),
		),
	};
	Ok(transacted(&included, fields, text))
}

/// What `node-setup` reads before it changes anything.
struct Setup {
	token: Zeroizing<String>,
	suri: Zeroizing<String>,
	report: [u8; 32],
	agreement: Option<[u8; 32]>,
}

fn read_setup(setup: &NodeSetup) -> Result<Setup, Failure> {
	if !(setup.agent_url.starts_with("http://") || setup.agent_url.starts_with("https://")) {
		return Err(Failure::Usage(format!(
			"--agent-url: {:?} is not an http:// or https:// URL",
			setup.agent_url
		)));
	}
	let token = std::fs::read_to_string(&setup.agent_token_file).map_err(|e| {
		let message = format!("{}: {e}", setup.agent_token_file.display());
		match e.kind() {
			std::io::ErrorKind::NotFound => Failure::NotFound(message),
			_ => Failure::Failed(message),
		}
	})?;
	let token = Zeroizing::new(token.trim().to_string());
	if token.is_empty() || token.chars().any(char::is_whitespace) {
		return Err(Failure::Usage(format!(
			"{}: not an agent token (one word)",
			setup.agent_token_file.display()
		)));
	}
	let agreement = match &setup.agreement_key {
		Some(Hex(key)) => Some(
			<[u8; 32]>::try_from(key.as_slice())
				.map_err(|_| Failure::Usage(String::from("--agreement-key: 32 bytes of hex")))?,
		),
		None => None,
	};
	let suri = match &setup.report_suri_file {
		Some(path) => Zeroizing::new(
			std::fs::read_to_string(path)
				.map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?
				.trim()
				.to_string(),
		),
		None => {
			let mut seed = Zeroizing::new([0u8; 32]);
			getrandom::getrandom(&mut seed[..])
				.map_err(|e| Failure::Failed(format!("no randomness: {e}")))?;
			Zeroizing::new(to_hex(&seed[..], false))
		},
	};
	let report = sr25519::Pair::from_string(&suri, None)
		.map_err(|_| Failure::Usage(String::from("--report-suri-file: not a secret URI")))?
		.public()
		.0;
	Ok(Setup { token, suri, report, agreement })
}

/// The most bytes of a fragment (`Twins::MaxFragmentLength`).
const MAX_FRAGMENT_LENGTH: usize = 32;

/// A public key as a DID document shows it: multibase base58btc of its
/// multicodec prefix and bytes.
fn multibase(prefix: [u8; 2], key: &[u8; 32]) -> String {
	format!("z{}", bs58::encode([&prefix[..], key].concat()).into_string())
}

/// What node-setup must add to the DID: the methods not there yet. A
/// fragment there with another key is refused before anything changes.
async fn missing_methods(
	session: &Session,
	setup: &NodeSetup,
	wanted: &[(&str, [u8; 2], [u8; 32], Relationship)],
) -> Result<Vec<Dyn>, Failure> {
	let did = setup.institution.to_string();
	let resolved = crate::twin::resolve(session, &setup.institution).await?;
	let document = resolved.get("didDocument").filter(|document| !document.is_null());
	let Some(document) = document else {
		return Err(Failure::NotFound(format!("no DID {did} on this chain")));
	};
	let kind = resolved.pointer("/didDocumentMetadata/twinKind").and_then(Value::as_str);
	if kind != Some("Institution") || resolved.pointer("/didDocumentMetadata/deactivated").is_some()
	{
		return Err(Failure::Usage(format!("{did} is not an active institution")));
	}
	// An account controller must be the signer (a DID controller is left to
	// the chain to check).
	let signer = session.signer()?.address();
	if let Some(controller) = document.get("controller").and_then(Value::as_str) {
		if controller.starts_with("did:pkh:") && !controller.ends_with(&format!(":{signer}")) {
			return Err(Failure::Refused(format!("{signer} does not control {did}")));
		}
	}
	let methods = document.get("verificationMethod").and_then(Value::as_array);
	let existing = |fragment: &str| {
		let id = format!("{did}#{fragment}");
		methods?
			.iter()
			.find(|method| method.get("id").and_then(Value::as_str) == Some(&id))
	};
	let mut missing = Vec::new();
	for (fragment, prefix, key, relationship) in wanted {
		if fragment.is_empty() || fragment.len() > MAX_FRAGMENT_LENGTH {
			return Err(Failure::Usage(format!(
				"a fragment has 1 to {MAX_FRAGMENT_LENGTH} bytes: {fragment:?}"
			)));
		}
		match existing(fragment) {
			None => missing.push(verification_method(
				fragment,
				variant(
					if *relationship == Relationship::KeyAgreement { "X25519" } else { "Sr25519" },
					[Dyn::from_bytes(*key)],
				),
				&[*relationship],
			)),
			Some(method)
				if method.get("publicKeyMultibase").and_then(Value::as_str)
					== Some(&multibase(*prefix, key)) => {},
			Some(_) => {
				return Err(Failure::Refused(format!(
					"{did}#{fragment} is a method with another key: choose another fragment, \
					 or give its key (--report-suri-file)"
				)))
			},
		}
	}
	Ok(missing)
}

async fn node_setup(setup: &NodeSetup, session: &Session) -> Result<Output, Failure> {
	let read = read_setup(setup)?;
	let chain = &session.chain;
	if !chain.is_private() {
		return Err(Failure::Usage(format!(
			"node-setup sends a secret key and the agent's token to the node: connect over \
			 wss:// or on the node's machine, not {}",
			chain.url()
		)));
	}
	if setup.agreement_key.is_some() && setup.agreement_fragment == setup.report_fragment {
		return Err(Failure::Usage(String::from("the two keys need different fragments")));
	}
	let key_type = String::from_utf8_lossy(&REPORT_KEY_TYPE).into_owned();
	let report_hex = to_hex(&read.report, false);
	let has_key = || async {
		chain
			.rpc_answer("author_hasKey", rpc_params![report_hex.as_str(), key_type.as_str()])
			.await
	};
	// 1. The node's unsafe methods answer this connection, or nothing
	// changes anywhere.
	if let Err((code, message)) = has_key().await? {
		return Err(if code == UNSAFE_RPC_REFUSED {
			Failure::Refused(format!(
				"the node does not let this connection set it up ({message}): run twinctl on \
				 the node's machine (an SSH tunnel to it will do)"
			))
		} else {
			Failure::Failed(format!("author_hasKey: {message}"))
		});
	}
	// 2. What the DID lacks, refused before any change if it cannot be added.
	let mut wanted = vec![(
		setup.report_fragment.as_str(),
		[0xef, 0x01],
		read.report,
		Relationship::CapabilityInvocation,
	)];
	if let Some(key) = read.agreement {
		wanted.push((
			setup.agreement_fragment.as_str(),
			[0xec, 0x01],
			key,
			Relationship::KeyAgreement,
		));
	}
	let missing = missing_methods(session, setup, &wanted).await?;

	// 3. The node: the key (checked kept), the agent's address and token.
	// Without the DID's method they are inert: the worker acts only for
	// keys the DID names.
	chain
		.rpc(
			"author_insertKey",
			rpc_params![key_type.as_str(), read.suri.as_str(), report_hex.as_str()],
		)
		.await?;
	if has_key().await? != Ok(Value::Bool(true)) {
		return Err(Failure::Failed(String::from(
			"the node did not keep the report key (a node without a keystore directory, or \
			 with a keystore password, cannot take keys over RPC)",
		)));
	}
	for (prefix, value) in
		[(AGENT_URL_KEY, setup.agent_url.as_str()), (AGENT_TOKEN_KEY, read.token.as_str())]
	{
		let key = institution_setting(prefix, &setup.institution.0);
		chain
			.rpc(
				"offchain_localStorageSet",
				rpc_params!["PERSISTENT", to_hex(&key, false), to_hex(value.as_bytes(), false)],
			)
			.await?;
	}

	// 4. The DID, last: the methods it lacks.
	let institution = setup.institution.value();
	let mut included = None;
	for method in missing {
		let add =
			subxt::dynamic::tx("Twins", "add_verification_method", (institution.clone(), method));
		included = Some(session.submit(&add).await.map_err(|failure| match failure {
			Failure::Refused(line) => Failure::Refused(format!(
				"{line} (the node has the key and the agent's settings; the DID does not name \
				 the key yet: run node-setup again with --report-suri-file)"
			)),
			other => other,
		})?);
	}

	let did = setup.institution.to_string();
	let agreement = read.agreement.map(|_| format!("{did}#{}", setup.agreement_fragment));
	let fields = json!({
		"institution": did,
		"reportKey": report_hex,
		"reportMethod": format!("{did}#{}", setup.report_fragment),
		"agreementMethod": agreement,
		"agentUrl": setup.agent_url,
		"didChanged": included.is_some(),
	});
	let text = format!(
		"{did}: report key {report_hex} in the node's keystore and on the DID as #{}; its agent \
		 at {}",
		setup.report_fragment, setup.agent_url
	);
	Ok(match &included {
		Some(included) => transacted(included, fields, text),
		None => Output { json: fields, text: format!("{text} (the DID had them already)") },
	})
}
