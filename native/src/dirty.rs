//! Which files hold UNSTABLE writes that no fsync has made stable yet: what
//! a COMMIT must fsync, and what the fd table must keep open.
//!
//! Every UNSTABLE write that completes takes a new sequence number for its
//! file. An fsync notes the file's number before it starts and, when it
//! succeeds, makes the file clean only if no write completed since. A write
//! that raced the fsync (acknowledged by write-behind while the fsync was
//! on its way, so perhaps not covered by it) keeps the file dirty, and the
//! next COMMIT fsyncs again instead of answering "stable" for it. Until the
//! fsync has succeeded the file stays dirty too: a second COMMIT that
//! arrives meanwhile runs its own fsync rather than answering before the
//! first one is known to have worked.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// The dirty files of one volume (keys are GFIDs) and their sequence numbers.
#[derive(Debug, Default)]
pub struct DirtyFiles<K> {
  files: HashMap<K, u64>,
  seq: u64,
}

impl<K: Hash + Eq + Copy> DirtyFiles<K> {
  pub fn new() -> Self {
    DirtyFiles { files: HashMap::new(), seq: 0 }
  }

  /// An UNSTABLE write to `k` completed.
  pub fn wrote(&mut self, k: K) {
    self.seq += 1;
    self.files.insert(k, self.seq);
  }

  /// Where `k` stands before an fsync begins: None when it is clean.
  pub fn mark(&self, k: &K) -> Option<u64> {
    self.files.get(k).copied()
  }

  /// An fsync that began at `mark` succeeded: the file is clean unless a
  /// write completed since.
  pub fn synced(&mut self, k: &K, mark: Option<u64>) {
    if mark.is_some() && self.files.get(k).copied() == mark {
      self.files.remove(k);
    }
  }

  /// The file is gone: nothing of it is left to make stable.
  pub fn forget(&mut self, k: &K) {
    self.files.remove(k);
  }

  pub fn len(&self) -> usize {
    self.files.len()
  }

  pub fn is_empty(&self) -> bool {
    self.files.is_empty()
  }

  /// The dirty files.
  pub fn keys(&self) -> HashSet<K> {
    self.files.keys().copied().collect()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn an_fsync_cleans_only_what_it_covered() {
    let mut d = DirtyFiles::<u8>::new();
    d.wrote(1);
    let m = d.mark(&1);
    assert!(m.is_some());
    // A write completes while the fsync runs: it may not be covered.
    d.wrote(1);
    d.synced(&1, m);
    assert!(d.mark(&1).is_some(), "still dirty after a racing write");
    let m = d.mark(&1);
    d.synced(&1, m);
    assert_eq!(d.mark(&1), None);
    // A clean file's mark is None, and syncing with it changes nothing.
    d.wrote(2);
    d.synced(&2, None);
    assert_eq!(d.len(), 1);
  }

  #[test]
  fn two_fsyncs_of_the_same_writes_either_may_clean() {
    let mut d = DirtyFiles::<u8>::new();
    d.wrote(1);
    let (a, b) = (d.mark(&1), d.mark(&1));
    // Until one has succeeded the file stays dirty: a COMMIT arriving
    // while the other's fsync runs does not skip its own.
    assert!(d.mark(&1).is_some());
    d.synced(&1, b);
    assert_eq!(d.mark(&1), None);
    // The other ending later changes nothing, even after a new write.
    d.wrote(1);
    d.synced(&1, a);
    assert!(d.mark(&1).is_some());
  }

  #[test]
  fn files_are_apart_and_a_removed_one_is_forgotten() {
    let mut d = DirtyFiles::<u8>::new();
    d.wrote(1);
    d.wrote(2);
    let m = d.mark(&1);
    d.synced(&1, m);
    assert_eq!(d.keys(), HashSet::from([2]));
    d.forget(&2);
    assert!(d.is_empty());
  }
}
