//! The agent's HTTP service, which its node's off-chain worker calls:
//!
//! - `POST /v1/rounds` with `{"job":J,"round":R,"institution":"did:twin:…"}`:
//!   202, and the round is planned and trained in the background (again
//!   for a round it has: 202, nothing new);
//! - `GET /v1/rounds/{J}/{R}/{did}`: 200 with the SCALE encoding of
//!   `(records: u32, parameters: Vec<i32>)` once trained, 202 while
//!   training, 409 with the reason if the agent refused the round, 404 for
//!   a round it was not given;
//! - `GET /v1/rounds`: what it did, as JSON, for its operator.
//!
//! Another institution's DID is 404 everywhere. Bodies are at most
//! [`MAX_BODY`] bytes; the agent keeps the last [`MAX_ROUNDS_KEPT`] rounds.

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

use crate::{data::Rows, dpsgd, model, node::Node, round::RoundPlan};

/// The largest request body the service reads.
pub const MAX_BODY: usize = 4_096;
/// How many rounds the agent remembers; the oldest are forgotten first.
pub const MAX_ROUNDS_KEPT: usize = 256;

/// Where a round stands in the agent.
#[derive(Clone, Debug, PartialEq)]
pub enum RoundState {
	/// Being planned or trained.
	Training,
	/// Trained: the update for the worker to collect.
	Trained {
		/// The records trained on.
		records: u32,
		/// The model after local training, in fixed point.
		parameters: Vec<i32>,
		/// The ε the round spent, by the accountant.
		epsilon_spent: f64,
	},
	/// Not trained, and why.
	Refused(String),
}

/// An institution's agent: its DID, its rows, its node.
pub struct Agent {
	institution: DidId,
	rows: Rows,
	node: Node,
	seed: Option<u64>,
	rounds: Mutex<BTreeMap<(u64, u32), RoundState>>,
}

impl Agent {
	/// The agent of `institution` with `rows`, reading the chain from
	/// `node`; with a `seed`, sampling and noise are reproducible (tests
	/// only: real noise must be unpredictable).
	pub fn new(institution: DidId, rows: Rows, node: Node, seed: Option<u64>) -> Self {
		Self { institution, rows, node, seed, rounds: Mutex::new(BTreeMap::new()) }
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
			Ok(views) => RoundPlan::from_views(
				&views.job,
				&views.round,
				&views.model,
				round,
				&self.institution,
				self.rows.features(),
			)
			.map_err(|refusal| refusal.to_string()),
			Err(error) => Err(error),
		};
		let state = match outcome {
			Ok(plan) => {
				let agent = self.clone();
				tokio::task::spawn_blocking(move || agent.train(job, round, &plan))
					.await
					.unwrap_or_else(|e| RoundState::Refused(format!("training failed: {e}")))
			},
			Err(reason) => RoundState::Refused(reason),
		};
		match &state {
			RoundState::Trained { records, epsilon_spent, .. } => eprintln!(
				"job {job} round {round}: trained on {records} records, epsilon {epsilon_spent:.4}"
			),
			RoundState::Refused(reason) => eprintln!("job {job} round {round}: refused: {reason}"),
			RoundState::Training => {},
		}
		self.set(job, round, state);
	}

	/// DP-SGD on the admitted local rows, from the plan's starting model.
	fn train(&self, job: u64, round: u32, plan: &RoundPlan) -> RoundState {
		let records = self.rows.admitted(&plan.admitted);
		let Ok(count) = u32::try_from(records.len()) else {
			return RoundState::Refused(String::from("too many records"));
		};
		let mut rng = dpsgd::round_rng(self.seed, job, round);
		let mut parameters = plan.start.clone();
		match dpsgd::train(&mut parameters, &records, &plan.settings, &mut rng) {
			Ok(()) => RoundState::Trained {
				records: count,
				parameters: model::to_fixed(&parameters),
				epsilon_spent: plan.epsilon_spent,
			},
			Err(error) => RoundState::Refused(format!("{error:?}")),
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
			(Method::GET, ["v1", "rounds", job, round, did]) => self.collect(job, round, did),
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

	fn collect(&self, job: &str, round: &str, did: &str) -> Response<Full<Bytes>> {
		let (Ok(job), Ok(round)) = (job.parse::<u64>(), round.parse::<u32>()) else {
			return text(StatusCode::BAD_REQUEST, "job and round must be numbers");
		};
		if !self.is_ours(did) {
			return text(StatusCode::NOT_FOUND, "not this agent's institution");
		}
		match self.state(job, round) {
			None => text(StatusCode::NOT_FOUND, "no such round"),
			Some(RoundState::Training) => text(StatusCode::ACCEPTED, ""),
			Some(RoundState::Refused(reason)) => text(StatusCode::CONFLICT, &reason),
			Some(RoundState::Trained { records, parameters, .. }) => {
				respond(StatusCode::OK, "application/octet-stream", (records, parameters).encode())
			},
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
						RoundState::Trained { records, epsilon_spent, .. } => json!({
							"job": job,
							"round": round,
							"state": "trained",
							"records": records,
							"epsilonSpent": epsilon_spent,
						}),
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
	use tokio::io::{AsyncReadExt, AsyncWriteExt};

	fn did(byte: u8) -> DidId {
		DidId::from([byte; 32])
	}

	/// An agent of institution 1 whose node is not there, served on a free port.
	async fn serve_agent() -> (Arc<Agent>, SocketAddr) {
		let agent =
			Arc::new(Agent::new(did(1), Rows::default(), Node::new("ws://127.0.0.1:1"), Some(1)));
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

		// A trained round is served as SCALE (records, parameters).
		agent.set(
			3,
			1,
			RoundState::Trained { records: 7, parameters: vec![1, -2], epsilon_spent: 0.5 },
		);
		let (status, body) = request(address, "GET", &format!("/v1/rounds/3/1/{ours}"), "").await;
		assert_eq!(status, 200);
		assert_eq!(
			<(u32, Vec<i32>) as codec::Decode>::decode(&mut &body[..]).unwrap(),
			(7, vec![1, -2])
		);
		let (status, body) = request(address, "GET", "/v1/rounds", "").await;
		assert_eq!(status, 200);
		let listed: Value = serde_json::from_slice(&body).unwrap();
		assert_eq!(
			listed["rounds"][1],
			json!({ "job": 3, "round": 1, "state": "trained", "records": 7, "epsilonSpent": 0.5 })
		);
	}

	#[test]
	fn the_agent_forgets_the_oldest_rounds_first() {
		let agent = Agent::new(did(1), Rows::default(), Node::new("ws://127.0.0.1:1"), None);
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
