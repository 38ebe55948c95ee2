//! Async tasks (run on libuv's worker threads) around the pure cores in
//! `posix.rs`. Each resolves on the JS thread, where OS errors become JS
//! errors whose `code` is the errno name.

use crate::errno::{to_js, OsResult};
use crate::posix::{self, StatInfo};
use napi::bindgen_prelude::{BigInt, Buffer};
use napi::{Env, Result, Task};
use napi_derive::napi;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

/// Attributes of an inode as JavaScript sees them. Times are split in
/// seconds and nanoseconds, as NFS's `nfstime3` wants them.
#[napi(object)]
pub struct PosixStat {
  pub dev: BigInt,
  pub ino: BigInt,
  pub mode: u32,
  pub nlink: u32,
  pub uid: u32,
  pub gid: u32,
  pub rdev: BigInt,
  /// Bytes; exact up to 2^53.
  pub size: f64,
  /// Bytes actually allocated (st_blocks × 512).
  pub used: f64,
  pub atime_sec: i64,
  pub atime_nsec: u32,
  pub mtime_sec: i64,
  pub mtime_nsec: u32,
  pub ctime_sec: i64,
  pub ctime_nsec: u32,
}

impl From<StatInfo> for PosixStat {
  fn from(s: StatInfo) -> Self {
    PosixStat {
      dev: BigInt::from(s.dev),
      ino: BigInt::from(s.ino),
      mode: s.mode,
      nlink: s.nlink.min(u32::MAX as u64) as u32,
      uid: s.uid,
      gid: s.gid,
      rdev: BigInt::from(s.rdev),
      size: s.size as f64,
      used: (s.blocks * 512) as f64,
      atime_sec: s.atime.0,
      atime_nsec: s.atime.1,
      mtime_sec: s.mtime.0,
      mtime_nsec: s.mtime.1,
      ctime_sec: s.ctime.0,
      ctime_nsec: s.ctime.1,
    }
  }
}

/// A directory whose filesystem handles are made and opened from: the root
/// of an export. Holds a read-only directory fd for as long as the object lives.
#[napi]
pub struct PosixRoot {
  fd: Arc<OwnedFd>,
  path: String,
}

#[napi]
impl PosixRoot {
  /// The path this root was opened with.
  #[napi(getter)]
  pub fn path(&self) -> String {
    self.path.clone()
  }

  /// The handle of `relPath` below the root ("" for the root itself).
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn handle_of(&self, rel_path: String) -> napi::bindgen_prelude::AsyncTask<NameToHandleTask> {
    napi::bindgen_prelude::AsyncTask::new(NameToHandleTask { root: self.fd.clone(), rel: rel_path, out: None })
  }

  /// `open_by_handle_at` + `fstat`: the attributes of the inode behind `handle`.
  /// A handle of a deleted inode fails with `ESTALE`.
  #[napi(ts_return_type = "Promise<PosixStat>")]
  pub fn stat_by_handle(&self, handle: Buffer) -> napi::bindgen_prelude::AsyncTask<StatByHandleTask> {
    napi::bindgen_prelude::AsyncTask::new(StatByHandleTask { root: self.fd.clone(), handle: handle.to_vec(), out: None })
  }
}

pub struct OpenRootTask {
  pub path: String,
  pub out: Option<OsResult<OwnedFd>>,
}

impl Task for OpenRootTask {
  type Output = ();
  type JsValue = PosixRoot;
  fn compute(&mut self) -> Result<()> {
    self.out = Some(posix::open_root(&self.path));
    Ok(())
  }
  fn resolve(&mut self, env: Env, _: ()) -> Result<PosixRoot> {
    let fd = to_js(&env, self.out.take().expect("computed"))?;
    Ok(PosixRoot { fd: Arc::new(fd), path: self.path.clone() })
  }
}

pub struct NameToHandleTask {
  root: Arc<OwnedFd>,
  rel: String,
  out: Option<OsResult<Vec<u8>>>,
}

impl Task for NameToHandleTask {
  type Output = ();
  type JsValue = Buffer;
  fn compute(&mut self) -> Result<()> {
    self.out = Some(posix::name_to_handle(self.root.as_raw_fd(), &self.rel));
    Ok(())
  }
  fn resolve(&mut self, env: Env, _: ()) -> Result<Buffer> {
    to_js(&env, self.out.take().expect("computed")).map(Buffer::from)
  }
}

pub struct StatByHandleTask {
  root: Arc<OwnedFd>,
  handle: Vec<u8>,
  out: Option<OsResult<StatInfo>>,
}

impl Task for StatByHandleTask {
  type Output = ();
  type JsValue = PosixStat;
  fn compute(&mut self) -> Result<()> {
    self.out = Some(posix::stat_by_handle(self.root.as_raw_fd(), &self.handle));
    Ok(())
  }
  fn resolve(&mut self, env: Env, _: ()) -> Result<PosixStat> {
    to_js(&env, self.out.take().expect("computed")).map(PosixStat::from)
  }
}
