//! A bound on how many nodes the end-to-end tests run at once.
//!
//! A debug `twinnet-node` spends its first seconds compiling the runtime's
//! WASM and building its genesis state; fourteen of them started together
//! on a 2-core machine took longer than two minutes to open their RPC
//! ports, and tests waiting for them timed out. Every node a test starts
//! holds a [`NodeSlot`] for as long as its process lives, taken from one
//! [`NodeSlots`] pool per test binary ([`NodeSlots::global`]); a test waits
//! for a slot before it starts its node, and its deadlines run from the
//! moment it has one.
//!
//! The pool holds `TWINNET_E2E_NODES` slots if that is set, else two per
//! core (the nodes mostly wait for 6 s blocks once they are up), at least
//! two. Tests of one binary share it; cargo runs test binaries one after
//! another, so no two pools compete.

use std::{
	sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard},
	time::Duration,
};

/// The environment variable that sets the number of slots.
pub const NODES_VARIABLE: &str = "TWINNET_E2E_NODES";

/// How often a task waiting for a slot asynchronously looks again.
const ASYNC_POLL: Duration = Duration::from_millis(50);

static GLOBAL: LazyLock<Arc<NodeSlots>> =
	LazyLock::new(|| NodeSlots::new(capacity_from(std::env::var(NODES_VARIABLE).ok())));

/// The number of slots: `configured` if it is a positive number, else two
/// per core, at least two.
fn capacity_from(configured: Option<String>) -> usize {
	configured
		.and_then(|value| value.trim().parse::<usize>().ok())
		.filter(|n| *n > 0)
		.unwrap_or_else(|| {
			let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
			cores.saturating_mul(2).max(2)
		})
}

/// A counting semaphore of node slots that remembers the most it ever had
/// taken at once.
#[derive(Debug)]
pub struct NodeSlots {
	capacity: usize,
	state: Mutex<Taken>,
	freed: Condvar,
}

#[derive(Debug, Default)]
struct Taken {
	now: usize,
	peak: usize,
}

impl NodeSlots {
	/// A pool of `capacity` slots (at least one).
	pub fn new(capacity: usize) -> Arc<Self> {
		Arc::new(Self { capacity: capacity.max(1), state: Mutex::default(), freed: Condvar::new() })
	}

	/// The pool every node of this test binary takes its slot from.
	pub fn global() -> Arc<Self> {
		GLOBAL.clone()
	}

	/// How many nodes may run at once.
	pub fn capacity(&self) -> usize {
		self.capacity
	}

	/// The most slots ever taken at once.
	pub fn peak(&self) -> usize {
		self.lock().peak
	}

	/// Waits for a free slot without blocking the async runtime's thread.
	pub async fn acquire(self: &Arc<Self>) -> NodeSlot {
		loop {
			if let Some(slot) = self.try_acquire() {
				return slot;
			}
			tokio::time::sleep(ASYNC_POLL).await;
		}
	}

	/// Waits for a free slot, blocking the calling thread (for tests that
	/// start a node process without an async runtime).
	pub fn acquire_blocking(self: &Arc<Self>) -> NodeSlot {
		let mut taken = self.lock();
		while taken.now >= self.capacity {
			taken = self.freed.wait(taken).unwrap_or_else(|poisoned| poisoned.into_inner());
		}
		self.take(&mut taken)
	}

	/// A slot if one is free now.
	pub fn try_acquire(self: &Arc<Self>) -> Option<NodeSlot> {
		let mut taken = self.lock();
		(taken.now < self.capacity).then(|| self.take(&mut taken))
	}

	fn take(self: &Arc<Self>, taken: &mut Taken) -> NodeSlot {
		taken.now = taken.now.saturating_add(1);
		taken.peak = taken.peak.max(taken.now);
		NodeSlot { slots: self.clone() }
	}

	/// The state; a test that panicked while holding the lock left it
	/// consistent (every change is one statement), so poisoning is ignored.
	fn lock(&self) -> MutexGuard<'_, Taken> {
		self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
	}
}

/// One node's place in a [`NodeSlots`] pool, given back when dropped. Drop
/// it only after the node's process has exited.
#[derive(Debug)]
pub struct NodeSlot {
	slots: Arc<NodeSlots>,
}

impl Drop for NodeSlot {
	fn drop(&mut self) {
		let mut taken = self.slots.lock();
		taken.now = taken.now.saturating_sub(1);
		drop(taken);
		self.slots.freed.notify_one();
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::sync::atomic::{AtomicUsize, Ordering};

	#[test]
	fn the_capacity_is_the_configured_number_or_two_per_core() {
		assert_eq!(capacity_from(Some("3".into())), 3);
		assert_eq!(capacity_from(Some(" 7 ".into())), 7);
		let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
		let default = (2 * cores).max(2);
		assert_eq!(capacity_from(None), default);
		assert_eq!(capacity_from(Some("0".into())), default, "zero slots would hang every test");
		assert_eq!(capacity_from(Some("many".into())), default);
	}

	#[test]
	fn threads_never_hold_more_slots_than_the_pool_has() {
		let slots = NodeSlots::new(3);
		let holding = Arc::new(AtomicUsize::new(0));
		let most = Arc::new(AtomicUsize::new(0));
		let threads: Vec<_> = (0..12)
			.map(|_| {
				let (slots, holding, most) = (slots.clone(), holding.clone(), most.clone());
				std::thread::spawn(move || {
					let slot = slots.acquire_blocking();
					let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
					most.fetch_max(now, Ordering::SeqCst);
					std::thread::sleep(Duration::from_millis(20));
					holding.fetch_sub(1, Ordering::SeqCst);
					drop(slot);
				})
			})
			.collect();
		for thread in threads {
			thread.join().unwrap();
		}
		assert_eq!(most.load(Ordering::SeqCst), 3, "twelve threads, three slots");
		assert_eq!(slots.peak(), 3);
		assert!(slots.try_acquire().is_some(), "every slot was given back");
	}

	#[tokio::test]
	async fn an_async_waiter_gets_the_slot_a_dropped_one_frees() {
		let slots = NodeSlots::new(1);
		let first = slots.acquire().await;
		assert!(slots.try_acquire().is_none());
		let waiter = {
			let slots = slots.clone();
			tokio::spawn(async move { slots.acquire().await })
		};
		tokio::time::sleep(Duration::from_millis(200)).await;
		assert!(!waiter.is_finished(), "it waits while the slot is taken");
		drop(first);
		let second = tokio::time::timeout(Duration::from_secs(10), waiter)
			.await
			.expect("the waiter gets the freed slot")
			.unwrap();
		assert_eq!(slots.peak(), 1);
		drop(second);
	}
}
