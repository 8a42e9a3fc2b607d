//! Runtime API of pallet-commitments, which the `commitments_*` RPC methods call.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
use sp_core::H256;
use twinnet_primitives::{
	commitments::{
		AttestationView, CommitmentId, CommitmentKind, CommitmentStatus, CommitmentView, JobId,
		ProvenanceNode,
	},
	did::DidId,
};

/// The most entries one call of a listing method returns.
pub const MAX_PAGE: u32 = 100;
/// The deepest provenance walk one call does.
pub const MAX_PROVENANCE_DEPTH: u32 = 32;
/// The most nodes one provenance walk returns.
pub const MAX_PROVENANCE_NODES: u32 = 256;

/// A commitment in brief, from the one read of its record a provenance walk
/// makes: its kind, whether it stands, and how many institutions attested
/// it. Everything else (hash, committer, attestations, dispute, …) is
/// [`CommitmentsApi::commitment`]'s, for the nodes an auditor opens.
pub type CommitmentSummary = (CommitmentKind, CommitmentStatus, u32);

/// A provenance graph: its nodes breadth first, each commitment with its
/// summary (a dataset, or a first node that does not exist, without), and
/// whether the walk was cut short.
pub type Provenance = (Vec<(ProvenanceNode, Option<CommitmentSummary>)>, bool);

sp_api::decl_runtime_apis! {
	/// Reads the commitment registry. Version 2: `provenance` returns each
	/// commitment's summary, not its full view. Version 3: `made_by_chain`.
	/// Version 4: `attestations` and `attestation` (attestations are
	/// unbounded: a commitment's view lists its first ones only).
	#[api_version(4)]
	pub trait CommitmentsApi<AccountId, BlockNumber, Balance>
	where
		AccountId: Codec,
		BlockNumber: Codec,
		Balance: Codec,
	{
		/// Commitment `id`, with its first attestations (from version 4; all
		/// of them before) and open dispute.
		fn commitment(id: CommitmentId) -> Option<CommitmentView<AccountId, BlockNumber, Balance>>;

		/// Up to `limit` (at most [`MAX_PAGE`]) commitments of `committer`,
		/// in storage order after `start_after`.
		fn by_committer(committer: DidId, start_after: Option<CommitmentId>, limit: u32) -> Vec<CommitmentId>;

		/// Up to `limit` (at most [`MAX_PAGE`]) (round, commitment) of `job`,
		/// in storage order after `start_after`.
		fn by_job(job: JobId, start_after: Option<(u32, CommitmentId)>, limit: u32) -> Vec<(u32, CommitmentId)>;

		/// The provenance graph of `id`, breadth first, at most `max_depth`
		/// (at most [`MAX_PROVENANCE_DEPTH`]) links deep and
		/// [`MAX_PROVENANCE_NODES`] nodes, each commitment node with its
		/// [`CommitmentSummary`] (one read of each record, one runtime call
		/// for the whole graph); and whether it was cut short.
		fn provenance(id: CommitmentId, max_depth: u32) -> Provenance;

		/// The leaves stored on chain for `id`'s Merkle root, if any.
		fn leaves(id: CommitmentId) -> Option<Vec<H256>>;

		/// Whether the chain made commitment `id`: it is the commitment of
		/// its job round's released aggregate, as the federated pallet
		/// recorded it (every other commitment was signed). Since version 3.
		fn made_by_chain(id: CommitmentId) -> bool;

		/// Up to `limit` (at most [`MAX_PAGE`]) attestations of `id`, in
		/// storage order after the attester `start_after`. Since version 4.
		fn attestations(id: CommitmentId, start_after: Option<DidId>, limit: u32) -> Vec<AttestationView<AccountId, BlockNumber>>;

		/// The attestation of `id` by the institution `attester`, if any.
		/// Since version 4.
		fn attestation(id: CommitmentId, attester: DidId) -> Option<AttestationView<AccountId, BlockNumber>>;
	}
}
