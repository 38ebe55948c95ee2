//! A bounded LRU of open objects, keyed by their wire handle.
//!
//! `open_by_handle_at` costs a handle decode and an open per call; NFS calls
//! name objects by handle every time. The cache keeps one fd per object:
//! regular files O_RDWR (O_RDONLY when the file cannot be written),
//! directories O_RDONLY|O_DIRECTORY, everything else O_PATH. Entries are
//! shared (`Arc`): an evicted or removed entry is closed once the last call
//! using it returns. When full, the least recently used eighth is evicted
//! in one sweep, so a miss never scans the whole table.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
  Reg,
  Dir,
  Other,
}

#[derive(Debug)]
pub struct Obj {
  pub fd: OwnedFd,
  pub kind: Kind,
  pub dev: u64,
  pub ino: u64,
  /// The fd was opened O_RDWR (regular files only).
  pub writable: bool,
  /// An O_PATH fd (from LOOKUP): enough for stat, *at calls and handles;
  /// a regular file is reopened for I/O on its first READ or WRITE.
  pub path_only: bool,
}

struct Slot {
  obj: Arc<Obj>,
  used: u64,
}

struct Inner {
  map: HashMap<Box<[u8]>, Slot>,
  tick: u64,
}

pub struct FdCache {
  inner: Mutex<Inner>,
  cap: usize,
}

impl FdCache {
  pub fn new(cap: usize) -> Self {
    FdCache { inner: Mutex::new(Inner { map: HashMap::with_capacity(cap.min(1 << 16)), tick: 0 }), cap: cap.max(8) }
  }

  pub fn get(&self, key: &[u8]) -> Option<Arc<Obj>> {
    let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.tick += 1;
    let tick = inner.tick;
    inner.map.get_mut(key).map(|slot| {
      slot.used = tick;
      slot.obj.clone()
    })
  }

  /// Inserts `obj` unless another thread cached the same handle meanwhile;
  /// returns the entry that is in the cache.
  pub fn insert(&self, key: &[u8], obj: Arc<Obj>) -> Arc<Obj> {
    let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.tick += 1;
    let tick = inner.tick;
    if let Some(slot) = inner.map.get_mut(key) {
      slot.used = tick;
      return slot.obj.clone();
    }
    if inner.map.len() >= self.cap {
      let mut ages: Vec<u64> = inner.map.values().map(|s| s.used).collect();
      let k = (self.cap / 8).max(1).min(ages.len() - 1);
      let (_, cut, _) = ages.select_nth_unstable(k);
      let cut = *cut;
      inner.map.retain(|_, s| s.used > cut);
    }
    inner.map.insert(key.into(), Slot { obj: obj.clone(), used: tick });
    obj
  }

  /// Puts `obj` in place of whatever is cached for `key`.
  pub fn replace(&self, key: &[u8], obj: Arc<Obj>) {
    let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.tick += 1;
    let used = inner.tick;
    if let Some(slot) = inner.map.get_mut(key) {
      *slot = Slot { obj, used };
    } else {
      drop(inner);
      self.insert(key, obj);
    }
  }

  /// Drops the entry (it closes when the last user returns).
  pub fn remove(&self, key: &[u8]) {
    let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.map.remove(key);
  }

  /// Drops every entry for the inode (a removed file may have been cached
  /// under a handle spelled differently).
  pub fn remove_inode(&self, dev: u64, ino: u64) {
    let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.map.retain(|_, s| !(s.obj.dev == dev && s.obj.ino == ino));
  }

  /// Drops the entries whose object is no longer linked anywhere (st_nlink
  /// 0: removed by SMB, a shell or another NFS server, not by us, which
  /// drops its entry itself). An open fd keeps a deleted file's blocks
  /// allocated, so without this a file deleted beside NFS would hold its
  /// space until the LRU pushed it out. The fstats run outside the lock.
  /// Returns how many were dropped.
  pub fn sweep_unlinked(&self) -> usize {
    let entries: Vec<(Box<[u8]>, Arc<Obj>)> = {
      let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
      inner.map.iter().map(|(k, s)| (k.clone(), s.obj.clone())).collect()
    };
    let gone: Vec<(Box<[u8]>, Arc<Obj>)> = entries
      .into_iter()
      .filter(|(_, o)| {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on an fd we own, into a zeroed stat.
        let r = unsafe { libc::fstat(std::os::fd::AsRawFd::as_raw_fd(&o.fd), &mut st) };
        r == 0 && st.st_nlink == 0
      })
      .collect();
    if gone.is_empty() {
      return 0;
    }
    let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
    let mut n = 0;
    for (k, o) in &gone {
      // Only if it is still the same entry (not reopened meanwhile).
      if inner.map.get(k).is_some_and(|s| Arc::ptr_eq(&s.obj, o)) {
        inner.map.remove(k);
        n += 1;
      }
    }
    n
  }

  pub fn len(&self) -> usize {
    self.inner.lock().unwrap_or_else(|e| e.into_inner()).map.len()
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  pub fn clear(&self) {
    self.inner.lock().unwrap_or_else(|e| e.into_inner()).map.clear();
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn obj(ino: u64) -> Arc<Obj> {
    let f = std::fs::File::open("/").unwrap();
    Arc::new(Obj { fd: f.into(), kind: Kind::Dir, dev: 1, ino, writable: false, path_only: false })
  }

  #[test]
  fn evicts_least_recently_used_and_closes_fds() {
    let c = FdCache::new(16);
    let first = obj(0);
    c.insert(&[0], first);
    for i in 1..16u8 {
      c.insert(&[i], obj(i as u64));
      assert!(c.get(&[0]).is_some()); // keep 0 hot
    }
    c.insert(&[100], obj(100));
    assert!(c.len() <= 16);
    assert!(c.get(&[0]).is_some(), "hot entry survives");
    assert!(c.get(&[1]).is_none(), "coldest entry evicted");
    c.remove(&[0]);
    assert!(c.get(&[0]).is_none());
    c.remove_inode(1, 100);
    assert!(c.get(&[100]).is_none());
  }

  #[test]
  fn sweep_drops_files_deleted_behind_its_back() {
    let dir = std::env::temp_dir().join(format!("cairn-fdcache-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let open = |name: &str, ino: u64| {
      let f = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(dir.join(name)).unwrap();
      Arc::new(Obj { fd: f.into(), kind: Kind::Reg, dev: 1, ino, writable: true, path_only: false })
    };
    let c = FdCache::new(16);
    c.insert(&[1], open("kept", 1));
    c.insert(&[2], open("deleted", 2));
    c.insert(&[3], obj(3));
    assert_eq!(c.sweep_unlinked(), 0, "nothing deleted yet");
    std::fs::remove_file(dir.join("deleted")).unwrap();
    assert_eq!(c.sweep_unlinked(), 1);
    assert!(c.get(&[2]).is_none(), "the deleted file's fd is dropped");
    assert!(c.get(&[1]).is_some() && c.get(&[3]).is_some());
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
