//! Counters of the gfapi backend, process-wide: how many libgfapi calls of
//! each kind were made and how long they took, and how many backend
//! operations were in flight at once. They answer "how many round trips
//! does one NFS operation cost, and are the worker threads busy?" — the
//! questions behind every performance change here. Relaxed atomics: a few
//! nanoseconds per call, exact totals, no ordering between counters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// The libgfapi calls that may cost a round trip to the bricks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
  CreateFromHandle,
  Lookupat,
  Stat,
  Access,
  Open,
  Opendir,
  Pread,
  Pwrite,
  /// glfs_pread_async / glfs_pwrite_async (gfapi_aio.rs), timed to their callback.
  PreadAsync,
  PwriteAsync,
  Fsync,
  Readdirplus,
  Setattrs,
  Truncate,
  Create,
  Mkdir,
  Unlink,
  Rename,
  Link,
  Symlink,
  Mknod,
  Readlink,
  Statfs,
  Close,
}

const CALLS: [(&str, Call); 24] = [
  ("create_from_handle", Call::CreateFromHandle),
  ("lookupat", Call::Lookupat),
  ("stat", Call::Stat),
  ("access", Call::Access),
  ("open", Call::Open),
  ("opendir", Call::Opendir),
  ("pread", Call::Pread),
  ("pwrite", Call::Pwrite),
  ("pread_async", Call::PreadAsync),
  ("pwrite_async", Call::PwriteAsync),
  ("fsync", Call::Fsync),
  ("readdirplus", Call::Readdirplus),
  ("setattrs", Call::Setattrs),
  ("truncate", Call::Truncate),
  ("creat", Call::Create),
  ("mkdir", Call::Mkdir),
  ("unlink", Call::Unlink),
  ("rename", Call::Rename),
  ("link", Call::Link),
  ("symlink", Call::Symlink),
  ("mknod", Call::Mknod),
  ("readlink", Call::Readlink),
  ("statfs", Call::Statfs),
  ("close", Call::Close),
];
const N: usize = CALLS.len();

/// Backend operations (one per JS call), counted by name.
pub const OPS: [&str; 20] = [
  "root", "stat", "lookup", "access", "readlink", "read", "write", "commit", "setattr", "create", "mkdir", "symlink", "mknod",
  "remove", "rename", "link", "readdir", "statvfs", "open", "other",
];
const M: usize = OPS.len();

struct Slot {
  n: AtomicU64,
  ns: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot { n: AtomicU64::new(0), ns: AtomicU64::new(0) };

static CALL_SLOTS: [Slot; N] = [SLOT; N];
static OP_SLOTS: [Slot; M] = [SLOT; M];
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
static MAX_IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
static CACHE_HITS: [AtomicU64; 6] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Caches whose hits are counted.
#[derive(Clone, Copy)]
pub enum Cache {
  ObjHit = 0,
  ObjMiss = 1,
  FdHit = 2,
  FdMiss = 3,
  DentryHit = 4,
  AttrHit = 5,
}

pub fn cache(c: Cache) {
  CACHE_HITS[c as usize].fetch_add(1, Relaxed);
}

/// Times one libgfapi call.
#[inline]
pub fn timed<T>(c: Call, f: impl FnOnce() -> T) -> T {
  let t0 = Instant::now();
  let r = f();
  let s = &CALL_SLOTS[c as usize];
  s.n.fetch_add(1, Relaxed);
  s.ns.fetch_add(t0.elapsed().as_nanos() as u64, Relaxed);
  r
}

/// Records one libgfapi call that started at `t0` and has just completed
/// (an async call, timed from submission to its callback).
pub fn record(c: Call, t0: Instant) {
  let s = &CALL_SLOTS[c as usize];
  s.n.fetch_add(1, Relaxed);
  s.ns.fetch_add(t0.elapsed().as_nanos() as u64, Relaxed);
}

/// Held while one backend operation runs (on a worker thread, or in
/// flight as an async call).
pub struct OpGuard {
  op: usize,
  t0: Instant,
}

pub fn op_start(name: &str) -> OpGuard {
  let op = OPS.iter().position(|o| *o == name).unwrap_or(M - 1);
  let now = IN_FLIGHT.fetch_add(1, Relaxed) + 1;
  MAX_IN_FLIGHT.fetch_max(now, Relaxed);
  OpGuard { op, t0: Instant::now() }
}

impl Drop for OpGuard {
  fn drop(&mut self) {
    IN_FLIGHT.fetch_sub(1, Relaxed);
    let s = &OP_SLOTS[self.op];
    s.n.fetch_add(1, Relaxed);
    s.ns.fetch_add(self.t0.elapsed().as_nanos() as u64, Relaxed);
  }
}

/// The counters as JSON: `{"ops":{name:[count,totalMicros]},"calls":{…},
/// "maxInFlight":n,"cache":{…}}`; only non-zero entries.
pub fn json() -> String {
  let row = |name: &str, s: &Slot| {
    let n = s.n.load(Relaxed);
    if n == 0 {
      return None;
    }
    let us = s.ns.load(Relaxed) / 1000;
    Some(format!("\"{name}\":[{n},{us}]"))
  };
  let ops: Vec<String> = OPS.iter().zip(OP_SLOTS.iter()).filter_map(|(n, s)| row(n, s)).collect();
  let calls: Vec<String> = CALLS.iter().filter_map(|(n, c)| row(n, &CALL_SLOTS[*c as usize])).collect();
  let h = |i: usize| CACHE_HITS[i].load(Relaxed);
  format!(
    "{{\"ops\":{{{}}},\"calls\":{{{}}},\"maxInFlight\":{},\"cache\":{{\"objHit\":{},\"objMiss\":{},\"fdHit\":{},\"fdMiss\":{},\"dentryHit\":{},\"attrHit\":{}}}}}",
    ops.join(","),
    calls.join(","),
    MAX_IN_FLIGHT.load(Relaxed),
    h(0),
    h(1),
    h(2),
    h(3),
    h(4),
    h(5)
  )
}

/// Sets every counter back to zero (between benchmark phases).
pub fn reset() {
  for s in CALL_SLOTS.iter().chain(OP_SLOTS.iter()) {
    s.n.store(0, Relaxed);
    s.ns.store(0, Relaxed);
  }
  for c in CACHE_HITS.iter() {
    c.store(0, Relaxed);
  }
  MAX_IN_FLIGHT.store(IN_FLIGHT.load(Relaxed), Relaxed);
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn counts_calls_and_ops() {
    reset();
    timed(Call::Pread, || 1);
    {
      let _a = op_start("read");
      let _b = op_start("read");
    }
    let j = json();
    assert!(j.contains("\"pread\":[1,"), "{j}");
    assert!(j.contains("\"read\":[2,"), "{j}");
    assert!(j.contains("\"maxInFlight\":2"), "{j}");
  }
}
