//! Storage deposits held through fungible holds, as every TwinNet pallet takes them.

use frame_support::traits::{fungible::MutateHold, tokens::Precision};
use sp_runtime::{traits::Saturating, DispatchError};

/// Why a deposit could not be moved.
#[derive(Debug, PartialEq, Eq)]
pub enum DepositError {
	/// The signer cannot pay the (additional) deposit.
	CannotPay,
	/// Releasing the previous deposit failed: the records and the holds disagree.
	Release(DispatchError),
}

impl DepositError {
	/// As a dispatch error, with `cannot_pay` standing for [`DepositError::CannotPay`].
	pub fn into_dispatch_error(self, cannot_pay: impl Into<DispatchError>) -> DispatchError {
		match self {
			Self::CannotPay => cannot_pay.into(),
			Self::Release(error) => error,
		}
	}
}

/// Makes `signer` the holder of a record's deposit, resized from `old` (held
/// by `depositor`) to `new`: the signer pays the difference if it already
/// holds it, else holds all of `new` and `depositor` gets `old` back.
pub fn move_deposit<AccountId: Eq, Currency: MutateHold<AccountId>>(
	reason: &Currency::Reason,
	depositor: &AccountId,
	old: Currency::Balance,
	signer: &AccountId,
	new: Currency::Balance,
) -> Result<(), DepositError> {
	if depositor == signer {
		if new > old {
			Currency::hold(reason, signer, new.saturating_sub(old))
				.map_err(|_| DepositError::CannotPay)
		} else {
			release::<_, Currency>(reason, signer, old.saturating_sub(new))
		}
	} else {
		Currency::hold(reason, signer, new).map_err(|_| DepositError::CannotPay)?;
		release::<_, Currency>(reason, depositor, old)
	}
}

/// Releases exactly `amount` of `who`'s hold for `reason`.
pub fn release<AccountId, Currency: MutateHold<AccountId>>(
	reason: &Currency::Reason,
	who: &AccountId,
	amount: Currency::Balance,
) -> Result<(), DepositError> {
	Currency::release(reason, who, amount, Precision::Exact)
		.map(|_| ())
		.map_err(DepositError::Release)
}
