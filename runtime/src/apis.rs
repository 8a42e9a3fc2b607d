//! The runtime APIs the node and clients (polkadot.js, subxt) call.

use alloc::vec::Vec;
use frame_support::{
	genesis_builder_helper::{build_state, get_preset},
	weights::Weight,
};
use pallet_grandpa::AuthorityId as GrandpaId;
use sp_api::impl_runtime_apis;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
	traits::{Block as BlockT, NumberFor},
	transaction_validity::{TransactionSource, TransactionValidity},
	ApplyExtrinsicResult, ExtrinsicInclusionMode,
};
use sp_version::RuntimeVersion;

use twinnet_primitives::{
	commitments::{CommitmentId, CommitmentView, JobId},
	consent::{AuditRecord, GrantId, GrantView, Grantee, JobSpend},
	datasets::{DatasetView, Exclusion, LicenceId, LicenceView},
	did::{Controller, DidId, DidResolution},
};

use super::{
	genesis_config_presets, opaque, AccountId, Aura, Balance, Block, BlockNumber, Commitments,
	Consent, Datasets, Executive, Grandpa, InherentDataExt, Nonce, Runtime, RuntimeCall,
	RuntimeGenesisConfig, System, TransactionPayment, Twins, VERSION,
};

impl_runtime_apis! {
	impl sp_api::Core<Block> for Runtime {
		fn version() -> RuntimeVersion {
			VERSION
		}

		fn execute_block(block: <Block as BlockT>::LazyBlock) {
			Executive::execute_block(block);
		}

		fn initialize_block(header: &<Block as BlockT>::Header) -> ExtrinsicInclusionMode {
			Executive::initialize_block(header)
		}
	}

	impl sp_api::Metadata<Block> for Runtime {
		fn metadata() -> OpaqueMetadata {
			OpaqueMetadata::new(Runtime::metadata().into())
		}

		fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
			Runtime::metadata_at_version(version)
		}

		fn metadata_versions() -> Vec<u32> {
			Runtime::metadata_versions()
		}
	}

	impl frame_support::view_functions::runtime_api::RuntimeViewFunction<Block> for Runtime {
		fn execute_view_function(
			id: frame_support::view_functions::ViewFunctionId,
			input: Vec<u8>,
		) -> Result<Vec<u8>, frame_support::view_functions::ViewFunctionDispatchError> {
			Runtime::execute_view_function(id, input)
		}
	}

	impl sp_block_builder::BlockBuilder<Block> for Runtime {
		fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
			Executive::apply_extrinsic(extrinsic)
		}

		fn finalize_block() -> <Block as BlockT>::Header {
			Executive::finalize_block()
		}

		fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
			data.create_extrinsics()
		}

		fn check_inherents(
			block: <Block as BlockT>::LazyBlock,
			data: sp_inherents::InherentData,
		) -> sp_inherents::CheckInherentsResult {
			data.check_extrinsics(&block)
		}
	}

	impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
		fn validate_transaction(
			source: TransactionSource,
			tx: <Block as BlockT>::Extrinsic,
			block_hash: <Block as BlockT>::Hash,
		) -> TransactionValidity {
			Executive::validate_transaction(source, tx, block_hash)
		}
	}

	impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
		fn offchain_worker(header: &<Block as BlockT>::Header) {
			Executive::offchain_worker(header)
		}
	}

	impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
		fn slot_duration() -> sp_consensus_aura::SlotDuration {
			sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
		}

		fn authorities() -> Vec<AuraId> {
			pallet_aura::Authorities::<Runtime>::get().into_inner()
		}
	}

	impl sp_session::SessionKeys<Block> for Runtime {
		fn generate_session_keys(
			owner: Vec<u8>,
			seed: Option<Vec<u8>>,
		) -> sp_session::OpaqueGeneratedSessionKeys {
			opaque::SessionKeys::generate(&owner, seed).into()
		}

		fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
			opaque::SessionKeys::decode_into_raw_public_keys(&encoded)
		}
	}

	impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
		fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
			Grandpa::grandpa_authorities()
		}

		fn current_set_id() -> sp_consensus_grandpa::SetId {
			Grandpa::current_set_id()
		}

		fn submit_report_equivocation_unsigned_extrinsic(
			_equivocation_proof: sp_consensus_grandpa::EquivocationProof<
				<Block as BlockT>::Hash,
				NumberFor<Block>,
			>,
			_key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
		) -> Option<()> {
			None
		}

		fn generate_key_ownership_proof(
			_set_id: sp_consensus_grandpa::SetId,
			_authority_id: GrandpaId,
		) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
			// `KeyOwnerProof` is the empty type: no proof can exist.
			None
		}
	}

	impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
		fn account_nonce(account: AccountId) -> Nonce {
			System::account_nonce(account)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
		fn query_info(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_info(uxt, len)
		}

		fn query_fee_details(
			uxt: <Block as BlockT>::Extrinsic,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_fee_details(uxt, len)
		}

		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}

		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentCallApi<Block, Balance, RuntimeCall>
		for Runtime
	{
		fn query_call_info(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_call_info(call, len)
		}

		fn query_call_fee_details(
			call: RuntimeCall,
			len: u32,
		) -> pallet_transaction_payment::FeeDetails<Balance> {
			TransactionPayment::query_call_fee_details(call, len)
		}

		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}

		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	impl pallet_twins_runtime_api::TwinsApi<Block, AccountId, BlockNumber> for Runtime {
		fn resolve(did: DidId) -> Option<DidResolution<AccountId, BlockNumber>> {
			Twins::resolve(&did)
		}

		fn list_by_controller(controller: Controller<AccountId>, start_after: Option<DidId>, limit: u32) -> Vec<DidId> {
			Twins::dids_controlled_by(&controller, start_after, limit.min(pallet_twins_runtime_api::MAX_PAGE))
		}
	}

	impl pallet_consent_runtime_api::ConsentApi<Block, AccountId, BlockNumber> for Runtime {
		fn grants_of(twin: DidId) -> Vec<GrantView<AccountId, BlockNumber>> {
			Consent::grants_of(&twin)
		}

		fn usage_of(twin: DidId) -> Vec<AuditRecord<AccountId, BlockNumber>> {
			Consent::audit_trail(&twin)
		}

		fn grants_held_by(
			grantee: Grantee<AccountId>,
			start_after: Option<(DidId, GrantId)>,
			limit: u32,
		) -> Vec<(DidId, GrantView<AccountId, BlockNumber>)> {
			let limit = limit.min(pallet_consent_runtime_api::MAX_PAGE);
			Consent::grant_views_held_by(&grantee, start_after, limit)
		}

		fn job_spends(
			twin: DidId,
			start_after: Option<(GrantId, JobId)>,
			limit: u32,
		) -> Vec<(GrantId, JobId, JobSpend<BlockNumber>)> {
			Consent::job_spends(&twin, start_after, limit.min(pallet_consent_runtime_api::MAX_PAGE))
		}
	}

	impl pallet_commitments_runtime_api::CommitmentsApi<Block, AccountId, BlockNumber, Balance> for Runtime {
		fn commitment(id: CommitmentId) -> Option<CommitmentView<AccountId, BlockNumber, Balance>> {
			Commitments::view(id)
		}

		fn by_committer(committer: DidId, start_after: Option<CommitmentId>, limit: u32) -> Vec<CommitmentId> {
			Commitments::by_committer(committer, start_after, limit.min(pallet_commitments_runtime_api::MAX_PAGE))
		}

		fn by_job(job: JobId, start_after: Option<(u32, CommitmentId)>, limit: u32) -> Vec<(u32, CommitmentId)> {
			Commitments::by_job(job, start_after, limit.min(pallet_commitments_runtime_api::MAX_PAGE))
		}

		fn provenance(
			id: CommitmentId,
			max_depth: u32,
		) -> pallet_commitments_runtime_api::Provenance {
			Commitments::provenance(
				id,
				max_depth.min(pallet_commitments_runtime_api::MAX_PROVENANCE_DEPTH),
				pallet_commitments_runtime_api::MAX_PROVENANCE_NODES,
			)
		}

		fn leaves(id: CommitmentId) -> Option<Vec<sp_core::H256>> {
			Commitments::stored_leaves(id)
		}

		fn made_by_chain(id: CommitmentId) -> bool {
			Commitments::made_by_chain(id)
		}

		fn attestations(
			id: CommitmentId,
			start_after: Option<DidId>,
			limit: u32,
		) -> Vec<twinnet_primitives::commitments::AttestationView<AccountId, BlockNumber>> {
			Commitments::attestations(id, start_after, limit.min(pallet_commitments_runtime_api::MAX_PAGE))
		}

		fn attestation(
			id: CommitmentId,
			attester: DidId,
		) -> Option<twinnet_primitives::commitments::AttestationView<AccountId, BlockNumber>> {
			Commitments::attestation(id, attester)
		}
	}

	impl pallet_datasets_runtime_api::DatasetsApi<Block, AccountId, BlockNumber, Balance> for Runtime {
		fn dataset(id: DidId) -> Option<DatasetView<AccountId, BlockNumber, Balance>> {
			pallet_datasets::Datasets::<Runtime>::get(id).map(|record| dataset_view(id, record))
		}

		fn lineage(id: DidId, depth: u32, limit: u32) -> pallet_datasets_runtime_api::LineageWalk {
			use pallet_datasets_runtime_api::{walk, MAX_DEPTH, MAX_PAGE};
			let (depth, limit) = (depth.min(MAX_DEPTH), limit.min(MAX_PAGE));
			let (ancestors, above) = walk(id, depth, limit, |node| {
				pallet_datasets::Datasets::<Runtime>::get(node)
					.map(|record| record.lineage.parents.into_inner())
					.unwrap_or_default()
					.into_iter()
			});
			let (descendants, below) = walk(id, depth, limit, |node| {
				pallet_datasets::Children::<Runtime>::iter_key_prefix(node)
			});
			(ancestors, descendants, above || below)
		}

		fn licences_of(
			dataset: DidId,
			start_after: Option<LicenceId>,
			limit: u32,
		) -> Vec<LicenceView<AccountId, BlockNumber, Balance>> {
			let Some(record) = pallet_datasets::Datasets::<Runtime>::get(dataset) else {
				return Vec::new();
			};
			pallet_datasets_runtime_api::licence_page(
				start_after,
				limit.min(pallet_datasets_runtime_api::MAX_PAGE),
				record.licences_sold,
				record.licences_outstanding,
				|| pallet_datasets::Licences::<Runtime>::iter_key_prefix(dataset),
				|licence| {
					pallet_datasets::Licences::<Runtime>::contains_key(dataset, licence)
						.then(|| Datasets::licence_view(&dataset, licence))
						.flatten()
				},
			)
		}

		fn contributors(
			dataset: DidId,
			start_after: Option<DidId>,
			limit: u32,
		) -> Vec<(DidId, Option<Exclusion>)> {
			Datasets::contributors_of(&dataset, start_after, limit.min(pallet_datasets_runtime_api::MAX_PAGE))
		}
	}

	impl pallet_federated_runtime_api::FederatedApi<Block, AccountId, Balance, BlockNumber> for Runtime {
		fn job(id: JobId) -> Option<twinnet_primitives::federated::JobView<AccountId, Balance, BlockNumber>> {
			crate::Federated::job_view(id)
		}

		fn round(job: JobId, round: u32) -> Option<twinnet_primitives::federated::RoundView<BlockNumber>> {
			crate::Federated::round_view(job, round)
		}

		fn twin_usage(job: JobId, round: u32, twin: DidId) -> twinnet_primitives::federated::TwinUsage {
			crate::Federated::twin_usage(job, round, &twin)
		}

		fn model(job: JobId) -> Option<Vec<i32>> {
			pallet_federated::Models::<Runtime>::get(job).map(|model| model.into_inner())
		}

		fn rounds_of(job: JobId, start_after: Option<u32>, limit: u32) -> Vec<u32> {
			let Some(record) = pallet_federated::Jobs::<Runtime>::get(job) else {
				return Vec::new();
			};
			pallet_federated_runtime_api::round_page(
				start_after,
				limit.min(pallet_federated_runtime_api::MAX_PAGE),
				record.next_round,
				|round| pallet_federated::Rounds::<Runtime>::contains_key(job, round),
			)
		}
	}

	impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
		fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
			build_state::<RuntimeGenesisConfig>(config)
		}

		fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
			get_preset::<RuntimeGenesisConfig>(id, genesis_config_presets::get_preset)
		}

		fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
			genesis_config_presets::preset_names()
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	impl frame_benchmarking::Benchmark<Block> for Runtime {
		fn benchmark_metadata(extra: bool) -> (
			Vec<frame_benchmarking::BenchmarkList>,
			Vec<frame_support::traits::StorageInfo>,
		) {
			crate::benchmarks::metadata(extra)
		}

		fn dispatch_benchmark(
			config: frame_benchmarking::BenchmarkConfig,
		) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
			crate::benchmarks::dispatch(config)
		}
	}

	#[cfg(feature = "try-runtime")]
	impl frame_try_runtime::TryRuntime<Block> for Runtime {
		fn on_runtime_upgrade(checks: frame_try_runtime::UpgradeCheckSelect) -> (Weight, Weight) {
			// try-runtime is an off-chain tool: a failed check must stop it loudly.
			#[allow(clippy::expect_used)]
			let weight = Executive::try_runtime_upgrade(checks).expect("runtime upgrade checks failed");
			(weight, crate::configs::RuntimeBlockWeights::get().max_block)
		}

		fn execute_block(
			block: <Block as BlockT>::LazyBlock,
			state_root_check: bool,
			signature_check: bool,
			select: frame_try_runtime::TryStateSelect,
		) -> Weight {
			#[allow(clippy::expect_used)]
			Executive::try_execute_block(block, state_root_check, signature_check, select)
				.expect("try_execute_block failed")
		}
	}
}

/// Dataset `id`'s record as the runtime API returns it.
fn dataset_view(
	id: DidId,
	record: pallet_datasets::DatasetOf<Runtime>,
) -> DatasetView<AccountId, BlockNumber, Balance> {
	let orderable = record.state.is_orderable() && record.meets_floor();
	DatasetView {
		id,
		institution: record.institution,
		publisher: record.publisher,
		content_hash: record.descriptor.content_hash,
		location: record.descriptor.location.into_inner(),
		schema: record.descriptor.schema,
		size_bytes: record.descriptor.size_bytes,
		record_count: record.descriptor.record_count,
		metadata_hash: record.descriptor.metadata_hash,
		price: record.terms.price,
		offers_view: record.terms.scopes.view,
		offers_compute: record.terms.scopes.compute,
		purposes: record.terms.purposes.into_inner(),
		duration: record.terms.duration,
		max_licences: record.terms.max_licences,
		transferable: record.terms.transferable,
		parents: record.lineage.parents.into_inner(),
		transformation: record.lineage.transformation,
		algorithms: record.algorithms.into_inner(),
		raw_download: record.raw_download,
		state: record.state,
		min_contributors: record.min_contributors,
		contributors: record.contributors,
		counted: record.counted,
		licences_sold: record.licences_sold,
		licences_outstanding: record.licences_outstanding,
		deposit: record.deposit,
		registered_at: record.registered_at,
		orderable,
	}
}
