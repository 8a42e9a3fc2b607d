//! The off-chain worker of pallet-federated, run by each institution's node
//! after every imported block.
//!
//! For every open round in which an institution whose `capabilityInvocation`
//! key is in this node's keystore (key type [`KEY_TYPE`]) is admitted and
//! has not reported, the worker
//!
//! 1. **dispatches** the round to the institution's compute agent:
//!    `POST {agent}/v1/rounds` with `{"job":J,"round":R,"institution":"did:twin:…"}`
//!    (the agent reads the job, the cohort and the starting model from its
//!    node over RPC, and trains in the background);
//! 2. on a later block, **collects** the update: `GET
//!    {agent}/v1/rounds/{J}/{R}/{did}` answers 200 with the SCALE encoding
//!    of `(records: u32, opening_block: [u8; 32], parameters: Vec<i32>)`
//!    once training is done (202, another 5xx, or an empty body: not yet;
//!    404: the agent does not know the round, which is dispatched again).
//!    The opening block is the round record's `opening_block` as the agent
//!    read it with the cohort it trained on; an update for another opening
//!    block than this node's record (the round as it opened on another
//!    fork) is never reported;
//! 3. **accepts** the cohort the round offered the institution, once the
//!    agent has the update and while the chain shows the cohort offered:
//!    signs the acceptance ([`accept_message`]) and submits `accept_cohort`
//!    as an authorized transaction (`CreateAuthorizedTransaction`; no
//!    account, no nonce, no fee). The chain reserves the cohort's budgets
//!    then, not when the round opened, so a round no agent trains holds no
//!    patient's budget; and the update leaves the node only after they are
//!    reserved. An acceptance not on chain [`RESUBMIT_AFTER_BLOCKS`] later
//!    is submitted again;
//! 4. **reports** it once the cohort is accepted: signs the report message
//!    ([`report_message`]) with the local key and submits `submit_update`,
//!    authorized as the acceptance is.
//!
//! For a masked job the agent's update is the SCALE encoding of `(records:
//! u32, opening_block: [u8; 32], masked: Vec<u32>)`, reported as
//! [`Contribution::Masked`]. When a
//! masked round is in recovery and an institution of this node survived
//! it (reported) and has not revealed, the worker **reveals**: `GET
//! {agent}/v1/rounds/{J}/{R}/{did}/seeds` answers 200 with the SCALE
//! encoding of `(opening_block: [u8; 32], seeds: Vec<([u8; 32], [u8;
//! 32])>)` (the round's opening block, then each dropped institution's DID
//! id and the seed shared with it; the agent derives them itself, from
//! its node's finalized view of the round), which the worker signs
//! ([`reveal_message`]) and submits as `reveal_seeds`, authorized as a
//! report is.
//!
//! The agent's base URL is read from the node's persistent offchain storage:
//! under [`AGENT_URL_KEY`] followed by `/` and the institution's DID
//! (`twinnet/federated/agent-url/did:twin:…`) for a node that holds the keys
//! of several institutions, each with its own agent, else under
//! [`AGENT_URL_KEY`] itself (set with `offchain_localStorageSet` or
//! `twinctl`); an institution without either is left alone. The agent's
//! token, which every request carries (`Authorization: Bearer …`), is read
//! from beside the URL used: [`AGENT_TOKEN_KEY`], with the same `/did:twin:…`
//! suffix for an institution's own agent. An agent that refuses the token
//! (401, 403) is asked again on the task's next turn. Each HTTP request has a
//! deadline of [`HTTP_DEADLINE_MS`]; one run at a time holds a storage lock,
//! so two runs never submit the same report.
//!
//! **Fair turns.** At most [`MAX_TASKS_PER_BLOCK`] tasks are handled per
//! block: the due tasks served least recently (each task's last turn is
//! kept beside its state; a new task has had none, and ties go by storage
//! key). With `n` due tasks, each is handled at least once every
//! `ceil(n / MAX_TASKS_PER_BLOCK)` blocks, however the others answer; `n`
//! is at most the running jobs' rounds this node's institutions take part
//! in. A round the agent refused to train (409: a model it does not run, a
//! privacy cost it does not confirm, no key agreement key) is marked
//! refused and takes no turn for the rest of the round; any other answer
//! (another 4xx, a 5xx, no answer) is retried on the task's next turn. A
//! reveal is never marked refused (the agent answers 409 until the
//! recovery is final on its node). A report not on chain
//! [`RESUBMIT_AFTER_BLOCKS`] after it was submitted is collected and
//! submitted again; the pool refuses a report the chain already has, and
//! the chain refuses one outside its round, so neither a replay nor a report
//! reordered into another round can land. A round the agent no longer knows
//! (404) is dispatched again only if its update was never collected: after
//! a report went out, training again would publish a second, freshly
//! noised update of the same rows for one charge.

use alloc::{format, string::String, vec::Vec};
use codec::{Decode, Encode};
use frame_support::pallet_prelude::*;
use frame_system::{
	offchain::{CreateAuthorizedTransaction, SubmitTransaction},
	pallet_prelude::BlockNumberFor,
};
use sp_core::{crypto::KeyTypeId, H256};
use sp_runtime::offchain::{
	http,
	storage::StorageValueRef,
	storage_lock::{StorageLock, Time},
	Duration,
};
use sp_runtime::traits::UniqueSaturatedInto;
use twinnet_primitives::{
	did::{format_did, DidId, DidSignature, PublicKey, Relationship},
	federated::{institution_setting, REPORT_KEY_TYPE},
	traits::DidRegistry,
};

use crate::{
	pallet::{
		Agenda, Call, Cohorts, Config, Jobs, Pallet, ReportOf, RevealOf, Reveals, Rounds, Updates,
	},
	Acceptance, CohortStatus, Contribution, JobId, JobState, Report, Reveal,
};

/// The keystore key type of an institution's report key (an sr25519 key
/// registered as `capabilityInvocation` on the institution's DID).
pub const KEY_TYPE: KeyTypeId = KeyTypeId(REPORT_KEY_TYPE);

pub use twinnet_primitives::federated::{AGENT_TOKEN_KEY, AGENT_URL_KEY};

/// How long one HTTP request to the agent may take.
pub const HTTP_DEADLINE_MS: u64 = 2_000;

/// The most tasks (dispatches, collections) handled after one block.
pub const MAX_TASKS_PER_BLOCK: usize = 4;

/// The lock that keeps two runs of the worker from working at once.
const LOCK_KEY: &[u8] = b"twinnet/federated/lock";
/// What follows a task's storage key in the key of its last turn.
const TURN_SUFFIX: &[u8] = b"/turn";
/// The prefix of a task's state in offchain storage.
const TASK_PREFIX: &[u8] = b"twinnet/federated/task/";

/// Where a task stands in this node's offchain storage.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, Debug)]
pub enum TaskState {
	/// The agent accepted the round.
	Dispatched,
	/// The report was submitted to the pool after block `at`.
	Submitted {
		/// The block after which it was submitted.
		at: u64,
	},
	/// The agent refused the round after block `at`: the task takes no
	/// more turns.
	Refused {
		/// The block after which the agent refused it.
		at: u64,
	},
	/// The cohort's acceptance was submitted to the pool after block `at`
	/// (last, so that states stored before it decode as they were).
	Accepting {
		/// The block after which it was submitted.
		at: u64,
	},
}

/// How many blocks after submitting a report that is not on chain yet the
/// worker collects and submits it again (the pool may have dropped it).
pub const RESUBMIT_AFTER_BLOCKS: u64 = 5;

/// What an institution of this node must do in a round.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Debug)]
pub enum Duty {
	/// Report its update (the round is open).
	Report,
	/// Reveal its seeds with the dropped institutions (the masked round is
	/// in recovery and it survived).
	Reveal,
}

/// One round an institution of this node must report or reveal in.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Task {
	/// The job.
	pub job: JobId,
	/// The round.
	pub round: u32,
	/// The institution.
	pub institution: DidId,
	/// The local key that signs for it.
	pub key: sp_core::sr25519::Public,
	/// What it must do.
	pub duty: Duty,
	/// Whether the job's reports are masked.
	pub masked: bool,
	/// Whether the institution's cohort is accepted (always for a reveal;
	/// for a report, else the cohort is offered and is accepted before the
	/// report goes out).
	pub accepted: bool,
	/// The round record's opening block: what the agent must have trained
	/// for, and what the report or reveal is bound to.
	pub opening_block: H256,
}

impl Task {
	/// The offchain-storage key of its state.
	fn storage_key(&self) -> Vec<u8> {
		let mut key = TASK_PREFIX.to_vec();
		(self.job, self.round, self.institution).encode_to(&mut key);
		if self.duty == Duty::Reveal {
			self.duty.encode_to(&mut key);
		}
		key
	}
}

impl<T: Config + CreateAuthorizedTransaction<Call<T>>> Pallet<T> {
	/// The worker's run after block `now` (see the module docs).
	pub fn run_offchain_worker(now: BlockNumberFor<T>) {
		let now: u64 = now.unique_saturated_into();
		let keys = sp_io::crypto::sr25519_public_keys(KEY_TYPE);
		if keys.is_empty() {
			return;
		}
		let mut lock = StorageLock::<Time>::with_deadline(LOCK_KEY, Duration::from_millis(30_000));
		let Ok(_guard) = lock.try_lock() else { return };
		// Reports and acceptances submitted recently are waiting for
		// inclusion (an accepted cohort's report goes out at once), and
		// rounds the agent refused are done with: none takes a turn.
		let resting =
			|key: &[u8], task: &Task| match StorageValueRef::persistent(key).get::<TaskState>() {
				// A report of a cohort no longer accepted (a reorg dropped the
				// acceptance) waits for nothing: the cohort is accepted again.
				Ok(Some(TaskState::Submitted { at })) => {
					task.accepted && now < at.saturating_add(RESUBMIT_AFTER_BLOCKS)
				},
				Ok(Some(TaskState::Accepting { at })) => {
					!task.accepted && now < at.saturating_add(RESUBMIT_AFTER_BLOCKS)
				},
				Ok(Some(TaskState::Refused { .. })) => true,
				_ => false,
			};
		let due: Vec<_> = Self::tasks(&keys)
			.into_iter()
			.map(|task| (task.storage_key(), task))
			.filter(|(key, task)| !resting(key, task))
			.filter_map(|(key, task)| agent_of(&task.institution).map(|agent| (key, task, agent)))
			.map(|(key, task, agent)| (last_turn(&key), key, task, agent))
			.collect();
		for (key, task, agent) in turns(due, MAX_TASKS_PER_BLOCK) {
			StorageValueRef::persistent(&turn_key(&key)).set(&now);
			if let Err(error) = Self::advance(&agent, &task, now) {
				log::warn!(
					target: "federated",
					"job {} round {}: {error}", task.job, task.round
				);
			}
		}
	}

	/// The open rounds in which an institution with a key in `keys` is
	/// offered a cohort or admitted and has not reported, and the masked rounds in recovery in
	/// which it survived and has not revealed, in agenda order.
	pub fn tasks(keys: &[sp_core::sr25519::Public]) -> Vec<Task> {
		let mut tasks = Vec::new();
		for (_, job) in Agenda::<T>::get() {
			let Some(record) = Jobs::<T>::get(job) else { continue };
			let (round, duty) = match record.state {
				JobState::Running { round, .. } => (round, Duty::Report),
				JobState::Recovering { round, .. } => (round, Duty::Reveal),
				_ => continue,
			};
			let Some(round_record) = Rounds::<T>::get(job, round) else { continue };
			let opening_block = round_record.opening_block;
			let survivors = match duty {
				Duty::Report => Default::default(),
				Duty::Reveal => round_record.reporters,
			};
			for participant in &record.participants {
				let institution = participant.institution;
				let key = (job, round, institution);
				let status = Cohorts::<T>::get(key).map(|cohort| cohort.status);
				let due = match duty {
					Duty::Report => {
						status.is_some_and(|status| status.takes_part())
							&& !Updates::<T>::contains_key(key)
					},
					Duty::Reveal => {
						survivors.contains(&institution) && !Reveals::<T>::contains_key(key)
					},
				};
				if !due {
					continue;
				}
				if let Some(key) = local_key::<T>(&institution, keys) {
					let masked = record.spec.masking.is_some();
					let accepted = duty == Duty::Reveal || status == Some(CohortStatus::Admitted);
					tasks.push(Task {
						job,
						round,
						institution,
						key,
						duty,
						masked,
						accepted,
						opening_block,
					});
				}
			}
		}
		tasks
	}

	/// Takes `task` one step further: dispatch, or collect and report; or
	/// fetch the seeds and reveal them.
	fn advance(agent: &Agent, task: &Task, now: u64) -> Result<(), String> {
		let key = task.storage_key();
		let mut state = StorageValueRef::persistent(&key);
		let current = state.get::<TaskState>().map_err(|_| String::from("corrupt task state"))?;
		let refused = |state: &StorageValueRef, reason: String| {
			state.set(&TaskState::Refused { at: now });
			Err(format!("the agent refused the round: {reason}"))
		};
		let answer = match (task.duty, current) {
			(_, Some(TaskState::Refused { .. })) => return Ok(()),
			(Duty::Report, None) => {
				return match dispatch(agent, task)? {
					Dispatch::Accepted => {
						state.set(&TaskState::Dispatched);
						Ok(())
					},
					Dispatch::Refused(reason) => refused(&state, reason),
				};
			},
			// Dispatched, or reported long ago and still not on chain:
			// collect and report (again).
			(Duty::Report, Some(_)) => fetch(agent, task, "")?,
			(Duty::Reveal, _) => fetch(agent, task, "/seeds")?,
		};
		let body = match (answer, task.duty) {
			(Answer::Ready(body), _) => body,
			(Answer::NotYet, _) => return Ok(()),
			(Answer::Refused(reason), Duty::Report) => return refused(&state, reason),
			// Until the recovery is final on the agent's node.
			(Answer::Refused(reason), Duty::Reveal) => {
				return Err(format!("the agent does not reveal yet: {reason}"));
			},
			// The agent lost a round whose update it had not handed over, or
			// that never left this node (it restarted): hand it over again.
			(Answer::Unknown, Duty::Report)
				if matches!(current, Some(TaskState::Dispatched | TaskState::Accepting { .. })) =>
			{
				state.clear();
				return Err(String::from("the agent does not know the round: dispatched again"));
			},
			(Answer::Unknown, _) => return Err(String::from("the agent does not know the round")),
		};
		let (call, submitted) = match task.duty {
			Duty::Report => {
				let (records, update) = decode_update::<T::MaxParameters>(task, &body)?;
				if task.accepted {
					(Self::report_call(task, records, update)?, TaskState::Submitted { at: now })
				} else {
					// The update waits with the agent until the cohort's
					// budgets are reserved.
					(Self::accept_call(task)?, TaskState::Accepting { at: now })
				}
			},
			Duty::Reveal => (
				Self::reveal_call(task, decode_seeds(task, &body)?)?,
				TaskState::Submitted { at: now },
			),
		};
		let transaction = T::create_authorized_transaction(call.into());
		SubmitTransaction::<T, Call<T>>::submit_transaction(transaction)
			.map_err(|()| String::from("the pool refused the transaction"))?;
		state.set(&submitted);
		Ok(())
	}

	/// `task`'s acceptance of its cohort, signed.
	fn accept_call(task: &Task) -> Result<Call<T>, String> {
		let acceptance = Acceptance {
			job: task.job,
			round: task.round,
			opening_block: task.opening_block,
			institution: task.institution,
		};
		let signature = sign(task, &acceptance.message(Self::genesis_hash()))?;
		Ok(Call::<T>::accept_cohort { acceptance, signature })
	}

	/// `task`'s report, signed.
	fn report_call(
		task: &Task,
		records: u32,
		update: Contribution<T::MaxParameters>,
	) -> Result<Call<T>, String> {
		let report: ReportOf<T> = Report {
			job: task.job,
			round: task.round,
			opening_block: task.opening_block,
			institution: task.institution,
			records,
			update,
		};
		let signature = sign(task, &report.message(Self::genesis_hash()))?;
		Ok(Call::<T>::submit_update { report: alloc::boxed::Box::new(report), signature })
	}

	/// `task`'s reveal of `seeds`, signed.
	fn reveal_call(task: &Task, seeds: Vec<(DidId, [u8; 32])>) -> Result<Call<T>, String> {
		let seeds = BoundedVec::try_from(seeds)
			.map_err(|_| String::from("the agent revealed too many seeds"))?;
		let reveal: RevealOf<T> = Reveal {
			job: task.job,
			round: task.round,
			opening_block: task.opening_block,
			institution: task.institution,
			seeds,
		};
		let signature = sign(task, &reveal.message(Self::genesis_hash()))?;
		Ok(Call::<T>::reveal_seeds { reveal: alloc::boxed::Box::new(reveal), signature })
	}
}

/// The key in `keys` that is a `capabilityInvocation` key of `institution`.
fn local_key<T: Config>(
	institution: &DidId,
	keys: &[sp_core::sr25519::Public],
) -> Option<sp_core::sr25519::Public> {
	T::Dids::keys_for(institution, Relationship::CapabilityInvocation)
		.into_iter()
		.find_map(|key| match key {
			PublicKey::Sr25519(raw) => keys.iter().find(|local| local.0 == raw).copied(),
			_ => None,
		})
}

/// Signs `message` with `task`'s local key.
fn sign(task: &Task, message: &[u8]) -> Result<DidSignature, String> {
	sp_io::crypto::sr25519_sign(KEY_TYPE, &task.key, message)
		.map(|signature| DidSignature::Sr25519(signature.0))
		.ok_or_else(|| String::from("the keystore lost the report key"))
}

/// A compute agent as the worker calls it.
pub struct Agent {
	/// Its base URL, without a trailing slash.
	url: String,
	/// `Bearer` and the token it requires, if one is stored.
	authorization: Option<String>,
}

impl Agent {
	/// `request` with the agent's token.
	fn authorized<'a, B: Default>(&'a self, request: http::Request<'a, B>) -> http::Request<'a, B> {
		match &self.authorization {
			Some(authorization) => request.add_header("Authorization", authorization),
			None => request,
		}
	}
}

/// `institution`'s compute agent: its own (URL and token under keys
/// suffixed with its DID), else the node's.
fn agent_of(institution: &DidId) -> Option<Agent> {
	let own = |prefix: &[u8]| institution_setting(prefix, institution);
	let at = |url_key: &[u8], token_key: &[u8]| {
		stored_text(url_key).map(|url| Agent {
			url: String::from(url.trim_end_matches('/')),
			authorization: stored_text(token_key).map(|token| format!("Bearer {token}")),
		})
	};
	at(&own(AGENT_URL_KEY), &own(AGENT_TOKEN_KEY)).or_else(|| at(AGENT_URL_KEY, AGENT_TOKEN_KEY))
}

/// The text stored under `key`, trimmed, if there is any.
fn stored_text(key: &[u8]) -> Option<String> {
	let stored =
		sp_io::offchain::local_storage_get(sp_core::offchain::StorageKind::PERSISTENT, key)?;
	let text = String::from_utf8(stored).ok()?;
	let text = text.trim();
	(!text.is_empty()).then(|| String::from(text))
}

/// The key of the last turn of the task stored under `key`.
fn turn_key(key: &[u8]) -> Vec<u8> {
	[key, TURN_SUFFIX].concat()
}

/// The block of the last turn of the task stored under `key`, if it had one.
fn last_turn(key: &[u8]) -> Option<u64> {
	StorageValueRef::persistent(&turn_key(key)).get::<u64>().ok().flatten()
}

/// The `limit` tasks of `due` (last turn, storage key, task, agent) whose
/// turn it is: those served least recently (never first), ties by key.
fn turns<Item>(
	mut due: Vec<(Option<u64>, Vec<u8>, Task, Item)>,
	limit: usize,
) -> impl Iterator<Item = (Vec<u8>, Task, Item)> {
	due.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
	due.into_iter().take(limit).map(|(_, key, task, agent)| (key, task, agent))
}

/// What the agent said to a dispatch.
enum Dispatch {
	/// It trains (2xx).
	Accepted,
	/// It will not (409), for the reason it gave.
	Refused(String),
}

/// What the agent answered when asked for a round's update or seeds.
enum Answer {
	/// 200 with a body.
	Ready(Vec<u8>),
	/// Not ready yet (202, an empty 200) or not now (5xx, another status
	/// but 401, 403, 404 and 409).
	NotYet,
	/// 409: it refused the round, for the reason it gave.
	Refused(String),
	/// 404: it does not know the round.
	Unknown,
}

/// Hands the round to the agent.
fn dispatch(agent: &Agent, task: &Task) -> Result<Dispatch, String> {
	let body = format!(
		r#"{{"job":{},"round":{},"institution":"{}"}}"#,
		task.job,
		task.round,
		format_did(&task.institution)
	);
	let url = format!("{}/v1/rounds", agent.url);
	let request = http::Request::post(&url, alloc::vec![body.into_bytes()])
		.add_header("Content-Type", "application/json");
	let (status, body) = send(agent.authorized(request))?;
	match status {
		200..=299 => Ok(Dispatch::Accepted),
		409 => Ok(Dispatch::Refused(reason(status, &body))),
		401 | 403 => Err(unauthorized(status)),
		// A wrong URL or institution, an agent down: not the round's fault.
		status => Err(format!("the agent did not take the round: {}", reason(status, &body))),
	}
}

/// The error of an agent that refused this node's token.
fn unauthorized(status: u16) -> String {
	format!("the agent refused this node's token (HTTP {status}): is the one stored beside its URL (twinnet/federated/agent-token) the agent's?")
}

/// The agent's reason for answering `status`: its text, shortened.
fn reason(status: u16, body: &[u8]) -> String {
	let text = String::from_utf8_lossy(body.get(..body.len().min(200)).unwrap_or_default());
	format!("HTTP {status}: {text}")
}

/// The agent's update for the task from its answer's `body`: a model, or
/// for a masked job a masked update; refused if the agent trained for
/// another opening block than the task's.
fn decode_update<MaxParameters: Get<u32>>(
	task: &Task,
	body: &[u8],
) -> Result<(u32, Contribution<MaxParameters>), String> {
	let too_long = || String::from("the agent's update has too many parameters");
	let (records, opening_block, update) = if task.masked {
		<(u32, [u8; 32], Vec<u32>)>::decode(&mut &body[..])
			.map_err(|_| {
				String::from("the agent's update is not SCALE (records, opening block, masked)")
			})
			.and_then(|(records, opening_block, masked)| {
				let masked = BoundedVec::try_from(masked).map_err(|_| too_long())?;
				Ok((records, opening_block, Contribution::Masked(masked)))
			})?
	} else {
		<(u32, [u8; 32], Vec<i32>)>::decode(&mut &body[..])
			.map_err(|_| {
				String::from("the agent's update is not SCALE (records, opening block, parameters)")
			})
			.and_then(|(records, opening_block, model)| {
				let model = BoundedVec::try_from(model).map_err(|_| too_long())?;
				Ok((records, opening_block, Contribution::Model(model)))
			})?
	};
	same_fork(task, opening_block)?;
	Ok((records, update))
}

/// Refuses what the agent made for the round as it opened on another fork.
fn same_fork(task: &Task, opening_block: [u8; 32]) -> Result<(), String> {
	if H256(opening_block) == task.opening_block {
		Ok(())
	} else {
		Err(format!(
			"the agent answered for opening block {:?}, this node's round opened after {:?}: \
			 not reported",
			H256(opening_block),
			task.opening_block
		))
	}
}

/// The seeds the agent revealed for the task's round in recovery, from its
/// answer's `body`: (dropped institution, seed) in the round's `dropped`
/// order.
fn decode_seeds(task: &Task, body: &[u8]) -> Result<Vec<(DidId, [u8; 32])>, String> {
	let (opening_block, seeds) = <([u8; 32], Vec<([u8; 32], [u8; 32])>)>::decode(&mut &body[..])
		.map_err(|_| {
			String::from("the agent's seeds are not SCALE (opening block, (dropped, seed) pairs)")
		})?;
	same_fork(task, opening_block)?;
	Ok(seeds.into_iter().map(|(did, seed)| (DidId::from(did), seed)).collect())
}

/// The agent's answer for the task's round at `suffix`.
fn fetch(agent: &Agent, task: &Task, suffix: &str) -> Result<Answer, String> {
	let url = format!(
		"{}/v1/rounds/{}/{}/{}{suffix}",
		agent.url,
		task.job,
		task.round,
		format_did(&task.institution)
	);
	let (status, body) = send(agent.authorized(http::Request::get(&url)))?;
	Ok(match status {
		200 if !body.is_empty() => Answer::Ready(body),
		401 | 403 => return Err(unauthorized(status)),
		404 => Answer::Unknown,
		409 => Answer::Refused(reason(status, &body)),
		_ => Answer::NotYet,
	})
}

/// Sends `request` with the deadline; returns the status and body.
fn send<I: AsRef<[u8]>, B: Default + IntoIterator<Item = I>>(
	request: http::Request<'_, B>,
) -> Result<(u16, Vec<u8>), String> {
	let deadline = sp_io::offchain::timestamp().add(Duration::from_millis(HTTP_DEADLINE_MS));
	let pending = request
		.deadline(deadline)
		.send()
		.map_err(|_| String::from("the agent could not be reached"))?;
	let response = pending
		.try_wait(deadline)
		.map_err(|_| String::from("the agent did not answer in time"))?
		.map_err(|_| String::from("the agent's answer failed"))?;
	Ok((response.code, response.body().collect()))
}
