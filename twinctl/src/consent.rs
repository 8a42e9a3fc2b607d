//! `twinctl consent`: a patient's grants of view and compute access to
//! their twin (pallet-consent), the requests researchers and institutions
//! make for them, and the audit trail of both.

use clap::{ArgGroup, Args, Subcommand};
use serde_json::{json, Value};
use subxt::{
	dynamic::Value as Dyn,
	ext::scale_decode::{self, DecodeAsType},
	rpcs::rpc_params,
};
use twinnet_primitives::{
	consent::{Purpose, Scope, DELTA_DECIMALS, EPSILON_DECIMALS},
	did::{format_did, DidId},
	format_decimal,
};

use crate::{
	args::{optional, variant, Delta, Did, Duration, Epsilon, Grantee, Hash},
	lines, transacted, Failure, Output, Session,
};

/// Consent: grants, requests and the audit trail of a twin.
#[derive(Subcommand)]
pub enum ConsentCommand {
	/// Grants access to a twin's data, as its patient or a guardian.
	///
	/// Example: twinctl --signer patient consent grant did:twin:4Jm… --grantee 5FHneW46…
	/// --scope compute --purpose research,modelTraining --expires-in 90d --epsilon 2
	/// --delta 0.000001
	Grant {
		/// The twin's DID.
		twin: Did,
		#[command(flatten)]
		terms: TermsArgs,
	},
	/// Asks a twin's patient for access, as the grantee (an account, or the
	/// controller of an institution's DID).
	///
	/// Example: twinctl --signer researcher consent request did:twin:4Jm… --grantee
	/// 5FHneW46… --scope view --purpose research --expires-in 30d
	Request {
		/// The twin's DID.
		twin: Did,
		#[command(flatten)]
		terms: TermsArgs,
	},
	/// Revokes a grant, as the twin's patient or a guardian.
	///
	/// Example: twinctl --signer patient consent revoke did:twin:4Jm… 3
	Revoke {
		/// The twin's DID.
		twin: Did,
		/// The grant's number.
		grant: u64,
	},
	/// Lists a twin's grants: grantee, scope, purposes, period, budget left.
	///
	/// Example: twinctl consent list did:twin:4Jm…
	List {
		/// The twin's DID.
		twin: Did,
	},
	/// Shows a twin's audit trail: every grant, revocation, decision and
	/// privacy budget spent, and the budgets left.
	///
	/// Example: twinctl consent usage did:twin:4Jm… --json
	Usage {
		/// The twin's DID.
		twin: Did,
	},
	/// Lists the requests for a twin, open or expired.
	///
	/// Example: twinctl consent requests did:twin:4Jm…
	Requests {
		/// The twin's DID.
		twin: Did,
	},
	/// Approves an open request: it becomes a grant on its terms.
	///
	/// Example: twinctl --signer patient consent approve did:twin:4Jm… 0
	Approve {
		/// The twin's DID.
		twin: Did,
		/// The request's number.
		request: u64,
	},
	/// Rejects an open request.
	///
	/// Example: twinctl --signer patient consent reject did:twin:4Jm… 0
	Reject {
		/// The twin's DID.
		twin: Did,
		/// The request's number.
		request: u64,
	},
}

/// The terms of a grant or request.
#[derive(Args)]
#[command(group(ArgGroup::new("expiry").required(true).args(["expires_at", "expires_in"])))]
pub struct TermsArgs {
	/// Who may act: an SS58 address, an institution's DID, or job:<id>.
	#[arg(long, value_name = "ADDRESS|DID|job:ID")]
	grantee: Grantee,
	/// view (read and decrypt the data) or compute (run approved
	/// computations that spend a privacy budget).
	#[arg(long, value_parser = parse_scope)]
	scope: Scope,
	/// What for (repeat, or separate with commas): clinicalCare, research,
	/// modelTraining, qualityImprovement, publicHealth, education,
	/// commercial.
	#[arg(long = "purpose", value_parser = parse_purpose, value_delimiter = ',', required = true)]
	purposes: Vec<Purpose>,
	/// Only these datasets (DIDs; repeat) [default: any].
	#[arg(long = "dataset", value_name = "DID")]
	datasets: Vec<Did>,
	/// The first block it applies in [default: the best block].
	#[arg(long, value_name = "BLOCK")]
	starts_at: Option<u32>,
	/// The first block it no longer applies in.
	#[arg(long, value_name = "BLOCK")]
	expires_at: Option<u32>,
	/// How long it applies from its start: a number and a unit, d, h or m
	/// (90d, 12h), at the chain's block time.
	#[arg(long, value_name = "DURATION")]
	expires_in: Option<Duration>,
	/// The privacy budget's epsilon, for a compute grant (a decimal: 2.5).
	#[arg(long, value_name = "DECIMAL")]
	epsilon: Option<Epsilon>,
	/// The privacy budget's delta (a decimal from 0 to 1: 0.000001).
	#[arg(long, value_name = "DECIMAL", requires = "epsilon")]
	delta: Option<Delta>,
	/// Only this federated job may spend under it.
	#[arg(long, value_name = "ID")]
	job: Option<u64>,
	/// Only this model (a DID) may be trained under it.
	#[arg(long, value_name = "DID")]
	model: Option<Did>,
	/// Only this code (its hash, 0x and 32 bytes of hex) may run under it.
	#[arg(long, value_name = "HEX")]
	code_hash: Option<Hash>,
	/// The most epsilon one job round may spend under it.
	#[arg(long, value_name = "DECIMAL")]
	max_epsilon_per_round: Option<Epsilon>,
}

fn parse_scope(name: &str) -> Result<Scope, String> {
	Scope::from_name(name).ok_or_else(|| {
		let names: Vec<_> = Scope::ALL.iter().map(|scope| scope.name()).collect();
		format!("not a scope; one of {}", names.join(", "))
	})
}

fn parse_purpose(name: &str) -> Result<Purpose, String> {
	Purpose::from_name(name).ok_or_else(|| {
		let names: Vec<_> = Purpose::ALL.iter().map(|purpose| purpose.name()).collect();
		format!("not a purpose; one of {}", names.join(", "))
	})
}

/// The most datasets a grant names (`Consent::MaxDatasets`).
const MAX_DATASETS: usize = 16;

impl TermsArgs {
	/// The terms as the chain takes them. The period's defaults come from
	/// the node (its best block and block time).
	async fn value(&self, session: &Session) -> Result<Dyn, Failure> {
		if self.datasets.len() > MAX_DATASETS {
			return Err(Failure::Usage(format!("at most {MAX_DATASETS} --dataset")));
		}
		let starts_at = match self.starts_at {
			Some(block) => block,
			None => u32::try_from(session.chain.best_number().await?)
				.map_err(|_| Failure::Failed(String::from("the best block number is too high")))?,
		};
		let expires_at = match (self.expires_at, &self.expires_in) {
			(Some(block), _) => block,
			(None, Some(duration)) => duration
				.blocks(session.chain.block_time_ms().await?)
				.and_then(|blocks| starts_at.checked_add(blocks))
				.ok_or_else(|| Failure::Usage(String::from("--expires-in: too long")))?,
			(None, None) => {
				return Err(Failure::Usage(String::from("give --expires-at or --expires-in")))
			},
		};
		if expires_at <= starts_at {
			return Err(Failure::Usage(format!(
				"it would expire (block {expires_at}) no later than it starts (block {starts_at})"
			)));
		}
		let mut purposes = self.purposes.clone();
		purposes.sort_unstable();
		purposes.dedup();
		let purposes = purposes.iter().map(|purpose| variant(&format!("{purpose:?}"), []));
		let datasets = (!self.datasets.is_empty())
			.then(|| Dyn::unnamed_composite(self.datasets.iter().map(Did::value)));
		let budget = self.epsilon.map(|Epsilon(epsilon)| {
			let Delta(delta) = self.delta.unwrap_or(Delta(0));
			Dyn::named_composite([
				("epsilon", Dyn::u128(epsilon.into())),
				("delta", Dyn::u128(delta.into())),
			])
		});
		let fixed = |Epsilon(value): Epsilon| Dyn::u128(value.into());
		Ok(Dyn::named_composite([
			("grantee", self.grantee.value()),
			("scope", variant(&format!("{:?}", self.scope), [])),
			("purposes", Dyn::unnamed_composite(purposes)),
			("datasets", optional(datasets)),
			("starts_at", Dyn::u128(starts_at.into())),
			("expires_at", Dyn::u128(expires_at.into())),
			("budget", optional(budget)),
			(
				"binding",
				Dyn::named_composite([
					("job", optional(self.job.map(|job| Dyn::u128(job.into())))),
					("model", optional(self.model.as_ref().map(Did::value))),
					("code_hash", optional(self.code_hash.map(|Hash(hash)| Dyn::from_bytes(hash)))),
					("max_epsilon_per_round", optional(self.max_epsilon_per_round.map(fixed))),
				]),
			),
		]))
	}
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct Granted {
	grant: u64,
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccessRequested {
	request: u64,
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct RequestApproved {
	grant: u64,
}

/// Whether `command` signs a transaction (its account is unlocked before
/// connecting).
pub fn signs(command: &ConsentCommand) -> bool {
	!matches!(
		command,
		ConsentCommand::List { .. }
			| ConsentCommand::Usage { .. }
			| ConsentCommand::Requests { .. }
	)
}

/// Fails with exit 4 unless `twin` is on chain (active or deactivated):
/// the consent RPCs answer an empty list for a DID they do not know, which
/// would read as a clean record.
async fn ensure_known(session: &Session, twin: &Did) -> Result<(), Failure> {
	crate::twin::resolve(session, twin).await.map(|_| ())
}

/// Runs `command`.
pub async fn run(command: &ConsentCommand, session: &Session) -> Result<Output, Failure> {
	match command {
		ConsentCommand::Grant { twin, terms } => {
			let call =
				subxt::dynamic::tx("Consent", "grant", (twin.value(), terms.value(session).await?));
			let included = session.submit(&call).await?;
			let grant = included.event::<Granted>("Consent::Granted")?.grant;
			Ok(transacted(
				&included,
				json!({ "twin": twin.to_string(), "grant": grant }),
				format!("Granted #{grant} on {twin} to {}", terms.grantee),
			))
		},
		ConsentCommand::Request { twin, terms } => {
			let call = subxt::dynamic::tx(
				"Consent",
				"request_access",
				(twin.value(), terms.value(session).await?),
			);
			let included = session.submit(&call).await?;
			let request = included.event::<AccessRequested>("Consent::AccessRequested")?.request;
			Ok(transacted(
				&included,
				json!({ "twin": twin.to_string(), "request": request }),
				format!("Requested access to {twin}: request #{request}"),
			))
		},
		ConsentCommand::Revoke { twin, grant } => {
			let call =
				subxt::dynamic::tx("Consent", "revoke", (twin.value(), Dyn::u128((*grant).into())));
			let included = session.submit(&call).await?;
			Ok(transacted(
				&included,
				json!({ "twin": twin.to_string(), "grant": grant }),
				format!("Revoked #{grant} on {twin}"),
			))
		},
		ConsentCommand::List { twin } => {
			ensure_known(session, twin).await?;
			let grants =
				session.chain.rpc("consent_grantsOf", rpc_params![twin.to_string()]).await?;
			let text = lines(&grants, grant_line, &format!("No grants on {twin}"));
			Ok(Output { text, json: grants })
		},
		ConsentCommand::Usage { twin } => {
			ensure_known(session, twin).await?;
			let usage = session.chain.rpc("consent_usageOf", rpc_params![twin.to_string()]).await?;
			let trail = usage.get("trail").unwrap_or(&Value::Null);
			let text = lines(trail, audit_line, &format!("Nothing recorded on {twin}"));
			Ok(Output { text, json: usage })
		},
		ConsentCommand::Requests { twin } => {
			ensure_known(session, twin).await?;
			requests(session, &twin.0).await
		},
		ConsentCommand::Approve { twin, request } => {
			let call = subxt::dynamic::tx(
				"Consent",
				"approve_request",
				(twin.value(), Dyn::u128((*request).into())),
			);
			let included = session.submit(&call).await?;
			let grant = included.event::<RequestApproved>("Consent::RequestApproved")?.grant;
			Ok(transacted(
				&included,
				json!({ "twin": twin.to_string(), "request": request, "grant": grant }),
				format!("Approved request #{request} on {twin}: grant #{grant}"),
			))
		},
		ConsentCommand::Reject { twin, request } => {
			let call = subxt::dynamic::tx(
				"Consent",
				"reject_request",
				(twin.value(), Dyn::u128((*request).into())),
			);
			let included = session.submit(&call).await?;
			Ok(transacted(
				&included,
				json!({ "twin": twin.to_string(), "request": request }),
				format!("Rejected request #{request} on {twin}"),
			))
		},
	}
}

/// A grantee as the consent RPC shows it, in a sentence.
fn grantee_text(grantee: &Value) -> String {
	match (grantee["account"].as_str(), grantee["institution"].as_str(), grantee["job"].as_u64()) {
		(Some(account), _, _) => account.to_string(),
		(_, Some(institution), _) => institution.to_string(),
		(_, _, Some(job)) => format!("job {job}"),
		_ => grantee.to_string(),
	}
}

/// A list of strings as words.
fn words(list: &Value) -> String {
	list.as_array()
		.map(|items| items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
		.unwrap_or_default()
}

/// One grant of `consent_grantsOf` in a line.
fn grant_line(grant: &Value) -> String {
	let budget = match (&grant["budget"], &grant["remaining"]) {
		(Value::Null, _) => String::new(),
		(budget, remaining) => format!(
			"; ε {} of {} left",
			remaining["epsilon"].as_str().unwrap_or("0"),
			budget["epsilon"].as_str().unwrap_or("?")
		),
	};
	format!(
		"#{} {} {} to {} for {}; blocks {} to {}{budget}",
		grant["id"],
		grant["status"].as_str().unwrap_or("?"),
		grant["scope"].as_str().unwrap_or("?"),
		grantee_text(&grant["grantee"]),
		words(&grant["purposes"]),
		grant["startsAt"],
		grant["expiresAt"],
	)
}

/// One audit record of `consent_usageOf` in a line.
fn audit_line(record: &Value) -> String {
	let what = match record["event"].as_str().unwrap_or("?") {
		"granted" => format!(
			"grant #{} made by the {}",
			record["grant"],
			record["by"].as_str().unwrap_or("?")
		),
		"narrowed" => format!("grant #{} narrowed", record["grant"]),
		"revoked" => format!("grant #{} revoked", record["grant"]),
		"requestApproved" => {
			format!("request #{} approved as grant #{}", record["request"], record["grant"])
		},
		"requestRejected" => format!("request #{} rejected", record["request"]),
		"pruned" => format!("grant #{} pruned", record["grant"]),
		"budgetSpent" => format!(
			"ε {} spent under grant #{}{}",
			record.pointer("/amount/epsilon").and_then(Value::as_str).unwrap_or("?"),
			record["grant"],
			match (
				record.pointer("/job/job").and_then(Value::as_u64),
				record.pointer("/job/round").and_then(Value::as_u64),
			) {
				(Some(job), Some(round)) => format!(" by job {job}, round {round}"),
				_ => String::new(),
			}
		),
		other => other.to_string(),
	};
	format!("block {}: {what}", record["block"])
}

/// What `Consent::Requests` stores, as far as a patient reads it.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct StoredRequest {
	terms: StoredTerms,
	requester: [u8; 32],
	expires_at: u32,
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct StoredTerms {
	grantee: StoredGrantee,
	scope: Dyn,
	purposes: Vec<Dyn>,
	starts_at: u32,
	expires_at: u32,
	budget: Option<StoredBudget>,
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
enum StoredGrantee {
	Account([u8; 32]),
	Institution([u8; 32]),
	Job(u64),
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct StoredBudget {
	epsilon: Fixed,
	delta: Fixed,
}

/// A `FixedU64` or `Perquintill`: one `u64`.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct Fixed(u64);

/// The variant name of an enum value without fields.
fn variant_name(value: &Dyn) -> String {
	match &value.value {
		subxt::ext::scale_value::ValueDef::Variant(variant) => variant.name.clone(),
		_ => String::from("?"),
	}
}

/// The open requests for `twin`, read from storage.
async fn requests(session: &Session, twin: &DidId) -> Result<Output, Failure> {
	let address = subxt::dynamic::storage::<([u8; 32], u64), StoredRequest>("Consent", "Requests");
	let at = session.chain.at_best().await?;
	let now = at.block_number();
	let unreadable = |e: &dyn std::fmt::Display| Failure::Failed(format!("Consent.Requests: {e}"));
	let mut entries = at
		.storage()
		.iter(address, (twin.to_fixed_bytes(),))
		.await
		.map_err(|e| unreadable(&e))?;
	let mut listed = Vec::new();
	while let Some(entry) = entries.next().await {
		let entry = entry.map_err(|e| unreadable(&e))?;
		let (_, request) =
			entry.key().map_err(|e| unreadable(&e))?.decode().map_err(|e| unreadable(&e))?;
		let stored = entry.value().decode_as::<StoredRequest>().map_err(|e| unreadable(&e))?;
		listed.push(request_json(request, &stored, now));
	}
	listed.sort_by_key(|request| request["id"].as_u64());
	let listed = Value::Array(listed);
	let text = lines(&listed, request_line, &format!("No requests for {}", format_did(twin)));
	Ok(Output { json: listed, text })
}

fn address(account: &[u8; 32]) -> String {
	crate::key::address_of(&sp_core::sr25519::Public::from_raw(*account))
}

/// A request in the consent RPC's vocabulary.
fn request_json(id: u64, request: &StoredRequest, now: u64) -> Value {
	let terms = &request.terms;
	let grantee = match &terms.grantee {
		StoredGrantee::Account(account) => json!({ "account": address(account) }),
		StoredGrantee::Institution(did) => json!({ "institution": format_did(&DidId::from(*did)) }),
		StoredGrantee::Job(job) => json!({ "job": job }),
	};
	let purpose_names: Vec<_> = terms
		.purposes
		.iter()
		.map(|purpose| {
			let name = variant_name(purpose);
			Purpose::ALL
				.into_iter()
				.find(|known| format!("{known:?}") == name)
				.map_or(name, |known| known.name().to_string())
		})
		.collect();
	let scope = variant_name(&terms.scope);
	let scope = Scope::ALL
		.into_iter()
		.find(|known| format!("{known:?}") == scope)
		.map_or(scope, |known| known.name().to_string());
	json!({
		"id": id,
		"requester": address(&request.requester),
		"grantee": grantee,
		"scope": scope,
		"purposes": purpose_names,
		"startsAt": terms.starts_at,
		"expiresAt": terms.expires_at,
		"budget": terms.budget.as_ref().map(|budget| json!({
			"epsilon": format_decimal(budget.epsilon.0, EPSILON_DECIMALS),
			"delta": format_decimal(budget.delta.0, DELTA_DECIMALS),
		})),
		"openUntil": request.expires_at,
		"expired": now >= u64::from(request.expires_at),
	})
}

fn request_line(request: &Value) -> String {
	let budget = match request.pointer("/budget/epsilon").and_then(Value::as_str) {
		Some(epsilon) => format!(", ε {epsilon}"),
		None => String::new(),
	};
	let open = if request.get("expired").and_then(Value::as_bool).unwrap_or(false) {
		"expired at block"
	} else {
		"open until block"
	};
	format!(
		"#{} from {}: {} to {} for {}; blocks {} to {}{budget}; {open} {}",
		request["id"],
		request["requester"].as_str().unwrap_or("?"),
		request["scope"].as_str().unwrap_or("?"),
		grantee_text(&request["grantee"]),
		words(&request["purposes"]),
		request["startsAt"],
		request["expiresAt"],
		request["openUntil"],
	)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn scopes_and_purposes_are_read_by_their_rpc_names() {
		assert_eq!(parse_scope("compute"), Ok(Scope::Compute));
		assert_eq!(parse_purpose("modelTraining"), Ok(Purpose::ModelTraining));
		assert!(parse_purpose("ModelTraining").is_err_and(|e| e.contains("modelTraining")));
		assert!(parse_scope("read").is_err());
	}
}
