//! READ and WRITE without a worker thread: `glfs_pread_async` /
//! `glfs_pwrite_async`, submitted from the JS thread, completed by a
//! callback on a libgfapi thread (see `glfs_io_cbk` in gfapi.rs).
//!
//! **Off unless `CAIRN_GFAPI_ASYNC=1`**: libgfapi 10.3 (Debian 12) is not
//! safe with async calls across a graph switch (replace-brick, add-brick,
//! a volume option). The switch migrates every open glfd to the new graph
//! (`__glfs_migrate_openfds` replaces `glfd->fd`), and the async
//! completion (`glfs_io_async_cbk`) then releases `glfd->fd` — the new fd,
//! not the one the call was started with. The new fd loses its only
//! reference, and the next call or the next migration runs on freed
//! memory: SIGSEGV in shard's readv and in `glfs_active_subvol`, one run
//! in two of gfapi-graph-switch.test. Blocking calls release the fd they
//! resolved and are safe. Kept for benchmarks and for a libgfapi that
//! releases the right fd.
//!
//! A blocking call holds a libuv worker for its whole round trip and costs
//! two extra thread wake-ups (JS thread → worker, reply → worker); with
//! async calls the only limit on outstanding I/O is the client's, as with
//! Ganesha's many worker threads, and the bricks' reply goes straight to
//! the JS thread.
//!
//! Only the common case goes this way — the file's fd is cached, access
//! is decided without asking the bricks (root, or the owner with fresh
//! attributes), and for writes UNSTABLE. Everything else, and the rare
//! completion that needs a round trip (a stat of a file whose attributes
//! are unknown, the rest of a short write), runs blocking on a thread.
//!
//! Lifetimes: the submission holds the volume and the open file (Arcs)
//! until the callback has run, so neither the `glfs_fd` nor the `glfs_t`
//! can be closed under an I/O in flight (libgfapi never calls back for
//! an fd closed meanwhile: the promise would hang). An fd whose last
//! reference goes in the callback is closed on another thread.

use super::*;
use crate::gfapi_stats::{record, OpGuard};

/// What a completed read hands on: count, eof, attributes.
pub type ReadDone = Box<dyn FnOnce(OsResult<(usize, bool, Stat)>) + Send>;
/// What a completed write hands on: attributes before (unknown for
/// UNSTABLE) and after.
pub type WriteDone = Box<dyn FnOnce(OsResult<(Option<Stat>, Stat)>) + Send>;

enum Done {
  Read(ReadDone),
  Write(WriteDone),
}

/// One async call in flight (the `data` of its callback).
struct Aio {
  v: Arc<Volume>,
  /// The fd of this call alone, held until it completes (see OpenFile).
  of: FdLease,
  g: Gfid,
  offset: u64,
  /// The caller's memory (a JS Buffer kept alive by the caller until
  /// `done` has run): read into, or written from for a short write's rest.
  buf: *mut u8,
  len: usize,
  t0: Instant,
  done: Done,
  _op: OpGuard,
}

// SAFETY: `buf` stays valid until `done` runs (the caller's contract);
// everything else is Send.
unsafe impl Send for Aio {}

/// Runs a completion step that needs a round trip, off the libgfapi thread.
fn blocking(f: impl FnOnce() + Send + 'static) {
  if std::thread::Builder::new().name("gfapi-aio".into()).spawn(f).is_err() {
    // No thread to be had: nothing may block here, so the caller's
    // promise stays pending rather than deadlocking libgfapi.
    eprintln!("cairn gfapi: cannot spawn a completion thread");
  }
}

unsafe extern "C" fn aio_cbk(_fd: *mut glfs_fd, ret: isize, _pre: *mut glfs_stat, post: *mut glfs_stat, data: *mut c_void) {
  let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
  // SAFETY: `data` is the Box leaked at submission, given back exactly once.
  let a = unsafe { Box::from_raw(data as *mut Aio) };
  // SAFETY: libgfapi's poststat lives for the duration of the callback.
  let post = if post.is_null() { zero_gstat() } else { unsafe { *post } };
  IN_IO_CALLBACK.with(|f| f.set(true));
  // A panic must not unwind into C.
  let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.finish(ret, errno, post)));
  IN_IO_CALLBACK.with(|f| f.set(false));
}

impl Aio {
  fn finish(self, ret: isize, errno: i32, post: glfs_stat) {
    let write = matches!(self.done, Done::Write(_));
    record(if write { Call::PwriteAsync } else { Call::PreadAsync }, self.t0);
    let Aio { v, of, g, offset, buf, len, done, _op, .. } = self;
    // The operation counts as done before its caller hears of it.
    let done = match done {
      Done::Read(d) => Done::Read(Box::new(move |r| {
        drop(_op);
        d(r)
      })),
      Done::Write(d) => Done::Write(Box::new(move |r| {
        drop(_op);
        d(r)
      })),
    };
    if ret < 0 {
      let e = OsError::new(if errno > 0 { errno } else { libc::EIO }, if write { "glfs_pwrite_async" } else { "glfs_pread_async" });
      let e = v.stale(&g, e);
      match done {
        Done::Read(d) => d(Err(e)),
        Done::Write(d) => d(Err(e)),
      }
      return;
    }
    let n = ret as usize;
    match done {
      Done::Read(d) => match v.read_attrs(&of, &g, offset, len, n, &post, false) {
        Ok(Some((eof, st))) => d(Ok((n, eof, st))),
        Err(e) => d(Err(e)),
        Ok(None) => blocking(move || {
          d(v.read_attrs(&of, &g, offset, len, n, &post, true).map(|r| {
            let (eof, st) = r.expect("may block");
            (n, eof, st)
          }))
        }),
      },
      Done::Write(d) => {
        if n == 0 {
          return d(Err(OsError::new(libc::EIO, "glfs_pwrite_async wrote nothing")));
        }
        if n < len {
          // A short write (never seen on Gluster): the rest the blocking way.
          let mem = Mem(buf, len);
          return blocking(move || {
            let mem = mem;
            // SAFETY: see Aio::buf.
            let rest = unsafe { std::slice::from_raw_parts(mem.0.add(n), mem.1 - n) };
            d(v.write(&Cred::default(), &g, offset + n as u64, &[rest], 0))
          });
        }
        v.wrote(&g);
        match v.write_attrs(&of, &g, offset, len, &post, false) {
          Ok(Some(st)) => d(Ok((None, st))),
          Err(e) => d(Err(e)),
          Ok(None) => blocking(move || {
            d(v.write_attrs(&of, &g, offset, len, &post, true).map(|st| (None, st.expect("may block"))))
          }),
        }
      }
    }
  }
}

/// A raw pointer handed to a completion thread (see Aio::buf).
struct Mem(*mut u8, usize);
// SAFETY: see Aio::buf.
unsafe impl Send for Mem {}

impl Volume {
  /// The open file of `gfid` when a READ (`libc::R_OK`) or WRITE
  /// (`libc::W_OK`) by `cred` can start without blocking: its fd is
  /// cached and access is decided here (root; the owner by attributes
  /// seen less than ATTR_TTL ago). None: take the blocking path.
  /// Async calls are off unless `CAIRN_GFAPI_ASYNC=1` is in the
  /// environment (see the top of this file for why).
  pub(crate) fn io_ready(&self, cred: &Cred, gfid: &[u8]) -> Option<FdLease> {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*ON.get_or_init(|| std::env::var("CAIRN_GFAPI_ASYNC").is_ok_and(|v| v == "1")) {
      return None;
    }
    let g = key(gfid).ok()?;
    if self.gone.lock().unwrap().contains(&g) {
      return None;
    }
    let of = self.fds.lock().unwrap().get(&g).cloned()?;
    if cred.uid != 0 {
      let st = self.fresh(&g).or_else(|| of.seen())?;
      if st.uid != cred.uid {
        return None;
      }
    }
    // Every fd of the file in use: the blocking path opens another (kept idle after, up to FDS_PER_FILE).
    let lease = of.try_lease()?;
    stats::cache(Cache::FdHit);
    Some(lease)
  }

  /// Starts a read of `len` bytes at `offset` into `buf`; `done` runs on a
  /// libgfapi thread (or a completion thread), never blocking it.
  /// `buf` must stay valid and untouched until `done` has run.
  pub(crate) fn read_async(self: &Arc<Self>, of: FdLease, gfid: &[u8], offset: u64, buf: *mut u8, len: usize, done: ReadDone) {
    let g = match key(gfid) {
      Ok(g) => g,
      Err(e) => return done(Err(e)),
    };
    let fd = of.raw();
    let a = Box::new(Aio { v: self.clone(), of, g, offset, buf, len, t0: Instant::now(), done: Done::Read(done), _op: stats::op_start("read") });
    let p = Box::into_raw(a);
    // SAFETY: fd is live (held by the Aio); buf per the contract; p is
    // given back to aio_cbk exactly once when the call is accepted.
    let rc = unsafe { glfs_pread_async(fd, buf as *mut c_void, len, offset as libc::off_t, 0, aio_cbk, p as *mut c_void) };
    if rc != 0 {
      let e = OsError::last("glfs_pread_async");
      // SAFETY: not accepted: libgfapi will not call back, p is still ours.
      let a = unsafe { Box::from_raw(p) };
      let e = a.v.stale(&a.g, e);
      if let Done::Read(d) = a.done {
        d(Err(e));
      }
    }
  }

  /// Starts an UNSTABLE write of `len` bytes from `buf` at `offset`
  /// (libgfapi copies them before it returns; a short write's rest is
  /// written from `buf` later, so it too must stay valid until `done`).
  pub(crate) fn write_async(self: &Arc<Self>, of: FdLease, gfid: &[u8], offset: u64, buf: *const u8, len: usize, done: WriteDone) {
    let g = match key(gfid) {
      Ok(g) => g,
      Err(e) => return done(Err(e)),
    };
    if len > c_int::MAX as usize {
      return done(Err(OsError::new(libc::EINVAL, "write larger than 2 GiB")));
    }
    let fd = of.raw();
    let a = Box::new(Aio { v: self.clone(), of, g, offset, buf: buf as *mut u8, len, t0: Instant::now(), done: Done::Write(done), _op: stats::op_start("write") });
    let p = Box::into_raw(a);
    // SAFETY: as in read_async.
    let rc = unsafe { glfs_pwrite_async(fd, buf as *const c_void, len as c_int, offset as libc::off_t, 0, aio_cbk, p as *mut c_void) };
    if rc != 0 {
      let e = OsError::last("glfs_pwrite_async");
      // SAFETY: not accepted: libgfapi will not call back, p is still ours.
      let a = unsafe { Box::from_raw(p) };
      let e = a.v.stale(&a.g, e);
      if let Done::Write(d) = a.done {
        d(Err(e));
      }
    }
  }
}
