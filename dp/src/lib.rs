//! # TwinNet's differential-privacy accountant
//!
//! TwinNet's federated compute trains models with **DP-SGD** (Abadi et al.
//! 2016, "Deep Learning with Differential Privacy", arXiv:1607.00133). Every
//! step
//!
//! 1. *Poisson-subsamples* the records: each record joins the batch
//!    independently with probability `q` (the **sampling rate**);
//! 2. clips each sampled record's gradient to L2 norm at most `C`;
//! 3. sums the clipped gradients and adds Gaussian noise `N(0, σ²C² I)`, where
//!    `σ` is the **noise multiplier** (noise standard deviation divided by the
//!    L2 sensitivity `C`).
//!
//! One step is the *Sampled Gaussian Mechanism* (SGM). This crate bounds the
//! privacy loss of `T` such steps, for the *add-or-remove-one-record*
//! neighbouring relation, in three stages.
//!
//! ## 1. Rényi DP of one step
//!
//! A mechanism is `(α, ε)`-RDP (Mironov 2017, "Rényi Differential Privacy",
//! arXiv:1702.07476) if the Rényi divergence of order `α > 1` between its
//! output distributions on neighbouring data sets is at most `ε`. For the SGM,
//! Mironov, Talwar and Zhang 2019 ("Rényi Differential Privacy of the Sampled
//! Gaussian Mechanism", arXiv:1908.10530) reduce it to one dimension: with
//! `μ₀ = N(0, σ²)` and `μ₁ = N(1, σ²)`,
//!
//! ```text
//! ε(α) = ln(A_α) / (α − 1),    A_α = E_{z∼μ₀} [ ((1 − q) + q·μ₁(z)/μ₀(z))^α ].
//! ```
//!
//! * **Integer `α`** (their Sec. 3.2): the binomial expansion is finite,
//!   `A_α = Σ_{k=0}^{α} C(α,k) (1−q)^{α−k} q^k exp((k² − k) / (2σ²))`,
//!   evaluated as a log-sum-exp of its terms.
//! * **Fractional `α`** (their Sec. 3.3): the integral is split at
//!   `z₀ = σ² ln((1 − q)/q) + 1/2`, where the two summands of the mixture
//!   ratio are equal, and each half is expanded into a convergent binomial
//!   series whose terms carry a Gaussian tail `½·erfc(·/(√2 σ))` (computed
//!   in log space, with an asymptotic expansion where `erfc` underflows).
//!   The binomial coefficients `C(α, i)` alternate in sign for `i > α + 1`;
//!   the series are summed with their signs, which is exact (as in the
//!   paper, TensorFlow Privacy and Opacus). Google's `dp_accounting` sums
//!   the magnitudes instead since 2024, an over-estimate that reaches tens
//!   of percent for `q` near 1; this crate falls back to magnitudes only if
//!   cancellation would eat more than ~9 of the 16 digits. Summation stops
//!   by `dp_accounting`'s rule (terms decreasing and below `e^{−30}` of the
//!   total) or once a proven bound on the rest of the series is below
//!   `10⁻⁶·ln A_α`; that bound is then added, as it is when 1000 terms were
//!   not enough (for `q` near ½ and `α` near 1 the terms decay only
//!   polynomially). Two further upper bounds cap the result: the chord
//!   between the neighbouring integer orders (`ln A_α` is convex in `α`,
//!   `ln A_1 = 0`) and the unsampled Gaussian `α/(2σ²)` (`A_α` grows with
//!   `q`).
//!
//! Special cases: `q = 0` gives `ε(α) = 0`; `σ = 0` (no noise, `q > 0`) gives
//! `ε(α) = ∞`; `q = 1` (no subsampling) is the Gaussian mechanism,
//! `ε(α) = α / (2σ²)`.
//!
//! ## 2. Composition
//!
//! RDP composes additively at every order: `T` steps give `T·ε(α)`, and
//! steps with different `(q, σ)` add their curves ([`Accountant::compose`]).
//! The curve is tracked at a fixed list of orders ([`default_orders`]).
//!
//! ## 3. Conversion to `(ε, δ)`-DP
//!
//! An `(α, ρ)`-RDP mechanism is `(ε, δ)`-DP with (Balle, Barthe, Gaboardi,
//! Hsu, Sato 2020, "Hypothesis Testing Interpretations and Rényi Differential
//! Privacy", arXiv:1905.09982, Theorem 21; Canonne, Kamath, Steinke 2020,
//! "The Discrete Gaussian for Differential Privacy", arXiv:2004.00010,
//! Proposition 12; Asoodeh et al. 2020, arXiv:2001.05990)
//!
//! ```text
//! ε = ρ + ln((α − 1)/α) − (ln δ + ln α) / (α − 1),
//! ```
//!
//! minimised over the tracked orders and clamped at 0 ([`epsilon`]). As in
//! Google's `dp_accounting`, orders `α ≤ 1.01` are skipped (the bound is
//! numerically unstable and useless there), and an order whose RDP `ρ`
//! satisfies `δ² > 1 − e^{−ρ}` gives `ε = 0` directly: `ρ` bounds the KL
//! divergence, and `√(1 − e^{−KL})` bounds the total-variation distance.
//!
//! The algorithm is the one of Google's `dp_accounting` (`RdpAccountant`,
//! `compute_epsilon`), TensorFlow Privacy's `rdp_accountant` and Opacus'
//! RDP accountant, reimplemented here (with the signed fractional-order sums
//! described above); the tests check it against values published in their
//! test suites and against numerical integration of `A_α`.
//!
//! ## Example
//!
//! ```
//! use twinnet_dp::{epsilon_of, noise_for_epsilon, Accountant, SgmParams};
//!
//! // MNIST-style DP-SGD: batch 256 of 60 000, σ = 1.1, 60 epochs.
//! let params = SgmParams::new(256.0 / 60_000.0, 1.1, 14_063)?;
//! let eps = epsilon_of(&params, 1e-5)?;
//! assert!(eps > 2.0 && eps < 3.0);
//!
//! // Per-round charges compose in an accountant.
//! let mut accountant = Accountant::new();
//! accountant.compose(&SgmParams::new(0.01, 1.0, 100)?)?;
//! accountant.compose(&SgmParams::new(0.02, 2.0, 50)?)?;
//! let total = accountant.epsilon(1e-5)?;
//! assert!(total > 0.0);
//!
//! // The noise needed for a budget.
//! let sigma = noise_for_epsilon(0.01, 1_000, 1e-5, 1.0)?;
//! assert!(epsilon_of(&SgmParams::new(0.01, sigma, 1_000)?, 1e-5)? <= 1.0);
//! # Ok::<(), twinnet_dp::DpError>(())
//! ```
//!
//! ## `no_std`
//!
//! The crate is `no_std` (with `alloc`) when the default `std` feature is off;
//! all transcendental functions come from `libm` in both configurations, so
//! the numbers do not depend on the feature.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod accountant;
mod calibrate;
mod convert;
mod error;
mod math;
mod orders;
mod sgm;

pub use accountant::Accountant;
pub use calibrate::{noise_for_epsilon, MAX_NOISE_MULTIPLIER};
pub use convert::{epsilon, epsilon_of};
pub use error::DpError;
pub use orders::{default_orders, opacus_orders};
pub use sgm::{rdp, SgmParams};
