//! libgfapi's handle API (Debian libglusterfs-dev 10.3, `glfs-handles.h`):
//! the pure core of the gfapi NFS backend. Every function here blocks
//! (network round trips to the bricks) and runs on a worker thread.
//!
//! Objects are named by their GFID (16 bytes): `glfs_h_create_from_handle`
//! turns a GFID back into an object on any client of the volume, which is
//! what makes NFS handles survive restarts and work on every appliance.
//!
//! Rules of libgfapi kept here:
//!  - One `glfs_t` per volume and process, opened once. `glfs_fini` waits
//!    on a 10 s timer (gluster issue 2606): never called on a request path.
//!  - `glfs_pread`/`glfs_pwrite`/`glfs_fsync` resolve to the GFAPI_6.0
//!    symbols, which take `struct glfs_stat *` pre/post arguments.
//!  - `glfs_setfsuid`/`setfsgid`/`setfsgroups` are per thread: every call
//!    that acts for a user sets all three first on its worker thread.
//!  - A GFID that no longer exists fails with ENOENT (or ESTALE): reported
//!    as ESTALE, which is what NFS means.

#![allow(non_camel_case_types)]

use crate::dirty::DirtyFiles;
use crate::errno::{OsError, OsResult};
use crate::gfapi_stats::{self as stats, timed, Cache, Call};
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_long, c_uchar, c_void};
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const GFID_LEN: usize = 16;

#[repr(C)]
pub struct glfs_t {
  _p: [u8; 0],
}
#[repr(C)]
pub struct glfs_object {
  _p: [u8; 0],
}
#[repr(C)]
pub struct glfs_fd {
  _p: [u8; 0],
}
#[repr(C)]
pub struct glfs_xreaddirp_stat {
  _p: [u8; 0],
}

/// `struct glfs_stat` (glfs.h), statx-like.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct glfs_stat {
  pub mask: u64,
  pub attributes: u64,
  pub attributes_mask: u64,
  pub atime: libc::timespec,
  pub btime: libc::timespec,
  pub ctime: libc::timespec,
  pub mtime: libc::timespec,
  pub ino: libc::ino_t,
  pub size: libc::off_t,
  pub blocks: libc::blkcnt_t,
  pub rdev_major: u32,
  pub rdev_minor: u32,
  pub dev_major: u32,
  pub dev_minor: u32,
  pub blksize: libc::blksize_t,
  pub nlink: libc::nlink_t,
  pub uid: libc::uid_t,
  pub gid: libc::gid_t,
  pub mode: libc::mode_t,
}

const GFAPI_SET_ATTR_MODE: c_int = 0x1;
const GFAPI_SET_ATTR_UID: c_int = 0x2;
const GFAPI_SET_ATTR_GID: c_int = 0x4;
const GFAPI_SET_ATTR_ATIME: c_int = 0x10;
const GFAPI_SET_ATTR_MTIME: c_int = 0x20;
const GFAPI_XREADDIRP_STAT: u32 = 0x1;
const GFAPI_XREADDIRP_HANDLE: u32 = 0x2;

/// `glfs_io_cbk` (GFAPI_6.0): called once per async call that was
/// accepted, on whichever libgfapi thread unwinds the reply (an epoll
/// thread, an io-thread, or the submitting thread itself when an xlator
/// such as write-behind answers at once). `errno` holds the error when
/// `ret` < 0. It must never block: a blocking libgfapi call there waits on
/// a reply the same thread would have to read.
type glfs_io_cbk = unsafe extern "C" fn(fd: *mut glfs_fd, ret: isize, pre: *mut glfs_stat, post: *mut glfs_stat, data: *mut c_void);

#[link(name = "gfapi")]
unsafe extern "C" {
  fn glfs_new(volname: *const c_char) -> *mut glfs_t;
  fn glfs_set_volfile_server(fs: *mut glfs_t, transport: *const c_char, host: *const c_char, port: c_int) -> c_int;
  fn glfs_set_logging(fs: *mut glfs_t, logfile: *const c_char, loglevel: c_int) -> c_int;
  fn glfs_init(fs: *mut glfs_t) -> c_int;
  fn glfs_set_xlator_option(fs: *mut glfs_t, xlator: *const c_char, key: *const c_char, value: *const c_char) -> c_int;
  fn glfs_fini(fs: *mut glfs_t) -> c_int;
  fn glfs_get_volumeid(fs: *mut glfs_t, volid: *mut c_char, size: usize) -> c_int;
  fn glfs_setfsuid(uid: libc::uid_t) -> c_int;
  fn glfs_setfsgid(gid: libc::gid_t) -> c_int;
  fn glfs_setfsgroups(size: usize, list: *const libc::gid_t) -> c_int;

  fn glfs_h_lookupat(
    fs: *mut glfs_t,
    parent: *mut glfs_object,
    path: *const c_char,
    stat: *mut libc::stat,
    follow: c_int,
  ) -> *mut glfs_object;
  fn glfs_h_stat(fs: *mut glfs_t, obj: *mut glfs_object, stat: *mut libc::stat) -> c_int;
  fn glfs_h_setattrs(fs: *mut glfs_t, obj: *mut glfs_object, sb: *mut libc::stat, valid: c_int) -> c_int;
  fn glfs_h_truncate(fs: *mut glfs_t, obj: *mut glfs_object, offset: libc::off_t) -> c_int;
  fn glfs_h_mkdir(
    fs: *mut glfs_t,
    parent: *mut glfs_object,
    path: *const c_char,
    mode: libc::mode_t,
    sb: *mut libc::stat,
  ) -> *mut glfs_object;
  fn glfs_h_mknod(
    fs: *mut glfs_t,
    parent: *mut glfs_object,
    path: *const c_char,
    mode: libc::mode_t,
    dev: libc::dev_t,
    sb: *mut libc::stat,
  ) -> *mut glfs_object;
  fn glfs_h_symlink(
    fs: *mut glfs_t,
    parent: *mut glfs_object,
    name: *const c_char,
    data: *const c_char,
    sb: *mut libc::stat,
  ) -> *mut glfs_object;
  fn glfs_h_unlink(fs: *mut glfs_t, parent: *mut glfs_object, path: *const c_char) -> c_int;
  fn glfs_h_rename(
    fs: *mut glfs_t,
    olddir: *mut glfs_object,
    oldname: *const c_char,
    newdir: *mut glfs_object,
    newname: *const c_char,
  ) -> c_int;
  fn glfs_h_link(fs: *mut glfs_t, target: *mut glfs_object, parent: *mut glfs_object, name: *const c_char) -> c_int;
  fn glfs_h_readlink(fs: *mut glfs_t, obj: *mut glfs_object, buf: *mut c_char, size: usize) -> c_int;
  fn glfs_h_access(fs: *mut glfs_t, obj: *mut glfs_object, mask: c_int) -> c_int;
  fn glfs_h_statfs(fs: *mut glfs_t, obj: *mut glfs_object, st: *mut libc::statvfs) -> c_int;
  fn glfs_h_extract_handle(obj: *mut glfs_object, handle: *mut c_uchar, len: c_int) -> c_int;
  fn glfs_h_create_from_handle(fs: *mut glfs_t, handle: *mut c_uchar, len: c_int, st: *mut libc::stat) -> *mut glfs_object;
  fn glfs_h_close(obj: *mut glfs_object) -> c_int;
  fn glfs_h_open(fs: *mut glfs_t, obj: *mut glfs_object, flags: c_int) -> *mut glfs_fd;
  fn glfs_h_creat(
    fs: *mut glfs_t,
    parent: *mut glfs_object,
    path: *const c_char,
    flags: c_int,
    mode: libc::mode_t,
    sb: *mut libc::stat,
  ) -> *mut glfs_object;
  fn glfs_h_opendir(fs: *mut glfs_t, obj: *mut glfs_object) -> *mut glfs_fd;
  fn glfs_h_creat_open(
    fs: *mut glfs_t,
    parent: *mut glfs_object,
    path: *const c_char,
    flags: c_int,
    mode: libc::mode_t,
    sb: *mut libc::stat,
    out_fd: *mut *mut glfs_fd,
  ) -> *mut glfs_object;

  fn glfs_close(fd: *mut glfs_fd) -> c_int;
  fn glfs_pread(fd: *mut glfs_fd, buf: *mut c_void, count: usize, offset: libc::off_t, flags: c_int, post: *mut glfs_stat) -> isize;
  fn glfs_pwrite(
    fd: *mut glfs_fd,
    buf: *const c_void,
    count: usize,
    offset: libc::off_t,
    flags: c_int,
    pre: *mut glfs_stat,
    post: *mut glfs_stat,
  ) -> isize;
  fn glfs_fsync(fd: *mut glfs_fd, pre: *mut glfs_stat, post: *mut glfs_stat) -> c_int;
  /// GFAPI_3.4.0: no attributes back.
  fn glfs_pwritev(fd: *mut glfs_fd, iov: *const libc::iovec, iovcnt: c_int, offset: libc::off_t, flags: c_int) -> isize;
  fn glfs_pread_async(fd: *mut glfs_fd, buf: *mut c_void, count: usize, offset: libc::off_t, flags: c_int, cbk: glfs_io_cbk, data: *mut c_void) -> c_int;
  fn glfs_pwrite_async(fd: *mut glfs_fd, buf: *const c_void, count: c_int, offset: libc::off_t, flags: c_int, cbk: glfs_io_cbk, data: *mut c_void) -> c_int;
  fn glfs_seekdir(fd: *mut glfs_fd, offset: c_long);
  fn glfs_xreaddirplus_r(
    fd: *mut glfs_fd,
    flags: u32,
    xstat: *mut *mut glfs_xreaddirp_stat,
    ext: *mut libc::dirent,
    res: *mut *mut libc::dirent,
  ) -> c_int;
  fn glfs_xreaddirplus_get_stat(xstat: *mut glfs_xreaddirp_stat) -> *mut libc::stat;
  fn glfs_xreaddirplus_get_object(xstat: *mut glfs_xreaddirp_stat) -> *mut glfs_object;
  fn glfs_free(ptr: *mut c_void);
}

pub use crate::stat::Stat;

#[path = "gfapi_aio.rs"]
mod aio;
pub use aio::{ReadDone, WriteDone};


impl From<&glfs_stat> for Stat {
  fn from(s: &glfs_stat) -> Self {
    Stat {
      dev: 0,
      ino: s.ino,
      mode: s.mode,
      nlink: s.nlink,
      uid: s.uid,
      gid: s.gid,
      rdev: libc::makedev(s.rdev_major, s.rdev_minor),
      size: s.size as u64,
      blocks: s.blocks as u64,
      atime: (s.atime.tv_sec, s.atime.tv_nsec as u32),
      mtime: (s.mtime.tv_sec, s.mtime.tv_nsec as u32),
      ctime: (s.ctime.tv_sec, s.ctime.tv_nsec as u32),
    }
  }
}

/// The caller's identity, applied to the worker thread before each call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cred {
  pub uid: u32,
  pub gid: u32,
  pub gids: Vec<u32>,
}

/// Which attributes `setattr` changes (unset = leave alone).
#[derive(Debug, Clone, Default)]
pub struct SetAttr {
  pub mode: Option<u32>,
  pub uid: Option<u32>,
  pub gid: Option<u32>,
  pub size: Option<u64>,
  /// None = leave; Some(None) = server time; Some(Some(t)) = t.
  pub atime: Option<Option<(i64, u32)>>,
  pub mtime: Option<Option<(i64, u32)>>,
}

pub struct DirEntry {
  /// The name's exact bytes (a name need not be UTF-8).
  pub name: Vec<u8>,
  pub ino: u64,
  pub cookie: u64,
  pub gfid: Option<[u8; GFID_LEN]>,
  pub stat: Option<Stat>,
}

fn cstr(s: &str) -> OsResult<CString> {
  CString::new(s).map_err(|_| OsError::new(libc::EINVAL, format!("{s:?} contains a NUL byte")))
}

fn errno_or(rc_fail: bool, what: impl FnOnce() -> String) -> OsResult<()> {
  if rc_fail {
    Err(OsError::last(what()))
  } else {
    Ok(())
  }
}

/// An object reference, closed when the last user drops it.
struct Obj(*mut glfs_object);
// SAFETY: a glfs_object names an inode; libgfapi calls on it from several
// threads at once are safe (it is only read), and it is closed once.
unsafe impl Send for Obj {}
unsafe impl Sync for Obj {}
impl Drop for Obj {
  fn drop(&mut self) {
    // SAFETY: the pointer came from libgfapi and is closed once.
    unsafe { glfs_h_close(self.0) };
  }
}

/// An open file, closed when the last user drops it.
pub(crate) struct Fd(*mut glfs_fd);
// SAFETY: libgfapi fds may be used from several threads at once.
unsafe impl Send for Fd {}
unsafe impl Sync for Fd {}
impl Drop for Fd {
  fn drop(&mut self) {
    if IN_IO_CALLBACK.with(|f| f.get()) {
      // glfs_close sends a flush and waits for its reply: on the libgfapi
      // thread that runs an async callback that would wait for itself.
      close_later(self.0);
      return;
    }
    // SAFETY: opened by glfs_h_open/opendir/creat_open, closed once.
    unsafe { glfs_close(self.0) };
  }
}

thread_local! {
  /// Set while this thread runs an async I/O completion (see glfs_io_cbk).
  static IN_IO_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Closes fds dropped inside an async completion, on a thread of its own.
fn close_later(fd: *mut glfs_fd) {
  static CLOSER: std::sync::OnceLock<Mutex<std::sync::mpsc::Sender<usize>>> = std::sync::OnceLock::new();
  let tx = CLOSER.get_or_init(|| {
    let (tx, rx) = std::sync::mpsc::channel::<usize>();
    std::thread::Builder::new()
      .name("gfapi-close".into())
      .spawn(move || {
        for p in rx {
          // SAFETY: an fd whose last user is gone, closed once.
          unsafe { glfs_close(p as *mut glfs_fd) };
        }
      })
      .expect("spawn the gfapi closer thread");
    Mutex::new(tx)
  });
  let _ = tx.lock().map(|t| t.send(fd as usize));
}

type Gfid = [u8; GFID_LEN];

/// A cached open file and the attributes last seen for it. Reads and
/// writes report the attributes in their own reply when libgfapi fills
/// them, but on 10.3 it does not for reads of a sharded file (the `virt`
/// profile) nor for writes that write-behind acknowledged early; asking
/// the bricks instead (a stat that waits behind the queued writes) cost a
/// round trip per READ and WRITE. Then the attributes last seen, if
/// younger than ATTR_TTL, are brought forward with what this call showed
/// — a write's end extends the size and sets mtime and ctime to now, data
/// read extends the size — as Ganesha's mdcache does for its own I/O.
/// READ/WRITE post-op attributes are a hint the client may refresh with
/// GETATTR (RFC 1813 §2.6), and GETATTR always asks the volume; ATTR_TTL
/// is md-cache's default timeout, so a change made through another
/// client shows up as soon as it would through md-cache.
///
/// One fd is never used by two calls at once: its calls take it from
/// `idle` (FdLease) and give it back when they are over, and a call that
/// finds none idle opens another. libgfapi moves an fd to a new graph
/// (after replace-brick, add-brick, a volume option) inside the next call
/// that uses it, replacing and releasing `glfd->fd` — while a second call
/// on the same glfd may be reading `glfd->fd->inode` without a lock
/// (__GLFS_ENTRY_VALIDATE_FD): a use-after-free that took the process
/// down with SIGSEGV in gfapi-graph-switch.test (and once a cairnd in the
/// lab, during a brick move). Async calls (gfapi_aio.rs) hold theirs until
/// their callback too: libgfapi 10.3's async completion
/// (glfs_io_async_cbk) releases `glfd->fd` — whatever fd the glfd holds
/// *then* — instead of the fd the call was started with, so a second
/// call started on the same glfd after a graph switch (which migrates it)
/// makes the first one's completion drop the new fd's only reference; the
/// next call then runs on a freed fd (SIGSEGV in shard's readv, seen in
/// gfapi-graph-switch.test when async calls shared one fd).
pub(crate) struct OpenFile {
  idle: Mutex<Vec<Fd>>,
  /// The object, to open another fd when every one is in use.
  obj: Arc<Obj>,
  attrs: Mutex<Option<(Stat, Instant)>>,
  /// When a call last took this file from the cache (ms_now()), for Volume::sweep.
  used: std::sync::atomic::AtomicU64,
}

/// Milliseconds since the first call (a monotonic clock for `OpenFile::used`).
fn ms_now() -> u64 {
  static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
  EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

const ATTR_TTL: Duration = Duration::from_secs(1);
/// Idle fds kept per file (more in use at once are closed when let go).
const FDS_PER_FILE: usize = 16;

/// One call's exclusive use of one fd of an OpenFile (see there); the fd
/// goes back to the file's idle ones when the lease is dropped.
pub(crate) struct FdLease {
  of: Arc<OpenFile>,
  fd: Option<Fd>,
}

impl FdLease {
  pub(crate) fn raw(&self) -> *mut glfs_fd {
    self.fd.as_ref().expect("held until drop").0
  }
}

impl std::ops::Deref for FdLease {
  type Target = OpenFile;
  fn deref(&self) -> &OpenFile {
    &self.of
  }
}

impl Drop for FdLease {
  fn drop(&mut self) {
    if let Some(fd) = self.fd.take() {
      self.of.give_back(fd);
    }
  }
}

impl OpenFile {
  fn new(fd: Fd, obj: Arc<Obj>, attrs: Option<Stat>) -> OpenFile {
    OpenFile { idle: Mutex::new(vec![fd]), obj, attrs: Mutex::new(attrs.map(|st| (st, Instant::now()))), used: ms_now().into() }
  }

  fn touch(self: &Arc<Self>) -> Arc<Self> {
    self.used.store(ms_now(), std::sync::atomic::Ordering::Relaxed);
    self.clone()
  }

  /// An fd no call uses any more: kept idle, or closed past FDS_PER_FILE
  /// (outside the lock; Fd::drop closes on another thread inside a callback).
  fn give_back(&self, fd: Fd) {
    let mut idle = self.idle.lock().unwrap();
    if idle.len() < FDS_PER_FILE {
      idle.push(fd);
      return;
    }
    drop(idle);
    drop(fd);
  }

  /// An idle fd, if there is one (never opens: for the JS thread).
  pub(crate) fn try_lease(self: &Arc<Self>) -> Option<FdLease> {
    let fd = self.idle.lock().unwrap().pop()?;
    Some(FdLease { of: self.clone(), fd: Some(fd) })
  }

  fn seen(&self) -> Option<Stat> {
    let a = self.attrs.lock().unwrap();
    a.as_ref().filter(|(_, t)| t.elapsed() < ATTR_TTL).map(|(st, _)| *st)
  }

  fn saw(&self, st: Stat) {
    *self.attrs.lock().unwrap() = Some((st, Instant::now()));
  }

  fn forget_attrs(&self) {
    *self.attrs.lock().unwrap() = None;
  }
}

/// The attributes in a read/write/fsync reply, when libgfapi filled them
/// (write-behind's early replies leave them zero).
fn reply_attrs(p: &glfs_stat) -> Option<Stat> {
  if p.ino != 0 && p.mode & libc::S_IFMT == libc::S_IFREG {
    Some(Stat::from(p))
  } else {
    None
  }
}

fn now() -> (i64, u32) {
  let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
  // SAFETY: ts is writable.
  unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
  (ts.tv_sec, ts.tv_nsec as u32)
}

/// A GFID's object and its file type (S_IFMT bits), which never change.
#[derive(Clone)]
struct Known {
  obj: Arc<Obj>,
  kind: u32,
}

/// Directory objects kept per GFID: turning a GFID into an object
/// (`glfs_h_create_from_handle` with attributes) costs a round trip to
/// the bricks, and every LOOKUP, CREATE and READDIR names its directory by
/// GFID. Only directories: on a sharded volume (the `virt` profile) a
/// regular file's inode that stays referenced keeps serving the times it
/// had before a SETATTR (measured on 10.3: a fresh client sees the new
/// times, the holder never does), while an inode looked up afresh is
/// right; directories are never sharded. A directory object is an inode
/// reference: its attributes still come from md-cache (1 s, or kept
/// coherent by the bricks' cache-invalidation). Bounded, cleared
/// wholesale when full.
const MAX_OBJECTS: usize = 16384;
/// Files whose open fds are kept, so that reads and writes do not pay an
/// open round trip each (and closes, a FLUSH to every brick, happen when
/// a file has been idle for a while: see sweep); bounded, the least
/// recently used let go first (fds_with_room).
const MAX_OPEN_FDS: usize = 4096;
/// Directory streams parked between READDIR(PLUS) calls, keyed by where
/// they stopped: the next call goes on with the entries libgfapi already
/// fetched (it reads 128 KiB of entries, with attributes, per round trip)
/// instead of a new opendir + seekdir + fetch. Oldest dropped first.
const MAX_DIR_STREAMS: usize = 64;

/// Names found to be directories, per (parent, name, caller's uid), kept
/// for DENTRY_TTL: resolving a path (what clients do before nearly every
/// operation: LOOKUP of each component) then costs a stat of the kept
/// directory object, usually answered by md-cache, instead of a lookup
/// round trip each. md-cache's own timeout bounds how late a rename or
/// rmdir through another client is seen; ours (renames, removes) drop the
/// entry at once. Per uid, because LOOKUP checks the caller's search
/// permission on the parent. A file's name is kept only when it was made
/// here (CREATE), and answered only while its attributes are fresh (the
/// LOOKUP clients send right after a CREATE, which libnfs always does, and
/// Ganesha answers from its mdcache): a file object is never held for it
/// (see MAX_OBJECTS).
const DENTRY_TTL: Duration = Duration::from_secs(1);
const MAX_DENTRIES: usize = 16384;

/// (parent directory, name, caller's uid).
type DentryKey = (Gfid, Vec<u8>, u32);

/// A directory stream stopped after the entry whose cookie is `at`.
struct Parked {
  dir: Gfid,
  at: u64,
  uid: u32,
  fd: Fd,
}

/// One mounted Gluster volume (one `glfs_t`).
pub struct Volume {
  fs: *mut glfs_t,
  pub volume_id: [u8; 16],
  objs: Mutex<HashMap<Gfid, Known>>,
  fds: Mutex<HashMap<Gfid, Arc<OpenFile>>>,
  dirs: Mutex<VecDeque<Parked>>,
  /// What each kept name is, whether it is a directory, and since when.
  dentries: Mutex<HashMap<DentryKey, (Gfid, bool, Instant)>>,
  /// Attributes as the volume last reported them (lookup, READDIRPLUS,
  /// create, stat, I/O replies that carry them), served by GETATTR and by
  /// LOOKUP of a kept directory name for ATTR_TTL: the LOOKUP or
  /// READDIRPLUS that came just before already asked the volume, as
  /// Ganesha's mdcache does (60 s there). Within md-cache's own 1 s, a
  /// stat through the client stack could answer the same. Every change
  /// made through this volume object drops the entries of what it changed,
  /// the directory included (attributes we bring forward ourselves, with
  /// this host's clock, are never served by GETATTR).
  seen: Mutex<HashMap<Gfid, (Stat, Instant)>>,
  /// GFIDs this process removed (last link). libgfapi may still resolve
  /// them for a moment from its inode table; NFS wants ESTALE at once.
  /// GFIDs are never reused, so a bounded set is enough.
  gone: Mutex<HashSet<Gfid>>,
  /// Files written UNSTABLE through this process and not yet made stable:
  /// what COMMIT must fsync (see commit, dirty.rs).
  unsynced: Mutex<DirtyFiles<Gfid>>,
  /// Files let go to make room in `fds` (fds_with_room), closed by the
  /// next sweep: a close is a round trip, never made under the fds lock.
  retired: Mutex<Vec<Arc<OpenFile>>>,
  /// MAX_OPEN_FDS, lower in tests (set_max_open_files).
  max_fds: std::sync::atomic::AtomicUsize,
}

const MAX_GONE: usize = 65536;
/// Warn (never forget) past this many files written and not committed.
const MAX_UNSYNCED: usize = 65536;

// SAFETY: a glfs_t serves many threads at once (libgfapi is thread-safe).
unsafe impl Send for Volume {}
unsafe impl Sync for Volume {}

impl Drop for Volume {
  fn drop(&mut self) {
    self.fds.lock().map(|mut m| m.clear()).ok();
    self.retired.lock().map(|mut r| r.clear()).ok();
    self.dirs.lock().map(|mut m| m.clear()).ok();
    self.objs.lock().map(|mut m| m.clear()).ok();
    let fs = self.fs as usize;
    // glfs_fini takes ~10 s: never on the caller's thread.
    std::thread::spawn(move || unsafe {
      glfs_fini(fs as *mut glfs_t);
    });
  }
}

/// Sets the thread's filesystem identity for the following libgfapi calls.
pub fn set_cred(c: &Cred) {
  // SAFETY: plain calls on thread-local state.
  unsafe {
    glfs_setfsuid(c.uid);
    glfs_setfsgid(c.gid);
    glfs_setfsgroups(c.gids.len(), c.gids.as_ptr());
  }
}

fn root_cred() -> Cred {
  Cred::default()
}

fn zero_stat() -> libc::stat {
  // SAFETY: plain C struct, all-zero is valid.
  unsafe { std::mem::zeroed() }
}

fn zero_gstat() -> glfs_stat {
  // SAFETY: plain C struct, all-zero is valid.
  unsafe { std::mem::zeroed() }
}

/// A name for messages (its bytes need not be UTF-8).
fn show(name: &[u8]) -> std::borrow::Cow<'_, str> {
  String::from_utf8_lossy(name)
}

/// Names are bytes (filename3 is opaque): one component, no NUL or '/'.
fn check_name(name: &[u8]) -> OsResult<CString> {
  if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
    return Err(OsError::new(libc::EINVAL, format!("bad name {:?}", show(name))));
  }
  if name.len() > 255 {
    return Err(OsError::new(libc::ENAMETOOLONG, format!("name of {} bytes", name.len())));
  }
  CString::new(name).map_err(|_| OsError::new(libc::EINVAL, "NUL in a name"))
}

fn check_new_name(name: &[u8]) -> OsResult<CString> {
  if name == b"." || name == b".." {
    return Err(OsError::new(libc::EINVAL, format!("cannot create {:?}", show(name))));
  }
  check_name(name)
}

fn key(gfid: &[u8]) -> OsResult<Gfid> {
  if gfid.len() != GFID_LEN {
    return Err(OsError::new(libc::EINVAL, format!("GFID of {} bytes", gfid.len())));
  }
  let mut g = [0u8; GFID_LEN];
  g.copy_from_slice(gfid);
  Ok(g)
}

/// Which of R_OK, W_OK, X_OK a caller who is root or the owner gets
/// without asking the bricks: root reads and writes anything and may
/// execute what has an x bit (or search any directory); the owner gets
/// the owner bits (POSIX ACLs never change the owner's entry). None: ask
/// the bricks (glfs_h_access).
pub fn local_access(uid: u32, st: &Stat) -> Option<u32> {
  let dir = st.mode & libc::S_IFMT == libc::S_IFDIR;
  if uid == 0 {
    let x = dir || st.mode & 0o111 != 0;
    return Some(6 | if x { 1 } else { 0 });
  }
  if uid == st.uid {
    return Some((st.mode >> 6) & 7);
  }
  None
}

impl Volume {
  /// `glfs_new` + `glfs_set_volfile_server` + client xlator options
  /// (`glfs_set_xlator_option`: xlator pattern, key, value) +
  /// `glfs_init`. Fails at once (ENOENT / ENOTCONN) for a bad volume name
  /// or unreachable server.
  pub fn open(volume: &str, server: &str, port: u16, logfile: &str, loglevel: i32, options: &[(String, String, String)]) -> OsResult<Volume> {
    let v = cstr(volume)?;
    let s = cstr(server)?;
    let l = cstr(logfile)?;
    let tcp = cstr("tcp")?;
    let opts = options
      .iter()
      .map(|(x, k, val)| Ok((cstr(x)?, cstr(k)?, cstr(val)?)))
      .collect::<OsResult<Vec<_>>>()?;
    // SAFETY: arguments are valid C strings; fs is checked before use.
    unsafe {
      let fs = glfs_new(v.as_ptr());
      if fs.is_null() {
        return Err(OsError::last(format!("glfs_new {volume}")));
      }
      let fail = |e: OsError| {
        let p = fs as usize;
        std::thread::spawn(move || glfs_fini(p as *mut glfs_t));
        e
      };
      if glfs_set_volfile_server(fs, tcp.as_ptr(), s.as_ptr(), port as c_int) != 0 {
        return Err(fail(OsError::last(format!("glfs_set_volfile_server {server}:{port}"))));
      }
      for (x, k, val) in &opts {
        if glfs_set_xlator_option(fs, x.as_ptr(), k.as_ptr(), val.as_ptr()) != 0 {
          return Err(fail(OsError::last(format!("glfs_set_xlator_option {x:?} {k:?}"))));
        }
      }
      glfs_set_logging(fs, l.as_ptr(), loglevel);
      if glfs_init(fs) != 0 {
        return Err(fail(OsError::last(format!("glfs_init volume {volume} from {server}:{port}"))));
      }
      let mut id = [0u8; 16];
      let n = glfs_get_volumeid(fs, id.as_mut_ptr() as *mut c_char, id.len());
      if n != 16 {
        return Err(fail(OsError::last(format!("glfs_get_volumeid {volume}"))));
      }
      Ok(Volume {
        fs,
        volume_id: id,
        objs: Mutex::new(HashMap::new()),
        fds: Mutex::new(HashMap::new()),
        dirs: Mutex::new(VecDeque::new()),
        dentries: Mutex::new(HashMap::new()),
        seen: Mutex::new(HashMap::new()),
        gone: Mutex::new(HashSet::new()),
        unsynced: Mutex::new(DirtyFiles::new()),
        retired: Mutex::new(Vec::new()),
        max_fds: MAX_OPEN_FDS.into(),
      })
    }
  }

  fn extract(&self, o: &Obj) -> OsResult<Gfid> {
    let mut g = [0u8; GFID_LEN];
    // SAFETY: g has GFID_LEN bytes.
    let n = unsafe { glfs_h_extract_handle(o.0, g.as_mut_ptr(), GFID_LEN as c_int) };
    if n != GFID_LEN as c_int {
      return Err(OsError::last("glfs_h_extract_handle"));
    }
    Ok(g)
  }

  fn remember(&self, g: Gfid, k: Known) {
    let mut m = self.objs.lock().unwrap();
    if m.len() >= MAX_OBJECTS {
      m.clear();
    }
    m.insert(g, k);
  }

  /// Keeps a directory object just found or made (lookup, mkdir) for
  /// later calls, and the object's attributes (see `seen`).
  fn keep(&self, o: *mut glfs_object, st: &libc::stat) -> OsResult<(Gfid, Stat)> {
    let o = Obj(o);
    let g = self.extract(&o)?;
    let kind = st.st_mode & libc::S_IFMT;
    let stat = Stat::from(st);
    if kind == libc::S_IFDIR {
      self.remember(g, Known { obj: Arc::new(o), kind });
    }
    self.note(&g, &stat);
    Ok((g, stat))
  }

  /// Records an object's attributes as the volume reported them now;
  /// never those of a GFID removed through us (a call that raced the
  /// removal would otherwise bring them back for ATTR_TTL, and GETATTR
  /// would answer them instead of ESTALE). `gone` is held across the
  /// insert, and `removed` marks a GFID gone before it forgets it.
  fn note(&self, g: &Gfid, st: &Stat) {
    let gone = self.gone.lock().unwrap();
    if gone.contains(g) {
      return;
    }
    let mut m = self.seen.lock().unwrap();
    if m.len() >= MAX_OBJECTS {
      m.clear();
    }
    m.insert(*g, (*st, Instant::now()));
  }

  /// An object's attributes seen less than ATTR_TTL ago.
  fn fresh(&self, g: &Gfid) -> Option<Stat> {
    let m = self.seen.lock().unwrap();
    m.get(g).filter(|(_, t)| t.elapsed() < ATTR_TTL).map(|(st, _)| *st)
  }

  fn unnote(&self, g: &Gfid) {
    self.seen.lock().unwrap().remove(g);
  }

  /// The object behind a GFID; a GFID that is gone is ESTALE.
  fn obj(&self, gfid: &[u8]) -> OsResult<Known> {
    Ok(self.obj_stat(gfid)?.0)
  }

  /// The directory to make or link a name in: ENOTDIR for any other object
  /// (the bricks answer EPERM, which NFS clients take for a permission
  /// problem).
  fn parent(&self, gfid: &[u8]) -> OsResult<Known> {
    let d = self.obj(gfid)?;
    if d.kind != libc::S_IFDIR {
      return Err(OsError::new(libc::ENOTDIR, "not a directory"));
    }
    Ok(d)
  }

  /// The object behind a GFID, and its attributes when they were fetched
  /// to make it (not for a kept directory object).
  fn obj_stat(&self, gfid: &[u8]) -> OsResult<(Known, Option<libc::stat>)> {
    let g = key(gfid)?;
    if self.gone.lock().unwrap().contains(&g) {
      return Err(OsError::new(libc::ESTALE, "object was removed"));
    }
    if let Some(k) = self.objs.lock().unwrap().get(&g) {
      stats::cache(Cache::ObjHit);
      return Ok((k.clone(), None));
    }
    stats::cache(Cache::ObjMiss);
    let mut st = zero_stat();
    let mut gm = g;
    // SAFETY: gm is GFID_LEN bytes; st is writable.
    let o = timed(Call::CreateFromHandle, || unsafe { glfs_h_create_from_handle(self.fs, gm.as_mut_ptr(), GFID_LEN as c_int, &mut st) });
    if o.is_null() {
      return Err(self.stale(&g, OsError::last("glfs_h_create_from_handle")));
    }
    let k = Known { obj: Arc::new(Obj(o)), kind: st.st_mode & libc::S_IFMT };
    if k.kind == libc::S_IFDIR {
      self.remember(g, k.clone());
    }
    Ok((k, Some(st)))
  }

  /// An object we hold turned out not to exist any more (removed through
  /// another client): forget it; NFS calls that ESTALE.
  fn stale(&self, g: &Gfid, e: OsError) -> OsError {
    if e.errno != libc::ENOENT && e.errno != libc::ESTALE {
      return e;
    }
    self.objs.lock().unwrap().remove(g);
    self.fds.lock().unwrap().remove(g);
    self.unnote(g);
    OsError::new(libc::ESTALE, format!("{}: object no longer exists", e.context))
  }

  pub fn root(&self) -> OsResult<(Gfid, Stat)> {
    let mut st = zero_stat();
    let p = cstr("/")?;
    // SAFETY: valid path, NULL parent means the volume root.
    let o = timed(Call::Lookupat, || unsafe { glfs_h_lookupat(self.fs, ptr::null_mut(), p.as_ptr(), &mut st, 0) });
    if o.is_null() {
      return Err(OsError::last("lookup /"));
    }
    self.keep(o, &st)
  }

  /// What `stat` answers without leaving the calling thread: attributes
  /// seen less than ATTR_TTL ago (None: `stat` must run on a worker).
  pub fn stat_cached(&self, gfid: &[u8]) -> Option<Stat> {
    let g = key(gfid).ok()?;
    if self.gone.lock().unwrap().contains(&g) {
      return None;
    }
    let st = self.fresh(&g)?;
    stats::cache(Cache::AttrHit);
    Some(st)
  }

  /// Attributes: a file's come with making its object; a kept directory
  /// object's from md-cache when it holds them, else from a brick.
  pub fn stat(&self, gfid: &[u8]) -> OsResult<Stat> {
    let g = key(gfid)?;
    if let Some(st) = self.fresh(&g) {
      stats::cache(Cache::AttrHit);
      return Ok(st);
    }
    let (k, fetched) = self.obj_stat(gfid)?;
    if let Some(st) = fetched {
      // Making the object fetched them: no second round trip.
      let st = Stat::from(&st);
      self.note(&g, &st);
      return Ok(st);
    }
    let mut st = zero_stat();
    // SAFETY: the object is live.
    if timed(Call::Stat, || unsafe { glfs_h_stat(self.fs, k.obj.0, &mut st) }) != 0 {
      return Err(self.stale(&g, OsError::last("glfs_h_stat")));
    }
    let st = Stat::from(&st);
    self.note(&g, &st);
    Ok(st)
  }

  pub fn lookup(&self, cred: &Cred, dir: &[u8], name: &[u8]) -> OsResult<(Gfid, Stat)> {
    let dots = name == b"." || name == b"..";
    let c = if dots { CString::new(name).expect("dots") } else { check_name(name)? };
    let d = self.obj(dir)?;
    if d.kind != libc::S_IFDIR {
      return Err(OsError::new(libc::ENOTDIR, format!("lookup {} in a non-directory", show(name))));
    }
    self.check_search(cred, dir)?;
    let pg = key(dir)?;
    let dkey = (pg, name.to_vec(), cred.uid);
    if !dots {
      if let Some((g, dir)) = self.kept(&dkey) {
        stats::cache(Cache::DentryHit);
        // A directory's attributes may come from the volume again (its
        // object is held); a file's only from what it reported less than
        // ATTR_TTL ago, never by making a file object for it.
        let st = if dir { self.stat(&g).ok().filter(|st| st.is_dir()) } else { self.stat_cached(&g) };
        if let Some(st) = st {
          return Ok((g, st));
        }
        self.dentries.lock().unwrap().remove(&dkey);
      }
    }
    set_cred(cred);
    let mut st = zero_stat();
    // SAFETY: d live, c valid.
    let o = timed(Call::Lookupat, || unsafe { glfs_h_lookupat(self.fs, d.obj.0, c.as_ptr(), &mut st, 0) });
    let e = OsError::last(format!("lookup {}", show(name)));
    set_cred(&root_cred());
    if o.is_null() {
      return Err(e);
    }
    let (g, st) = self.keep(o, &st)?;
    if !dots && st.is_dir() {
      self.keep_name(dkey, g, true);
    }
    Ok((g, st))
  }

  /// Keeps `dkey`'s answer (a directory's or a file's) for DENTRY_TTL.
  fn keep_name(&self, dkey: DentryKey, g: Gfid, dir: bool) {
    let mut m = self.dentries.lock().unwrap();
    if m.len() >= MAX_DENTRIES {
      m.clear();
    }
    m.insert(dkey, (g, dir, Instant::now()));
  }

  /// What `lookup` answers without leaving the calling thread: a name
  /// kept (DENTRY_TTL: a directory found, a file made) whose attributes were seen less than
  /// ATTR_TTL ago, in a directory object we hold that `cred` may search
  /// as decided locally. None: `lookup` must run on a worker (it may find
  /// the same answer there after a stat, or ask the bricks).
  pub fn lookup_cached(&self, cred: &Cred, dir: &[u8], name: &[u8]) -> Option<(Gfid, Stat)> {
    if name == b"." || name == b".." {
      return None;
    }
    let pg = key(dir).ok()?;
    let known = self.objs.lock().unwrap().get(&pg).map(|k| k.kind)?;
    if known != libc::S_IFDIR || self.gone.lock().unwrap().contains(&pg) {
      return None;
    }
    if cred.uid != 0 && local_access(cred.uid, &self.fresh(&pg)?)? & 1 == 0 {
      return None;
    }
    let (g, _) = self.kept(&(pg, name.to_vec(), cred.uid))?;
    let st = self.stat_cached(&g)?;
    stats::cache(Cache::DentryHit);
    Some((g, st))
  }

  /// What a name was found (a directory) or made (a file) to be less
  /// than DENTRY_TTL ago.
  fn kept(&self, dkey: &DentryKey) -> Option<(Gfid, bool)> {
    self.dentries.lock().unwrap().get(dkey).filter(|(_, _, t)| t.elapsed() < DENTRY_TTL).map(|(g, dir, _)| (*g, *dir))
  }

  /// EACCES unless `cred` may search `dir` (x): the bricks let anyone
  /// look a name up, a directory's mode notwithstanding (Ganesha checks
  /// this itself too). Root and the owner are decided locally.
  fn check_search(&self, cred: &Cred, dir: &[u8]) -> OsResult<()> {
    if cred.uid == 0 {
      return Ok(());
    }
    let st = self.stat(dir)?;
    if let Some(granted) = local_access(cred.uid, &st) {
      if granted & 1 != 0 {
        return Ok(());
      }
      return Err(OsError::new(libc::EACCES, "no search permission on the directory"));
    }
    self.brick_access(cred, dir, libc::X_OK, "search permission")
  }

  /// Forgets what `name` in `dir` was (after remove, rename).
  fn unname(&self, dir: &[u8], name: &[u8]) {
    if let Ok(pg) = key(dir) {
      self.dentries.lock().unwrap().retain(|(p, n, _), _| !(*p == pg && n == name));
    }
  }

  /// What `access` answers without leaving the calling thread: for root
  /// or the owner, from attributes seen less than ATTR_TTL ago (None:
  /// `access` must run on a worker, and may ask the bricks).
  pub fn access_cached(&self, cred: &Cred, gfid: &[u8]) -> Option<(u32, Stat)> {
    let st = self.stat_cached(gfid)?;
    Some((local_access(cred.uid, &st)?, st))
  }

  /// Which of R_OK, W_OK, X_OK `cred` is granted on the object, of those
  /// in `ask` (the bricks are asked one bit per round trip; root and the
  /// owner are decided locally, all bits).
  pub fn access(&self, cred: &Cred, gfid: &[u8], ask: u32) -> OsResult<(u32, Stat)> {
    let st = self.stat(gfid)?;
    if let Some(granted) = local_access(cred.uid, &st) {
      return Ok((granted, st));
    }
    let k = self.obj(gfid)?;
    set_cred(cred);
    let mut granted = 0u32;
    for bit in [libc::R_OK, libc::W_OK, libc::X_OK].into_iter().filter(|&b| ask & b as u32 != 0) {
      // SAFETY: the object is live.
      if timed(Call::Access, || unsafe { glfs_h_access(self.fs, k.obj.0, bit) }) == 0 {
        granted |= bit as u32;
      }
    }
    set_cred(&root_cred());
    Ok((granted, st))
  }

  /// The target's exact bytes (another client may have stored any).
  pub fn readlink(&self, gfid: &[u8]) -> OsResult<Vec<u8>> {
    let k = self.obj(gfid)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: buf is writable for its length.
    let n = timed(Call::Readlink, || unsafe { glfs_h_readlink(self.fs, k.obj.0, buf.as_mut_ptr() as *mut c_char, buf.len() - 1) });
    if n < 0 {
      return Err(self.stale(&key(gfid)?, OsError::last("glfs_h_readlink")));
    }
    buf.truncate(n as usize);
    // glfs_h_readlink NUL-terminates within the count on some versions.
    if let Some(p) = buf.iter().position(|&b| b == 0) {
      buf.truncate(p);
    }
    Ok(buf)
  }

  fn fd(&self, gfid: &[u8]) -> OsResult<Arc<OpenFile>> {
    let g = key(gfid)?;
    if let Some(of) = self.fds.lock().unwrap().get(&g) {
      stats::cache(Cache::FdHit);
      return Ok(of.touch());
    }
    stats::cache(Cache::FdMiss);
    let (k, st) = self.obj_stat(gfid)?;
    if k.kind == libc::S_IFDIR {
      return Err(OsError::new(libc::EISDIR, "read/write of a directory"));
    }
    if k.kind != libc::S_IFREG {
      return Err(OsError::new(libc::EINVAL, "read/write of a special file"));
    }
    // SAFETY: the object is live; opened as root (permission is checked per call).
    let p = timed(Call::Open, || unsafe { glfs_h_open(self.fs, k.obj.0, libc::O_RDWR) });
    if p.is_null() {
      return Err(self.stale(&g, OsError::last("glfs_h_open")));
    }
    let of = OpenFile::new(Fd(p), k.obj.clone(), st.as_ref().map(Stat::from));
    let mut m = self.fds_with_room();
    Ok(m.entry(g).or_insert_with(|| Arc::new(of)).clone())
  }

  /// `gfid`'s open file with one of its fds for this call alone (see
  /// OpenFile): an idle one, else a new open (blocks: not on the JS thread).
  fn lease(&self, gfid: &[u8]) -> OsResult<FdLease> {
    let of = self.fd(gfid)?;
    if let Some(l) = of.try_lease() {
      return Ok(l);
    }
    // SAFETY: the object is live (held by the OpenFile).
    let p = timed(Call::Open, || unsafe { glfs_h_open(self.fs, of.obj.0, libc::O_RDWR) });
    if p.is_null() {
      return Err(self.stale(&key(gfid)?, OsError::last("glfs_h_open")));
    }
    Ok(FdLease { of, fd: Some(Fd(p)) })
  }

  /// The fd table, with room for one more: when full, the files used
  /// least recently (an eighth of the table) are let go, except those with
  /// UNSTABLE writes not yet committed (see sweep). Closing is a FLUSH to
  /// every brick (and the release of AFR's eager lock): an eighth at a
  /// time, oldest first, instead of the whole table at once, which stalled
  /// the bricks for every client with hundreds of closes together.
  fn fds_with_room(&self) -> std::sync::MutexGuard<'_, HashMap<Gfid, Arc<OpenFile>>> {
    let max = self.max_fds.load(std::sync::atomic::Ordering::Relaxed);
    let m = self.fds.lock().unwrap();
    if m.len() < max {
      return m;
    }
    drop(m);
    let keep = self.unsynced.lock().unwrap().keys();
    let mut m = self.fds.lock().unwrap();
    let mut by_age: Vec<(u64, Gfid)> =
      m.iter().filter(|(g, _)| !keep.contains(*g)).map(|(g, of)| (of.used.load(std::sync::atomic::Ordering::Relaxed), *g)).collect();
    let n = (max / 8).max(m.len() + 1 - max).min(by_age.len());
    if n > 0 && n < by_age.len() {
      by_age.select_nth_unstable(n - 1);
    }
    let mut retired = self.retired.lock().unwrap();
    for (_, g) in &by_age[..n] {
      // Closed by the next sweep (or by the last call still holding it).
      retired.extend(m.remove(g));
    }
    drop(retired);
    m
  }

  /// How many files keep open fds (MAX_OPEN_FDS unless a test wants fewer).
  pub fn set_max_open_files(&self, n: usize) {
    self.max_fds.store(n.max(1), std::sync::atomic::Ordering::Relaxed);
  }

  /// Drops the cached fd of an object (after remove/rename-over).
  pub fn forget(&self, gfid: &[u8]) {
    if let Ok(g) = key(gfid) {
      self.unnote(&g);
      self.fds.lock().unwrap().remove(&g);
      self.objs.lock().unwrap().remove(&g);
      self.dirs.lock().unwrap().retain(|p| p.dir != g);
    }
  }

  /// The object's last name is gone: its handle is stale from now on.
  fn removed(&self, gfid: &Gfid) {
    {
      let mut g = self.gone.lock().unwrap();
      if g.len() >= MAX_GONE {
        g.clear();
      }
      g.insert(*gfid);
    }
    self.forget(gfid);
    self.unsynced.lock().unwrap().forget(gfid);
  }

  /// The cached fd of an object, if any (no open).
  fn cached_fd(&self, gfid: &[u8]) -> Option<Arc<OpenFile>> {
    let g = key(gfid).ok()?;
    self.fds.lock().unwrap().get(&g).map(|of| of.touch())
  }

  /// Closes the cached fds of files no call has taken for `idle` (and none
  /// holds now). An open fd keeps a file's inode on the bricks: one deleted
  /// through another client (SMB's vfs_glusterfs, another appliance) keeps
  /// its space (the brick parks it in .glusterfs/unlink) until its last fd
  /// closes. Returns how many files were let go.
  ///
  /// A file with UNSTABLE writes not yet committed keeps its fds: closing
  /// one flushes write-behind, and an error of that flush would be lost,
  /// while the COMMIT that follows (on a new fd) would succeed.
  pub fn sweep(&self, idle: Duration) -> usize {
    let cut = ms_now().saturating_sub(idle.as_millis() as u64);
    let gone: Vec<Arc<OpenFile>> = {
      let unsynced = self.unsynced.lock().unwrap().keys();
      let mut m = self.fds.lock().unwrap();
      let keys: Vec<Gfid> = m
        .iter()
        .filter(|(g, of)| Arc::strong_count(of) == 1 && of.used.load(std::sync::atomic::Ordering::Relaxed) <= cut && !unsynced.contains(*g))
        .map(|(g, _)| *g)
        .collect();
      let mut gone: Vec<Arc<OpenFile>> = keys.iter().filter_map(|g| m.remove(g)).collect();
      gone.append(&mut self.retired.lock().unwrap());
      gone
    };
    // Closed here, outside the lock (glfs_close is a call to the bricks).
    gone.len()
  }

  /// Non-root callers are checked with glfs_h_access (the cached fd is
  /// root's). The owner may always read and write (like knfsd's owner
  /// override): NFS checks permission per call, not at open, and a file
  /// created 0444 must stay writable by the process that created it.
  fn check_access(&self, cred: &Cred, gfid: &[u8], mask: c_int) -> OsResult<()> {
    if cred.uid == 0 {
      return Ok(());
    }
    let st = self.stat(gfid)?;
    if st.uid == cred.uid {
      return Ok(());
    }
    self.brick_access(cred, gfid, mask, "access")
  }

  /// The bricks' answer to access(2) of `mask` for `cred` (a round trip).
  fn brick_access(&self, cred: &Cred, gfid: &[u8], mask: c_int, what: &str) -> OsResult<()> {
    let k = self.obj(gfid)?;
    set_cred(cred);
    // SAFETY: the object is live.
    let rc = timed(Call::Access, || unsafe { glfs_h_access(self.fs, k.obj.0, mask) });
    let e = OsError::last(what);
    set_cred(&root_cred());
    if rc != 0 {
      return Err(e);
    }
    Ok(())
  }

  /// Reads up to `buf.len()` bytes into `buf`; returns the count, eof and
  /// the file's attributes (from the read's own reply when it has them).
  pub fn read_into(&self, cred: &Cred, gfid: &[u8], offset: u64, buf: &mut [u8]) -> OsResult<(usize, bool, Stat)> {
    // Execute permission is enough to read (knfsd's NFSD_MAY_READ_IF_EXEC):
    // a client pages in a program it may run but not read.
    if let Err(e) = self.check_access(cred, gfid, libc::R_OK) {
      if e.errno != libc::EACCES || self.check_access(cred, gfid, libc::X_OK).is_err() {
        return Err(e);
      }
    }
    if buf.is_empty() {
      // A READ of 0 bytes (glfs_pread refuses a count of 0): nothing to
      // read, the same errors as a read for the other kinds of object.
      let k = self.obj(gfid)?;
      if k.kind == libc::S_IFDIR {
        return Err(OsError::new(libc::EISDIR, "read of a directory"));
      }
      if k.kind != libc::S_IFREG {
        return Err(OsError::new(libc::EINVAL, "read of a special file"));
      }
      let st = self.stat(gfid)?;
      return Ok((0, offset >= st.size, st));
    }
    let of = self.lease(gfid)?;
    let g = key(gfid)?;
    let mut post = zero_gstat();
    // SAFETY: buf is writable for its length.
    let n = timed(Call::Pread, || unsafe { glfs_pread(of.raw(), buf.as_mut_ptr() as *mut c_void, buf.len(), offset as libc::off_t, 0, &mut post) });
    if n < 0 {
      return Err(self.stale(&g, OsError::last("glfs_pread")));
    }
    let n = n as usize;
    let (eof, st) = self.read_attrs(&of, &g, offset, buf.len(), n, &post, true)?.expect("may block");
    Ok((n, eof, st))
  }

  /// After a read of `n` of `len` bytes at `offset`: eof and the file's
  /// attributes. None when they need a stat and `block` is false (an
  /// async completion, which must not block).
  #[allow(clippy::too_many_arguments)]
  fn read_attrs(&self, of: &OpenFile, g: &Gfid, offset: u64, len: usize, n: usize, post: &glfs_stat, block: bool) -> OsResult<Option<(bool, Stat)>> {
    let end = offset + n as u64;
    let st = match reply_attrs(post).or_else(|| of.seen()) {
      // A full read that ends where the file did when last seen is
      // checked against the volume: the file may have grown since.
      Some(st) if n < len || end < st.size || post.ino != 0 => st,
      _ if !block => return Ok(None),
      _ => self.stat(g)?,
    };
    let mut st = st;
    // Bytes read up to `end`: the file is at least that long now. (Nothing
    // read says nothing: a read past the end must not grow it.)
    if n > 0 {
      st.size = st.size.max(end);
    }
    of.saw(st);
    if post.ino != 0 {
      self.note(g, &st);
    }
    // A short read is the end of the file (regular files on Gluster).
    let eof = n < len || end >= st.size;
    Ok(Some((eof, st)))
  }

  /// Reads up to `count` bytes; returns the data, eof and the file's attributes.
  pub fn read(&self, cred: &Cred, gfid: &[u8], offset: u64, count: usize) -> OsResult<(Vec<u8>, bool, Stat)> {
    let mut buf = vec![0u8; count];
    let (n, eof, st) = self.read_into(cred, gfid, offset, &mut buf)?;
    buf.truncate(n);
    Ok((buf, eof, st))
  }

  /// Writes all of `bufs`, one after another from `offset`; `sync` 0 =
  /// unstable, 1 = data sync, 2 = file sync. Returns the file's attributes
  /// before and after (see OpenFile).
  ///
  /// A stable write carries O_DSYNC (O_SYNC for file sync) in its flags,
  /// the way Gluster's own NFS server sent them: write-behind lets it
  /// through at once, each brick's posix translator fsyncs after writing,
  /// AFR knows it stable, and the reply's pre- and post-op attributes are
  /// the bricks' own: one round trip. It does not make the file's earlier
  /// UNSTABLE writes stable (write-behind may still hold those, and the
  /// shard translator fsyncs only the shards it wrote): they stay for
  /// COMMIT. For an UNSTABLE write the `pre` that glfs_pwrite reports is
  /// write-behind's post-op one, so no pre-op attributes are returned.
  ///
  /// Several buffers go as one glfs_pwritev (one copy into one buffer, one
  /// WRITE per brick), which reports no attributes: the reply's then come
  /// from the last ones seen on the file's fd (see write_attrs).
  pub fn write(&self, cred: &Cred, gfid: &[u8], offset: u64, bufs: &[&[u8]], sync: u32) -> OsResult<(Option<Stat>, Stat)> {
    self.check_access(cred, gfid, libc::W_OK)?;
    let of = self.lease(gfid)?;
    let flags = match sync {
      0 => 0,
      1 => libc::O_DSYNC,
      _ => libc::O_SYNC,
    };
    let total: usize = bufs.iter().map(|b| b.len()).sum();
    let mut post = zero_gstat();
    // The pre-op attributes of the first glfs_pwrite (none from glfs_pwritev).
    let mut before: Option<glfs_stat> = None;
    // Bytes of `bufs` written.
    let mut done = 0usize;
    if bufs.len() > 1 {
      let iov: Vec<libc::iovec> = bufs.iter().map(|b| libc::iovec { iov_base: b.as_ptr() as *mut c_void, iov_len: b.len() }).collect();
      // SAFETY: every iovec points into a live, readable buffer; libgfapi copies them before returning.
      let n = timed(Call::Pwrite, || unsafe { glfs_pwritev(of.raw(), iov.as_ptr(), iov.len() as c_int, offset as libc::off_t, flags) });
      if n < 0 {
        return Err(self.stale(&key(gfid)?, OsError::last("glfs_pwritev")));
      }
      done = n as usize;
    }
    // The rest (all of a single buffer; after a short glfs_pwritev, what it left) with glfs_pwrite.
    let mut start = 0usize;
    for b in bufs {
      let end = start + b.len();
      while done < end {
        let from = done - start;
        let mut pre = zero_gstat();
        // SAFETY: b[from..] is readable; glfs_pwrite copies it before returning.
        let n = timed(Call::Pwrite, || unsafe {
          glfs_pwrite(of.raw(), b[from..].as_ptr() as *const c_void, b.len() - from, (offset + done as u64) as libc::off_t, flags, &mut pre, &mut post)
        });
        if n < 0 {
          return Err(self.stale(&key(gfid)?, OsError::last("glfs_pwrite")));
        }
        if n == 0 {
          return Err(OsError::new(libc::EIO, "glfs_pwrite wrote nothing"));
        }
        before.get_or_insert(pre);
        done += n as usize;
      }
      start = end;
    }
    let known_before = if sync > 0 { before.as_ref().and_then(reply_attrs) } else { None };
    if sync == 0 {
      self.wrote(&key(gfid)?);
    }
    let after = self.write_attrs(&of, &key(gfid)?, offset, total, &post, true)?.expect("may block");
    Ok((known_before, after))
  }

  /// After a write of `len` bytes at `offset`: the file's attributes (see
  /// OpenFile). None when they need a stat and `block` is false.
  fn write_attrs(&self, of: &OpenFile, g: &Gfid, offset: u64, len: usize, post: &glfs_stat, block: bool) -> OsResult<Option<Stat>> {
    let after = match reply_attrs(post) {
      Some(st) => st,
      None => {
        let mut st = match of.seen() {
          Some(st) => st,
          None if block => self.stat(g)?,
          None => return Ok(None),
        };
        let end = offset + len as u64;
        if end > st.size {
          st.size = end;
          st.blocks = st.blocks.max(end.div_ceil(512));
        }
        st.mtime = now();
        st.ctime = st.mtime;
        st
      }
    };
    of.saw(after);
    match reply_attrs(post) {
      Some(st) => self.note(g, &st),
      None => self.unnote(g),
    }
    Ok(Some(after))
  }

  /// COMMIT (RFC 1813 §3.3.21): an fsync when this process wrote the file
  /// UNSTABLE since the last fsync known to cover it (dirty.rs), else
  /// nothing to do (a file written
  /// FILE_SYNC, or already committed) and no round trip beyond attributes.
  /// Skipping the needless fsync also keeps its reply out of md-cache: on
  /// 10.3 with the virt profile an fsync right after a SETATTR of times
  /// replies with the brick file's own mtime (the bricks keep the time
  /// set), and md-cache then served that to every stat for a while — the
  /// times `cp -p` set (write, SETATTR, COMMIT) were seen lost 5 times in 8.
  /// Writes through another cairnd are that server's to commit; after a
  /// restart the write verifier changes and clients resend.
  pub fn commit(&self, gfid: &[u8]) -> OsResult<(Stat, Stat)> {
    let g = key(gfid)?;
    // Noted before the fsync (dirty.rs): a write that completes meanwhile
    // keeps the file dirty, and so does this fsync until it has succeeded.
    let mark = self.unsynced.lock().unwrap().mark(&g);
    if mark.is_none() {
      let st = match self.cached_fd(gfid).and_then(|of| of.seen()) {
        Some(st) => st,
        None => self.stat(gfid)?,
      };
      return Ok((st, st));
    }
    let of = self.lease(gfid)?;
    let mut pre = zero_gstat();
    let mut post = zero_gstat();
    // SAFETY: fd is live.
    if timed(Call::Fsync, || unsafe { glfs_fsync(of.raw(), &mut pre, &mut post) }) != 0 {
      return Err(OsError::last("glfs_fsync"));
    }
    self.unsynced.lock().unwrap().synced(&g, mark);
    let after = match reply_attrs(&post).or_else(|| of.seen()) {
      Some(st) => st,
      None => self.stat(gfid)?,
    };
    of.saw(after);
    match reply_attrs(&post) {
      Some(st) => self.note(&g, &st),
      None => self.unnote(&g),
    }
    Ok((after, after))
  }

  /// An UNSTABLE write to `g` through this process completed (see commit).
  pub(crate) fn wrote(&self, g: &Gfid) {
    let mut m = self.unsynced.lock().unwrap();
    if m.len() == MAX_UNSYNCED {
      // Forgetting one would let a COMMIT skip its fsync: keep them all
      // (a full set means many files written and never committed).
      eprintln!("cairn gfapi: {} files written UNSTABLE and never committed", m.len());
    }
    m.wrote(*g);
  }

  /// A SETATTR of the size alone that changes nothing, answered without a
  /// round trip (and, from JS, without a worker thread): O_TRUNC of a file
  /// just made sends size 0 right after CREATE. The attributes when the
  /// size the file was last seen with, our own writes included, is
  /// already `size` and the caller may truncate it without asking the
  /// bricks (root, or the owner: knfsd's owner override); else None and
  /// the SETATTR goes the long way.
  pub fn size_unchanged(&self, cred: &Cred, gfid: &[u8], size: u64) -> Option<Stat> {
    let g = key(gfid).ok()?;
    let st = self.cached_fd(gfid).and_then(|of| of.seen()).or_else(|| self.fresh(&g))?;
    let may = cred.uid == 0 || cred.uid == st.uid;
    (st.size == size && st.mode & libc::S_IFMT == libc::S_IFREG && may).then_some(st)
  }

  /// Changes what `set` names; `guard` (a ctime) makes it fail with
  /// ENOT_SYNC unless the ctime still equals it (SETATTR's guard,
  /// RFC 1813 §3.3.2). Returns the attributes before and after.
  pub fn setattr(&self, cred: &Cred, gfid: &[u8], set: &SetAttr, guard: Option<(i64, u32)>) -> OsResult<(Stat, Stat)> {
    let g = key(gfid)?;
    let only_size = set.mode.is_none() && set.uid.is_none() && set.gid.is_none() && set.atime.is_none() && set.mtime.is_none();
    if let (true, Some(z), None) = (only_size, set.size, guard) {
      if let Some(st) = self.size_unchanged(cred, gfid, z) {
        return Ok((st, st));
      }
    }
    let cached = self.cached_fd(gfid);
    if let Some(of) = &cached {
      // Writes still held by write-behind would land after this setattr
      // and overwrite the times (and size) it sets: flush them first. (An
      // fd let go meanwhile flushed them when it closed; they stay to be
      // made stable by COMMIT.)
      let mark = self.unsynced.lock().unwrap().mark(&g);
      if mark.is_some() {
        let (mut a, mut b) = (zero_gstat(), zero_gstat());
        // SAFETY: fd is live.
        let lease = match of.try_lease() {
          Some(l) => l,
          None => self.lease(gfid)?,
        };
        if timed(Call::Fsync, || unsafe { glfs_fsync(lease.raw(), &mut a, &mut b) }) != 0 {
          return Err(OsError::last("glfs_fsync before setattr"));
        }
        self.unsynced.lock().unwrap().synced(&g, mark);
      }
      of.forget_attrs();
      if !only_size {
        // Let go of the inode (see MAX_OBJECTS): the next read or write opens afresh.
        self.fds.lock().unwrap().remove(&g);
      }
    }
    drop(cached);
    let (mut held, before) = match self.fresh(&g) {
      Some(st) => (None, st),
      None => {
        let (k, fetched) = self.obj_stat(gfid)?;
        let st = match fetched {
          Some(st) => Stat::from(&st),
          None => self.stat(gfid)?,
        };
        (Some(k), st)
      }
    };
    let kind = before.mode & libc::S_IFMT;
    if set.size.is_some() && kind != libc::S_IFREG {
      // Only a regular file has a size to set (the bricks answer ESTALE
      // for a symlink and ignore it for a FIFO or socket).
      let e = if kind == libc::S_IFDIR { libc::EISDIR } else { libc::EINVAL };
      return Err(OsError::new(e, "size of a non-regular file"));
    }
    // A symlink's mode bits mean nothing and stay 0777 on the bricks (knfsd ignores them too).
    let set = &SetAttr { mode: if kind == libc::S_IFLNK { None } else { set.mode }, ..set.clone() };
    let truncate = set.size.filter(|&z| z != before.size);
    let changes = truncate.is_some() || set.mode.is_some() || set.uid.is_some() || set.gid.is_some() || set.atime.is_some() || set.mtime.is_some();
    if changes && held.is_none() {
      held = Some(self.obj(gfid)?);
    }
    if let Some(ct) = guard {
      if before.ctime != ct {
        return Err(OsError::new(crate::errno::ENOT_SYNC, "ctime changed since the guard"));
      }
    }
    if set.size.is_some() && truncate.is_none() && cred.uid != 0 && cred.uid != before.uid {
      // A size that stays changes nothing, but asking for it still needs
      // write permission (truncate(2); knfsd: ACCES), as for the posix backend.
      self.brick_access(cred, gfid, libc::W_OK, "write permission to set the size")?;
    }
    set_cred(cred);
    let r = (|| {
      // POSIX truncate changes nothing, not even the times, when the size
      // stays (O_TRUNC of a new, empty file sends exactly that).
      if let (Some(size), Some(k)) = (truncate, &held) {
        // The owner may always truncate (knfsd's owner override, as for
        // WRITE in check_access): a file created 0444 stays writable by
        // the process that created it, O_TRUNC included.
        let owner = cred.uid != 0 && cred.uid == before.uid;
        if owner {
          set_cred(&root_cred());
        }
        // SAFETY: the object is live.
        let rc = timed(Call::Truncate, || unsafe { glfs_h_truncate(self.fs, k.obj.0, size as libc::off_t) });
        let e = OsError::last("glfs_h_truncate");
        if owner {
          set_cred(cred);
        }
        if rc != 0 {
          return Err(e);
        }
      }
      let mut st = zero_stat();
      let mut valid = 0;
      if let Some(m) = set.mode {
        st.st_mode = m & 0o7777;
        valid |= GFAPI_SET_ATTR_MODE;
      }
      if let Some(u) = set.uid {
        st.st_uid = u;
        valid |= GFAPI_SET_ATTR_UID;
      }
      if let Some(g) = set.gid {
        st.st_gid = g;
        valid |= GFAPI_SET_ATTR_GID;
      }
      if let Some(t) = set.atime {
        let (s, n) = t.unwrap_or_else(now);
        st.st_atime = s;
        st.st_atime_nsec = n as i64;
        valid |= GFAPI_SET_ATTR_ATIME;
      }
      if let Some(t) = set.mtime {
        let (s, n) = t.unwrap_or_else(now);
        st.st_mtime = s;
        st.st_mtime_nsec = n as i64;
        valid |= GFAPI_SET_ATTR_MTIME;
      }
      if let (true, Some(k)) = (valid != 0, &held) {
        // SAFETY: the object is live, st initialised.
        errno_or(timed(Call::Setattrs, || unsafe { glfs_h_setattrs(self.fs, k.obj.0, &mut st, valid) }) != 0, || "glfs_h_setattrs".into())?;
      }
      Ok((st, valid))
    })();
    set_cred(&root_cred());
    let (sent, valid) = r.map_err(|e| self.stale(&g, e))?;
    // The attributes after are those before with what was set (a stat
    // right after may still be served from md-cache, and costs a round
    // trip): what the bricks now hold, up to the ctime, which is ours.
    let mut after = before;
    if !changes {
      return Ok((before, after));
    }
    after.ctime = now();
    if valid & GFAPI_SET_ATTR_MODE != 0 {
      after.mode = (after.mode & libc::S_IFMT) | (sent.st_mode & 0o7777);
    }
    if valid & (GFAPI_SET_ATTR_UID | GFAPI_SET_ATTR_GID) != 0 && valid & GFAPI_SET_ATTR_MODE == 0 && kind != libc::S_IFDIR {
      // chown of a non-directory clears set-user-ID, and set-group-ID when
      // group-execute is on (the bricks' kernel does): so must what we report.
      after.mode &= !(libc::S_ISUID | if after.mode & libc::S_IXGRP != 0 { libc::S_ISGID } else { 0 });
    }
    if valid & GFAPI_SET_ATTR_UID != 0 {
      after.uid = sent.st_uid;
    }
    if valid & GFAPI_SET_ATTR_GID != 0 {
      after.gid = sent.st_gid;
    }
    if let Some(size) = set.size {
      after.size = size;
    }
    if valid & GFAPI_SET_ATTR_ATIME != 0 {
      after.atime = (sent.st_atime, sent.st_atime_nsec as u32);
    }
    if valid & GFAPI_SET_ATTR_MTIME != 0 {
      after.mtime = (sent.st_mtime, sent.st_mtime_nsec as u32);
    }
    if truncate.is_some() && valid & GFAPI_SET_ATTR_MTIME == 0 {
      after.mtime = after.ctime;
    }
    // `after` is ours (ctime from this host's clock): GETATTR asks the volume.
    self.unnote(&g);
    Ok((before, after))
  }

  fn made(&self, o: *mut glfs_object, st: &libc::stat, what: &str) -> OsResult<(Gfid, Stat)> {
    if o.is_null() {
      return Err(OsError::last(what.to_string()));
    }
    self.keep(o, st)
  }

  /// The directory's attributes after a change, when they can be had
  /// (md-cache keeps the parent's attributes from the reply of the change).
  pub fn dir_after(&self, dir: &[u8]) -> Option<Stat> {
    self.unnote(&key(dir).ok()?);
    self.stat(dir).ok()
  }

  /// Creates a regular file (`exclusive`: fail with EEXIST if it exists).
  /// `keep_open`: keep an fd of it for the WRITE that usually follows —
  /// made by the create itself (`glfs_h_creat_open`: one create fop, no
  /// open round trip to every brick after it). Times set on such a file
  /// later (`cp -p`: WRITE, SETATTR, COMMIT) were once seen reverted to
  /// the write time; that came from an fsync after the SETATTR, which
  /// COMMIT no longer sends (see commit; gfapi-cache.test.ts checks it).
  /// EXCLUSIVE creates keep no fd (their verifier is set in the times at
  /// once, RFC 1813 §3.3.8).
  pub fn create(&self, cred: &Cred, dir: &[u8], name: &[u8], mode: u32, exclusive: bool, keep_open: bool) -> OsResult<(Gfid, Stat)> {
    let c = check_new_name(name)?;
    let d = self.parent(dir)?;
    set_cred(cred);
    let mut st = zero_stat();
    let flags = libc::O_CREAT | libc::O_RDWR | if exclusive { libc::O_EXCL } else { 0 };
    let mut fdp: *mut glfs_fd = ptr::null_mut();
    let o = if keep_open {
      // SAFETY: d live, c valid, fdp writable.
      timed(Call::Create, || unsafe { glfs_h_creat_open(self.fs, d.obj.0, c.as_ptr(), flags, mode & 0o7777, &mut st, &mut fdp) })
    } else {
      // SAFETY: d live, c valid.
      timed(Call::Create, || unsafe { glfs_h_creat(self.fs, d.obj.0, c.as_ptr(), flags, mode & 0o7777, &mut st) })
    };
    let e = OsError::last(format!("create {}", show(name)));
    set_cred(&root_cred());
    // Closed on every way out unless it goes into the fd cache.
    let mut made_fd = if fdp.is_null() { None } else { Some(Fd(fdp)) };
    if o.is_null() {
      return Err(e);
    }
    let o = Obj(o);
    let g = self.extract(&o)?;
    let stat = Stat::from(&st);
    self.note(&g, &stat);
    // The LOOKUP of the new name that clients send next is answered here.
    if let Ok(pg) = key(dir) {
      self.keep_name((pg, name.to_vec(), cred.uid), g, false);
    }
    if keep_open {
      // The fd the create made is the caller's, one opened here root's:
      // either serves every later READ and WRITE (access is checked per call).
      let fd = match made_fd.take() {
        Some(fd) => Some(fd),
        None => {
          // SAFETY: o is live.
          let p = timed(Call::Open, || unsafe { glfs_h_open(self.fs, o.0, libc::O_RDWR) });
          (!p.is_null()).then(|| Fd(p))
        }
      };
      if let Some(fd) = fd {
        let of = OpenFile::new(fd, Arc::new(o), Some(stat));
        self.fds_with_room().entry(g).or_insert_with(|| Arc::new(of));
      }
    }
    Ok((g, stat))
  }

  pub fn mkdir(&self, cred: &Cred, dir: &[u8], name: &[u8], mode: u32) -> OsResult<(Gfid, Stat)> {
    let c = check_new_name(name)?;
    let d = self.parent(dir)?;
    set_cred(cred);
    let mut st = zero_stat();
    // SAFETY: d live, c valid.
    let o = timed(Call::Mkdir, || unsafe { glfs_h_mkdir(self.fs, d.obj.0, c.as_ptr(), mode & 0o7777, &mut st) });
    let r = self.made(o, &st, &format!("mkdir {}", show(name)));
    set_cred(&root_cred());
    r
  }

  /// `target`: the exact bytes to store.
  pub fn symlink(&self, cred: &Cred, dir: &[u8], name: &[u8], target: &[u8]) -> OsResult<(Gfid, Stat)> {
    let c = check_new_name(name)?;
    let t = CString::new(target).map_err(|_| OsError::new(libc::EINVAL, "NUL in a symlink target"))?;
    let d = self.parent(dir)?;
    set_cred(cred);
    let mut st = zero_stat();
    // SAFETY: d live, strings valid.
    let o = timed(Call::Symlink, || unsafe { glfs_h_symlink(self.fs, d.obj.0, c.as_ptr(), t.as_ptr(), &mut st) });
    let r = self.made(o, &st, &format!("symlink {}", show(name)));
    set_cred(&root_cred());
    r
  }

  /// `mode` includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK).
  pub fn mknod(&self, cred: &Cred, dir: &[u8], name: &[u8], mode: u32, rdev: u64) -> OsResult<(Gfid, Stat)> {
    let c = check_new_name(name)?;
    let d = self.parent(dir)?;
    set_cred(cred);
    let mut st = zero_stat();
    // SAFETY: d live, c valid.
    let o = timed(Call::Mknod, || unsafe { glfs_h_mknod(self.fs, d.obj.0, c.as_ptr(), mode, rdev, &mut st) });
    let r = self.made(o, &st, &format!("mknod {}", show(name)));
    set_cred(&root_cred());
    r
  }

  /// Removes `name`: a file (`dir_wanted` false; a directory is EISDIR) or
  /// an empty directory (`dir_wanted` true; a non-directory is ENOTDIR).
  pub fn remove(&self, cred: &Cred, dir: &[u8], name: &[u8], dir_wanted: bool) -> OsResult<()> {
    let c = check_new_name(name)?;
    let d = self.obj(dir)?;
    let (gfid, st) = self.lookup(cred, dir, name)?;
    let is_dir = st.mode & libc::S_IFMT == libc::S_IFDIR;
    if is_dir && !dir_wanted {
      return Err(OsError::new(libc::EISDIR, format!("remove {}: a directory", show(name))));
    }
    if !is_dir && dir_wanted {
      return Err(OsError::new(libc::ENOTDIR, format!("rmdir {}: not a directory", show(name))));
    }
    self.unname(dir, name);
    set_cred(cred);
    // SAFETY: d live, c valid.
    let rc = timed(Call::Unlink, || unsafe { glfs_h_unlink(self.fs, d.obj.0, c.as_ptr()) });
    let r = errno_or(rc != 0, || format!("unlink {}", show(name)));
    set_cred(&root_cred());
    r?;
    if is_dir || st.nlink <= 1 {
      self.removed(&gfid);
    } else {
      self.unnote(&gfid);
    }
    Ok(())
  }

  pub fn rename(&self, cred: &Cred, from_dir: &[u8], from: &[u8], to_dir: &[u8], to: &[u8]) -> OsResult<()> {
    let f = check_new_name(from)?;
    let t = check_new_name(to)?;
    let fd = self.parent(from_dir)?;
    let td = self.parent(to_dir)?;
    let source = self.lookup(cred, from_dir, from).ok();
    let replaced = self.lookup(cred, to_dir, to).ok();
    self.unname(from_dir, from);
    self.unname(to_dir, to);
    set_cred(cred);
    // SAFETY: objects live, names valid.
    let rc = timed(Call::Rename, || unsafe { glfs_h_rename(self.fs, fd.obj.0, f.as_ptr(), td.obj.0, t.as_ptr()) });
    let r = errno_or(rc != 0, || format!("rename {} → {}", show(from), show(to)));
    set_cred(&root_cred());
    r?;
    self.unnote(&key(from_dir)?);
    self.unnote(&key(to_dir)?);
    if let Some((src, _)) = &source {
      self.unnote(src);
    }
    if let Some((old, _)) = &replaced {
      self.unnote(old);
    }
    if let (Some((old, st)), Some((src, _))) = (replaced, source) {
      let is_dir = st.mode & libc::S_IFMT == libc::S_IFDIR;
      if old != src && (is_dir || st.nlink <= 1) {
        self.removed(&old);
      }
    }
    Ok(())
  }

  pub fn link(&self, cred: &Cred, target: &[u8], dir: &[u8], name: &[u8]) -> OsResult<Stat> {
    let c = check_new_name(name)?;
    let o = self.obj(target)?;
    if o.kind == libc::S_IFDIR {
      return Err(OsError::new(libc::EISDIR, "hard link to a directory"));
    }
    let d = self.parent(dir)?;
    set_cred(cred);
    // SAFETY: objects live, name valid.
    let rc = timed(Call::Link, || unsafe { glfs_h_link(self.fs, o.obj.0, d.obj.0, c.as_ptr()) });
    let r = errno_or(rc != 0, || format!("link {}", show(name)));
    set_cred(&root_cred());
    r?;
    self.unnote(&key(target)?);
    self.unnote(&key(dir)?);
    // Its nlink changed: what a cached fd last saw (COMMIT answers with it) is stale.
    if let Some(of) = self.cached_fd(target) {
      of.forget_attrs();
    }
    self.stat(target)
  }

  /// A directory stream of `dir` positioned after `cookie`: a parked one
  /// that stopped there, or a new one (opendir, then seekdir).
  fn dir_stream(&self, cred: &Cred, g: &Gfid, k: &Known, cookie: u64) -> OsResult<Fd> {
    if cookie != 0 {
      let mut parked = self.dirs.lock().unwrap();
      if let Some(i) = parked.iter().position(|p| p.dir == *g && p.at == cookie && p.uid == cred.uid) {
        return Ok(parked.remove(i).expect("present").fd);
      }
    }
    set_cred(cred);
    // SAFETY: the object is live.
    let fdp = timed(Call::Opendir, || unsafe { glfs_h_opendir(self.fs, k.obj.0) });
    let e = OsError::last("glfs_h_opendir");
    set_cred(&root_cred());
    if fdp.is_null() {
      return Err(self.stale(g, e));
    }
    let fd = Fd(fdp);
    if cookie != 0 {
      // SAFETY: fd is a live directory fd.
      unsafe { glfs_seekdir(fd.0, cookie as c_long) };
    }
    Ok(fd)
  }

  /// Up to `max` entries after `cookie` (0 = start), with handles and
  /// attributes when `plus`. Cookies are the directory offsets Gluster
  /// gives (`d_off`), valid across calls. Returns (entries, eof).
  pub fn readdir(&self, cred: &Cred, dir: &[u8], cookie: u64, max: usize, plus: bool) -> OsResult<(Vec<DirEntry>, bool)> {
    let g = key(dir)?;
    let k = self.obj(dir)?;
    if k.kind != libc::S_IFDIR {
      return Err(OsError::new(libc::ENOTDIR, "readdir of a non-directory"));
    }
    let fd = self.dir_stream(cred, &g, &k, cookie)?;
    let flags = if plus { GFAPI_XREADDIRP_STAT | GFAPI_XREADDIRP_HANDLE } else { GFAPI_XREADDIRP_STAT };
    let mut out: Vec<DirEntry> = Vec::new();
    loop {
      if out.len() >= max {
        // Stop before reading the next entry: the stream stands right
        // after the last one returned, ready for the call that goes on.
        let at = out.last().map(|e| e.cookie).unwrap_or(cookie);
        let mut parked = self.dirs.lock().unwrap();
        if parked.len() >= MAX_DIR_STREAMS {
          parked.pop_front();
        }
        parked.push_back(Parked { dir: g, at, uid: cred.uid, fd });
        return Ok((out, false));
      }
      let mut xstat: *mut glfs_xreaddirp_stat = ptr::null_mut();
      // SAFETY: dirent is a plain C struct.
      let mut ent: libc::dirent = unsafe { std::mem::zeroed() };
      let mut res: *mut libc::dirent = ptr::null_mut();
      // SAFETY: all out-pointers are valid.
      let rc = timed(Call::Readdirplus, || unsafe { glfs_xreaddirplus_r(fd.0, flags, &mut xstat, &mut ent, &mut res) });
      if rc < 0 {
        return Err(OsError::last("glfs_xreaddirplus_r"));
      }
      if res.is_null() {
        if !xstat.is_null() {
          // SAFETY: allocated by libgfapi.
          unsafe { glfs_free(xstat as *mut c_void) };
        }
        return Ok((out, true));
      }
      // SAFETY: d_name is NUL-terminated within the struct.
      let name = unsafe { CStr::from_ptr(ent.d_name.as_ptr()) }.to_bytes().to_vec();
      let mut e = DirEntry { name, ino: ent.d_ino, cookie: ent.d_off as u64, gfid: None, stat: None };
      if !xstat.is_null() {
        // SAFETY: xstat is valid until glfs_free.
        unsafe {
          if rc as u32 & GFAPI_XREADDIRP_STAT != 0 {
            let sp = glfs_xreaddirplus_get_stat(xstat);
            if !sp.is_null() {
              e.stat = Some(Stat::from(&*sp));
            }
          }
          if plus && rc as u32 & GFAPI_XREADDIRP_HANDLE != 0 {
            let op = glfs_xreaddirplus_get_object(xstat);
            if !op.is_null() {
              let mut g = [0u8; GFID_LEN];
              if glfs_h_extract_handle(op, g.as_mut_ptr(), GFID_LEN as c_int) == GFID_LEN as c_int {
                e.gfid = Some(g);
                if let Some(st) = &e.stat {
                  self.note(&g, st);
                }
              }
            }
          }
          glfs_free(xstat as *mut c_void);
        }
      }
      out.push(e);
    }
  }

  pub fn statvfs(&self, gfid: &[u8]) -> OsResult<libc::statvfs> {
    let k = self.obj(gfid)?;
    // SAFETY: plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: the object is live, st writable.
    errno_or(timed(Call::Statfs, || unsafe { glfs_h_statfs(self.fs, k.obj.0, &mut st) }) != 0, || "glfs_h_statfs".into())?;
    Ok(st)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn names_are_single_components() {
    assert!(check_name(b"a").is_ok());
    assert!(check_name(b"caf\xe9").is_ok(), "bytes that are not UTF-8 are a name");
    assert_eq!(check_name(b"").unwrap_err().errno, libc::EINVAL);
    assert_eq!(check_name(b"a/b").unwrap_err().errno, libc::EINVAL);
    assert_eq!(check_name(b"a\0b").unwrap_err().errno, libc::EINVAL);
    assert_eq!(check_new_name(b"..").unwrap_err().errno, libc::EINVAL);
    assert_eq!(check_name("x".repeat(256).as_bytes()).unwrap_err().errno, libc::ENAMETOOLONG);
  }

  #[test]
  fn root_and_owner_access_is_decided_locally() {
    let mut st = Stat { mode: libc::S_IFREG | 0o640, uid: 1000, gid: 1000, ..Default::default() };
    assert_eq!(local_access(0, &st), Some(6));
    assert_eq!(local_access(1000, &st), Some(6));
    assert_eq!(local_access(1001, &st), None);
    st.mode = libc::S_IFREG | 0o500;
    assert_eq!(local_access(0, &st), Some(7));
    assert_eq!(local_access(1000, &st), Some(5));
    st.mode = libc::S_IFDIR | 0o000;
    assert_eq!(local_access(0, &st), Some(7));
  }

  #[test]
  fn glfs_stat_layout_matches_the_header() {
    // 3×u64 + 4 timespec + ino, size, blocks + 4×u32 + blksize, nlink + uid, gid, mode (+pad)
    assert_eq!(std::mem::size_of::<glfs_stat>(), 24 + 64 + 24 + 16 + 16 + 16);
  }

  #[test]
  fn no_server_fails_at_once() {
    let t0 = std::time::Instant::now();
    let r = Volume::open("nope", "127.0.0.1", 1, "/dev/null", 0, &[]);
    assert!(r.is_err());
    assert!(t0.elapsed().as_secs() < 20);
  }
}
