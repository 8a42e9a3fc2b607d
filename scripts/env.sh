# Sourced by the project's scripts: installs what is missing (scripts/setup)
# and sets the build environment they share.

TWINNET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$TWINNET_ROOT"

"$TWINNET_ROOT/scripts/setup"

# One shared target directory outside the repo, so every clone reuses builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/twinnet/target}"
# The rustup toolchain that builds the runtime to WASM (see docs/build.md), and
# the workspace whose Cargo.lock the WASM build must use (the target directory
# is outside the repo, where the WASM builder cannot find it by itself).
export WASM_BUILD_TOOLCHAIN="${WASM_BUILD_TOOLCHAIN:-debwasm}"
export WASM_BUILD_WORKSPACE_HINT="$TWINNET_ROOT"
# The node binary the end-to-end tests start.
export TWINNET_NODE="$CARGO_TARGET_DIR/debug/twinnet-node"
# The runtime a chain of this tree's runtime upgrades to (scripts/upgrade-wasm).
export TWINNET_UPGRADE_WASM="${TWINNET_UPGRADE_WASM:-$CARGO_TARGET_DIR/upgrade/twinnet_runtime_next.wasm}"

# Cargo judges a workspace crate fresh by its files' modification times. When
# another checkout built into this shared target directory last, files here
# edited before that build would look older than its artifacts and cargo
# would keep the other checkout's crates: touching this checkout's sources
# makes it build its own (docs/build.md).
last_tree="$CARGO_TARGET_DIR/.last-tree"
if [ "$(cat "$last_tree" 2>/dev/null)" != "$TWINNET_ROOT" ]; then
	git -C "$TWINNET_ROOT" ls-files -z '*.rs' '*.toml' | (cd "$TWINNET_ROOT" && xargs -0 touch)
	mkdir -p "$CARGO_TARGET_DIR"
	echo "$TWINNET_ROOT" >"$last_tree"
fi

# Benchmarks run against an optimised node (`bench-fast` profile, in the
# benchmark binary's target directory, whose dependencies it shares): a
# debug node spends its block-authoring time in unoptimised host code and
# would measure its own slowness (docs/performance.md).
use_optimised_node() {
	local bench_target="${BENCH_TARGET_DIR:-$HOME/.cache/twinnet/bench-target}"
	CARGO_TARGET_DIR="$bench_target" cargo build --profile bench-fast -p twinnet-node
	export TWINNET_NODE="$bench_target/bench-fast/twinnet-node"
}

# Builds the runtime's WASM from a worktree of HEAD that the command "$2…"
# changes (it runs inside the worktree), and copies it to $1. Every runtime
# build writes its WASM to one path, and the worktree's crates share this
# tree's artifacts: this tree's sources are touched afterwards, so that its
# next build makes its own runtime again.
build_runtime_variant() {
	local out=$1 tree="$CARGO_TARGET_DIR/runtime-variant-tree"
	shift
	git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
	git worktree add --detach "$tree" HEAD
	(cd "$tree" && "$@" && WASM_BUILD_WORKSPACE_HINT="$tree" cargo build -p twinnet-runtime)
	mkdir -p "$(dirname "$out")"
	cp "$CARGO_TARGET_DIR/debug/wbuild/twinnet-runtime/twinnet_runtime.wasm" "$out"
	git worktree remove --force "$tree"
	git ls-files -z '*.rs' '*.toml' | xargs -0 touch
}
