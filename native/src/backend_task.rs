//! The posix backend as a Node-API class. Every method returns a promise
//! of the packed result record of `posix_backend.rs` (decoded by
//! `appliance/src/nfs/backend/posix/decode.ts`), computed by one
//! [`OpTask`] on a libuv worker thread; errors reject with `err.code` set
//! to the errno name.
//!
//! Buffers are not copied: READ preads straight into the Buffer JS passes
//! in, WRITE pwrites straight from the caller's Buffer. The task keeps a
//! reference to that Buffer until it resolves on the JS thread, so it
//! cannot be collected while the worker uses it, and drops it there.

use crate::creds::Cred;
use crate::errno::{to_js, OsError, OsResult};
use crate::posix_backend::{CreateHow, DirArgs, Export, NodeType, SetAttrs, Stable, WireHandles, MAX_IO};
use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer, Either};
use napi::{Env, Result, Task};
use napi_derive::napi;
use std::os::fd::FromRawFd;
use std::sync::Arc;

type Job = Box<dyn FnOnce() -> OsResult<Vec<u8>> + Send>;

pub struct OpTask {
  job: Option<Job>,
  out: Option<OsResult<Vec<u8>>>,
  /// The JS Buffers the job reads from or writes into, kept alive until resolve.
  _keep: Vec<Buffer>,
}

impl OpTask {
  fn new(job: Job, keep: Option<Buffer>) -> AsyncTask<OpTask> {
    Self::new_keeping(job, keep.into_iter().collect())
  }

  fn new_keeping(job: Job, keep: Vec<Buffer>) -> AsyncTask<OpTask> {
    AsyncTask::new(OpTask { job: Some(job), out: None, _keep: keep })
  }
}

impl Task for OpTask {
  type Output = ();
  type JsValue = Buffer;
  fn compute(&mut self) -> Result<()> {
    let job = self.job.take().expect("computed once");
    self.out = Some(job());
    Ok(())
  }
  fn resolve(&mut self, env: Env, _: ()) -> Result<Buffer> {
    to_js(&env, self.out.take().expect("computed")).map(Buffer::from)
  }
}

/// sattr3 as JS passes it: each field only when set; `atimeNow`/`mtimeNow`
/// mean SET_TO_SERVER_TIME.
#[napi(object)]
pub struct JsSetAttrs {
  pub mode: Option<u32>,
  pub uid: Option<u32>,
  pub gid: Option<u32>,
  pub size: Option<BigInt>,
  pub atime_sec: Option<u32>,
  pub atime_nsec: Option<u32>,
  pub atime_now: Option<bool>,
  pub mtime_sec: Option<u32>,
  pub mtime_nsec: Option<u32>,
  pub mtime_now: Option<bool>,
}

fn time_of(now: Option<bool>, sec: Option<u32>, nsec: Option<u32>) -> Option<Option<(u32, u32)>> {
  if now == Some(true) {
    Some(None)
  } else {
    sec.map(|s| Some((s, nsec.unwrap_or(0))))
  }
}

impl From<&JsSetAttrs> for SetAttrs {
  fn from(a: &JsSetAttrs) -> SetAttrs {
    SetAttrs {
      mode: a.mode,
      uid: a.uid,
      gid: a.gid,
      size: a.size.as_ref().map(|b| b.get_u64().1),
      atime: time_of(a.atime_now, a.atime_sec, a.atime_nsec),
      mtime: time_of(a.mtime_now, a.mtime_sec, a.mtime_nsec),
    }
  }
}

/// A filename3 as JS passes it: a string when its bytes are valid UTF-8,
/// else a Buffer of the exact bytes (filename3 is opaque, RFC 1813 §2.5).
pub(crate) type JsName = Either<String, Buffer>;

pub(crate) fn name_of(n: JsName) -> Vec<u8> {
  match n {
    Either::A(s) => s.into_bytes(),
    Either::B(b) => b.to_vec(),
  }
}

fn cred(uid: u32, gid: u32, gids: Vec<u32>) -> Cred {
  Cred { uid, gid, gids }
}

fn u64_of(b: &BigInt) -> u64 {
  let (neg, v, lossless) = b.get_u64();
  if neg || !lossless {
    u64::MAX
  } else {
    v
  }
}

/// A non-blocking call's record copied into the caller's scratch Buffer:
/// its length, or -1 for "would block". A record longer than the scratch
/// is an error (the scratch is sized for the largest, a few hundred bytes).
fn scratch(env: &Env, r: OsResult<Option<Vec<u8>>>, out: &mut [u8]) -> Result<i32> {
  match to_js(env, r)? {
    None => Ok(-1),
    Some(v) if v.len() <= out.len() => {
      out[..v.len()].copy_from_slice(&v);
      Ok(v.len() as i32)
    }
    Some(v) => Err(napi::Error::from_reason(format!("result record of {} bytes exceeds the {}-byte scratch buffer", v.len(), out.len()))),
  }
}

/// One READ of `PosixExport::send_reads`: the arguments of `Export::send_read`.
#[napi(object)]
pub struct JsSendPart {
  pub handle: Buffer,
  pub head: Buffer,
  pub offset: BigInt,
  pub count: u32,
  pub tail: Buffer,
  pub spill: Buffer,
}

/// The socket `socket` duplicated on the JS thread: the worker writes to
/// its own descriptor, so a connection closed meanwhile can never make it
/// write into another one.
fn dup_socket(socket: i32) -> Result<std::os::fd::OwnedFd> {
  // SAFETY: fcntl on a descriptor number; the result is checked.
  let dup = unsafe { libc::fcntl(socket, libc::F_DUPFD_CLOEXEC, 0) };
  if dup < 0 {
    return Err(napi::Error::from_reason(format!("dup of socket {socket}: {}", std::io::Error::last_os_error())));
  }
  // SAFETY: dup is a fresh descriptor that nothing else owns.
  Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(dup) })
}

/// A raw pointer into a JS Buffer that the owning task keeps alive.
struct Mem(*mut u8, usize);
// SAFETY: the Buffer outlives the job (held by the task), and the JS side
// promises not to touch it until the promise settles.
unsafe impl Send for Mem {}

/// An exported directory served by the posix backend.
#[napi]
pub struct PosixExport {
  ex: Arc<Export>,
}

#[napi]
impl PosixExport {
  /// Handle of the export root.
  #[napi(getter)]
  pub fn root_handle(&self) -> Buffer {
    Buffer::from(self.ex.root_handle().to_vec())
  }

  /// Open objects in the fd cache (for tests and metrics).
  #[napi(getter)]
  pub fn cached_fds(&self) -> u32 {
    self.ex.cached_fds() as u32
  }

  /// The non-blocking variants (see posix_backend.rs): run on this thread
  /// and write the same record as the async method into `out` (a scratch
  /// Buffer the caller reads at once), returning its length; -1 when the
  /// call would have to wait for the disk or an open — then use the async
  /// method. No Buffer is made per call: measured, making one (an external
  /// buffer with its finalizer) cost 3–4 µs, twice the fstat behind a GETATTR.
  #[napi]
  pub fn try_getattr(&self, env: Env, handle: &[u8], mut out: Buffer) -> Result<i32> {
    scratch(&env, self.ex.try_getattr(handle), &mut out)
  }

  #[napi]
  pub fn try_lookup(&self, env: Env, uid: u32, gid: u32, gids: Vec<u32>, dir: &[u8], name: JsName, mut out: Buffer) -> Result<i32> {
    scratch(&env, self.ex.try_lookup(&cred(uid, gid, gids), dir, &name_of(name)), &mut out)
  }

  /// `guard` = [ctime sec, nsec] for the SETATTR guard.
  #[napi]
  pub fn try_setattr(&self, env: Env, uid: u32, gid: u32, gids: Vec<u32>, handle: &[u8], set: JsSetAttrs, guard: Option<Vec<u32>>, mut out: Buffer) -> Result<i32> {
    let g = guard.filter(|g| g.len() == 2).map(|g| (g[0], g[1]));
    scratch(&env, self.ex.try_setattr(&cred(uid, gid, gids), handle, &SetAttrs::from(&set), g), &mut out)
  }

  #[napi]
  pub fn try_access(&self, env: Env, uid: u32, gid: u32, gids: Vec<u32>, handle: &[u8], mask: u32, mut out: Buffer) -> Result<i32> {
    scratch(&env, self.ex.try_access(&cred(uid, gid, gids), handle, mask), &mut out)
  }

  #[napi]
  pub fn try_read(&self, env: Env, uid: u32, gid: u32, gids: Vec<u32>, handle: &[u8], offset: BigInt, mut into: Buffer, mut out: Buffer) -> Result<i32> {
    let n = into.len().min(MAX_IO);
    scratch(&env, self.ex.try_read(&cred(uid, gid, gids), handle, u64_of(&offset), &mut into[..n]), &mut out)
  }

  /// See `Export::try_read_plan`; -1 when the file is not in the fd cache.
  #[napi]
  pub fn try_read_plan(&self, env: Env, uid: u32, gid: u32, gids: Vec<u32>, handle: &[u8], offset: BigInt, count: u32, mut out: Buffer) -> Result<i32> {
    scratch(&env, self.ex.try_read_plan(&cred(uid, gid, gids), handle, u64_of(&offset), count.min(MAX_IO as u32)), &mut out)
  }

  /// UNSTABLE writes only.
  #[napi]
  pub fn try_write(&self, env: Env, uid: u32, gid: u32, gids: Vec<u32>, handle: &[u8], offset: BigInt, data: &[u8], mut out: Buffer) -> Result<i32> {
    if data.len() > MAX_IO {
      return Ok(-1);
    }
    scratch(&env, self.ex.try_write(&cred(uid, gid, gids), handle, u64_of(&offset), data), &mut out)
  }

  /// Planned READs sent back to back by one worker (`Export::send_read`
  /// each, on `socket` duplicated first, `dup_socket`): the next part
  /// starts as soon as the last one is out, with no round trip through the
  /// event loop between them. It stops
  /// at the first part the socket could not take whole: the record holds
  /// that part's index (u32; `parts.length` when all went out) and the
  /// bytes of it left in its spill (u32). The parts after it are not
  /// started. An error after bytes went out rejects; the caller closes.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn send_reads(&self, socket: i32, parts: Vec<JsSendPart>) -> Result<AsyncTask<OpTask>> {
    let sock = dup_socket(socket)?;
    let mut jobs = Vec::with_capacity(parts.len());
    let mut keep = Vec::with_capacity(parts.len());
    for mut p in parts {
      let mem = Mem(p.spill.as_mut_ptr(), p.spill.len());
      jobs.push((p.handle.to_vec(), p.head.to_vec(), u64_of(&p.offset), (p.count as usize).min(MAX_IO), p.tail.to_vec(), mem));
      keep.push(p.spill);
    }
    let ex = self.ex.clone();
    Ok(OpTask::new_keeping(
      Box::new(move || {
        let total = jobs.len();
        for (i, (h, hd, off, count, tl, mem)) in jobs.into_iter().enumerate() {
          // SAFETY: see Mem; every spill is held by the task.
          let buf = unsafe { std::slice::from_raw_parts_mut(mem.0, mem.1) };
          let left = ex.send_read(&h, std::os::fd::AsRawFd::as_raw_fd(&sock), &hd, off, count, &tl, buf)?;
          if left > 0 {
            return Ok([(i as u32).to_le_bytes(), (left as u32).to_le_bytes()].concat());
          }
        }
        Ok([(total as u32).to_le_bytes(), 0u32.to_le_bytes()].concat())
      }),
      keep,
    ))
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn getattr(&self, handle: Buffer) -> AsyncTask<OpTask> {
    let (ex, h) = (self.ex.clone(), handle.to_vec());
    OpTask::new(Box::new(move || ex.getattr(&h)), None)
  }

  /// `guard` = [ctime sec, nsec] for the SETATTR guard.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn setattr(&self, uid: u32, gid: u32, gids: Vec<u32>, handle: Buffer, set: JsSetAttrs, guard: Option<Vec<u32>>) -> AsyncTask<OpTask> {
    let (ex, h, c, s) = (self.ex.clone(), handle.to_vec(), cred(uid, gid, gids), SetAttrs::from(&set));
    let g = guard.filter(|g| g.len() == 2).map(|g| (g[0], g[1]));
    OpTask::new(Box::new(move || ex.setattr(&c, &h, &s, g)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn lookup(&self, uid: u32, gid: u32, gids: Vec<u32>, dir: Buffer, name: JsName) -> AsyncTask<OpTask> {
    let name = name_of(name);
    let (ex, h, c) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids));
    OpTask::new(Box::new(move || ex.lookup(&c, &h, &name)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn access(&self, uid: u32, gid: u32, gids: Vec<u32>, handle: Buffer, mask: u32) -> AsyncTask<OpTask> {
    let (ex, h, c) = (self.ex.clone(), handle.to_vec(), cred(uid, gid, gids));
    OpTask::new(Box::new(move || ex.access(&c, &h, mask)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn readlink(&self, handle: Buffer) -> AsyncTask<OpTask> {
    let (ex, h) = (self.ex.clone(), handle.to_vec());
    OpTask::new(Box::new(move || ex.readlink(&h)), None)
  }

  /// Reads into `into` (at most 1 MiB); the record says how many bytes.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn read(&self, uid: u32, gid: u32, gids: Vec<u32>, handle: Buffer, offset: BigInt, mut into: Buffer) -> AsyncTask<OpTask> {
    let (ex, h, c, off) = (self.ex.clone(), handle.to_vec(), cred(uid, gid, gids), u64_of(&offset));
    let mem = Mem(into.as_mut_ptr(), into.len().min(MAX_IO));
    OpTask::new(
      Box::new(move || {
        let mem = mem;
        // SAFETY: see Mem.
        let buf = unsafe { std::slice::from_raw_parts_mut(mem.0, mem.1) };
        ex.read(&c, &h, off, buf)
      }),
      Some(into),
    )
  }

  /// The data of a READ planned by tryReadPlan (access checked then; a
  /// file removed since is still read, see Export::planned).
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn read_planned(&self, handle: Buffer, offset: BigInt, mut into: Buffer) -> AsyncTask<OpTask> {
    let (ex, h, off) = (self.ex.clone(), handle.to_vec(), u64_of(&offset));
    let mem = Mem(into.as_mut_ptr(), into.len().min(MAX_IO));
    OpTask::new(
      Box::new(move || {
        let mem = mem;
        // SAFETY: see Mem.
        let buf = unsafe { std::slice::from_raw_parts_mut(mem.0, mem.1) };
        ex.read_planned(&h, off, buf)
      }),
      Some(into),
    )
  }

  /// `stable`: 0 unstable, 1 data_sync, 2 file_sync.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn write(&self, uid: u32, gid: u32, gids: Vec<u32>, handle: Buffer, offset: BigInt, data: Buffer, stable: u32) -> AsyncTask<OpTask> {
    let (ex, h, c, off) = (self.ex.clone(), handle.to_vec(), cred(uid, gid, gids), u64_of(&offset));
    let stable = match stable {
      0 => Stable::Unstable,
      1 => Stable::DataSync,
      _ => Stable::FileSync,
    };
    let mem = Mem(data.as_ptr() as *mut u8, data.len());
    OpTask::new(
      Box::new(move || {
        let mem = mem;
        if mem.1 > MAX_IO {
          return Err(OsError::new(libc::EINVAL, format!("write of {} bytes exceeds {MAX_IO}", mem.1)));
        }
        // SAFETY: see Mem.
        let buf = unsafe { std::slice::from_raw_parts(mem.0 as *const u8, mem.1) };
        ex.write(&c, &h, off, buf, stable)
      }),
      Some(data),
    )
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn commit(&self, handle: Buffer) -> AsyncTask<OpTask> {
    let (ex, h) = (self.ex.clone(), handle.to_vec());
    OpTask::new(Box::new(move || ex.commit(&h)), None)
  }

  /// `how`: 0 unchecked, 1 guarded, 2 exclusive (then `verifier` is 8 bytes).
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn create(&self, uid: u32, gid: u32, gids: Vec<u32>, dir: Buffer, name: JsName, how: u32, set: JsSetAttrs, verifier: Option<Buffer>) -> AsyncTask<OpTask> {
    let name = name_of(name);
    let (ex, h, c) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids));
    let how = match how {
      0 => Ok(CreateHow::Unchecked(SetAttrs::from(&set))),
      1 => Ok(CreateHow::Guarded(SetAttrs::from(&set))),
      _ => match verifier.as_deref().map(<[u8; 8]>::try_from) {
        Some(Ok(v)) => Ok(CreateHow::Exclusive(v)),
        _ => Err(OsError::new(libc::EINVAL, "exclusive create needs an 8-byte verifier")),
      },
    };
    OpTask::new(Box::new(move || ex.create(&c, &h, &name, &how?)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn mkdir(&self, uid: u32, gid: u32, gids: Vec<u32>, dir: Buffer, name: JsName, set: JsSetAttrs) -> AsyncTask<OpTask> {
    let name = name_of(name);
    let (ex, h, c, s) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids), SetAttrs::from(&set));
    OpTask::new(Box::new(move || ex.mkdir(&c, &h, &name, &s)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn symlink(&self, uid: u32, gid: u32, gids: Vec<u32>, dir: Buffer, name: JsName, target: JsName, set: JsSetAttrs) -> AsyncTask<OpTask> {
    let (name, target) = (name_of(name), name_of(target));
    let (ex, h, c, s) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids), SetAttrs::from(&set));
    OpTask::new(Box::new(move || ex.symlink(&c, &h, &name, &target, &s)), None)
  }

  /// `kind`: 'chr' | 'blk' | 'sock' | 'fifo'.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn mknod(&self, uid: u32, gid: u32, gids: Vec<u32>, dir: Buffer, name: JsName, kind: String, set: JsSetAttrs, major: u32, minor: u32) -> AsyncTask<OpTask> {
    let name = name_of(name);
    let (ex, h, c, s) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids), SetAttrs::from(&set));
    let kind = match kind.as_str() {
      "chr" => Ok(NodeType::Chr),
      "blk" => Ok(NodeType::Blk),
      "sock" => Ok(NodeType::Sock),
      "fifo" => Ok(NodeType::Fifo),
      other => Err(OsError::new(crate::errno::EBADTYPE, format!("mknod of type {other:?}"))),
    };
    OpTask::new(Box::new(move || ex.mknod(&c, &h, &name, kind?, &s, (major, minor))), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn remove(&self, uid: u32, gid: u32, gids: Vec<u32>, dir: Buffer, name: JsName) -> AsyncTask<OpTask> {
    let name = name_of(name);
    let (ex, h, c) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids));
    OpTask::new(Box::new(move || ex.remove(&c, &h, &name)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn rmdir(&self, uid: u32, gid: u32, gids: Vec<u32>, dir: Buffer, name: JsName) -> AsyncTask<OpTask> {
    let name = name_of(name);
    let (ex, h, c) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids));
    OpTask::new(Box::new(move || ex.rmdir(&c, &h, &name)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn rename(&self, uid: u32, gid: u32, gids: Vec<u32>, from_dir: Buffer, from_name: JsName, to_dir: Buffer, to_name: JsName) -> AsyncTask<OpTask> {
    let (from_name, to_name) = (name_of(from_name), name_of(to_name));
    let (ex, fh, th, c) = (self.ex.clone(), from_dir.to_vec(), to_dir.to_vec(), cred(uid, gid, gids));
    OpTask::new(Box::new(move || ex.rename(&c, &fh, &from_name, &th, &to_name)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn link(&self, uid: u32, gid: u32, gids: Vec<u32>, handle: Buffer, dir: Buffer, name: JsName) -> AsyncTask<OpTask> {
    let name = name_of(name);
    let (ex, h, dh, c) = (self.ex.clone(), handle.to_vec(), dir.to_vec(), cred(uid, gid, gids));
    OpTask::new(Box::new(move || ex.link(&c, &h, &dh, &name)), None)
  }

  /// One task per page, READDIRPLUS's stats and handles included.
  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn readdir(&self, uid: u32, gid: u32, gids: Vec<u32>, dir: Buffer, cookie: BigInt, verifier: Buffer, max_entries: u32, plus: bool) -> AsyncTask<OpTask> {
    let (ex, h, c, v) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids), verifier.to_vec());
    let cookie = u64_of(&cookie);
    OpTask::new(Box::new(move || ex.readdir(&c, &h, cookie, &v, max_entries as usize, plus)), None)
  }

  /// READDIR (`plus` false) or READDIRPLUS as the complete XDR result
  /// (`READDIR3res` / `READDIRPLUS3res`: NFS3_OK or NFS3ERR_TOOSMALL),
  /// bounded by `dircount`/`maxcount`, with wire handles made from
  /// `exportId` and `fhSecret` as HandleCodec makes them (xdr_dir.rs) —
  /// followed by 8 more bytes, not part of the XDR: the cookie (u64 LE)
  /// the next page resumes after.
  #[napi(ts_return_type = "Promise<Buffer>")]
  #[allow(clippy::too_many_arguments)]
  pub fn readdir_xdr(
    &self,
    uid: u32,
    gid: u32,
    gids: Vec<u32>,
    dir: Buffer,
    cookie: BigInt,
    verifier: Buffer,
    dircount: u32,
    maxcount: u32,
    plus: bool,
    export_id: u32,
    fh_secret: Buffer,
  ) -> AsyncTask<OpTask> {
    let (ex, h, c, v) = (self.ex.clone(), dir.to_vec(), cred(uid, gid, gids), verifier.to_vec());
    let cookie = u64_of(&cookie);
    let wire = WireHandles::new(export_id, &fh_secret);
    OpTask::new(
      Box::new(move || {
        let args = DirArgs { cookie, verf: &v, dircount, maxcount, plus };
        let (mut xdr, resume) = ex.readdir_page(&c, &h, &args, &wire)?;
        xdr.extend_from_slice(&resume.to_le_bytes());
        Ok(xdr)
      }),
      None,
    )
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn fsstat(&self, handle: Buffer) -> AsyncTask<OpTask> {
    let (ex, h) = (self.ex.clone(), handle.to_vec());
    OpTask::new(Box::new(move || ex.fsstat(&h)), None)
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn fsinfo(&self, handle: Buffer) -> AsyncTask<OpTask> {
    let (ex, h) = (self.ex.clone(), handle.to_vec());
    OpTask::new(Box::new(move || ex.fsinfo(&h)), None)
  }

  /// Closes every cached fd (in-flight calls keep theirs until they return).
  #[napi]
  pub fn close(&self) {
    self.ex.close();
  }

  /// Closes the cached fds of files deleted outside this server (so their
  /// space is freed); resolves to how many. One fstat per cached fd, on a worker.
  #[napi(ts_return_type = "Promise<number>")]
  pub fn sweep(&self) -> AsyncTask<SweepTask> {
    AsyncTask::new(SweepTask { ex: self.ex.clone(), dropped: 0 })
  }
}

pub struct SweepTask {
  ex: Arc<Export>,
  dropped: usize,
}

impl Task for SweepTask {
  type Output = ();
  type JsValue = u32;
  fn compute(&mut self) -> Result<()> {
    self.dropped = self.ex.sweep();
    Ok(())
  }
  fn resolve(&mut self, _env: Env, _: ()) -> Result<u32> {
    Ok(self.dropped as u32)
  }
}

pub struct OpenExportTask {
  pub path: String,
  pub cache_size: usize,
  pub out: Option<OsResult<Export>>,
}

impl Task for OpenExportTask {
  type Output = ();
  type JsValue = PosixExport;
  fn compute(&mut self) -> Result<()> {
    self.out = Some(Export::open(&self.path, self.cache_size));
    Ok(())
  }
  fn resolve(&mut self, env: Env, _: ()) -> Result<PosixExport> {
    to_js(&env, self.out.take().expect("computed")).map(|ex| PosixExport { ex: Arc::new(ex) })
  }
}
