//! # TwinNet primitives
//!
//! What TwinNet's pallets, runtime APIs and RPC servers share without
//! depending on one another:
//!
//! - [`did`]: decentralised identifiers (`did:twin:<id>`), their subjects,
//!   keys and the read-only view of a DID that runtime APIs return.
//! - [`commitments`]: result commitments, their kinds, inputs and the
//!   message attesters sign.
//! - [`datasets`]: dataset tokens, their states and licences, and the
//!   [`datasets::DatasetAccess`] check made before computing on one.
//! - [`consent`]: consent grants, scopes, purposes, privacy budgets, and
//!   the [`consent::ConsentLedger`] pallets check before touching a twin's data.
//! - [`deposit`]: storage deposits as fungible holds.
//! - [`format_decimal`]: fixed-point numbers (privacy budgets, training
//!   settings) as the exact decimal strings every RPC and client shows.
//! - [`traits`]: the interfaces one pallet offers another (for example
//!   "is this account the controller of that twin?").

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod commitments;
pub mod consent;
pub mod datasets;
pub mod deposit;
pub mod did;
pub mod federated;
pub mod traits;

/// Whether `items[index]` repeats an item before it: how calls that take
/// lists refuse a repeat at the first one, in order with their other checks.
pub fn repeats_earlier<T: PartialEq>(items: &[T], index: usize) -> bool {
	match items.get(index) {
		Some(item) => items.iter().take(index).any(|earlier| earlier == item),
		None => false,
	}
}

/// `value` units of 10^-`decimals` as an exact decimal string: `1.5`, `2`,
/// `0.000000000000000006` (no trailing zeros, no point for a whole number,
/// no exponent). How every RPC and client shows privacy budgets and other
/// fixed-point numbers, so that one epsilon reads the same everywhere.
pub fn format_decimal(value: u64, decimals: usize) -> alloc::string::String {
	let digits = alloc::format!("{value:0>width$}", width = decimals.saturating_add(1));
	let (whole, fraction) = digits.split_at(digits.len().saturating_sub(decimals));
	match fraction.trim_end_matches('0') {
		"" => whole.into(),
		fraction => alloc::format!("{whole}.{fraction}"),
	}
}

/// The exact decimal `text` (`1.5`, `0.000001`, `2`) in units of
/// 10^-`decimals`, the inverse of [`format_decimal`]: digits with at most
/// one point and digits on both sides of it, no sign or exponent; zeros
/// after the last significant decimal are allowed (`1.50`). `None` if it
/// is not such a number, has more significant decimals than `decimals`, or
/// does not fit in a `u64` (so `decimals` above 19 parses nothing).
pub fn parse_decimal(text: &str, decimals: usize) -> Option<u64> {
	let (whole, fraction) = match text.split_once('.') {
		Some((_, "")) => return None,
		Some((whole, fraction)) => (whole, fraction),
		None => (text, ""),
	};
	let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
	if whole.is_empty() || !digits(whole) || !digits(fraction) {
		return None;
	}
	let fraction = fraction.trim_end_matches('0');
	let scale = 10u64.checked_pow(u32::try_from(decimals).ok()?)?;
	let padding = 10u64.checked_pow(u32::try_from(decimals.checked_sub(fraction.len())?).ok()?)?;
	let number = |part: &str| -> Option<u64> {
		part.bytes().try_fold(0u64, |value, digit| {
			value.checked_mul(10)?.checked_add(u64::from(digit.checked_sub(b'0')?))
		})
	};
	number(whole)?
		.checked_mul(scale)?
		.checked_add(number(fraction)?.checked_mul(padding)?)
}

/// A `FixedU64` (such as an epsilon, a learning rate or a clip norm) as
/// an exact decimal string, at most nine decimals: [`format_decimal`] of
/// its inner value.
pub fn format_fixed(value: sp_runtime::FixedU64) -> alloc::string::String {
	format_decimal(value.into_inner(), consent::EPSILON_DECIMALS)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_decimal_parses_back_to_what_it_was_formatted_from() {
		for (value, decimals) in [
			(1_500_000_000, 9),
			(2_000_000_000, 9),
			(1, 9),
			(10_000_000_000_000, 18),
			(0, 9),
			(7, 0),
		] {
			assert_eq!(parse_decimal(&format_decimal(value, decimals), decimals), Some(value));
		}
		assert_eq!(parse_decimal("0.25", 9), Some(250_000_000));
		assert_eq!(parse_decimal("1.50", 9), Some(1_500_000_000));
		assert_eq!(parse_decimal("1.5000000000000", 9), Some(1_500_000_000));
		assert_eq!(parse_decimal("7.0", 0), Some(7));
		assert_eq!(parse_decimal("007", 2), Some(700));
	}

	#[test]
	fn what_is_not_a_plain_decimal_does_not_parse() {
		for text in ["", ".", "1.", ".5", "-1", "+1", "1e3", "1.2.3", "1,5", " 1", "0x10", "١"] {
			assert_eq!(parse_decimal(text, 9), None, "{text:?}");
		}
		// More decimals than the unit has, or more than a u64 holds.
		assert_eq!(parse_decimal("0.0000000001", 9), None);
		assert_eq!(parse_decimal("0", 20), None);
		assert_eq!(parse_decimal("0", usize::MAX), None);
		assert_eq!(parse_decimal("18446744073.709551616", 9), None);
		assert_eq!(parse_decimal("18446744073.709551615", 9), Some(u64::MAX));
	}

	#[test]
	fn decimals_are_exact() {
		assert_eq!(format_decimal(1_500_000_000, 9), "1.5");
		assert_eq!(format_decimal(2_000_000_000, 9), "2");
		assert_eq!(format_decimal(1, 9), "0.000000001");
		assert_eq!(format_decimal(10_000_000_000_000, 18), "0.00001");
		assert_eq!(format_decimal(0, 18), "0");
		assert_eq!(format_decimal(u64::MAX, 18), "18.446744073709551615");
		assert_eq!(format_decimal(u64::MAX, 0), "18446744073709551615");
		assert_eq!(format_decimal(120, 0), "120");
		assert_eq!(format_fixed(sp_runtime::FixedU64::from_rational(1, 4)), "0.25");
	}
}
