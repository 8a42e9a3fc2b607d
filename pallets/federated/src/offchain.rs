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
//!    once training is done (any other status, or an empty body: not yet).
//!    The opening block is the round record's `opening_block` as the agent
//!    read it with the cohort it trained on; an update for another opening
//!    block than this node's record (the round as it opened on another
//!    fork) is never reported;
//! 3. **reports** it: signs the report message ([`report_message`]) with the
//!    local key and submits `submit_update` as an authorized transaction
//!    (`CreateAuthorizedTransaction`; no account, no nonce, no fee).
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
	traits::DidRegistry,
};

use crate::{
	pallet::{
		Agenda, Call, Cohorts, Config, Jobs, Pallet, ReportOf, RevealOf, Reveals, Rounds, Updates,
	},
	CohortStatus, Contribution, JobId, JobState, Report, Reveal,
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
	/// admitted and has not reported, and the masked rounds in recovery in
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
				let due = match duty {
					Duty::Report => {
						Cohorts::<T>::get(key)
							.is_some_and(|cohort| cohort.status == CohortStatus::Admitted)
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
					tasks.push(Task { job, round, institution, key, duty, masked, opening_block });
				}
			}
		}
		tasks
	}

	/// Takes `task` one step further: dispatch, or collect and report; or
	/// fetch the seeds and reveal them.
	fn advance(agent: &str, task: &Task, now: u64) -> Result<(), String> {
		let key = task.storage_key();
		let state = StorageValueRef::persistent(&key);
		let current = state.get::<TaskState>().map_err(|_| String::from("corrupt task state"))?;
		let call = match (task.duty, current) {
			(Duty::Report, None) => {
				dispatch(agent, task)?;
				state.set(&TaskState::Dispatched);
				return Ok(());
			},
			// Collected and reported, or reported long ago and still not on
			// chain: collect and report (again).
			(Duty::Report, Some(_)) => {
				let Some((records, update)) = collect::<T::MaxParameters>(agent, task)? else {
					return Ok(());
				};
				Self::report_call(task, records, update)?
			},
			(Duty::Reveal, _) => {
				let Some(seeds) = fetch_seeds(agent, task)? else { return Ok(()) };
				Self::reveal_call(task, seeds)?
			},
		};
		let transaction = T::create_authorized_transaction(call.into());
		SubmitTransaction::<T, Call<T>>::submit_transaction(transaction)
			.map_err(|()| String::from("the pool refused the transaction"))?;
		state.set(&TaskState::Submitted { at: now });
		Ok(())
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

/// The agent's update for the task, once it is ready: a model, or for a
/// masked job a masked update; refused if the agent trained for another
/// opening block than the task's.
fn collect<MaxParameters: Get<u32>>(
	agent: &str,
	task: &Task,
) -> Result<Option<(u32, Contribution<MaxParameters>)>, String> {
	let Some(body) = fetch(agent, task, "")? else { return Ok(None) };
	let too_long = || String::from("the agent's update has too many parameters");
	let (records, opening_block, update) = if task.masked {
		<(u32, [u8; 32], Vec<u32>)>::decode(&mut body.as_slice())
			.map_err(|_| {
				String::from("the agent's update is not SCALE (records, opening block, masked)")
			})
			.and_then(|(records, opening_block, masked)| {
				let masked = BoundedVec::try_from(masked).map_err(|_| too_long())?;
				Ok((records, opening_block, Contribution::Masked(masked)))
			})?
	} else {
		<(u32, [u8; 32], Vec<i32>)>::decode(&mut body.as_slice())
			.map_err(|_| {
				String::from("the agent's update is not SCALE (records, opening block, parameters)")
			})
			.and_then(|(records, opening_block, model)| {
				let model = BoundedVec::try_from(model).map_err(|_| too_long())?;
				Ok((records, opening_block, Contribution::Model(model)))
			})?
	};
	same_fork(task, opening_block)?;
	Ok(Some((records, update)))
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

/// The seeds the agent reveals for the task's round in recovery, once it
/// answers: (dropped institution, seed) in the round's `dropped` order.
fn fetch_seeds(agent: &str, task: &Task) -> Result<Option<Vec<(DidId, [u8; 32])>>, String> {
	let Some(body) = fetch(agent, task, "/seeds")? else { return Ok(None) };
	let (opening_block, seeds) =
		<([u8; 32], Vec<([u8; 32], [u8; 32])>)>::decode(&mut body.as_slice()).map_err(|_| {
			String::from("the agent's seeds are not SCALE (opening block, (dropped, seed) pairs)")
		})?;
	same_fork(task, opening_block)?;
	Ok(Some(seeds.into_iter().map(|(did, seed)| (DidId::from(did), seed)).collect()))
}

/// The body of the agent's 200 answer for the task's round at `suffix`, if
/// it gave one.
fn fetch(agent: &str, task: &Task, suffix: &str) -> Result<Option<Vec<u8>>, String> {
	let url = format!(
		"{agent}/v1/rounds/{}/{}/{}{suffix}",
		task.job,
		task.round,
		format_did(&task.institution)
	);
	let (status, body) = send(http::Request::get(&url))?;
	Ok((status == 200 && !body.is_empty()).then_some(body))
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
