//! A bound on how many nodes the end-to-end tests run at once, across every
//! test process of the machine.
//!
//! A debug `twinnet-node` spends its first seconds compiling the runtime's
//! WASM and building its genesis state; fourteen of them started together
//! on a 2-core machine took longer than two minutes to open their RPC
//! ports, and tests waiting for them timed out. Every node a test starts
//! holds a [`NodeSlot`] for as long as its process lives; a test waits for
//! a slot before it starts its node, and its deadlines run from the moment
//! it has one.
//!
//! A slot is an exclusive lock (`flock`) on one of the files
//! `slot-0.lock` … `slot-{N-1}.lock` of the pool's directory. Open file
//! descriptions hold locks, not processes, so tests of one binary, test
//! binaries run side by side (`scripts/test` runs the long federated one
//! beside the others) and threads of one test all count against the same
//! `N`, and the kernel gives a slot back when its holder exits, also when
//! it was killed.
//!
//! [`NodeSlots::global`] is the machine's pool: the directory
//! `$TWINNET_E2E_SLOTS_DIR`, else `twinnet-e2e-slots-<uid>` in the temporary
//! directory, with `$TWINNET_E2E_NODES` slots if that is set, else three per
//! core (a node's CPU goes into its first seconds; afterwards it mostly
//! waits for 6 s blocks), at least two. [`NodeSlots::new`] makes a private
//! pool, for tests of the pool itself.

use std::{
	fs::{File, OpenOptions, TryLockError},
	io,
	path::{Path, PathBuf},
	sync::{Arc, LazyLock, Mutex, MutexGuard},
	time::Duration,
};

/// The environment variable that sets the number of slots.
pub const NODES_VARIABLE: &str = "TWINNET_E2E_NODES";
/// The environment variable that sets the directory of the machine's pool.
pub const SLOTS_DIR_VARIABLE: &str = "TWINNET_E2E_SLOTS_DIR";

/// How often a waiter looks for a free slot again.
const POLL: Duration = Duration::from_millis(50);

static GLOBAL: LazyLock<Arc<NodeSlots>> = LazyLock::new(|| {
	let dir = std::env::var_os(SLOTS_DIR_VARIABLE).map(PathBuf::from).unwrap_or_else(|| {
		// One pool per user: another user's lock files could not be opened.
		let user = std::fs::metadata("/proc/self")
			.map(|process| std::os::unix::fs::MetadataExt::uid(&process).to_string())
			.unwrap_or_else(|_| "anyone".into());
		std::env::temp_dir().join(format!("twinnet-e2e-slots-{user}"))
	});
	NodeSlots::in_dir(dir, capacity_from(std::env::var(NODES_VARIABLE).ok()), None)
});

/// The number of slots: `configured` if it is a positive number, else three
/// per core, at least two.
fn capacity_from(configured: Option<String>) -> usize {
	configured
		.and_then(|value| value.trim().parse::<usize>().ok())
		.filter(|n| *n > 0)
		.unwrap_or_else(|| {
			let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
			cores.saturating_mul(3).max(2)
		})
}

/// A pool of node slots (lock files in one directory), which remembers the
/// most slots it ever had taken at once through this handle.
#[derive(Debug)]
pub struct NodeSlots {
	dir: PathBuf,
	capacity: usize,
	taken: Mutex<Taken>,
	// A private pool's directory, removed with the pool.
	_private: Option<tempfile::TempDir>,
}

#[derive(Debug, Default)]
struct Taken {
	now: usize,
	peak: usize,
}

impl NodeSlots {
	/// A private pool of `capacity` slots (at least one), shared with no
	/// other process.
	pub fn new(capacity: usize) -> io::Result<Arc<Self>> {
		let dir = tempfile::Builder::new().prefix("twinnet-slots").tempdir()?;
		Ok(Self::in_dir(dir.path().to_path_buf(), capacity, Some(dir)))
	}

	/// The pool of `capacity` slots in `dir`: every handle on the same
	/// directory, in any process, shares its slots.
	pub fn shared(dir: impl AsRef<Path>, capacity: usize) -> Arc<Self> {
		Self::in_dir(dir.as_ref().to_path_buf(), capacity, None)
	}

	fn in_dir(dir: PathBuf, capacity: usize, private: Option<tempfile::TempDir>) -> Arc<Self> {
		Arc::new(Self {
			dir,
			capacity: capacity.max(1),
			taken: Mutex::default(),
			_private: private,
		})
	}

	/// The machine's pool, which every node of every test takes its slot from.
	pub fn global() -> Arc<Self> {
		GLOBAL.clone()
	}

	/// How many nodes may run at once.
	pub fn capacity(&self) -> usize {
		self.capacity
	}

	/// The most slots ever taken at once through this handle.
	pub fn peak(&self) -> usize {
		self.lock().peak
	}

	/// Waits for a free slot without blocking the async runtime's thread.
	pub async fn acquire(self: &Arc<Self>) -> io::Result<NodeSlot> {
		self.acquire_many(1).await
	}

	/// Waits until `count` slots are free at once and takes them together
	/// (all of the pool's if it has fewer), for a test that runs a network.
	/// It never holds some while waiting for the rest, so two such tests
	/// cannot block each other.
	pub async fn acquire_many(self: &Arc<Self>, count: usize) -> io::Result<NodeSlot> {
		loop {
			if let Some(slot) = self.try_acquire_many(count)? {
				return Ok(slot);
			}
			tokio::time::sleep(POLL).await;
		}
	}

	/// Waits for a free slot, blocking the calling thread (for tests that
	/// start a node process without an async runtime).
	pub fn acquire_blocking(self: &Arc<Self>) -> io::Result<NodeSlot> {
		self.acquire_many_blocking(1)
	}

	/// [`NodeSlots::acquire_many`], blocking the calling thread.
	pub fn acquire_many_blocking(self: &Arc<Self>, count: usize) -> io::Result<NodeSlot> {
		loop {
			if let Some(slot) = self.try_acquire_many(count)? {
				return Ok(slot);
			}
			std::thread::sleep(POLL);
		}
	}

	/// A slot if one is free now.
	pub fn try_acquire(self: &Arc<Self>) -> io::Result<Option<NodeSlot>> {
		self.try_acquire_many(1)
	}

	/// `count` slots (at most the pool's capacity, at least one) if that
	/// many are free now; none taken otherwise.
	pub fn try_acquire_many(self: &Arc<Self>, count: usize) -> io::Result<Option<NodeSlot>> {
		let wanted = count.clamp(1, self.capacity);
		std::fs::create_dir_all(&self.dir)?;
		let mut locks = Vec::with_capacity(wanted);
		for index in 0..self.capacity {
			if locks.len() == wanted {
				break;
			}
			let path = self.dir.join(format!("slot-{index}.lock"));
			let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
			match file.try_lock() {
				Ok(()) => locks.push(file),
				Err(TryLockError::WouldBlock) => {},
				Err(TryLockError::Error(error)) => {
					return Err(io::Error::new(
						error.kind(),
						format!("{}: {error}", path.display()),
					))
				},
			}
		}
		if locks.len() < wanted {
			// Closing the files gives back the slots taken so far.
			return Ok(None);
		}
		let mut taken = self.lock();
		taken.now = taken.now.saturating_add(locks.len());
		taken.peak = taken.peak.max(taken.now);
		Ok(Some(NodeSlot { slots: self.clone(), locks }))
	}

	/// The counts; a test that panicked while holding the lock left them
	/// consistent (every change is one statement), so poisoning is ignored.
	fn lock(&self) -> MutexGuard<'_, Taken> {
		self.taken.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
	}
}

/// One or more slots of a [`NodeSlots`] pool, given back when dropped (or
/// when the process exits). Drop it only after the node processes it stands
/// for have exited.
#[derive(Debug)]
pub struct NodeSlot {
	slots: Arc<NodeSlots>,
	locks: Vec<File>,
}

impl NodeSlot {
	/// How many slots this holds.
	pub fn count(&self) -> usize {
		self.locks.len()
	}
}

impl Drop for NodeSlot {
	fn drop(&mut self) {
		let count = self.locks.len();
		// Unlocked before closing: closing this descriptor alone does not
		// release the lock while a process another thread forked meanwhile
		// still has a copy of it (until that child's exec closes it), and
		// the slot would look taken for that moment.
		for lock in self.locks.drain(..) {
			let _ = lock.unlock();
		}
		let mut taken = self.slots.lock();
		taken.now = taken.now.saturating_sub(count);
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::sync::atomic::{AtomicUsize, Ordering};

	#[test]
	fn the_capacity_is_the_configured_number_or_three_per_core() {
		assert_eq!(capacity_from(Some("3".into())), 3);
		assert_eq!(capacity_from(Some(" 7 ".into())), 7);
		let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
		let default = (3 * cores).max(2);
		assert_eq!(capacity_from(None), default);
		assert_eq!(capacity_from(Some("0".into())), default, "zero slots would hang every test");
		assert_eq!(capacity_from(Some("many".into())), default);
	}

	#[test]
	fn threads_never_hold_more_slots_than_the_pool_has() {
		let slots = NodeSlots::new(3).unwrap();
		let holding = Arc::new(AtomicUsize::new(0));
		let most = Arc::new(AtomicUsize::new(0));
		let threads: Vec<_> = (0..12)
			.map(|_| {
				let (slots, holding, most) = (slots.clone(), holding.clone(), most.clone());
				std::thread::spawn(move || {
					let slot = slots.acquire_blocking().unwrap();
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
		assert!(slots.try_acquire().unwrap().is_some(), "every slot was given back");
	}

	/// Two handles on one directory stand for two test processes: the
	/// kernel's locks, not the handles' counts, decide who has a slot.
	#[test]
	fn two_handles_on_one_directory_share_its_slots() {
		let dir = tempfile::tempdir().unwrap();
		let (first, second) = (NodeSlots::shared(&dir, 2), NodeSlots::shared(&dir, 2));
		let a = first.try_acquire().unwrap().expect("a free slot");
		let b = second.try_acquire().unwrap().expect("the other free slot");
		assert!(first.try_acquire().unwrap().is_none(), "both slots are held");
		assert!(second.try_acquire().unwrap().is_none(), "both slots are held");
		drop(a);
		let c = second.try_acquire().unwrap().expect("the slot the first handle gave back");
		assert!(first.try_acquire().unwrap().is_none());
		drop((b, c));
	}

	/// A network's test takes all its slots together or none, so it never
	/// sits on some while another network's test sits on the rest.
	#[test]
	fn many_slots_are_taken_together_or_not_at_all() {
		let slots = NodeSlots::new(4).unwrap();
		let one = slots.try_acquire().unwrap().expect("a free slot");
		assert!(slots.try_acquire_many(4).unwrap().is_none(), "three are free, four wanted");
		let three = slots.try_acquire_many(3).unwrap().expect("the three free slots");
		assert_eq!(three.count(), 3);
		drop(three);
		assert_eq!(slots.try_acquire_many(3).unwrap().map(|s| s.count()), Some(3), "none kept");
		drop(one);
		let all = slots.try_acquire_many(9).unwrap().expect("more than the pool has: all of it");
		assert_eq!(all.count(), 4);
		assert_eq!(slots.peak(), 4);
	}

	#[tokio::test]
	async fn an_async_waiter_gets_the_slot_a_dropped_one_frees() {
		let slots = NodeSlots::new(1).unwrap();
		let first = slots.acquire().await.unwrap();
		assert!(slots.try_acquire().unwrap().is_none());
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
			.unwrap()
			.unwrap();
		assert_eq!(slots.peak(), 1);
		drop(second);
	}
}
