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
//! Every request must carry the agent's token (`Authorization: Bearer
//! 0x…`, [`ApiToken`]), which its node's worker sends: anyone else who
//! reaches the port gets 401, and can neither read an update before it is
//! on chain nor start training. The agent listens on loopback unless told
//! otherwise. Another institution's DID is 404 everywhere. Bodies are at
//! most [`MAX_BODY`] bytes; the agent keeps [`MAX_ROUNDS_KEPT`] rounds and
//! forgets the oldest finished ones first (a round still training only if
//! none is finished); the worker hands a forgotten round over again.
//!
//! Training is bounded ([`TrainingLimits`]): at most `concurrent` rounds
//! train at once (the others wait their turn, answering 202), each within
//! the record draws of [`dpsgd::Limits`] and stopped at its `timeout` (then
//! refused: 409), so rounds a researcher posts to exhaust the agent cannot
//! pin its cores.
//! Masked jobs need the institution's key agreement key
//! ([`Agent::with_agreement_key`]); the unmasked update of a masked job is
//! never kept, served or logged.

use std::{
	collections::{BTreeMap, VecDeque},
	convert::Infallible,
	net::SocketAddr,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
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
use tokio::{net::TcpListener, sync::Semaphore};
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
/// How many rounds the agent remembers; the oldest finished ones are
/// forgotten first.
pub const MAX_ROUNDS_KEPT: usize = 256;
/// The most rounds the agent trains at once, whatever it is told.
pub const MAX_CONCURRENT_TRAININGS: usize = 1_024;

/// The secret the node's worker sends with every request (`Authorization:
/// Bearer 0x…`), kept in a file of its own ([`crate::secret_file`]); the
/// operator stores the same text in the node's offchain storage, under
/// `twinnet/federated/agent-token` (or `…/agent-token/did:twin:…` beside an
/// institution's own agent URL).
pub struct ApiToken(String);

impl ApiToken {
	/// The token in `path`, created there if the file does not exist.
	pub fn load_or_create(path: &std::path::Path) -> Result<Self, String> {
		crate::secret_file::load_or_create(path)
			.map(|secret| Self(hash_hex(&secret)))
			.map_err(|error| format!("{}: {error:?}", path.display()))
	}

	/// The token as the worker sends it and the operator stores it.
	pub fn text(&self) -> &str {
		&self.0
	}

	/// Whether `request` carries the token (compared in constant time).
	fn admits<B>(&self, request: &Request<B>) -> bool {
		let Some(sent) = request
			.headers()
			.get(hyper::header::AUTHORIZATION)
			.and_then(|value| value.to_str().ok())
			.and_then(|value| value.strip_prefix("Bearer "))
		else {
			return false;
		};
		let (sent, ours) = (sent.trim().as_bytes(), self.0.as_bytes());
		sent.len() == ours.len() && sent.iter().zip(ours).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
	}
}

/// The rounds the agent knows, and the order it took them in.
#[derive(Default)]
struct Rounds {
	states: BTreeMap<(u64, u32), RoundState>,
	taken: VecDeque<(u64, u32)>,
}

impl Rounds {
	fn insert(&mut self, key: (u64, u32), state: RoundState) {
		if self.states.insert(key, state).is_none() {
			self.taken.push_back(key);
		}
		while self.states.len() > MAX_ROUNDS_KEPT {
			// The oldest refused round, else the oldest trained one (its
			// update never collected, or collected long ago), else the
			// oldest.
			let oldest = |wanted: fn(&RoundState) -> bool| {
				self.taken.iter().position(|key| self.states.get(key).is_some_and(wanted))
			};
			let index = oldest(|state| matches!(state, RoundState::Refused(_)))
				.or_else(|| oldest(|state| matches!(state, RoundState::Trained { .. })))
				.unwrap_or(0);
			let Some(key) = self.taken.remove(index) else { break };
			self.states.remove(&key);
		}
	}

	fn remove(&mut self, key: (u64, u32)) {
		self.states.remove(&key);
		self.taken.retain(|taken| *taken != key);
	}
}

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

/// How much training the agent does at once and per round.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainingLimits {
	/// The most rounds training at once.
	pub concurrent: usize,
	/// How long one round may train.
	pub timeout: Duration,
	/// The most record draws (steps × records) of one round.
	pub max_record_steps: u64,
}

impl Default for TrainingLimits {
	/// One round per core, five minutes each, [`dpsgd::MAX_RECORD_STEPS`].
	fn default() -> Self {
		Self {
			concurrent: std::thread::available_parallelism().map_or(1, |n| n.get()),
			timeout: Duration::from_secs(300),
			max_record_steps: dpsgd::MAX_RECORD_STEPS,
		}
	}
}

/// An institution's agent: its DID, its rows, its node, and for masked jobs
/// its key agreement key.
pub struct Agent {
	institution: DidId,
	rows: Rows,
	node: Node,
	seed: Option<u64>,
	agreement_key: Option<AgreementKey>,
	limits: TrainingLimits,
	trainings: Semaphore,
	rounds: Mutex<Rounds>,
}

impl Agent {
	/// The agent of `institution` with `rows`, reading the chain from
	/// `node`; with a `seed`, sampling and noise are reproducible (tests
	/// only: real noise must be unpredictable).
	pub fn new(institution: DidId, rows: Rows, node: Node, seed: Option<u64>) -> Self {
		let limits = TrainingLimits::default();
		Self {
			institution,
			rows,
			node,
			seed,
			agreement_key: None,
			limits,
			trainings: Semaphore::new(limits.concurrent),
			rounds: Mutex::new(Rounds::default()),
		}
	}

	/// The agent with other training limits (from one to
	/// [`MAX_CONCURRENT_TRAININGS`] rounds at a time).
	pub fn with_training_limits(self, limits: TrainingLimits) -> Self {
		let concurrent = limits.concurrent.clamp(1, MAX_CONCURRENT_TRAININGS);
		let limits = TrainingLimits { concurrent, ..limits };
		Self { limits, trainings: Semaphore::new(limits.concurrent), ..self }
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
		self.rounds.lock().ok()?.states.get(&(job, round)).cloned()
	}

	fn set(&self, job: u64, round: u32, state: RoundState) {
		if let Ok(mut rounds) = self.rounds.lock() {
			rounds.insert((job, round), state);
		}
	}

	/// Takes round `round` of `job`, unless it has it already; `true` if new.
	fn take(&self, job: u64, round: u32) -> bool {
		let known = self.rounds.lock().map(|rounds| rounds.states.contains_key(&(job, round)));
		if known.unwrap_or(true) {
			return false;
		}
		self.set(job, round, RoundState::Training);
		true
	}

	/// Forgets round `round` of `job`: asked for it, the agent answers 404,
	/// and the worker hands it over again.
	fn forget(&self, job: u64, round: u32, why: &str) {
		eprintln!("job {job} round {round}: {why}; forgotten, to be handed over again");
		if let Ok(mut rounds) = self.rounds.lock() {
			rounds.remove((job, round));
		}
	}

	/// Plans and trains round `round` of `job`, and records the outcome. A
	/// round the agent cannot read from its node, or whose training fails
	/// for another reason than the round itself, is forgotten rather than
	/// refused, so that the worker hands it over again.
	pub async fn train_round(self: Arc<Self>, job: u64, round: u32) {
		let outcome = match self.node.round_views(job, round).await {
			Ok(views) => self.prepare(&views, job, round).map_err(|refusal| refusal.to_string()),
			Err(error) => {
				return self.forget(job, round, &format!("cannot read the round: {error}"));
			},
		};
		let state = match outcome {
			Ok((plan, masks)) => match self.trainings.acquire().await {
				Ok(_turn) => {
					let agent = self.clone();
					// A timeout past what the clock can count is no deadline.
					let deadline = Instant::now().checked_add(self.limits.timeout);
					let trained = tokio::task::spawn_blocking(move || {
						agent.train(job, round, &plan, masks.as_ref(), deadline)
					})
					.await;
					match trained {
						Ok(state) => state,
						Err(error) => {
							return self.forget(job, round, &format!("training failed: {error}"));
						},
					}
				},
				Err(_) => RoundState::Refused(String::from("the agent is shutting down")),
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

	/// DP-SGD on the admitted local rows, from the plan's starting model,
	/// within the agent's limits and until `deadline` (if any); with `masks`, the
	/// update reported is the masked weighted update.
	fn train(
		&self,
		job: u64,
		round: u32,
		plan: &RoundPlan,
		masks: Option<&Masks>,
		deadline: Option<Instant>,
	) -> RoundState {
		let records = self.rows.admitted(&plan.admitted);
		let Ok(count) = u32::try_from(records.len()) else {
			return RoundState::Refused(String::from("too many records"));
		};
		let mut rng = dpsgd::round_rng(self.seed, job, round);
		let mut parameters = model::from_fixed(&plan.start);
		let limits = dpsgd::Limits { max_record_steps: self.limits.max_record_steps, deadline };
		if let Err(error) =
			dpsgd::train(&mut parameters, &records, &plan.settings, &limits, &mut rng)
		{
			return RoundState::Refused(error.to_string());
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
	async fn handle(
		self: Arc<Self>,
		token: &ApiToken,
		request: Request<Incoming>,
	) -> Response<Full<Bytes>> {
		if !token.admits(&request) {
			let mut response = text(StatusCode::UNAUTHORIZED, "the agent's token is required");
			response.headers_mut().insert(
				hyper::header::WWW_AUTHENTICATE,
				hyper::header::HeaderValue::from_static("Bearer"),
			);
			return response;
		}
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
					.states
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

/// Serves `agent` on `listener` to whoever sends `token`, until the task is
/// dropped.
pub async fn serve(
	listener: TcpListener,
	agent: Arc<Agent>,
	token: ApiToken,
) -> std::io::Result<()> {
	let token = Arc::new(token);
	loop {
		let (stream, _): (_, SocketAddr) = listener.accept().await?;
		let (agent, token) = (agent.clone(), token.clone());
		tokio::spawn(async move {
			let service = service_fn(move |request| {
				let (agent, token) = (agent.clone(), token.clone());
				async move { Ok::<_, Infallible>(agent.handle(&token, request).await) }
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

	/// The token of the agents served here.
	const TOKEN: &str = "0x0101010101010101010101010101010101010101010101010101010101010101";

	/// `agent`, served on a free port to whoever sends [`TOKEN`].
	async fn serve_on(agent: Agent) -> (Arc<Agent>, SocketAddr) {
		let agent = Arc::new(agent);
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let address = listener.local_addr().unwrap();
		tokio::spawn(serve(listener, agent.clone(), ApiToken(TOKEN.into())));
		(agent, address)
	}

	/// The status line and body of `method path` with `body`, with [`TOKEN`].
	async fn request(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
		let authorization = format!("Authorization: Bearer {TOKEN}\r\n");
		request_with(address, method, path, body, &authorization).await
	}

	/// The status line and body of `method path` with `body` and the
	/// header lines `headers`.
	async fn request_with(
		address: SocketAddr,
		method: &str,
		path: &str,
		body: &str,
		headers: &str,
	) -> (u16, Vec<u8>) {
		let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
		let head = format!(
			"{method} {path} HTTP/1.1\r\nHost: agent\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
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
		// is forgotten (404), for the worker to hand it over again.
		assert_eq!(request(address, "POST", "/v1/rounds", &dispatch(&ours)).await.0, 202);
		for _ in 0..100 {
			if agent.state(3, 0).is_none() {
				break;
			}
			tokio::time::sleep(std::time::Duration::from_millis(20)).await;
		}
		assert_eq!(agent.state(3, 0), None);
		assert_eq!(request(address, "GET", &format!("/v1/rounds/3/0/{ours}"), "").await.0, 404);
		// A round the agent refused answers 409 with the reason.
		agent.set(3, 0, RoundState::Refused(String::from("the model is not one it trains")));
		let (status, body) = request(address, "GET", &format!("/v1/rounds/3/0/{ours}"), "").await;
		assert_eq!(status, 409);
		assert!(String::from_utf8_lossy(&body).contains("the model is not one it trains"));
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

	/// Rows of twins 2 (label 1) and 3 (label 0).
	fn two_rows() -> Rows {
		let record = |label| Record { features: vec![0.5, -1.0], label };
		Rows::new(vec![(did(2), record(1.0)), (did(3), record(0.0))]).unwrap()
	}

	/// The node's views of round 0 of job 3 opened on `opening_block`, in
	/// which institution 1 is admitted with twins 2 and 3: a logistic
	/// regression on two features, five steps.
	fn round_views(opening_block: [u8; 32]) -> RoundViews {
		RoundViews {
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
		}
	}

	#[test]
	fn a_round_over_the_work_limit_or_past_its_training_deadline_is_refused() {
		let limits =
			TrainingLimits { concurrent: 1, timeout: Duration::from_secs(60), max_record_steps: 9 };
		let strict = agent(two_rows()).with_training_limits(limits);
		let (plan, _) = strict.prepare(&round_views([5; 32]), 3, 0).unwrap();
		let later = Instant::now().checked_add(Duration::from_secs(60));
		// Five steps over two rows: ten record draws, one more than allowed.
		let too_much = dpsgd::TrainError::TooMuchWork { steps: 5, records: 2 };
		assert_eq!(
			strict.train(3, 0, &plan, None, later),
			RoundState::Refused(too_much.to_string())
		);
		let usual = agent(two_rows());
		let late = dpsgd::TrainError::OutOfTime { steps_done: 0 };
		assert_eq!(
			usual.train(3, 0, &plan, None, Some(Instant::now())),
			RoundState::Refused(late.to_string())
		);
		assert!(matches!(usual.train(3, 0, &plan, None, later), RoundState::Trained { .. }));
	}

	#[tokio::test]
	async fn no_more_rounds_train_at_once_than_the_limit_allows() {
		let limits = TrainingLimits { concurrent: 2, ..TrainingLimits::default() };
		let agent = agent(Rows::default()).with_training_limits(limits);
		let first = agent.trainings.acquire().await.unwrap();
		let _second = agent.trainings.acquire().await.unwrap();
		assert!(agent.trainings.try_acquire().is_err(), "a third round waits its turn");
		drop(first);
		assert!(agent.trainings.try_acquire().is_ok());
		let none = TrainingLimits { concurrent: 0, ..limits };
		let agent = self::agent(Rows::default()).with_training_limits(none);
		assert!(agent.trainings.try_acquire().is_ok(), "at least one round trains");
		let all = TrainingLimits { concurrent: usize::MAX, ..limits };
		let agent = self::agent(Rows::default()).with_training_limits(all);
		assert_eq!(
			agent.limits.concurrent, MAX_CONCURRENT_TRAININGS,
			"a count the semaphore takes"
		);
	}

	#[tokio::test]
	async fn the_collected_update_names_the_opening_block_it_was_trained_for() {
		let opening_block = [5; 32];
		let (agent, address) = serve_on(agent(two_rows())).await;
		let views = round_views(opening_block);
		// Trained as `train_round` does once it has the node's views.
		let (plan, masks) = agent.prepare(&views, 3, 0).unwrap();
		assert!(masks.is_none());
		let state =
			agent.train(3, 0, &plan, None, Instant::now().checked_add(Duration::from_secs(60)));
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

	/// Before, the smallest (job, round) went first: a live round of a low
	/// job id was dropped for any newer round of a higher one, and the
	/// worker's collection of it answered 404 for good.
	#[test]
	fn a_live_round_of_a_low_job_id_outlives_newer_finished_rounds() {
		let agent = agent(Rows::default());
		let refused = || RoundState::Refused(String::from("model not allowed"));
		agent.set(0, 0, RoundState::Training);
		for job in 1..=MAX_ROUNDS_KEPT as u64 {
			agent.set(job, 0, refused());
		}
		assert_eq!(agent.state(0, 0), Some(RoundState::Training), "the live round is kept");
		assert_eq!(agent.state(1, 0), None, "the oldest finished round went");
		// A round it had keeps its place in the order when it finishes.
		agent.set(0, 0, refused());
		agent.set(9_999, 0, refused());
		assert_eq!(agent.state(0, 0), None);
		assert_eq!(agent.state(2, 0), Some(refused()));
	}

	#[test]
	fn refused_rounds_are_forgotten_before_trained_ones() {
		let agent = agent(Rows::default());
		let trained = RoundState::Trained {
			records: 3,
			opening_block: [1; 32],
			update: Update::Model(vec![1, 2]),
			epsilon_spent: 0.5,
		};
		agent.set(0, 0, trained.clone());
		for job in 1..=MAX_ROUNDS_KEPT as u64 {
			agent.set(job, 0, RoundState::Refused(String::from("no")));
		}
		assert_eq!(agent.state(0, 0), Some(trained), "the older trained round is kept");
		assert_eq!(agent.state(1, 0), None);
	}

	#[tokio::test]
	async fn a_round_the_agent_cannot_read_from_its_node_is_forgotten_not_refused() {
		// The node is not there.
		let (agent, address) = serve_agent().await;
		assert!(agent.take(5, 0));
		agent.clone().train_round(5, 0).await;
		assert_eq!(agent.state(5, 0), None);
		let path = format!("/v1/rounds/5/0/{}", format_did(&did(1)));
		assert_eq!(
			request(address, "GET", &path, "").await.0,
			404,
			"so the worker hands it over again"
		);
		assert!(agent.take(5, 0), "and the agent takes it again");
	}

	#[tokio::test]
	async fn a_request_without_the_agent_s_token_is_refused() {
		let (agent, address) = serve_agent().await;
		let ours = format_did(&did(1));
		let dispatch = json!({ "job": 1, "round": 0, "institution": ours }).to_string();
		let wrong = "0x0202020202020202020202020202020202020202020202020202020202020202";
		for headers in [
			String::new(),
			format!("Authorization: Bearer {wrong}\r\n"),
			format!("Authorization: Bearer {}\r\n", &TOKEN[..10]),
			format!("Authorization: Basic {TOKEN}\r\n"),
		] {
			let post = request_with(address, "POST", "/v1/rounds", &dispatch, &headers).await;
			assert_eq!(post.0, 401, "{headers:?}");
			let path = format!("/v1/rounds/1/0/{ours}");
			assert_eq!(request_with(address, "GET", &path, "", &headers).await.0, 401);
			assert_eq!(request_with(address, "GET", "/v1/rounds", "", &headers).await.0, 401);
		}
		assert_eq!(agent.state(1, 0), None, "no round was taken");
		assert_eq!(request(address, "GET", "/v1/rounds", "").await.0, 200);
	}

	#[test]
	fn the_token_is_created_once_and_kept_private() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("token");
		let token = ApiToken::load_or_create(&path).unwrap();
		assert!(crate::round::parse_hash(token.text()).is_some(), "{}", token.text());
		assert_eq!(ApiToken::load_or_create(&path).unwrap().text(), token.text());
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
		assert!(ApiToken::load_or_create(&path).is_err(), "a token others may read is refused");
	}
}
