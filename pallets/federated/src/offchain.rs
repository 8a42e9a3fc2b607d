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
//!    of `(records: u32, parameters: Vec<i32>)` once training is done (any
//!    other status, or an empty body: not yet);
//! 3. **reports** it: signs the report message ([`report_message`]) with the
//!    local key and submits `submit_update` as an authorized transaction
//!    (`CreateAuthorizedTransaction`; no account, no nonce, no fee).
//!
//! The agent's base URL is read from the node's persistent offchain storage:
//! under [`AGENT_URL_KEY`] followed by `/` and the institution's DID
//! (`twinnet/federated/agent-url/did:twin:…`) for a node that holds the keys
//! of several institutions, each with its own agent, else under
//! [`AGENT_URL_KEY`] itself (set with `offchain_localStorageSet` or
//! `twinctl`); an institution without either is left alone. Each HTTP request has a
//! deadline of [`HTTP_DEADLINE_MS`]; at most [`MAX_TASKS_PER_BLOCK`] tasks
//! are handled per block; one run at a time holds a storage lock, so two
//! runs never submit the same report. A failed request is retried on the
//! next block, and a report not on chain [`RESUBMIT_AFTER_BLOCKS`] after it
//! was submitted is collected and submitted again; the pool refuses a
//! report the chain already has, and the
//! chain refuses one outside its round, so neither a replay nor a report
//! reordered into another round can land.

use alloc::{format, string::String, vec::Vec};
use codec::{Decode, Encode};
use frame_support::pallet_prelude::*;
use frame_system::{
	offchain::{CreateAuthorizedTransaction, SubmitTransaction},
	pallet_prelude::BlockNumberFor,
};
use sp_core::crypto::KeyTypeId;
use sp_runtime::offchain::{
	http,
	storage::StorageValueRef,
	storage_lock::{StorageLock, Time},
	Duration,
};
use sp_runtime::traits::UniqueSaturatedInto;
use twinnet_primitives::{
	did::{format_did, DidId, DidSignature, PublicKey, Relationship},
	traits::DidRegistry,
};

use crate::{
	pallet::{Agenda, Call, Cohorts, Config, Jobs, Pallet, ReportOf, Updates},
	CohortStatus, JobId, JobState, Report,
};

/// The keystore key type of an institution's report key (an sr25519 key
/// registered as `capabilityInvocation` on the institution's DID).
pub const KEY_TYPE: KeyTypeId = KeyTypeId(*b"twfd");

/// The persistent offchain-storage key of the node's compute agent's base
/// URL, and the prefix of an institution's own (see the module docs).
pub const AGENT_URL_KEY: &[u8] = b"twinnet/federated/agent-url";

/// How long one HTTP request to the agent may take.
pub const HTTP_DEADLINE_MS: u64 = 2_000;

/// The most tasks (dispatches, collections) handled after one block.
pub const MAX_TASKS_PER_BLOCK: usize = 4;

/// The lock that keeps two runs of the worker from working at once.
const LOCK_KEY: &[u8] = b"twinnet/federated/lock";
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
}

/// How many blocks after submitting a report that is not on chain yet the
/// worker collects and submits it again (the pool may have dropped it).
pub const RESUBMIT_AFTER_BLOCKS: u64 = 5;

/// One round an institution of this node must report in.
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
}

impl Task {
	/// The offchain-storage key of its state.
	fn storage_key(&self) -> Vec<u8> {
		let mut key = TASK_PREFIX.to_vec();
		(self.job, self.round, self.institution).encode_to(&mut key);
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
		// Reports submitted recently are waiting for inclusion: they take
		// no task slot.
		let waiting = |task: &Task| {
			let state = StorageValueRef::persistent(&task.storage_key()).get::<TaskState>();
			matches!(state, Ok(Some(TaskState::Submitted { at }))
				if now < at.saturating_add(RESUBMIT_AFTER_BLOCKS))
		};
		let due = Self::tasks(&keys)
			.into_iter()
			.filter(|task| !waiting(task))
			.filter_map(|task| agent_url(&task.institution).map(|agent| (task, agent)));
		for (task, agent) in due.take(MAX_TASKS_PER_BLOCK) {
			if let Err(error) = Self::advance(&agent, &task, now) {
				log::warn!(
					target: "federated",
					"job {} round {}: {error}", task.job, task.round
				);
			}
		}
	}

	/// The open rounds in which an institution with a key in `keys` is
	/// admitted and has not reported, in agenda order.
	pub fn tasks(keys: &[sp_core::sr25519::Public]) -> Vec<Task> {
		let mut tasks = Vec::new();
		for (_, job) in Agenda::<T>::get() {
			let Some(record) = Jobs::<T>::get(job) else { continue };
			let JobState::Running { round, .. } = record.state else { continue };
			for participant in &record.participants {
				let institution = participant.institution;
				let admitted = Cohorts::<T>::get((job, round, institution))
					.is_some_and(|cohort| cohort.status == CohortStatus::Admitted);
				if !admitted || Updates::<T>::contains_key((job, round, institution)) {
					continue;
				}
				let local = T::Dids::keys_for(&institution, Relationship::CapabilityInvocation)
					.into_iter()
					.find_map(|key| match key {
						PublicKey::Sr25519(raw) => {
							keys.iter().find(|local| local.0 == raw).copied()
						},
						_ => None,
					});
				if let Some(key) = local {
					tasks.push(Task { job, round, institution, key });
				}
			}
		}
		tasks
	}

	/// Takes `task` one step further: dispatch, or collect and report.
	fn advance(agent: &str, task: &Task, now: u64) -> Result<(), String> {
		let key = task.storage_key();
		let state = StorageValueRef::persistent(&key);
		match state.get::<TaskState>().map_err(|_| String::from("corrupt task state"))? {
			None => {
				dispatch(agent, task)?;
				state.set(&TaskState::Dispatched);
			},
			// Collected and reported, or reported long ago and still not on
			// chain: collect and report (again).
			Some(TaskState::Dispatched | TaskState::Submitted { .. }) => {
				let Some((records, parameters)) = collect(agent, task)? else { return Ok(()) };
				Self::report(task, records, parameters)?;
				state.set(&TaskState::Submitted { at: now });
			},
		}
		Ok(())
	}

	/// Signs and submits `task`'s report.
	fn report(task: &Task, records: u32, parameters: Vec<i32>) -> Result<(), String> {
		let parameters = BoundedVec::try_from(parameters)
			.map_err(|_| String::from("the agent's update has too many parameters"))?;
		let report: ReportOf<T> = Report {
			job: task.job,
			round: task.round,
			institution: task.institution,
			records,
			parameters,
		};
		let message = report.message(Self::genesis_hash());
		let signature = sp_io::crypto::sr25519_sign(KEY_TYPE, &task.key, &message)
			.ok_or_else(|| String::from("the keystore lost the report key"))?;
		let call = Call::<T>::submit_update {
			report: alloc::boxed::Box::new(report),
			signature: DidSignature::Sr25519(signature.0),
		};
		let transaction = T::create_authorized_transaction(call.into());
		SubmitTransaction::<T, Call<T>>::submit_transaction(transaction)
			.map_err(|()| String::from("the pool refused the report"))
	}
}

/// The base URL of `institution`'s compute agent: its own, else the node's.
fn agent_url(institution: &DidId) -> Option<String> {
	let mut own = AGENT_URL_KEY.to_vec();
	own.push(b'/');
	own.extend_from_slice(format_did(institution).as_bytes());
	stored_url(&own).or_else(|| stored_url(AGENT_URL_KEY))
}

/// The URL stored under `key`, without a trailing slash, if there is one.
fn stored_url(key: &[u8]) -> Option<String> {
	let stored =
		sp_io::offchain::local_storage_get(sp_core::offchain::StorageKind::PERSISTENT, key)?;
	let url = String::from_utf8(stored).ok()?;
	let url = url.trim().trim_end_matches('/');
	(!url.is_empty()).then(|| String::from(url))
}

/// Hands the round to the agent.
fn dispatch(agent: &str, task: &Task) -> Result<(), String> {
	let body = format!(
		r#"{{"job":{},"round":{},"institution":"{}"}}"#,
		task.job,
		task.round,
		format_did(&task.institution)
	);
	let url = format!("{agent}/v1/rounds");
	let request = http::Request::post(&url, alloc::vec![body.into_bytes()])
		.add_header("Content-Type", "application/json");
	let (status, _) = send(request)?;
	match status {
		200..=299 => Ok(()),
		status => Err(format!("the agent refused the round: HTTP {status}")),
	}
}

/// The agent's update for the task, once it is ready.
fn collect(agent: &str, task: &Task) -> Result<Option<(u32, Vec<i32>)>, String> {
	let url =
		format!("{agent}/v1/rounds/{}/{}/{}", task.job, task.round, format_did(&task.institution));
	let (status, body) = send(http::Request::get(&url))?;
	if status != 200 || body.is_empty() {
		return Ok(None);
	}
	<(u32, Vec<i32>)>::decode(&mut body.as_slice())
		.map(Some)
		.map_err(|_| String::from("the agent's update is not SCALE (records, parameters)"))
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
