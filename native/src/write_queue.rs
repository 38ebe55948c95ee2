//! The order in which one file's UNSTABLE writes reach libgfapi.
//!
//! An NFS client streaming a file keeps several 1 MiB WRITEs in flight
//! (the Linux client up to its slot table, libnfs its queue depth). Run
//! each on its own worker and libgfapi sees eight 1 MiB `glfs_pwrite`s of
//! one file at once. That costs more than it gains, measured on a replica-3
//! volume (256 MiB, UNSTABLE, then COMMIT; bench:gluster's lab):
//!
//! - libgfapi 10.3 copies each write into an iobuf of the 1 MiB class,
//!   whose arenas hold two. With eight at once, arenas are mapped for the
//!   burst and unmapped when idle, over and over: every write copies into
//!   fresh pages (page faults and clearing, ~10% of the server's CPU).
//! - write-behind acknowledges one write within its window (1 MiB) and
//!   holds the rest, so eight submitters mostly wait on each other, on
//!   eight threads.
//!
//! Through NFS (`bench:gluster`'s sequential write: libnfs, 8 WRITEs in
//! flight, 256 MiB, replica 3 on one host) the server's CPU for the run
//! fell from 1.12x Ganesha's to 0.85x, and the throughput rose from 0.71x
//! to 0.85x of fio's gfapi engine (medians of 3 rounds each, same day).
//!
//! So each file has a window of bytes in flight (1 MiB): one 1 MiB write
//! at a time, run back to back by one worker without going through the
//! JS thread in between; 256 KiB writes four at a time. A write that does
//! not fit waits in arrival order (none overtakes another); the last
//! running worker always takes the next, whatever its size, and joins to
//! it the waiting writes that continue it (`extend`; gfapi_task.rs's
//! WRITE_BATCH: one call of up to 2 MiB). Different files never wait on
//! each other. Writes of 128 KiB or less do not come here (gfapi_task.rs),
//! nor do stable writes, whose fsyncs gain from running together (a
//! hypervisor's FILE_SYNC writes).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

struct FileWrites<J> {
  waiting: VecDeque<(usize, J)>,
  /// Workers running this file's writes.
  workers: usize,
  /// Bytes of the writes they run.
  bytes: usize,
}

/// Per file (by key), the writes running and waiting.
pub struct WriteQueues<J> {
  window: usize,
  max_workers: usize,
  files: Mutex<HashMap<Vec<u8>, FileWrites<J>>>,
}

impl<J> WriteQueues<J> {
  pub fn new(window: usize, max_workers: usize) -> Self {
    WriteQueues { window, max_workers: max_workers.max(1), files: Mutex::new(HashMap::new()) }
  }

  /// A write of `len` bytes to `key`: the job back when the caller must
  /// start a worker for it, None when it waits for a running worker.
  pub fn admit(&self, key: &[u8], len: usize, job: J) -> Option<J> {
    let mut files = self.files.lock().unwrap();
    let f = files.entry(key.to_vec()).or_insert_with(|| FileWrites { waiting: VecDeque::new(), workers: 0, bytes: 0 });
    let fits = f.waiting.is_empty() && f.workers < self.max_workers && f.bytes + len <= self.window;
    if f.workers == 0 || fits {
      f.workers += 1;
      f.bytes += len;
      Some(job)
    } else {
      f.waiting.push_back((len, job));
      None
    }
  }

  /// A worker of `key` finished a write of `len` bytes: the next write it
  /// runs, or None when it stops.
  pub fn next(&self, key: &[u8], len: usize) -> Option<(usize, J)> {
    let mut files = self.files.lock().unwrap();
    let f = files.get_mut(key).expect("a running worker's file is known");
    f.bytes -= len;
    let take = match f.waiting.front() {
      Some((n, _)) => f.workers == 1 || f.bytes + n <= self.window,
      None => false,
    };
    if take {
      let (n, job) = f.waiting.pop_front().expect("checked");
      f.bytes += n;
      return Some((n, job));
    }
    f.workers -= 1;
    if f.workers == 0 {
      files.remove(key);
    }
    None
  }

  /// Adds to a running worker's batch (`bytes` so far) the waiting writes
  /// at the head that `more(job, bytes so far)` accepts, up to `max` bytes
  /// in all. The batch counts in the window as one write; the worker ends
  /// it with `next(key, bytes of the whole batch)`.
  pub fn extend(&self, key: &[u8], mut bytes: usize, max: usize, more: impl Fn(&J, usize) -> bool) -> Vec<(usize, J)> {
    let mut files = self.files.lock().unwrap();
    let f = files.get_mut(key).expect("a running worker's file is known");
    let mut out = Vec::new();
    while let Some((n, j)) = f.waiting.front() {
      if bytes + n > max || !more(j, bytes) {
        break;
      }
      bytes += n;
      f.bytes += n;
      out.push(f.waiting.pop_front().expect("checked"));
    }
    out
  }

  /// Files with writes running or waiting.
  pub fn files(&self) -> usize {
    self.files.lock().unwrap().len()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const MIB: usize = 1 << 20;

  #[test]
  fn one_big_write_at_a_time_in_order() {
    let q = WriteQueues::new(MIB, 16);
    assert_eq!(q.admit(b"f", MIB, 1), Some(1));
    assert_eq!(q.admit(b"f", MIB, 2), None);
    assert_eq!(q.admit(b"f", MIB, 3), None);
    assert_eq!(q.next(b"f", MIB), Some((MIB, 2)));
    assert_eq!(q.next(b"f", MIB), Some((MIB, 3)));
    assert_eq!(q.next(b"f", MIB), None);
    assert_eq!(q.files(), 0);
    // The file starts afresh.
    assert_eq!(q.admit(b"f", MIB, 4), Some(4));
  }

  #[test]
  fn small_writes_run_together_up_to_the_window_and_the_workers() {
    let q = WriteQueues::new(MIB, 16);
    for i in 0..16 {
      assert_eq!(q.admit(b"f", 64 << 10, i), Some(i), "write {i} fits");
    }
    assert_eq!(q.admit(b"f", 4096, 16), None, "window full");
    let q = WriteQueues::new(MIB, 4);
    for i in 0..4 {
      assert_eq!(q.admit(b"f", 4096, i), Some(i));
    }
    assert_eq!(q.admit(b"f", 4096, 4), None, "every worker busy");
    assert_eq!(q.next(b"f", 4096), Some((4096, 4)));
  }

  #[test]
  fn none_overtakes_a_waiting_write() {
    let q = WriteQueues::new(MIB, 16);
    assert_eq!(q.admit(b"f", 512 << 10, 1), Some(1));
    assert_eq!(q.admit(b"f", MIB, 2), None);
    assert_eq!(q.admit(b"f", 4096, 3), None, "a small write queues behind the big one");
    // The only worker takes the head even though 1 MiB does not fit beside nothing else.
    assert_eq!(q.next(b"f", 512 << 10), Some((MIB, 2)));
    assert_eq!(q.next(b"f", MIB), Some((4096, 3)));
    assert_eq!(q.next(b"f", 4096), None);
  }

  #[test]
  fn a_worker_stops_when_the_head_does_not_fit_beside_the_others() {
    let q = WriteQueues::new(MIB, 16);
    assert_eq!(q.admit(b"f", 512 << 10, 1), Some(1));
    assert_eq!(q.admit(b"f", 256 << 10, 2), Some(2));
    assert_eq!(q.admit(b"f", 768 << 10, 3), None);
    // 256 KiB done; 512 KiB still running: 768 KiB does not fit beside it.
    assert_eq!(q.next(b"f", 256 << 10), None);
    // The last worker takes it.
    assert_eq!(q.next(b"f", 512 << 10), Some((768 << 10, 3)));
    assert_eq!(q.next(b"f", 768 << 10), None);
    assert_eq!(q.files(), 0);
  }

  #[test]
  fn a_write_larger_than_the_window_runs_alone() {
    let q = WriteQueues::new(MIB, 16);
    assert_eq!(q.admit(b"f", 2 * MIB, 1), Some(1));
    assert_eq!(q.admit(b"f", 4096, 2), None);
    assert_eq!(q.next(b"f", 2 * MIB), Some((4096, 2)));
    assert_eq!(q.next(b"f", 4096), None);
  }

  #[test]
  fn a_worker_joins_the_writes_that_continue_its_own() {
    let q = WriteQueues::new(MIB, 16);
    // Jobs are offsets; the worker runs the write at 0.
    assert_eq!(q.admit(b"f", MIB, 0), Some(0));
    for off in [1, 2, 5, 3] {
      assert_eq!(q.admit(b"f", MIB, off * MIB), None);
    }
    let follows = |j: &usize, bytes: usize| *j == bytes;
    let batch = q.extend(b"f", MIB, 2 * MIB, follows);
    assert_eq!(batch, vec![(MIB, MIB)], "up to 2 MiB in all");
    // The batch ends as one write of its whole size.
    assert_eq!(q.next(b"f", 2 * MIB), Some((MIB, 2 * MIB)));
    let follows_2 = |j: &usize, bytes: usize| *j == 2 * MIB + bytes;
    assert!(q.extend(b"f", MIB, 2 * MIB, follows_2).is_empty(), "5 MiB does not continue 2 MiB");
    assert_eq!(q.next(b"f", MIB), Some((MIB, 5 * MIB)));
    assert_eq!(q.next(b"f", MIB), Some((MIB, 3 * MIB)), "still in arrival order");
    assert_eq!(q.next(b"f", MIB), None);
    assert_eq!(q.files(), 0);
  }

  #[test]
  fn files_do_not_wait_on_each_other() {
    let q = WriteQueues::new(MIB, 16);
    assert_eq!(q.admit(b"a", MIB, 1), Some(1));
    assert_eq!(q.admit(b"b", MIB, 2), Some(2));
    assert_eq!(q.admit(b"a", MIB, 3), None);
    assert_eq!(q.files(), 2);
    assert_eq!(q.next(b"b", MIB), None);
    assert_eq!(q.next(b"a", MIB), Some((MIB, 3)));
    assert_eq!(q.next(b"a", MIB), None);
    assert_eq!(q.files(), 0);
  }
}
