//! Runtime API of pallet-federated, which the `federated_*` RPC methods
//! call, and the page of round numbers its implementation in the runtime
//! makes.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
use twinnet_primitives::{
	did::DidId,
	federated::{JobId, JobView, RoundView, TwinUsage},
};

/// The most round numbers one call of [`FederatedApi::rounds_of`] returns.
pub const MAX_PAGE: u32 = 100;

sp_api::decl_runtime_apis! {
	/// Reads federated training jobs and their rounds' proof records.
	pub trait FederatedApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// Job `id`: its spec, participants, state, escrow and deposit.
		fn job(id: JobId) -> Option<JobView<AccountId, Balance, BlockNumber>>;

		/// Round `round` of job `job`: its proof record with each
		/// participant's cohort (the twins admitted and those excluded).
		fn round(job: JobId, round: u32) -> Option<RoundView<BlockNumber>>;

		/// Whether `twin`'s rows were used in round `round` of job `job`,
		/// with the evidence; `NotInRound` also if the round does not exist.
		fn twin_usage(job: JobId, round: u32, twin: DidId) -> TwinUsage;

		/// Job `job`'s latest aggregate (the model its next round starts
		/// from), fixed-point parameters in units of 2⁻¹⁶; `None` before
		/// a round released one, or if the job does not exist.
		fn model(job: JobId) -> Option<Vec<i32>>;

		/// Up to `limit` (at most [`MAX_PAGE`]) numbers of job `job`'s
		/// recorded rounds after `start_after`, ascending; empty for a job
		/// that does not exist.
		fn rounds_of(job: JobId, start_after: Option<u32>, limit: u32) -> Vec<u32>;
	}
}

/// A page of round numbers, ascending: those after `start_after` and below
/// `next_round` (the job's next round number) for which `recorded` holds,
/// at most `limit`. Round numbers are handed out in order and a round's
/// record is kept, so `recorded` fails only for a round the job ended
/// before recording; it is asked no further than the page needs.
pub fn round_page(
	start_after: Option<u32>,
	limit: u32,
	next_round: u32,
	recorded: impl FnMut(&u32) -> bool,
) -> Vec<u32> {
	let from = match start_after {
		None => 0,
		Some(after) => match after.checked_add(1) {
			Some(from) => from,
			None => return Vec::new(),
		},
	};
	(from..next_round).filter(recorded).take(limit as usize).collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	fn page(start_after: Option<u32>, limit: u32, next_round: u32, missing: &[u32]) -> Vec<u32> {
		round_page(start_after, limit, next_round, |round| !missing.contains(round))
	}

	#[test]
	fn round_pages_are_ascending_after_the_cursor() {
		assert_eq!(page(None, 100, 4, &[]), [0, 1, 2, 3]);
		assert_eq!(page(None, 2, 4, &[]), [0, 1]);
		assert_eq!(page(Some(1), 2, 4, &[]), [2, 3]);
		assert_eq!(page(Some(3), 2, 4, &[]), Vec::<u32>::new());
		assert_eq!(page(Some(u32::MAX), 2, u32::MAX, &[]), Vec::<u32>::new());
		assert_eq!(page(None, 100, 0, &[]), Vec::<u32>::new());
		assert_eq!(page(None, 0, 4, &[]), Vec::<u32>::new());
	}

	#[test]
	fn round_pages_skip_unrecorded_rounds_and_probe_no_further_than_needed() {
		// The last round's record was never written (the job failed opening it).
		assert_eq!(page(None, 100, 5, &[4]), [0, 1, 2, 3]);
		assert_eq!(page(Some(2), 100, 5, &[4]), [3]);
		let probes = core::cell::Cell::new(0u32);
		let counted = round_page(None, 3, 1_000, |_| {
			probes.set(probes.get().saturating_add(1));
			true
		});
		assert_eq!((counted, probes.get()), (vec![0, 1, 2], 3));
	}
}
