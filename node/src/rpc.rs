//! The node's JSON-RPC extensions beside the ones `sc-service` installs.

use std::sync::Arc;

use jsonrpsee::RpcModule;
use pallet_twins_rpc::BlockTime;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use sp_consensus_aura::{sr25519::AuthoritySignature as AuraSignature, SlotDuration};
use sp_runtime::traits::Block as BlockT;
use twinnet_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Nonce};

/// What the RPC extensions need from the node.
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// When a block was made, for DID document metadata.
	pub block_time: BlockTime<<Block as BlockT>::Header>,
}

/// A block's time under Aura: the start of its slot (its timestamp lies
/// within the slot). The genesis block has no slot, so no time.
pub fn aura_block_time(slot_duration: SlotDuration) -> BlockTime<<Block as BlockT>::Header> {
	Arc::new(move |header| {
		let slot = sc_consensus_aura::find_pre_digest::<Block, AuraSignature>(header).ok()?;
		u64::from(slot).checked_mul(slot_duration.as_millis())
	})
}

/// All RPC extensions of a full node.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
		+ pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ pallet_twins_rpc::TwinsRuntimeApi<Block, AccountId, BlockNumber>
		+ pallet_consent_rpc::ConsentRuntimeApi<Block, AccountId, BlockNumber>
		+ pallet_commitments_rpc::CommitmentsRuntimeApi<Block, AccountId, BlockNumber, Balance>
		+ pallet_datasets_rpc::DatasetsRuntimeApi<Block, AccountId, BlockNumber, Balance>
		+ pallet_federated_rpc::FederatedRuntimeApi<Block, AccountId, Balance, BlockNumber>
		+ BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_commitments_rpc::{Commitments, CommitmentsApiServer};
	use pallet_consent_rpc::{Consent, ConsentApiServer};
	use pallet_datasets_rpc::{Datasets, DatasetsApiServer};
	use pallet_federated_rpc::{Federated, FederatedApiServer};
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use pallet_twins_rpc::{Twins, TwinsApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let FullDeps { client, pool, block_time } = deps;
	let mut module = RpcModule::new(());
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(Twins::<_, Block, AccountId>::new(client.clone(), block_time).into_rpc())?;
	module.merge(Consent::<_, Block, AccountId>::new(client.clone()).into_rpc())?;
	module.merge(Commitments::<_, Block, AccountId, Balance>::new(client.clone()).into_rpc())?;
	module.merge(Federated::<_, Block, AccountId, Balance>::new(client.clone()).into_rpc())?;
	module.merge(Datasets::<_, Block, AccountId, Balance>::new(client).into_rpc())?;
	Ok(module)
}
