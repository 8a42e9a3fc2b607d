//! The agent's HTTP service, which its node's off-chain worker calls:
//!
//! - `POST /v1/rounds` with `{"job":J,"round":R,"institution":"did:twin:…"}`:
//!   202, and the round is planned and trained in the background (again
//!   for a round it has: 202, nothing new);
//! - `GET /v1/rounds/{J}/{R}/{did}`: 200 once trained, with the SCALE
//!   encoding of `(records: u32, opening_block: [u8; 32], parameters:
//!   Vec<i32>)` (the model), or for a masked job of `(records: u32,
//!   opening_block: [u8; 32], masked: Vec<u32>)` (the masked weighted
//!   update: [`crate::masking`]), where `opening_block` is the round view's
//!   `openingBlock` that the agent trained for, so that the worker never
//!   reports an update trained on another fork's cohorts; 202 while
//!   training, 409 with the reason if the agent refused the round, 404 for
//!   a round it was not given;
//! - `GET /v1/rounds/{J}/{R}/{did}/seeds`: for a masked round in recovery
//!   that the institution survived, 200 with the SCALE encoding of
//!   `(opening_block: [u8; 32], seeds: Vec<([u8; 32], [u8; 32])>)`: the
//!   `openingBlock` of the round view the seeds were derived from, then
//!   each dropped institution's DID id and the seed shared with it, in the
//!   round's `dropped` order. The agent reads the job and the round from
//!   its node's finalized block itself, whoever asks (a recovery not yet
//!   final reveals nothing); 409 with the reason if it does not reveal, 503
//!   if it cannot read them;
//! - `GET /v1/rounds`: what it did, as JSON, for its operator (records, ε
//!   and the opening block trained for, never a model or an update).
//!
//! Another institution's DID is 404 everywhere. Bodies are at most
//! [`MAX_BODY`] bytes; the agent keeps the last [`MAX_ROUNDS_KEPT`] rounds.
//! Masked jobs need the institution's key agreement key
//! ([`Agent::with_agreement_key`]); the unmasked update of a masked job is
//! never kept, served or logged.

use std::{
	collections::BTreeMap,
	convert::Infallible,
	net::SocketAddr,
	sync::{Arc, Mutex},
};

use codec::Encode;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{
	body::{Bytes, Incoming},
	server::conn::http1,
	service::service_fn,
	Method, Request, Response, StatusCode,
};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use twinnet_primitives::did::{format_did, parse_did, DidId};

use crate::{
	agreement::AgreementKey,
	data::Rows,
	dpsgd,
	masking::{self, Masks},
	model,
	node::{Node, RoundViews},
	round::{hash_hex, job_is, Refusal, RoundPlan},
};

/// The largest request body the service reads.
pub const MAX_BODY: usize = 4_096;
/// How many rounds the agent remembers; the oldest are forgotten first.
pub const MAX_ROUNDS_KEPT: usize = 256;

/// What the agent reports for a round.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
	/// A plain job's model after local training, in fixed point.
	Model(Vec<i32>),
	/// A masked job's masked weighted update, in the ring ℤ/2³².
	Masked(Vec<u32>),
}

impl Update {
	/// The SCALE encoding of the report of `records` records trained for
	/// the round opened on `opening_block`: `(records: u32, opening_block:
	/// [u8; 32], parameters: Vec<i32>)` or `(records: u32, opening_block:
	/// [u8; 32], masked: Vec<u32>)`.
	fn encode_with(&self, records: u32, opening_block: &[u8; 32]) -> Vec<u8> {
		match self {
			Self::Model(parameters) => (records, opening_block, parameters).encode(),
			Self::Masked(masked) => (records, opening_block, masked).encode(),
		}
	}
}

/// Where a round stands in the agent.
#[derive(Clone, Debug, PartialEq)]
pub enum RoundState {
	/// Being planned or trained.
	Training,
	/// Trained: the update for the worker to collect.
	Trained {
		/// The records trained on.
		records: u32,
		/// The round's opening block that the agent trained for (the round
		/// view's `openingBlock`).
		opening_block: [u8; 32],
		/// What the worker reports.
		update: Update,
		/// The ε the round spent, by the accountant.
		epsilon_spent: f64,
	},
	/// Not trained, and why.
	Refused(String),
}

/// An institution's agent: its DID, its rows, its node, and for masked jobs
/// its key agreement key.
pub struct Agent {
	institution: DidId,
	rows: Rows,
	node: Node,
	seed: Option<u64>,
	agreement_key: Option<AgreementKey>,
	rounds: Mutex<BTreeMap<(u64, u32), RoundState>>,
}

impl Agent {
	/// The agent of `institution` with `rows`, reading the chain from
	/// `node`; with a `seed`, sampling and noise are reproducible (tests
	/// only: real noise must be unpredictable).
	pub fn new(institution: DidId, rows: Rows, node: Node, seed: Option<u64>) -> Self {
		Self {
			institution,
			rows,
			node,
			seed,
			agreement_key: None,
			rounds: Mutex::new(BTreeMap::new()),
		}
	}

	/// The agent with the institution's key agreement key, from which it
	/// derives the seeds that mask its updates for masked jobs and that it
	/// reveals for dropped institutions. Without one it refuses masked
	/// rounds.
	pub fn with_agreement_key(self, key: AgreementKey) -> Self {
		Self { agreement_key: Some(key), ..self }
	}

	fn agreement_key(&self) -> Result<&AgreementKey, Refusal> {
		self.agreement_key.as_ref().ok_or(Refusal::NoAgreementKey)
	}

	/// Where round `round` of `job` stands, if the agent has it.
	pub fn state(&self, job: u64, round: u32) -> Option<RoundState> {
		self.rounds.lock().ok()?.get(&(job, round)).cloned()
	}

	fn set(&self, job: u64, round: u32, state: RoundState) {
		if let Ok(mut rounds) = self.rounds.lock() {
			rounds.insert((job, round), state);
			while rounds.len() > MAX_ROUNDS_KEPT {
				rounds.pop_first();
			}
		}
	}

	/// Takes round `round` of `job`, unless it has it already; `true` if new.
	fn take(&self, job: u64, round: u32) -> bool {
		let known = self.rounds.lock().map(|rounds| rounds.contains_key(&(job, round)));
		if known.unwrap_or(true) {
			return false;
		}
		self.set(job, round, RoundState::Training);
		true
	}

	/// Plans and trains round `round` of `job`, and records the outcome.
	pub async fn train_round(self: Arc<Self>, job: u64, round: u32) {
		let outcome = match self.node.round_views(job, round).await {
			Ok(views) => self.prepare(&views, job, round).map_err(|refusal| refusal.to_string()),
			Err(error) => Err(error),
		};
		let state = match outcome {
			Ok((plan, masks)) => {
				let agent = self.clone();
				tokio::task::spawn_blocking(move || agent.train(job, round, &plan, masks.as_ref()))
					.await
					.unwrap_or_else(|e| RoundState::Refused(format!("training failed: {e}")))
			},
			Err(reason) => RoundState::Refused(reason),
		};
		match &state {
			RoundState::Trained { records, opening_block, update, epsilon_spent } => eprintln!(
				"job {job} round {round}: trained on {records} records for opening block {}, \
				 epsilon {epsilon_spent:.4}{}",
				hash_hex(opening_block),
				if matches!(update, Update::Masked(_)) { ", update masked" } else { "" }
			),
			RoundState::Refused(reason) => eprintln!("job {job} round {round}: refused: {reason}"),
			RoundState::Training => {},
		}
		self.set(job, round, state);
	}

	/// The plan of a round from the node's views, with, for a masked job,
	/// the masks of the institution's update.
	fn prepare(
		&self,
		views: &RoundViews,
		job: u64,
		round: u32,
	) -> Result<(RoundPlan, Option<Masks>), Refusal> {
		let plan = RoundPlan::from_views(
			&views.job,
			&views.round,
			&views.model,
			round,
			&self.institution,
			self.rows.features(),
		)?;
		let masks = plan
			.masking
			.as_ref()
			.map(|masking| {
				masking.masks(
					self.agreement_key()?,
					&views.genesis,
					&plan.opening_block,
					job,
					round,
					&self.institution,
				)
			})
			.transpose()?;
		Ok((plan, masks))
	}

	/// DP-SGD on the admitted local rows, from the plan's starting model;
	/// with `masks`, the update reported is the masked weighted update.
	fn train(&self, job: u64, round: u32, plan: &RoundPlan, masks: Option<&Masks>) -> RoundState {
		let records = self.rows.admitted(&plan.admitted);
		let Ok(count) = u32::try_from(records.len()) else {
			return RoundState::Refused(String::from("too many records"));
		};
		let mut rng = dpsgd::round_rng(self.seed, job, round);
		let mut parameters = model::from_fixed(&plan.start);
		if let Err(error) = dpsgd::train(&mut parameters, &records, &plan.settings, &mut rng) {
			return RoundState::Refused(format!("{error:?}"));
		}
		let model = model::to_fixed(&parameters);
		let update = match masks {
			None => Ok(Update::Model(model)),
			Some(masks) => masks
				.masked_update(&self.institution, count, &model, &plan.start)
				.map(Update::Masked),
		};
		match update {
			Ok(update) => RoundState::Trained {
				records: count,
				opening_block: plan.opening_block,
				update,
				epsilon_spent: plan.epsilon_spent,
			},
			Err(refusal) => RoundState::Refused(refusal.to_string()),
		}
	}

	/// The answer to one HTTP request.
	async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Full<Bytes>> {
		let path: Vec<String> = request
			.uri()
			.path()
			.split('/')
			.filter(|s| !s.is_empty())
			.map(String::from)
			.collect();
		let path: Vec<&str> = path.iter().map(String::as_str).collect();
		match (request.method().clone(), path.as_slice()) {
			(Method::POST, ["v1", "rounds"]) => match read_json(request).await {
				Ok(body) => self.dispatch(&body),
				Err(response) => response,
			},
			(Method::GET, ["v1", "rounds"]) => self.status(),
			(Method::GET, ["v1", "rounds", job, round, did]) => self.collect(job, round, did).await,
			(Method::GET, ["v1", "rounds", job, round, did, "seeds"]) => {
				self.seeds(job, round, did).await
			},
			_ => text(StatusCode::NOT_FOUND, "no such resource"),
		}
	}

	fn is_ours(&self, did: &str) -> bool {
		parse_did(did).is_ok_and(|did| did == self.institution)
	}

	fn dispatch(self: Arc<Self>, body: &Value) -> Response<Full<Bytes>> {
		let job = body.get("job").and_then(Value::as_u64);
		let round = body.get("round").and_then(Value::as_u64).and_then(|r| u32::try_from(r).ok());
		let institution = body.get("institution").and_then(Value::as_str);
		let (Some(job), Some(round), Some(institution)) = (job, round, institution) else {
			return text(StatusCode::BAD_REQUEST, "expected {job, round, institution}");
		};
		if !self.is_ours(institution) {
			return text(StatusCode::NOT_FOUND, "not this agent's institution");
		}
		if self.take(job, round) {
			tokio::spawn(self.clone().train_round(job, round));
		}
		text(StatusCode::ACCEPTED, "")
	}

	/// The job and round of a path `{J}/{R}/{did}`, or the status and
	/// reason of the answer to a malformed one (400) or to another
	/// institution's DID (404).
	fn round_of(
		&self,
		job: &str,
		round: &str,
		did: &str,
	) -> Result<(u64, u32), (StatusCode, &'static str)> {
		let (Ok(job), Ok(round)) = (job.parse::<u64>(), round.parse::<u32>()) else {
			return Err((StatusCode::BAD_REQUEST, "job and round must be numbers"));
		};
		if !self.is_ours(did) {
			return Err((StatusCode::NOT_FOUND, "not this agent's institution"));
		}
		Ok((job, round))
	}

	/// A trained round's update, with the opening block it was trained
	/// for; a masked one only while its node shows the round open, so that
	/// an institution that dropped (whose seeds the survivors reveal) never
	/// hands out its masked update.
	async fn collect(&self, job: &str, round: &str, did: &str) -> Response<Full<Bytes>> {
		let (job, round) = match self.round_of(job, round, did) {
			Ok(round) => round,
			Err((status, reason)) => return text(status, reason),
		};
		match self.state(job, round) {
			None => text(StatusCode::NOT_FOUND, "no such round"),
			Some(RoundState::Training) => text(StatusCode::ACCEPTED, ""),
			Some(RoundState::Refused(reason)) => text(StatusCode::CONFLICT, &reason),
			Some(RoundState::Trained { records, opening_block, update, .. }) => {
				if matches!(update, Update::Masked(_)) {
					match self.node.job(job).await.map(|view| job_is(&view, "running", round)) {
						Ok(Ok(true)) => {},
						Ok(_) => return text(StatusCode::CONFLICT, "the round is not open"),
						Err(error) => return text(StatusCode::SERVICE_UNAVAILABLE, &error),
					}
				}
				let body = update.encode_with(records, &opening_block);
				respond(StatusCode::OK, "application/octet-stream", body)
			},
		}
	}

	/// The seeds the institution reveals in a masked round in recovery,
	/// from the job and the round as its node's finalized block shows them,
	/// with the round's opening block there.
	async fn seeds(&self, job: &str, round: &str, did: &str) -> Response<Full<Bytes>> {
		let (job, round) = match self.round_of(job, round, did) {
			Ok(round) => round,
			Err((status, reason)) => return text(status, reason),
		};
		let key = match self.agreement_key() {
			Ok(key) => key,
			Err(refusal) => return text(StatusCode::CONFLICT, &refusal.to_string()),
		};
		let views = match self.node.final_round_views(job, round).await {
			Ok(views) => views,
			Err(error) => return text(StatusCode::SERVICE_UNAVAILABLE, &error),
		};
		let revealed = masking::recovery_seeds(
			key,
			&views.genesis,
			&views.job,
			&views.round,
			job,
			round,
			&self.institution,
		);
		match revealed {
			Ok(reveal) => {
				eprintln!(
					"job {job} round {round}: revealed the seeds shared with {} dropped \
					 institutions",
					reveal.seeds.len()
				);
				let body = (reveal.opening_block, reveal.seeds).encode();
				respond(StatusCode::OK, "application/octet-stream", body)
			},
			Err(refusal) => text(StatusCode::CONFLICT, &refusal.to_string()),
		}
	}

	fn status(&self) -> Response<Full<Bytes>> {
		let rounds: Vec<Value> = self
			.rounds
			.lock()
			.map(|rounds| {
				rounds
					.iter()
					.map(|((job, round), state)| match state {
						RoundState::Training => {
							json!({ "job": job, "round": round, "state": "training" })
						},
						RoundState::Trained { records, opening_block, update, epsilon_spent } => {
							json!({
								"job": job,
								"round": round,
								"state": "trained",
								"records": records,
								"openingBlock": hash_hex(opening_block),
								"epsilonSpent": epsilon_spent,
								"masked": matches!(update, Update::Masked(_)),
							})
						},
						RoundState::Refused(reason) => json!({
							"job": job, "round": round, "state": "refused", "reason": reason,
						}),
					})
					.collect()
			})
			.unwrap_or_default();
		let body = json!({ "institution": format_did(&self.institution), "rounds": rounds });
		respond(StatusCode::OK, "application/json", body.to_string().into_bytes())
	}
}

async fn read_json(request: Request<Incoming>) -> Result<Value, Response<Full<Bytes>>> {
	let body = Limited::new(request.into_body(), MAX_BODY)
		.collect()
		.await
		.map_err(|_| text(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large"))?
		.to_bytes();
	serde_json::from_slice(&body).map_err(|_| text(StatusCode::BAD_REQUEST, "the body is not JSON"))
}

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
	let mut response = Response::new(Full::new(Bytes::from(body)));
	*response.status_mut() = status;
	if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
		response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
	}
	response
}

fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
	respond(status, "text/plain", message.as_bytes().to_vec())
}

/// Serves `agent` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, agent: Arc<Agent>) -> std::io::Result<()> {
	loop {
		let (stream, _): (_, SocketAddr) = listener.accept().await?;
		let agent = agent.clone();
		tokio::spawn(async move {
			let service = service_fn(move |request| {
				let agent = agent.clone();
				async move { Ok::<_, Infallible>(agent.handle(request).await) }
			});
			let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
		});
	}
}

#[cfg(test)]
mod tests {
	#![allow(
		clippy::unwrap_used,
		clippy::expect_used,
		clippy::indexing_slicing,
		clippy::arithmetic_side_effects
	)]
	use super::*;
	use crate::data::Record;
	use tokio::io::{AsyncReadExt, AsyncWriteExt};

	fn did(byte: u8) -> DidId {
		DidId::from([byte; 32])
	}

	/// An agent of institution 1 with `rows`, whose node is not there.
	fn agent(rows: Rows) -> Agent {
		Agent::new(did(1), rows, Node::new("ws://127.0.0.1:1"), Some(1))
	}

	/// An agent of institution 1 without rows, whose node is not there,
	/// served on a free port.
	async fn serve_agent() -> (Arc<Agent>, SocketAddr) {
		serve_on(agent(Rows::default())).await
	}

	/// `agent`, served on a free port.
	async fn serve_on(agent: Agent) -> (Arc<Agent>, SocketAddr) {
		let agent = Arc::new(agent);
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let address = listener.local_addr().unwrap();
		tokio::spawn(serve(listener, agent.clone()));
		(agent, address)
	}

	/// The status line and body of `method path` with `body`.
	async fn request(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
		let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
		let head = format!(
			"{method} {path} HTTP/1.1\r\nHost: agent\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
			body.len()
		);
		stream.write_all(head.as_bytes()).await.unwrap();
		stream.write_all(body.as_bytes()).await.unwrap();
		let mut response = Vec::new();
		stream.read_to_end(&mut response).await.unwrap();
		let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
		let status = String::from_utf8_lossy(&response[9..12]).parse().unwrap();
		(status, response[split + 4..].to_vec())
	}

	#[tokio::test]
	async fn the_worker_protocol_answers_each_state_and_refuses_other_institutions() {
		let (agent, address) = serve_agent().await;
		let ours = format_did(&did(1));
		let theirs = format_did(&did(2));
		let dispatch =
			|institution: &str| format!(r#"{{"job":3,"round":0,"institution":"{institution}"}}"#);

		// Not given yet; another institution's round; malformed requests.
		assert_eq!(request(address, "GET", &format!("/v1/rounds/3/0/{ours}"), "").await.0, 404);
		assert_eq!(request(address, "POST", "/v1/rounds", &dispatch(&theirs)).await.0, 404);
		assert_eq!(request(address, "POST", "/v1/rounds", "{oops").await.0, 400);
		assert_eq!(request(address, "POST", "/v1/rounds", r#"{"job":3}"#).await.0, 400);
		assert_eq!(request(address, "POST", "/v1/rounds", &"x".repeat(MAX_BODY + 1)).await.0, 413);
		assert_eq!(request(address, "GET", "/v1/rounds/x/0/did", "").await.0, 400);
		assert_eq!(request(address, "GET", "/v1/other", "").await.0, 404);
		assert_eq!(agent.state(3, 0), None);

		// Given: accepted at once; the node cannot be reached, so the round
		// is refused with the reason, which collecting shows.
		assert_eq!(request(address, "POST", "/v1/rounds", &dispatch(&ours)).await.0, 202);
		let mut state = agent.state(3, 0);
		for _ in 0..100 {
			if !matches!(state, Some(RoundState::Training)) {
				break;
			}
			tokio::time::sleep(std::time::Duration::from_millis(20)).await;
			state = agent.state(3, 0);
		}
		assert!(
			matches!(&state, Some(RoundState::Refused(reason)) if reason.contains("cannot reach the node")),
			"{state:?}"
		);
		let (status, body) = request(address, "GET", &format!("/v1/rounds/3/0/{ours}"), "").await;
		assert_eq!(status, 409);
		assert!(String::from_utf8_lossy(&body).contains("cannot reach the node"));
		assert_eq!(request(address, "GET", &format!("/v1/rounds/3/0/{theirs}"), "").await.0, 404);

		// A trained round is served as SCALE (records, opening block,
		// parameters), a masked one as (records, opening block, masked); the
		// status lists neither.
		let trained = |records, update| RoundState::Trained {
			records,
			opening_block: [8; 32],
			update,
			epsilon_spent: 0.5,
		};
		agent.set(3, 1, trained(7, Update::Model(vec![1, -2])));
		agent.set(4, 0, trained(2, Update::Masked(vec![u32::MAX, 9])));
		let (status, body) = request(address, "GET", &format!("/v1/rounds/3/1/{ours}"), "").await;
		assert_eq!(status, 200);
		assert_eq!(
			<(u32, [u8; 32], Vec<i32>) as codec::Decode>::decode(&mut &body[..]).unwrap(),
			(7, [8; 32], vec![1, -2])
		);
		// A masked update only once the node shows the round open: this
		// agent's node is not there.
		let (status, body) = request(address, "GET", &format!("/v1/rounds/4/0/{ours}"), "").await;
		assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
		assert_eq!(
			<(u32, [u8; 32], Vec<u32>) as codec::Decode>::decode(
				&mut &Update::Masked(vec![u32::MAX, 9]).encode_with(2, &[8; 32])[..]
			)
			.unwrap(),
			(2, [8; 32], vec![u32::MAX, 9])
		);
		let (status, body) = request(address, "GET", "/v1/rounds", "").await;
		assert_eq!(status, 200);
		let listed: Value = serde_json::from_slice(&body).unwrap();
		assert_eq!(
			listed["rounds"][1],
			json!({
				"job": 3, "round": 1, "state": "trained", "records": 7,
				"openingBlock": hash_hex(&[8; 32]), "epsilonSpent": 0.5, "masked": false,
			})
		);
		assert_eq!(listed["rounds"][2]["masked"], json!(true));

		// Seeds: another institution's, malformed, and without a key.
		let seeds = |did: &str| format!("/v1/rounds/4/0/{did}/seeds");
		assert_eq!(request(address, "GET", &seeds(&theirs), "").await.0, 404);
		assert_eq!(request(address, "GET", "/v1/rounds/4/x/did/seeds", "").await.0, 400);
		let (status, body) = request(address, "GET", &seeds(&ours), "").await;
		assert_eq!(
			(status, String::from_utf8_lossy(&body).into_owned()),
			(409, Refusal::NoAgreementKey.to_string())
		);
	}

	#[tokio::test]
	async fn the_collected_update_names_the_opening_block_it_was_trained_for() {
		let opening_block = [5; 32];
		let record = |label| Record { features: vec![0.5, -1.0], label };
		let rows = Rows::new(vec![(did(2), record(1.0)), (did(3), record(0.0))]).unwrap();
		let (agent, address) = serve_on(agent(rows)).await;
		let views = RoundViews {
			genesis: [9; 32],
			job: json!({
				"state": { "status": "running", "round": 0, "deadline": 40 },
				"codeHash": hash_hex(&crate::code_hash()),
				"model": { "kind": "logisticRegression", "features": 2, "parameters": 3 },
				"training": {
					"learningRate": "0.5",
					"localSteps": 5,
					"clipNorm": "1",
					"noiseMultiplier": "1.1",
					"samplingRate": "0.5",
				},
				"perRound": { "epsilon": "100", "delta": "0.00001" },
			}),
			round: json!({
				"openingBlock": hash_hex(&opening_block),
				"startModel": hash_hex(&[0; 32]),
				"cohorts": [{
					"institution": format_did(&did(1)),
					"status": "admitted",
					"admitted": [format_did(&did(2)), format_did(&did(3))],
				}],
			}),
			model: json!({ "job": 3 }),
		};
		// Trained as `train_round` does once it has the node's views.
		let (plan, masks) = agent.prepare(&views, 3, 0).unwrap();
		assert!(masks.is_none());
		let state = agent.train(3, 0, &plan, None);
		let RoundState::Trained { records: 2, update: Update::Model(model), .. } = &state else {
			panic!("not trained on the two admitted rows: {state:?}");
		};
		let model = model.clone();
		agent.set(3, 0, state);

		let ours = format_did(&did(1));
		let (status, body) = request(address, "GET", &format!("/v1/rounds/3/0/{ours}"), "").await;
		assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
		assert_eq!(
			<(u32, [u8; 32], Vec<i32>) as codec::Decode>::decode(&mut &body[..]).unwrap(),
			(2, opening_block, model)
		);
	}

	#[test]
	fn the_agent_forgets_the_oldest_rounds_first() {
		let agent = agent(Rows::default());
		for round in 0..=MAX_ROUNDS_KEPT as u32 {
			agent.set(0, round, RoundState::Training);
		}
		assert_eq!(agent.state(0, 0), None);
		assert_eq!(agent.state(0, MAX_ROUNDS_KEPT as u32), Some(RoundState::Training));
		// Taking a round it has does nothing.
		assert!(!agent.take(0, 1));
		assert!(agent.take(1, 0));
	}
}
