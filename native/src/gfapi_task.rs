//! The gfapi core (`gfapi.rs`) as Node-API: a `GfapiVolume` class whose
//! methods return promises. Each call runs as one AsyncTask on a libuv
//! worker thread (the libgfapi call blocks for network round trips);
//! errors reject with `code` = errno name.

use crate::backend_task::{name_of, JsName};
use crate::errno::{to_js, OsResult};
use crate::gfapi::{self, Cred, DirEntry, SetAttr, Stat, Volume};
use crate::gfapi_stats as counters;
use crate::write_queue::WriteQueues;
use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer, ToNapiValue, TypeName, Unknown};
use napi::JsValue;
use napi::{Env, JsDeferred, Result, Task};
use napi_derive::napi;
use std::sync::Arc;

/// Attributes as JavaScript sees them (sizes exact up to 2^53).
#[napi(object)]
pub struct GfStat {
  pub ino: BigInt,
  pub mode: u32,
  pub nlink: u32,
  pub uid: u32,
  pub gid: u32,
  pub rdev_major: u32,
  pub rdev_minor: u32,
  pub size: f64,
  pub used: f64,
  pub atime_sec: i64,
  pub atime_nsec: u32,
  pub mtime_sec: i64,
  pub mtime_nsec: u32,
  pub ctime_sec: i64,
  pub ctime_nsec: u32,
}

impl From<Stat> for GfStat {
  fn from(s: Stat) -> Self {
    GfStat {
      ino: BigInt::from(s.ino),
      mode: s.mode,
      nlink: s.nlink.min(u32::MAX as u64) as u32,
      uid: s.uid,
      gid: s.gid,
      rdev_major: libc::major(s.rdev),
      rdev_minor: libc::minor(s.rdev),
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

#[napi(object)]
pub struct GfCred {
  pub uid: u32,
  pub gid: u32,
  pub gids: Vec<u32>,
}

impl From<GfCred> for Cred {
  fn from(c: GfCred) -> Self {
    Cred { uid: c.uid, gid: c.gid, gids: c.gids }
  }
}

#[napi(object)]
pub struct GfEntry {
  pub gfid: Buffer,
  pub stat: GfStat,
  /// The parent directory's attributes after a create-type call.
  pub dir: Option<GfStat>,
}

/// A READ into the caller's Buffer: `count` bytes were read.
#[napi(object)]
pub struct GfReadInto {
  pub count: u32,
  pub eof: bool,
  pub stat: GfStat,
}

/// One client xlator option for `glfs_set_xlator_option` (before glfs_init).
#[napi(object)]
pub struct GfXlatorOption {
  /// Xlator name or pattern ("*-md-cache", "gv-client-0" …).
  pub xlator: String,
  pub key: String,
  pub value: String,
}

#[napi(object)]
pub struct GfRead {
  pub data: Buffer,
  pub eof: bool,
  pub stat: GfStat,
}

#[napi(object)]
pub struct GfPrePost {
  /// Unknown for unstable writes (see Volume::write).
  pub before: Option<GfStat>,
  pub after: GfStat,
}

/// A directory's attributes before and after a change (either may be unknown).
#[napi(object)]
pub struct GfDirWcc {
  pub before: Option<GfStat>,
  pub after: Option<GfStat>,
}

#[napi(object)]
pub struct GfAccess {
  /// Bits of R_OK (4), W_OK (2), X_OK (1) granted.
  pub granted: u32,
  pub stat: GfStat,
}

#[napi(object)]
pub struct GfDirEntry {
  /// The name, decoded (lossily when its bytes are not UTF-8) ...
  pub name: String,
  /// ... and then its exact bytes here.
  pub name_bytes: Option<Buffer>,
  pub ino: BigInt,
  pub cookie: BigInt,
  pub gfid: Option<Buffer>,
  pub stat: Option<GfStat>,
}

#[napi(object)]
pub struct GfDir {
  pub entries: Vec<GfDirEntry>,
  pub eof: bool,
  /// The directory's attributes after reading it.
  pub dir: Option<GfStat>,
}

#[napi(object)]
pub struct GfStatvfs {
  pub bsize: f64,
  pub frsize: f64,
  pub blocks: f64,
  pub bfree: f64,
  pub bavail: f64,
  pub files: f64,
  pub ffree: f64,
  pub favail: f64,
  pub namemax: u32,
}

#[napi(object)]
pub struct GfSetAttr {
  pub mode: Option<u32>,
  pub uid: Option<u32>,
  pub gid: Option<u32>,
  pub size: Option<f64>,
  /// Seconds and nanoseconds; `atimeServer` = set to the server's time.
  pub atime_sec: Option<i64>,
  pub atime_nsec: Option<u32>,
  pub atime_server: Option<bool>,
  pub mtime_sec: Option<i64>,
  pub mtime_nsec: Option<u32>,
  pub mtime_server: Option<bool>,
  /// SETATTR's guard: fail with ENOT_SYNC unless the ctime still equals it.
  pub guard_ctime_sec: Option<i64>,
  pub guard_ctime_nsec: Option<u32>,
}

/// One blocking call on a worker thread: `R` is the Rust result, turned
/// into the JS value `J` on the JS thread.
pub struct Op<R: Send + 'static, J> {
  name: &'static str,
  f: Option<Box<dyn FnOnce() -> OsResult<R> + Send>>,
  out: Option<OsResult<R>>,
  conv: fn(R) -> J,
  /// A JS Buffer the call reads from or writes into, kept alive until it
  /// resolves on the JS thread (see Mem).
  _keep: Option<Buffer>,
}

/// How a promise made by `create_deferred` is settled on the JS thread.
type Settle<T> = Box<dyn FnOnce(Env) -> Result<T> + Send>;

/// A raw pointer into a JS Buffer that the owning task keeps alive.
struct Mem(*mut u8, usize);
// SAFETY: the Buffer outlives the job (held by the task), and the JS side
// does not touch it until the promise settles (backend.ts: read `into`,
// write `data`).
unsafe impl Send for Mem {}

impl<R: Send + 'static, J: ToNapiValue + TypeName> Task for Op<R, J> {
  type Output = ();
  type JsValue = J;
  fn compute(&mut self) -> Result<()> {
    let f = self.f.take().expect("run once");
    let _op = counters::op_start(self.name);
    self.out = Some(f());
    Ok(())
  }
  fn resolve(&mut self, env: Env, _: ()) -> Result<J> {
    to_js(&env, self.out.take().expect("computed")).map(self.conv)
  }
}

fn op<R: Send + 'static, J: ToNapiValue + TypeName>(name: &'static str, f: impl FnOnce() -> OsResult<R> + Send + 'static, conv: fn(R) -> J) -> AsyncTask<Op<R, J>> {
  AsyncTask::new(Op { name, f: Some(Box::new(f)), out: None, conv, _keep: None })
}

fn entry(r: ([u8; 16], Stat)) -> GfEntry {
  GfEntry { gfid: Buffer::from(r.0.to_vec()), stat: r.1.into(), dir: None }
}

/// A new object (GFID, attributes) and its directory's attributes after.
type Made = (([u8; 16], Stat), Option<Stat>);
/// Data, eof, attributes.
type ReadOut = (Vec<u8>, bool, Stat);
/// Entries, eof, the directory's attributes.
type DirOut = (Vec<DirEntry>, bool, Option<Stat>);

fn made(r: Made) -> GfEntry {
  GfEntry { gfid: Buffer::from(r.0 .0.to_vec()), stat: r.0 .1.into(), dir: r.1.map(GfStat::from) }
}

/// Counters of the gfapi backend (process-wide, see gfapi_stats.rs) as
/// JSON: backend operations with count and total µs, libgfapi calls with
/// count and total µs, the most operations in flight at once, cache hits.
#[napi]
pub fn gfapi_stats(reset: Option<bool>) -> String {
  let j = counters::json();
  if reset == Some(true) {
    counters::reset();
  }
  j
}

fn prepost(r: (Stat, Stat)) -> GfPrePost {
  GfPrePost { before: Some(r.0.into()), after: r.1.into() }
}

fn prepost_opt(r: (Option<Stat>, Stat)) -> GfPrePost {
  GfPrePost { before: r.0.map(GfStat::from), after: r.1.into() }
}

/// Opens a Gluster volume through libgfapi (one `glfs_t`, kept for the
/// life of the object; dropping it runs `glfs_fini` on a thread of its own).
#[napi(ts_return_type = "Promise<GfapiVolume>")]
pub fn open_gfapi_volume(
  volume: String,
  volfile_server: String,
  port: Option<u32>,
  log_file: Option<String>,
  log_level: Option<i32>,
  options: Option<Vec<GfXlatorOption>>,
) -> AsyncTask<Op<Volume, GfapiVolume>> {
  let port = port.unwrap_or(24007) as u16;
  let log = log_file.unwrap_or_else(|| "/dev/null".into());
  let level = log_level.unwrap_or(4);
  let opts: Vec<(String, String, String)> = options.unwrap_or_default().into_iter().map(|o| (o.xlator, o.key, o.value)).collect();
  op("open", move || Volume::open(&volume, &volfile_server, port, &log, level, &opts), |v| GfapiVolume { v: Arc::new(v), writes: Arc::new(WriteQueues::new(WRITE_WINDOW, WRITERS_PER_FILE)) })
}

#[napi]
pub struct GfapiVolume {
  v: Arc<Volume>,
  writes: Arc<WriteQueues<WriteJob>>,
}

/// Bytes of UNSTABLE writes of one file in flight at once, and workers per
/// file (write_queue.rs).
const WRITE_WINDOW: usize = 1 << 20;
const WRITERS_PER_FILE: usize = 16;
/// A worker joins the contiguous writes waiting for it (one client's
/// stream) into one libgfapi call of up to this many bytes: one copy into
/// one buffer, one WRITE per brick instead of two. Measured against 1 MiB
/// calls (bench:gluster's seqwrite workload on its lab, medians of 6
/// interleaved rounds): bricks' CPU 0.41 vs 0.55 CPU-s, 400 vs 349 MB/s;
/// 3 MiB calls the same as 2, 4 MiB calls slower (365 vs 415 MB/s).
const WRITE_BATCH: usize = 2 << 20;
/// Writes up to this size skip the queue: libgfapi copies them into
/// malloc'd buffers (`iobuf_get2`: 128 KiB and less), not the pooled arenas
/// the queue spares, and a VM's 4-64 KiB writes stay as parallel as before.
const QUEUED_WRITE_MIN: usize = (128 << 10) + 1;

/// An UNSTABLE write waiting for, or run by, its file's worker.
struct WriteJob {
  c: Cred,
  offset: u64,
  mem: Mem,
  data: Buffer,
  done: JsDeferred<GfPrePost, Settle<GfPrePost>>,
}

/// Runs one write, or contiguous writes of one caller as one libgfapi
/// call; each gets the answer.
fn run_writes(v: &Volume, g: &[u8], jobs: Vec<WriteJob>) {
  let r = {
    let _op = counters::op_start("write");
    // SAFETY: see Mem; each job's `data` is held until its promise settles.
    let bufs: Vec<&[u8]> = jobs.iter().map(|j| unsafe { std::slice::from_raw_parts(j.mem.0 as *const u8, j.mem.1) }).collect();
    // A panic must not end the worker with writes queued behind these.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| v.write(&jobs[0].c, g, jobs[0].offset, &bufs, 0)))
      .unwrap_or_else(|_| Err(crate::errno::OsError::new(libc::EIO, "write failed (internal error)")))
  };
  for j in jobs {
    let r = r.clone();
    let data = j.data;
    j.done.resolve(Box::new(move |env: Env| {
      drop(data);
      to_js(&env, r).map(prepost_opt)
    }));
  }
}

/// A worker that runs one file's UNSTABLE writes back to back, starting
/// with `first`, for as long as WriteQueues hands it more; contiguous
/// ones together (WRITE_BATCH).
struct FileWriter {
  v: Arc<Volume>,
  writes: Arc<WriteQueues<WriteJob>>,
  g: Vec<u8>,
  first: Option<(usize, WriteJob)>,
}

impl Task for FileWriter {
  type Output = ();
  type JsValue = ();
  fn compute(&mut self) -> Result<()> {
    let mut job = self.first.take();
    while let Some((len, j)) = job {
      // The writes waiting right behind this one that continue it, from the same caller.
      let next_offset = |bytes: usize| j.offset + bytes as u64;
      let more = self.writes.extend(&self.g, len, WRITE_BATCH, |n: &WriteJob, bytes| n.offset == next_offset(bytes) && n.c == j.c);
      let total = len + more.iter().map(|m| m.0).sum::<usize>();
      run_writes(&self.v, &self.g, std::iter::once(j).chain(more.into_iter().map(|m| m.1)).collect());
      job = self.writes.next(&self.g, total);
    }
    Ok(())
  }
  fn resolve(&mut self, _: Env, _: ()) -> Result<()> {
    Ok(())
  }
}

impl Drop for FileWriter {
  /// Never started (the work could not be queued): its write, and any
  /// queued behind it, fail rather than wait forever.
  fn drop(&mut self) {
    let mut job = self.first.take();
    while let Some((len, j)) = job {
      j.done.reject(napi::Error::from_reason("cannot start a worker for the write"));
      job = self.writes.next(&self.g, len);
    }
  }
}

#[napi]
impl GfapiVolume {
  /// The volume's UUID (16 bytes), the same on every client.
  #[napi(getter)]
  pub fn volume_id(&self) -> Buffer {
    Buffer::from(self.v.volume_id.to_vec())
  }

  #[napi(ts_return_type = "Promise<GfEntry>")]
  pub fn root(&self) -> AsyncTask<Op<([u8; 16], Stat), GfEntry>> {
    let v = self.v.clone();
    op("root", move || v.root(), entry)
  }

  /// Closes cached fds no call took for `idle_ms` (Volume::sweep); resolves to how many.
  #[napi(ts_return_type = "Promise<number>")]
  pub fn sweep(&self, idle_ms: u32) -> AsyncTask<Op<usize, u32>> {
    let v = self.v.clone();
    op("sweep", move || Ok(v.sweep(std::time::Duration::from_millis(idle_ms as u64))), |n| n as u32)
  }

  /// Lowers how many files keep open fds (4096), for tests of eviction.
  #[napi]
  pub fn set_max_open_files(&self, n: u32) {
    self.v.set_max_open_files(n as usize);
  }

  /// `stat`'s answer when it needs no worker thread (attributes seen less
  /// than a second ago), else null: GETATTR after LOOKUP without the two
  /// thread hand-offs of a task.
  #[napi]
  pub fn stat_cached(&self, gfid: Buffer) -> Option<GfStat> {
    self.v.stat_cached(&gfid).map(GfStat::from)
  }

  #[napi(ts_return_type = "Promise<GfStat>")]
  pub fn stat(&self, gfid: Buffer) -> AsyncTask<Op<Stat, GfStat>> {
    let (v, g) = (self.v.clone(), gfid.to_vec());
    op("stat", move || v.stat(&g), GfStat::from)
  }

  /// `lookup`'s answer when it needs no worker thread (a directory name
  /// resolved less than a second ago, see Volume::lookup_cached), else
  /// null: each LOOKUP of a path's directories without a task's two
  /// thread hand-offs.
  #[napi]
  pub fn lookup_cached(&self, cred: GfCred, dir: Buffer, name: JsName) -> Option<GfEntry> {
    let name = name_of(name);
    self.v.lookup_cached(&Cred::from(cred), &dir, &name).map(entry)
  }

  #[napi(ts_return_type = "Promise<GfEntry>")]
  pub fn lookup(&self, cred: GfCred, dir: Buffer, name: JsName) -> AsyncTask<Op<([u8; 16], Stat), GfEntry>> {
    let name = name_of(name);
    let (v, d, c) = (self.v.clone(), dir.to_vec(), Cred::from(cred));
    op("lookup", move || v.lookup(&c, &d, &name), entry)
  }

  /// `access`'s answer when it needs no worker thread (root or the owner,
  /// with attributes seen less than a second ago), else null.
  #[napi]
  pub fn access_cached(&self, cred: GfCred, gfid: Buffer) -> Option<GfAccess> {
    self.v.access_cached(&Cred::from(cred), &gfid).map(|(granted, st)| GfAccess { granted, stat: st.into() })
  }

  #[napi(ts_return_type = "Promise<GfAccess>")]
  /// `ask`: the R_OK | W_OK | X_OK bits wanted (default all three).
  pub fn access(&self, cred: GfCred, gfid: Buffer, ask: Option<u32>) -> AsyncTask<Op<(u32, Stat), GfAccess>> {
    let (v, g, c) = (self.v.clone(), gfid.to_vec(), Cred::from(cred));
    op("access", move || v.access(&c, &g, ask.unwrap_or(7)), |(granted, st)| GfAccess { granted, stat: st.into() })
  }

  #[napi(ts_return_type = "Promise<Buffer>")]
  pub fn readlink(&self, gfid: Buffer) -> AsyncTask<Op<Vec<u8>, Buffer>> {
    let (v, g) = (self.v.clone(), gfid.to_vec());
    op("readlink", move || v.readlink(&g), Buffer::from)
  }

  #[napi(ts_return_type = "Promise<GfRead>")]
  pub fn read(&self, cred: GfCred, gfid: Buffer, offset: f64, count: u32) -> AsyncTask<Op<ReadOut, GfRead>> {
    let (v, g, c) = (self.v.clone(), gfid.to_vec(), Cred::from(cred));
    op("read", move || v.read(&c, &g, offset as u64, count as usize), |(d, eof, st)| GfRead { data: Buffer::from(d), eof, stat: st.into() })
  }

  /// Reads into `into` (up to its length) with no copy and no allocation;
  /// JS must not touch `into` until the promise settles. With the file's
  /// fd cached and access decided locally, an async libgfapi read started
  /// here on the JS thread (gfapi_aio.rs); else a blocking one on a worker.
  #[napi(ts_return_type = "Promise<GfReadInto>")]
  pub fn read_into<'e>(&self, env: &'e Env, cred: GfCred, gfid: Buffer, offset: f64, mut into: Buffer) -> Result<Unknown<'e>> {
    let (v, g, c) = (self.v.clone(), gfid.to_vec(), Cred::from(cred));
    let mem = Mem(into.as_mut_ptr(), into.len());
    if let Some(of) = v.io_ready(&c, &g) {
      let (deferred, promise) = env.create_deferred::<GfReadInto, Settle<GfReadInto>>()?;
      let done: gfapi::ReadDone = Box::new(move |r| {
        deferred.resolve(Box::new(move |env: Env| {
          drop(into);
          let (n, eof, st) = to_js(&env, r)?;
          Ok(GfReadInto { count: n as u32, eof, stat: st.into() })
        }))
      });
      v.read_async(of, &g, offset as u64, mem.0, mem.1, done);
      return Ok(promise.to_unknown());
    }
    let task = Op {
      name: "read",
      f: Some(Box::new(move || {
        let mem = mem;
        // SAFETY: see Mem.
        let buf = unsafe { std::slice::from_raw_parts_mut(mem.0, mem.1) };
        v.read_into(&c, &g, offset as u64, buf)
      })),
      out: None,
      conv: |(n, eof, st): (usize, bool, Stat)| GfReadInto { count: n as u32, eof, stat: st.into() },
      _keep: Some(into),
    };
    Ok(env.spawn(task)?.promise_object().to_unknown())
  }

  /// `sync`: 0 unstable, 1 data sync, 2 file sync. Written straight from
  /// `data` (libgfapi copies it into its own buffers); JS must not change
  /// `data` until the promise settles. UNSTABLE writes over 128 KiB run
  /// through their file's queue (write_queue.rs: one 1 MiB write at a
  /// time); with CAIRN_GFAPI_ASYNC=1 and a cached fd with access decided
  /// locally, UNSTABLE writes go async from the JS thread (gfapi_aio.rs).
  #[napi(ts_return_type = "Promise<GfPrePost>")]
  pub fn write<'e>(&self, env: &'e Env, cred: GfCred, gfid: Buffer, offset: f64, data: Buffer, sync: u32) -> Result<Unknown<'e>> {
    let (v, g, c) = (self.v.clone(), gfid.to_vec(), Cred::from(cred));
    let mem = Mem(data.as_ptr() as *mut u8, data.len());
    if sync == 0 {
      if let Some(of) = v.io_ready(&c, &g) {
        let (deferred, promise) = env.create_deferred::<GfPrePost, Settle<GfPrePost>>()?;
        let done: gfapi::WriteDone = Box::new(move |r| {
          deferred.resolve(Box::new(move |env: Env| {
            drop(data);
            to_js(&env, r).map(prepost_opt)
          }))
        });
        v.write_async(of, &g, offset as u64, mem.0, mem.1, done);
        return Ok(promise.to_unknown());
      }
    }
    if sync == 0 && mem.1 >= QUEUED_WRITE_MIN {
      let (done, promise) = env.create_deferred::<GfPrePost, Settle<GfPrePost>>()?;
      let len = mem.1;
      let job = WriteJob { c, offset: offset as u64, mem, data, done };
      if let Some(job) = self.writes.admit(&g, len, job) {
        env.spawn(FileWriter { v, writes: self.writes.clone(), g, first: Some((len, job)) })?;
      }
      return Ok(promise.to_unknown());
    }
    let task = Op {
      name: "write",
      f: Some(Box::new(move || {
        let mem = mem;
        // SAFETY: see Mem.
        let buf = unsafe { std::slice::from_raw_parts(mem.0 as *const u8, mem.1) };
        v.write(&c, &g, offset as u64, &[buf], sync)
      })),
      out: None,
      conv: prepost_opt,
      _keep: Some(data),
    };
    Ok(env.spawn(task)?.promise_object().to_unknown())
  }

  #[napi(ts_return_type = "Promise<GfPrePost>")]
  pub fn commit(&self, gfid: Buffer) -> AsyncTask<Op<(Stat, Stat), GfPrePost>> {
    let (v, g) = (self.v.clone(), gfid.to_vec());
    op("commit", move || v.commit(&g), prepost)
  }

  /// `setattr`'s answer for a size that stays (Volume::size_unchanged)
  /// when it needs no worker thread, else null: the SETATTR of size 0
  /// that O_TRUNC sends after CREATE.
  #[napi]
  pub fn size_unchanged(&self, cred: GfCred, gfid: Buffer, size: f64) -> Option<GfStat> {
    if !(size >= 0.0 && size.fract() == 0.0) {
      return None;
    }
    self.v.size_unchanged(&Cred::from(cred), &gfid, size as u64).map(GfStat::from)
  }

  /// Resolves to the attributes before and after.
  #[napi(ts_return_type = "Promise<GfPrePost>")]
  pub fn setattr(&self, cred: GfCred, gfid: Buffer, set: GfSetAttr) -> AsyncTask<Op<(Stat, Stat), GfPrePost>> {
    let time = |server: Option<bool>, sec: Option<i64>, nsec: Option<u32>| -> Option<Option<(i64, u32)>> {
      if server == Some(true) {
        Some(None)
      } else {
        sec.map(|s| Some((s, nsec.unwrap_or(0))))
      }
    };
    let s = SetAttr {
      mode: set.mode,
      uid: set.uid,
      gid: set.gid,
      size: set.size.map(|x| x as u64),
      atime: time(set.atime_server, set.atime_sec, set.atime_nsec),
      mtime: time(set.mtime_server, set.mtime_sec, set.mtime_nsec),
    };
    let guard = set.guard_ctime_sec.map(|sec| (sec, set.guard_ctime_nsec.unwrap_or(0)));
    let (v, g, c) = (self.v.clone(), gfid.to_vec(), Cred::from(cred));
    op("setattr", move || v.setattr(&c, &g, &s, guard), prepost)
  }

  /// `keepOpen`: open the new file now and keep the fd for the WRITE that
  /// usually follows.
  #[napi(ts_return_type = "Promise<GfEntry>")]
  pub fn create(&self, cred: GfCred, dir: Buffer, name: JsName, mode: u32, exclusive: bool, keep_open: Option<bool>) -> AsyncTask<Op<Made, GfEntry>> {
    let name = name_of(name);
    let (v, d, c) = (self.v.clone(), dir.to_vec(), Cred::from(cred));
    op("create", move || Ok((v.create(&c, &d, &name, mode, exclusive, keep_open.unwrap_or(false))?, v.dir_after(&d))), made)
  }

  #[napi(ts_return_type = "Promise<GfEntry>")]
  pub fn mkdir(&self, cred: GfCred, dir: Buffer, name: JsName, mode: u32) -> AsyncTask<Op<Made, GfEntry>> {
    let name = name_of(name);
    let (v, d, c) = (self.v.clone(), dir.to_vec(), Cred::from(cred));
    op("mkdir", move || Ok((v.mkdir(&c, &d, &name, mode)?, v.dir_after(&d))), made)
  }

  #[napi(ts_return_type = "Promise<GfEntry>")]
  pub fn symlink(&self, cred: GfCred, dir: Buffer, name: JsName, target: JsName) -> AsyncTask<Op<Made, GfEntry>> {
    let name = name_of(name);
    let target = name_of(target);
    let (v, d, c) = (self.v.clone(), dir.to_vec(), Cred::from(cred));
    op("symlink", move || Ok((v.symlink(&c, &d, &name, &target)?, v.dir_after(&d))), made)
  }

  /// `mode` with the type bits (S_IFCHR …).
  #[napi(ts_return_type = "Promise<GfEntry>")]
  pub fn mknod(&self, cred: GfCred, dir: Buffer, name: JsName, mode: u32, major: u32, minor: u32) -> AsyncTask<Op<Made, GfEntry>> {
    let name = name_of(name);
    let (v, d, c) = (self.v.clone(), dir.to_vec(), Cred::from(cred));
    op("mknod", move || Ok((v.mknod(&c, &d, &name, mode, libc::makedev(major, minor))?, v.dir_after(&d))), made)
  }

  /// Resolves to the directory's attributes before and after.
  #[napi(ts_return_type = "Promise<GfDirWcc>")]
  pub fn remove(&self, cred: GfCred, dir: Buffer, name: JsName, is_dir: bool) -> AsyncTask<Op<(Stat, Option<Stat>), GfDirWcc>> {
    let name = name_of(name);
    let (v, d, c) = (self.v.clone(), dir.to_vec(), Cred::from(cred));
    op(
      "remove",
      move || {
        let before = v.stat(&d)?;
        v.remove(&c, &d, &name, is_dir)?;
        Ok((before, v.dir_after(&d)))
      },
      |(b, a)| GfDirWcc { before: Some(b.into()), after: a.map(GfStat::from) },
    )
  }

  #[napi(ts_return_type = "Promise<void>")]
  pub fn rename(&self, cred: GfCred, from_dir: Buffer, from_name: JsName, to_dir: Buffer, to_name: JsName) -> AsyncTask<Op<(), ()>> {
    let (from_name, to_name) = (name_of(from_name), name_of(to_name));
    let (v, fd, td, c) = (self.v.clone(), from_dir.to_vec(), to_dir.to_vec(), Cred::from(cred));
    op("rename", move || v.rename(&c, &fd, &from_name, &td, &to_name), |x| x)
  }

  #[napi(ts_return_type = "Promise<GfStat>")]
  pub fn link(&self, cred: GfCred, target: Buffer, dir: Buffer, name: JsName) -> AsyncTask<Op<Stat, GfStat>> {
    let name = name_of(name);
    let (v, t, d, c) = (self.v.clone(), target.to_vec(), dir.to_vec(), Cred::from(cred));
    op("link", move || v.link(&c, &t, &d, &name), GfStat::from)
  }

  #[napi(ts_return_type = "Promise<GfDir>")]
  pub fn readdir(&self, cred: GfCred, dir: Buffer, cookie: BigInt, max: u32, plus: bool) -> AsyncTask<Op<DirOut, GfDir>> {
    let (v, d, c) = (self.v.clone(), dir.to_vec(), Cred::from(cred));
    let ck = cookie.get_u64().1;
    op("readdir", move || { let r = v.readdir(&c, &d, ck, max as usize, plus)?; Ok((r.0, r.1, v.dir_after(&d))) }, |(es, eof, dir)| GfDir {
      entries: es
        .into_iter()
        .map(|e| {
          // Valid UTF-8 (nearly always) moves into the String; other bytes go whole into name_bytes.
          let (name, name_bytes) = match String::from_utf8(e.name) {
            Ok(s) => (s, None),
            Err(bad) => (String::from_utf8_lossy(bad.as_bytes()).into_owned(), Some(Buffer::from(bad.into_bytes()))),
          };
          GfDirEntry {
            name,
            name_bytes,
            ino: BigInt::from(e.ino),
            cookie: BigInt::from(e.cookie),
            gfid: e.gfid.map(|g| Buffer::from(g.to_vec())),
            stat: e.stat.map(GfStat::from),
          }
        })
        .collect(),
      eof,
      dir: dir.map(GfStat::from),
    })
  }

  #[napi(ts_return_type = "Promise<GfStatvfs>")]
  pub fn statvfs(&self, gfid: Buffer) -> AsyncTask<Op<libc::statvfs, GfStatvfs>> {
    let (v, g) = (self.v.clone(), gfid.to_vec());
    op("statvfs", move || v.statvfs(&g), |s| GfStatvfs {
      bsize: s.f_bsize as f64,
      frsize: s.f_frsize as f64,
      blocks: s.f_blocks as f64,
      bfree: s.f_bfree as f64,
      bavail: s.f_bavail as f64,
      files: s.f_files as f64,
      ffree: s.f_ffree as f64,
      favail: s.f_favail as f64,
      namemax: s.f_namemax as u32,
    })
  }
}

/// GFID length, for callers that validate handles before calling.
#[napi]
pub const GFID_LENGTH: u32 = gfapi::GFID_LEN as u32;
