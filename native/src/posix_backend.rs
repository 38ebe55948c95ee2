//! The posix NFS backend's core: every operation of the Backend contract
//! (appliance/src/nfs/backend/backend.ts) on a local directory, as plain
//! Rust functions that the async tasks in `backend_task.rs` run on worker
//! threads. Results are packed into a byte record (see [`Out`]) that
//! `appliance/src/nfs/backend/posix/decode.ts` reads; building one buffer
//! costs far less than building JS objects field by field through Node-API.
//!
//! Handles (at most 48 bytes, contract rule 1):
//!
//! ```text
//!   0      1   2        6           14
//!   | ver=1| n | type LE | mac (8)   | f_handle (n ≤ 34) |
//! ```
//!
//! `type`/`f_handle` are what `name_to_handle_at(2)` gave. `mac` is SipHash
//! of them keyed with the export root's own kernel handle and the
//! filesystem id: a handle of another export or filesystem, or a forged one
//! (ext4 accepts generation 0 as "any generation", so inode numbers alone
//! would open anything), fails with EBADHANDLE. The key holds the root's
//! inode generation, which never crosses the wire, and is stable across
//! restarts, so handles are too.
//!
//! Staying inside the export (contract rule 2): handles we never issued do
//! not pass the mac; a directory reopened from a handle is also walked up
//! (`..`) to the root once, when it enters the fd cache; names are single
//! components and every *at call that could follow a final symlink uses
//! O_NOFOLLOW / AT_SYMLINK_NOFOLLOW; `..` of the root is the root.
//!
//! Mount points inside the export are not crossed (like knfsd and Ganesha
//! without `crossmnt`/`nohide`): another filesystem, or a bind mount of
//! the same one — which could show what lies outside the export — is not
//! served. READDIR lists a mount point's name (the covered directory's
//! entry), READDIRPLUS gives it no attributes and no handle, and LOOKUP of
//! it fails with EACCES (NFS3ERR_ACCES: refused by policy; knfsd would
//! return the covered directory, which a process cannot open, and XDEV is
//! RFC 1813's error for links and renames).
//!
//! Credentials (rule 5): objects are opened by handle with the process's
//! identity (open_by_handle_at needs CAP_DAC_READ_SEARCH), then the call
//! itself runs under [`AsCaller`], so the kernel checks permissions. Reads
//! and writes on cached fds check with faccessat2(AT_EACCESS) as the caller,
//! with knfsd's owner override (the owner may read and write their own file
//! whatever its mode, since clients check modes at open time).

use crate::creds::{AsCaller, Cred};
use crate::errno::{OsError, OsResult, EBADCOOKIE, EBADHANDLE, ENOT_SYNC};
use crate::fd_cache::{FdCache, Kind, Obj};
use crate::posix;
use std::ffi::{CStr, CString};
use std::hash::Hasher;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

pub const MAX_BACKEND_HANDLE: usize = 48;
const HANDLE_VERSION: u8 = 1;
const HEADER: usize = 14;
const MAX_KERNEL_HANDLE: usize = MAX_BACKEND_HANDLE - HEADER;
/// READ and WRITE sizes the backend accepts (FSINFO rtmax/wtmax).
pub const MAX_IO: usize = 1 << 20;

/// sattr3, host terms. Times: None = leave, Some(None) = server time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAttrs {
  pub mode: Option<u32>,
  pub uid: Option<u32>,
  pub gid: Option<u32>,
  pub size: Option<u64>,
  pub atime: Option<Option<(u32, u32)>>,
  pub mtime: Option<Option<(u32, u32)>>,
}

impl SetAttrs {
  fn has_times(&self) -> bool {
    self.atime.is_some() || self.mtime.is_some()
  }
}

pub enum CreateHow {
  Unchecked(SetAttrs),
  Guarded(SetAttrs),
  Exclusive([u8; 8]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stable {
  Unstable = 0,
  DataSync = 1,
  FileSync = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
  Chr,
  Blk,
  Sock,
  Fifo,
}

pub use crate::stat::Stat as St;


// ---------------------------------------------------------------- syscalls

/// pread until `buf` is full or the file ends; the count read.
fn pread_full(fd: RawFd, buf: &mut [u8], off: i64) -> OsResult<usize> {
  let mut n = 0usize;
  while n < buf.len() {
    // SAFETY: the range lies inside buf.
    let r = unsafe { libc::pread(fd, buf[n..].as_mut_ptr().cast(), buf.len() - n, off + n as i64) };
    if r < 0 {
      let e = OsError::last("pread");
      if e.errno == libc::EINTR {
        continue;
      }
      return Err(e);
    }
    if r == 0 {
      break;
    }
    n += r as usize;
  }
  Ok(n)
}

/// A send/sendfile result: Some(bytes), None when the socket is full (EAGAIN).
fn sent_or_blocked(r: isize, what: &str) -> OsResult<Option<usize>> {
  if r >= 0 {
    return Ok(Some(r as usize));
  }
  let e = OsError::last(what);
  match e.errno {
    libc::EAGAIN | libc::EINTR => Ok(None),
    _ => Err(e),
  }
}

fn fstat(fd: RawFd) -> OsResult<St> {
  // SAFETY: st is plain data the kernel fills.
  let mut st: libc::stat = unsafe { std::mem::zeroed() };
  if unsafe { libc::fstat(fd, &mut st) } < 0 {
    return Err(OsError::last("fstat"));
  }
  Ok(St::from(&st))
}

fn stat_at(dirfd: RawFd, name: &CStr) -> OsResult<St> {
  // SAFETY: as fstat; name is NUL-terminated.
  let mut st: libc::stat = unsafe { std::mem::zeroed() };
  if unsafe { libc::fstatat(dirfd, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
    return Err(OsError::last(format!("stat {}", name.to_string_lossy())));
  }
  Ok(St::from(&st))
}

/// stat of the entry `name` of `dirfd` (a final symlink not followed), or
/// None when it is a mount point (not served, see the module doc).
fn stat_entry(dirfd: RawFd, name: &CStr) -> OsResult<Option<St>> {
  // SAFETY: sx is plain data the kernel fills; name is NUL-terminated.
  let mut sx: libc::statx = unsafe { std::mem::zeroed() };
  let flags = libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT;
  if unsafe { libc::statx(dirfd, name.as_ptr(), flags, libc::STATX_BASIC_STATS, &mut sx) } < 0 {
    return Err(OsError::last(format!("stat {}", name.to_string_lossy())));
  }
  let root = libc::STATX_ATTR_MOUNT_ROOT as u64;
  if sx.stx_attributes_mask & root != 0 && sx.stx_attributes & root != 0 {
    return Ok(None);
  }
  Ok(Some(St::from(&sx)))
}

/// An O_PATH fd of the entry `name` of `dirfd`, never through a mount
/// point (EACCES, see the module doc). `cached`: only from the dentry
/// cache (EAGAIN when the lookup would need the disk).
fn open_entry(dirfd: RawFd, name: &CStr, cached: bool) -> OsResult<OwnedFd> {
  // SAFETY: open_how is plain data; zero is "no flags".
  let mut how: libc::open_how = unsafe { std::mem::zeroed() };
  how.flags = (libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64;
  how.resolve = libc::RESOLVE_NO_XDEV | if cached { libc::RESOLVE_CACHED } else { 0 };
  // SAFETY: how is a valid open_how of the size we pass; name is NUL-terminated.
  let fd = unsafe { libc::syscall(libc::SYS_openat2, dirfd, name.as_ptr(), &how as *const libc::open_how, std::mem::size_of::<libc::open_how>()) };
  if fd < 0 {
    let e = OsError::last(format!("lookup {}", name.to_string_lossy()));
    if e.errno == libc::EXDEV {
      return Err(OsError::new(libc::EACCES, format!("{} is a mount point: other filesystems are not served", name.to_string_lossy())));
    }
    return Err(e);
  }
  // SAFETY: a new fd we own.
  Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn open_at(dirfd: RawFd, name: &CStr, flags: i32, mode: u32) -> OsResult<OwnedFd> {
  // SAFETY: name is NUL-terminated; the returned fd is ours.
  let fd = unsafe { libc::openat(dirfd, name.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) };
  if fd < 0 {
    return Err(OsError::last(format!("open {}", name.to_string_lossy())));
  }
  Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn check(rc: libc::c_int, what: impl FnOnce() -> String) -> OsResult<()> {
  if rc < 0 {
    Err(OsError::last(what()))
  } else {
    Ok(())
  }
}

/// `/proc/self/fd/N`: reaches the object of an O_PATH fd through calls that
/// have no fd form (chmod, truncate), with the path permission checks.
fn proc_path(fd: RawFd) -> CString {
  CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL")
}

/// faccessat2 as the current (fs) identity: true when `mode` is granted.
fn may(fd: RawFd, mode: i32) -> bool {
  // SAFETY: empty path with AT_EMPTY_PATH names fd itself.
  let rc = unsafe {
    libc::syscall(libc::SYS_faccessat2, fd, c"".as_ptr(), mode, libc::AT_EACCESS | libc::AT_EMPTY_PATH)
  };
  rc == 0
}

fn timespec(t: Option<Option<(u32, u32)>>) -> libc::timespec {
  match t {
    None => libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_OMIT },
    Some(None) => libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_NOW },
    Some(Some((s, ns))) => libc::timespec { tv_sec: s as i64, tv_nsec: ns.min(999_999_999) as i64 },
  }
}

fn process_umask() -> u32 {
  std::fs::read_to_string("/proc/self/status")
    .ok()
    .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Umask:").map(|v| v.trim().to_string())))
    .and_then(|v| u32::from_str_radix(&v, 8).ok())
    .unwrap_or(0o022)
}

// ---------------------------------------------------------------- names

/// A filename3 is opaque bytes (RFC 1813 §2.5): names are served as the
/// bytes they are on disk, UTF-8 or not. For messages only.
fn show(name: &[u8]) -> std::borrow::Cow<'_, str> {
  String::from_utf8_lossy(name)
}

/// A single path component for lookup-type calls.
fn name_ok(name: &[u8]) -> OsResult<CString> {
  if name.is_empty() {
    return Err(OsError::new(libc::ENOENT, "empty name"));
  }
  if name.contains(&b'/') {
    return Err(OsError::new(libc::EACCES, format!("name {:?} has a '/'", show(name))));
  }
  CString::new(name).map_err(|_| OsError::new(libc::EACCES, "name contains a NUL byte"))
}

/// A name a creating call may make: not `.` or `..` (RFC 1813 §3.3.8 lets
/// the server refuse them; knfsd says EEXIST).
fn new_name_ok(name: &[u8]) -> OsResult<CString> {
  if name == b"." || name == b".." {
    return Err(OsError::new(libc::EEXIST, format!("cannot create {:?}", show(name))));
  }
  name_ok(name)
}

/// A name a removing call may remove.
fn old_name_ok(name: &[u8]) -> OsResult<CString> {
  if name == b"." || name == b".." {
    return Err(OsError::new(libc::EINVAL, format!("cannot remove {:?}", show(name))));
  }
  name_ok(name)
}

// ---------------------------------------------------------------- output

/// The packed result record. Little-endian throughout:
/// attrs = mode u32 (type and permission bits, as st_mode), nlink u32,
/// uid u32, gid u32, size u64, used u64, rdev major u32, minor u32,
/// fsid u64, fileid u64, atime/mtime/ctime each sec u32 + nsec u32 (80 bytes);
/// pre = size u64, mtime, ctime (24 bytes); an optional item is a flag byte
/// (0/1) then the item; a handle is a length byte then its bytes; a string
/// a u32 length then UTF-8.
pub struct Out(pub Vec<u8>);

pub const ATTRS_LEN: usize = 80;

impl Out {
  fn new() -> Out {
    Out(Vec::with_capacity(256))
  }
  fn u8(&mut self, v: u8) -> &mut Self {
    self.0.push(v);
    self
  }
  fn u32(&mut self, v: u32) -> &mut Self {
    self.0.extend_from_slice(&v.to_le_bytes());
    self
  }
  fn u64(&mut self, v: u64) -> &mut Self {
    self.0.extend_from_slice(&v.to_le_bytes());
    self
  }
  fn time(&mut self, t: (i64, u32)) -> &mut Self {
    self.u32(t.0.clamp(0, u32::MAX as i64) as u32).u32(t.1)
  }
  fn attrs(&mut self, st: &St, fsid: u64) -> &mut Self {
    // SAFETY: major/minor are pure arithmetic on the number.
    let (maj, min) = (libc::major(st.rdev), libc::minor(st.rdev));
    self.u32(st.mode).u32(st.nlink.min(u32::MAX as u64) as u32).u32(st.uid).u32(st.gid);
    self.u64(st.size).u64(st.blocks.saturating_mul(512)).u32(maj).u32(min).u64(fsid).u64(st.ino);
    self.time(st.atime).time(st.mtime).time(st.ctime)
  }
  fn opt_attrs(&mut self, st: Option<&St>, fsid: u64) -> &mut Self {
    match st {
      Some(st) => self.u8(1).attrs(st, fsid),
      None => self.u8(0),
    }
  }
  fn wcc(&mut self, before: Option<&St>, after: Option<&St>, fsid: u64) -> &mut Self {
    match before {
      Some(b) => self.u8(1).u64(b.size).time(b.mtime).time(b.ctime),
      None => self.u8(0),
    };
    self.opt_attrs(after, fsid)
  }
  fn handle(&mut self, h: &[u8]) -> &mut Self {
    self.u8(h.len() as u8);
    self.0.extend_from_slice(h);
    self
  }
  fn str(&mut self, s: &[u8]) -> &mut Self {
    self.u32(s.len() as u32);
    self.0.extend_from_slice(s);
    self
  }
}

// ---------------------------------------------------------------- export

pub struct Export {
  /// The export's directory, the `mount_fd` of every open_by_handle_at;
  /// None once closed (so a removed export holds nothing open, and a
  /// late call gets ESTALE).
  root: std::sync::RwLock<Option<OwnedFd>>,
  root_dev: u64,
  root_ino: u64,
  root_handle: Vec<u8>,
  key: (u64, u64),
  fsid: u64,
  umask: u32,
  cache: FdCache,
  /// pwritev2(RWF_NOWAIT) works for buffered writes on this filesystem
  /// (ext4 says EOPNOTSUPP; then try_write stops trying).
  nowait_writes: std::sync::atomic::AtomicBool,
  /// Directory streams left open where a READDIR(PLUS) page ended (xdr_dir.rs).
  streams: xdr_dir::DirStreams,
  /// The files of the last READs planned (`try_read_plan`), held for
  /// PIN_FOR after (at most PINS), so that their data can still be sent
  /// when the file is removed meanwhile (see `planned`).
  pins: std::sync::Mutex<std::collections::VecDeque<(Box<[u8]>, Arc<Obj>, std::time::Instant)>>,
  /// WRITEs to one file take turns here (striped by inode). The kernel
  /// lets one buffered write into a file at a time anyway (i_rwsem), but
  /// its waiters spin while the holder copies a MiB: 5% of the server's
  /// CPU in a sequential 1 MiB write with 8 in flight; these sleep. The
  /// turn also guards the stripe's write stream (flush-behind).
  write_turns: [std::sync::Mutex<Stream>; WRITE_STRIPES],
}

const WRITE_STRIPES: usize = 64;
/// How long a planned READ holds its file open, and how many files at most.
const PIN_FOR: std::time::Duration = std::time::Duration::from_secs(1);
const PINS: usize = 64;

/// Flush-behind: once a sequential stream of UNSTABLE writes to a file has
/// left this many bytes dirty, their writeback is started
/// (sync_file_range SYNC_FILE_RANGE_WRITE, which does not wait for it).
/// Without it nothing reaches the disk before the client's COMMIT (the
/// kernel's background writeback starts at 10% of memory, GiBs here), and
/// the COMMIT's fdatasync then writes the whole stream while the client
/// and the network idle: 0.29 s of a 1.2 s 1 GiB write measured here.
/// Started early, the disk works while the data still arrives, and a
/// COMMIT waits for the last few MiB only. knfsd leaves this to the VM;
/// servers for VM datastores want short COMMITs.
const FLUSH_BEHIND: u64 = 8 << 20;

/// `CAIRN_NFS_FLUSH_BEHIND=0` in the environment turns flush-behind off (for comparisons).
fn flush_behind() -> bool {
  static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
  *ON.get_or_init(|| std::env::var("CAIRN_NFS_FLUSH_BEHIND").map_or(true, |v| v != "0"))
}

/// The UNSTABLE write stream of one file in one stripe (see FLUSH_BEHIND).
/// Writes near its head (up to FLUSH_BEHIND behind or ahead of the highest
/// end seen: several in flight land out of order) extend it; any other
/// write starts a new one, so random writes never start writeback (a VM
/// rewriting its blocks would only write them twice).
/// A stripe that never saw a write has hi 0: nothing to extend.
#[derive(Default)]
struct Stream {
  ino: u64,
  /// Where the range not yet handed to writeback starts, and the highest end seen.
  lo: u64,
  hi: u64,
  /// Bytes written into the stream since writeback was last started.
  pending: u64,
}

impl Stream {
  fn extends(&self, ino: u64, off: u64) -> bool {
    self.hi > 0 && self.ino == ino && off.saturating_add(FLUSH_BEHIND) >= self.hi && off <= self.hi.saturating_add(FLUSH_BEHIND)
  }

  /// Would a write of `len` bytes at `off` start writeback?
  fn due(&self, ino: u64, off: u64, len: u64) -> bool {
    self.extends(ino, off) && self.pending + len >= FLUSH_BEHIND
  }

  /// Notes an UNSTABLE write of `len` bytes at `off`; the range (offset,
  /// length) whose writeback is to start now, if the stream has that much.
  fn wrote(&mut self, ino: u64, off: u64, len: u64) -> Option<(u64, u64)> {
    let end = off.saturating_add(len);
    if self.extends(ino, off) {
      self.lo = self.lo.min(off);
      self.hi = self.hi.max(end);
      self.pending += len;
    } else {
      *self = Stream { ino, lo: off, hi: end, pending: len };
    }
    if self.pending < FLUSH_BEHIND {
      return None;
    }
    let range = (self.lo, self.hi - self.lo);
    self.lo = self.hi;
    self.pending = 0;
    Some(range)
  }
}

impl Export {
  /// Opens `path` (a directory) as an export. `cache_size` bounds the fd cache.
  pub fn open(path: &str, cache_size: usize) -> OsResult<Export> {
    let fd = posix::open_root(path)?;
    let st = fstat(fd.as_raw_fd())?;
    if !st.is_dir() {
      return Err(OsError::new(libc::ENOTDIR, format!("export {path} is not a directory")));
    }
    let kh = posix::name_to_handle(fd.as_raw_fd(), "")?;
    // SAFETY: plain data the kernel fills.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut sfs) }, || "statfs".into())?;
    // SAFETY: fsid_t is two ints; read them as bytes.
    let fsid_bytes: [u8; 8] = unsafe { std::mem::transmute(sfs.f_fsid) };
    let key = (sip((0x6361_6972_6e2d_6b30, 0x6578_706f_7274_6b31), &[&kh, &fsid_bytes]), sip((7, 11), &[&fsid_bytes, &kh]));
    let mut ex = Export {
      root: std::sync::RwLock::new(Some(fd)),
      root_dev: st.dev,
      root_ino: st.ino,
      root_handle: Vec::new(),
      key,
      fsid: st.dev,
      umask: process_umask(),
      cache: FdCache::new(cache_size),
      nowait_writes: std::sync::atomic::AtomicBool::new(true),
      streams: xdr_dir::DirStreams::default(),
      pins: Default::default(),
      write_turns: std::array::from_fn(|_| std::sync::Mutex::new(Stream::default())),
    };
    ex.root_handle = ex.wrap(&kh)?;
    Ok(ex)
  }

  pub fn root_handle(&self) -> &[u8] {
    &self.root_handle
  }

  pub fn cached_fds(&self) -> usize {
    self.cache.len()
  }

  pub fn close(&self) {
    self.cache.clear();
    self.streams.clear();
    self.pins.lock().unwrap_or_else(|e| e.into_inner()).clear();
    *self.root.write().unwrap_or_else(|e| e.into_inner()) = None;
  }

  /// Closes cached fds of objects deleted outside this server (FdCache::sweep_unlinked),
  /// and lets go of pins older than PIN_FOR (a removed file's blocks come back).
  pub fn sweep(&self) -> usize {
    let mut p = self.pins.lock().unwrap_or_else(|e| e.into_inner());
    while p.front().is_some_and(|(_, _, at)| at.elapsed() > PIN_FOR) {
      p.pop_front();
    }
    drop(p);
    self.cache.sweep_unlinked()
  }

  /// Holds `o`, the file a READ was just planned on, for PIN_FOR.
  fn pin(&self, h: &[u8], o: &Arc<Obj>) {
    let now = std::time::Instant::now();
    let mut p = self.pins.lock().unwrap_or_else(|e| e.into_inner());
    // A file read sequentially renews its one pin.
    if let Some(last) = p.back_mut().filter(|(k, _, _)| &**k == h) {
      (last.1, last.2) = (o.clone(), now);
      return;
    }
    while p.len() >= PINS || p.front().is_some_and(|(_, _, at)| now - *at > PIN_FOR) {
      p.pop_front();
    }
    p.push_back((h.into(), o.clone(), now));
  }

  /// The regular file of a READ whose reply (count, attributes) was
  /// made from the cached fd (`try_read_plan`) and whose data is sent
  /// now: if the file was removed in between, the fd it was planned on,
  /// so the data is the file's, as from an fd open across an unlink.
  /// Without this the send failed (ESTALE) with the reply half promised,
  /// and the transport had to close the connection, failing every other
  /// call on it.
  fn planned(&self, h: &[u8]) -> OsResult<Arc<Obj>> {
    match self.reg(h) {
      Err(e) if e.errno == libc::ESTALE => {
        let p = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        p.iter().rev().find(|(k, _, _)| &**k == h).map(|(_, o, _)| o.clone()).ok_or(e)
      }
      r => r,
    }
  }

  fn mac(&self, kh: &[u8]) -> [u8; 8] {
    sip(self.key, &[kh]).to_le_bytes()
  }

  /// Wire handle for a kernel handle (`type LE u32` + f_handle).
  fn wrap(&self, kh: &[u8]) -> OsResult<Vec<u8>> {
    let n = kh.len() - 4;
    if n > MAX_KERNEL_HANDLE {
      return Err(OsError::new(libc::EOVERFLOW, format!("filesystem handle of {n} bytes does not fit an NFS handle")));
    }
    let mut h = Vec::with_capacity(HEADER + n);
    h.push(HANDLE_VERSION);
    h.push(n as u8);
    h.extend_from_slice(&kh[..4]);
    h.extend_from_slice(&self.mac(kh));
    h.extend_from_slice(&kh[4..]);
    Ok(h)
  }

  /// Kernel handle of a wire handle we issued, or EBADHANDLE.
  fn unwrap(&self, h: &[u8]) -> OsResult<Vec<u8>> {
    if h.len() < HEADER || h[0] != HANDLE_VERSION || h[1] as usize != h.len() - HEADER {
      return Err(OsError::new(EBADHANDLE, format!("malformed handle of {} bytes", h.len())));
    }
    let mut kh = Vec::with_capacity(h.len() - HEADER + 4);
    kh.extend_from_slice(&h[2..6]);
    kh.extend_from_slice(&h[HEADER..]);
    if self.mac(&kh) != h[6..14] {
      return Err(OsError::new(EBADHANDLE, "handle not issued by this export"));
    }
    Ok(kh)
  }

  fn handle_at(&self, dirfd: RawFd, name: &str) -> OsResult<Vec<u8>> {
    self.wrap(&posix::name_to_handle(dirfd, name)?)
  }

  /// As `handle_at`, for a name of any bytes (filename3 is opaque).
  fn handle_at_c(&self, dirfd: RawFd, name: &CStr) -> OsResult<Vec<u8>> {
    self.wrap(&posix::name_to_handle_c(dirfd, name)?)
  }

  fn is_root(&self, o: &Obj) -> bool {
    o.dev == self.root_dev && o.ino == self.root_ino
  }

  /// The object behind `h`, from the cache or opened by handle. Must run
  /// with the process's identity (before [`AsCaller::enter`]).
  pub fn resolve(&self, h: &[u8]) -> OsResult<Arc<Obj>> {
    if let Some(o) = self.cache.get(h) {
      return Ok(o);
    }
    let kh = self.unwrap(h)?;
    let stale = |e: OsError| match e.errno {
      libc::ESTALE | libc::ENOENT | libc::EINVAL => OsError::new(libc::ESTALE, "open_by_handle_at: object is gone"),
      _ => e,
    };
    let root = self.root.read().unwrap_or_else(|e| e.into_inner());
    let mount_fd = root.as_ref().ok_or_else(|| OsError::new(libc::ESTALE, "export is closed"))?.as_raw_fd();
    let path_fd = posix::open_by_handle(mount_fd, &kh, libc::O_PATH | libc::O_NOFOLLOW).map_err(stale)?;
    let st = fstat(path_fd.as_raw_fd())?;
    if st.nlink == 0 {
      return Err(OsError::new(libc::ESTALE, "object was removed"));
    }
    if st.dev != self.root_dev {
      return Err(OsError::new(libc::ESTALE, "object is on another filesystem"));
    }
    let obj = if st.is_dir() {
      let fd = posix::open_by_handle(mount_fd, &kh, libc::O_RDONLY | libc::O_DIRECTORY).map_err(stale)?;
      self.check_inside(fd.as_raw_fd(), &st)?;
      Obj { fd, kind: Kind::Dir, dev: st.dev, ino: st.ino, writable: false, path_only: false }
    } else if st.is_reg() {
      let rw = posix::open_by_handle(mount_fd, &kh, libc::O_RDWR);
      match rw {
        Ok(fd) => Obj { fd, kind: Kind::Reg, dev: st.dev, ino: st.ino, writable: true, path_only: false },
        Err(e) if matches!(e.errno, libc::EROFS | libc::ETXTBSY | libc::EACCES | libc::EPERM) => {
          let fd = posix::open_by_handle(mount_fd, &kh, libc::O_RDONLY).map_err(stale)?;
          Obj { fd, kind: Kind::Reg, dev: st.dev, ino: st.ino, writable: false, path_only: false }
        }
        Err(e) => return Err(stale(e)),
      }
    } else {
      Obj { fd: path_fd, kind: Kind::Other, dev: st.dev, ino: st.ino, writable: false, path_only: true }
    };
    Ok(self.cache.insert(h, Arc::new(obj)))
  }

  /// A file LOOKUP cached as O_PATH, reopened O_RDWR (or O_RDONLY when it
  /// cannot be written) through /proc with the process's identity: no
  /// handle decode, and the entry in the cache is replaced.
  fn reopen_for_io(&self, h: &[u8], o: &Obj) -> OsResult<Arc<Obj>> {
    let p = proc_path(o.fd.as_raw_fd());
    let (fd, writable) = match open_at(libc::AT_FDCWD, &p, libc::O_RDWR, 0) {
      Ok(fd) => (fd, true),
      Err(e) if matches!(e.errno, libc::EROFS | libc::ETXTBSY | libc::EACCES | libc::EPERM) => (open_at(libc::AT_FDCWD, &p, libc::O_RDONLY, 0)?, false),
      Err(e) => return Err(e),
    };
    let obj = Arc::new(Obj { fd, kind: Kind::Reg, dev: o.dev, ino: o.ino, writable, path_only: false });
    self.cache.replace(h, obj.clone());
    Ok(obj)
  }

  /// Caches what a LOOKUP (or mkdir/symlink/mknod) just opened, so that the
  /// GETATTR, ACCESS or LOOKUP-inside that follow find it. Only objects on
  /// the export's filesystem, below a directory we already trust.
  fn remember(&self, h: &[u8], fd: OwnedFd, st: &St) {
    if st.dev != self.root_dev {
      return;
    }
    let kind = if st.is_dir() {
      Kind::Dir
    } else if st.is_reg() {
      Kind::Reg
    } else {
      Kind::Other
    };
    self.cache.insert(h, Arc::new(Obj { fd, kind, dev: st.dev, ino: st.ino, writable: false, path_only: true }));
  }

  /// A directory reopened by handle must lie below the root: walk `..` up.
  fn check_inside(&self, fd: RawFd, st: &St) -> OsResult<()> {
    let (mut dev, mut ino) = (st.dev, st.ino);
    let mut cur: Option<OwnedFd> = None;
    for _ in 0..4096 {
      if dev == self.root_dev && ino == self.root_ino {
        return Ok(());
      }
      let at = cur.as_ref().map_or(fd, |f| f.as_raw_fd());
      let up = open_at(at, c"..", libc::O_PATH | libc::O_DIRECTORY, 0)?;
      let pst = fstat(up.as_raw_fd())?;
      if pst.dev == dev && pst.ino == ino {
        break; // the filesystem's root: we never met the export's
      }
      (dev, ino) = (pst.dev, pst.ino);
      cur = Some(up);
    }
    Err(OsError::new(libc::ESTALE, "directory is outside the export"))
  }

  fn dir(&self, h: &[u8]) -> OsResult<Arc<Obj>> {
    let o = self.resolve(h)?;
    if o.kind != Kind::Dir {
      return Err(OsError::new(libc::ENOTDIR, "not a directory"));
    }
    Ok(o)
  }

  /// fstat of a cached object; a removed one is ESTALE (and leaves the cache).
  fn stat_obj(&self, h: &[u8], o: &Obj) -> OsResult<St> {
    let st = fstat(o.fd.as_raw_fd())?;
    if st.nlink == 0 {
      self.cache.remove(h);
      return Err(OsError::new(libc::ESTALE, "object was removed"));
    }
    Ok(st)
  }

  /// knfsd's rule for READ/WRITE/truncate: root and the owner pass;
  /// others need the mode bits (read also passes on execute).
  fn may_io(&self, cred: &Cred, o: &Obj, st: &St, write: bool) -> OsResult<()> {
    if cred.is_root() || cred.uid == st.uid {
      return Ok(());
    }
    let _c = AsCaller::enter(cred)?;
    let ok = if write { may(o.fd.as_raw_fd(), libc::W_OK) } else { may(o.fd.as_raw_fd(), libc::R_OK) || may(o.fd.as_raw_fd(), libc::X_OK) };
    if ok {
      Ok(())
    } else {
      Err(OsError::new(libc::EACCES, if write { "write permission" } else { "read permission" }))
    }
  }

  // ------------------------------------------------------------ non-blocking fast paths
  //
  // A call handed to a worker thread costs a thread wake-up and a completion
  // on the event loop: 30–50 µs on a busy 2-core machine, ten times the work
  // of a getattr. These variants run on the calling (JS) thread and only do
  // what cannot wait for a disk: objects already in the fd cache, names
  // already in the dentry cache (openat2 RESOLVE_CACHED), data already in
  // the page cache (preadv2 RWF_NOWAIT). `Ok(None)` means "would block":
  // make the async call instead.

  pub fn try_getattr(&self, h: &[u8]) -> OsResult<Option<Vec<u8>>> {
    let Some(o) = self.cache.get(h) else { return Ok(None) };
    let st = self.stat_obj(h, &o)?;
    let mut out = Out::new();
    out.attrs(&st, self.fsid);
    Ok(Some(out.0))
  }

  pub fn try_lookup(&self, cred: &Cred, dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized)) -> OsResult<Option<Vec<u8>>> {
    let name = name.as_ref();
    let Some(d) = self.cache.get(dh) else { return Ok(None) };
    if d.kind != Kind::Dir {
      return Err(OsError::new(libc::ENOTDIR, "not a directory"));
    }
    if name == b"." || name == b".." {
      return self.lookup(cred, dh, name).map(Some);
    }
    let cname = name_ok(name)?;
    let (h, st) = {
      let _c = AsCaller::enter(cred)?;
      let fd = match open_entry(d.fd.as_raw_fd(), &cname, true) {
        Ok(fd) => fd,
        Err(e) if matches!(e.errno, libc::EAGAIN | libc::ENOSYS | libc::E2BIG) => return Ok(None),
        Err(e) => return Err(e),
      };
      let h = self.handle_at(fd.as_raw_fd(), "")?;
      let st = fstat(fd.as_raw_fd())?;
      self.remember(&h, fd, &st);
      (h, st)
    };
    let dst = fstat(d.fd.as_raw_fd()).ok();
    let mut out = Out::new();
    out.handle(&h).attrs(&st, self.fsid).wcc(None, dst.as_ref(), self.fsid);
    Ok(Some(out.0))
  }

  /// SETATTR of a cached object when it cannot wait for the disk: mode,
  /// owner and times change only the inode we hold; a size only when it
  /// frees no blocks (the same size, or a file with none allocated, like
  /// the truncation to 0 that follows a CREATE with O_TRUNC).
  pub fn try_setattr(&self, cred: &Cred, h: &[u8], set: &SetAttrs, guard: Option<(u32, u32)>) -> OsResult<Option<Vec<u8>>> {
    let Some(o) = self.cache.get(h) else { return Ok(None) };
    if let Some(size) = set.size {
      if o.kind != Kind::Reg || o.path_only || !o.writable {
        return Ok(None);
      }
      let st = fstat(o.fd.as_raw_fd())?;
      if st.size != size && st.blocks != 0 {
        return Ok(None);
      }
    }
    self.setattr(cred, h, set, guard).map(Some)
  }

  pub fn try_access(&self, cred: &Cred, h: &[u8], mask: u32) -> OsResult<Option<Vec<u8>>> {
    if self.cache.get(h).is_none() {
      return Ok(None);
    }
    self.access(cred, h, mask).map(Some)
  }

  /// READ from the page cache only; None when any byte would need the disk.
  pub fn try_read(&self, cred: &Cred, h: &[u8], offset: u64, buf: &mut [u8]) -> OsResult<Option<Vec<u8>>> {
    let Some(o) = self.cache.get(h) else { return Ok(None) };
    if o.kind != Kind::Reg || o.path_only {
      return Ok(None);
    }
    if !cred.is_root() {
      let st = self.stat_obj(h, &o)?;
      self.may_io(cred, &o, &st, false)?;
    }
    let Ok(off) = i64::try_from(offset) else { return Ok(None) };
    let mut n = 0usize;
    while n < buf.len() {
      let iov = libc::iovec { iov_base: buf[n..].as_mut_ptr().cast(), iov_len: buf.len() - n };
      // SAFETY: iov covers the rest of buf.
      let r = unsafe { libc::preadv2(o.fd.as_raw_fd(), &iov, 1, off + n as i64, libc::RWF_NOWAIT) };
      if r < 0 {
        let e = OsError::last("pread");
        return if matches!(e.errno, libc::EAGAIN | libc::EOPNOTSUPP | libc::EINTR) { Ok(None) } else { Err(e) };
      }
      if r == 0 {
        break;
      }
      n += r as usize;
    }
    let st = fstat(o.fd.as_raw_fd())?;
    if n < buf.len() && offset + (n as u64) < st.size {
      return Ok(None); // partly cached
    }
    let eof = offset.saturating_add(n as u64) >= st.size;
    let mut out = Out::new();
    out.u32(n as u32).u8(eof as u8).attrs(&st, self.fsid);
    Ok(Some(out.0))
  }

  /// UNSTABLE WRITE into the page cache when the kernel can take it without
  /// waiting (pwritev2 RWF_NOWAIT); None otherwise. Nothing is written then.
  pub fn try_write(&self, cred: &Cred, h: &[u8], offset: u64, data: &[u8]) -> OsResult<Option<Vec<u8>>> {
    use std::sync::atomic::Ordering::Relaxed;
    if !self.nowait_writes.load(Relaxed) {
      return Ok(None);
    }
    let Some(o) = self.cache.get(h) else { return Ok(None) };
    if o.kind != Kind::Reg || !o.writable || o.path_only {
      return Ok(None);
    }
    let before = self.stat_obj(h, &o)?;
    self.may_io(cred, &o, &before, true)?;
    let Some(off) = i64::try_from(offset).ok().filter(|o| o.checked_add(data.len() as i64).is_some()) else { return Ok(None) };
    // Another WRITE of this file under way: never wait on the JS thread.
    let Ok(mut turn) = self.write_turns[(o.ino % WRITE_STRIPES as u64) as usize].try_lock() else { return Ok(None) };
    // One that starts writeback (which may wait for the disk's queue) goes to a worker.
    if flush_behind() && turn.due(o.ino, offset, data.len() as u64) {
      return Ok(None);
    }
    let iov = libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() };
    // SAFETY: iov covers data, which the kernel only reads.
    let r = unsafe { libc::pwritev2(o.fd.as_raw_fd(), &iov, 1, off, libc::RWF_NOWAIT) };
    if r < 0 {
      let e = OsError::last("pwrite");
      if e.errno == libc::EOPNOTSUPP {
        self.nowait_writes.store(false, Relaxed);
      }
      return if matches!(e.errno, libc::EAGAIN | libc::EOPNOTSUPP | libc::EINTR) { Ok(None) } else { Err(e) };
    }
    if flush_behind() {
      let kick = turn.wrote(o.ino, offset, r as u64);
      debug_assert!(kick.is_none(), "checked by due()");
    }
    drop(turn);
    let after = fstat(o.fd.as_raw_fd())?;
    let mut out = Out::new();
    out.u32(r as u32).u8(Stable::Unstable as u8).wcc(Some(&before), Some(&after), self.fsid);
    Ok(Some(out.0))
  }

  // ------------------------------------------------------------ getattr & co

  pub fn getattr(&self, h: &[u8]) -> OsResult<Vec<u8>> {
    let o = self.resolve(h)?;
    let st = self.stat_obj(h, &o)?;
    let mut out = Out::new();
    out.attrs(&st, self.fsid);
    Ok(out.0)
  }

  /// Applies `set` to the object of `fd` as the current identity. `rw` is a
  /// writable fd for truncation when the caller already holds one.
  fn apply(&self, fd: RawFd, st: &St, set: &SetAttrs, rw: Option<RawFd>) -> OsResult<()> {
    if let Some(size) = set.size {
      if st.is_dir() {
        return Err(OsError::new(libc::EISDIR, "truncate a directory"));
      }
      if !st.is_reg() {
        return Err(OsError::new(libc::EINVAL, "truncate a special file"));
      }
      let size = i64::try_from(size).map_err(|_| OsError::new(libc::EFBIG, "size"))?;
      match rw {
        Some(rw) => check(unsafe { libc::ftruncate(rw, size) }, || "ftruncate".into())?,
        None => check(unsafe { libc::truncate(proc_path(fd).as_ptr(), size) }, || "truncate".into())?,
      }
    }
    if let Some(mode) = set.mode {
      if !st.is_lnk() {
        check(unsafe { libc::chmod(proc_path(fd).as_ptr(), mode & 0o7777) }, || "chmod".into())?;
      }
    }
    if set.uid.is_some() || set.gid.is_some() {
      let uid = set.uid.unwrap_or(u32::MAX);
      let gid = set.gid.unwrap_or(u32::MAX);
      check(unsafe { libc::fchownat(fd, c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) }, || "chown".into())?;
    }
    if set.has_times() {
      let ts = [timespec(set.atime), timespec(set.mtime)];
      let rc = unsafe { libc::utimensat(fd, c"".as_ptr(), ts.as_ptr(), libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) };
      if rc < 0 {
        let e = OsError::last("utimensat");
        if e.errno != libc::EINVAL || st.is_lnk() {
          return Err(e);
        }
        check(unsafe { libc::utimensat(libc::AT_FDCWD, proc_path(fd).as_ptr(), ts.as_ptr(), 0) }, || "utimensat".into())?;
      }
    }
    Ok(())
  }

  pub fn setattr(&self, cred: &Cred, h: &[u8], set: &SetAttrs, guard: Option<(u32, u32)>) -> OsResult<Vec<u8>> {
    let mut o = self.resolve(h)?;
    if set.size.is_some() && o.kind == Kind::Reg && o.path_only {
      o = self.reopen_for_io(h, &o)?;
    }
    let before = self.stat_obj(h, &o)?;
    if let Some(g) = guard {
      if (before.ctime.0.clamp(0, u32::MAX as i64) as u32, before.ctime.1) != g {
        return Err(OsError::new(ENOT_SYNC, "ctime changed (SETATTR guard)"));
      }
    }
    let mut rw = None;
    if set.size.is_some() && o.writable {
      self.may_io(cred, &o, &before, true)?;
      rw = Some(o.fd.as_raw_fd());
    }
    {
      let _c = AsCaller::enter(cred)?;
      self.apply(o.fd.as_raw_fd(), &before, set, rw)?;
    }
    let after = fstat(o.fd.as_raw_fd())?;
    let mut out = Out::new();
    out.wcc(Some(&before), Some(&after), self.fsid);
    Ok(out.0)
  }

  pub fn lookup(&self, cred: &Cred, dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized)) -> OsResult<Vec<u8>> {
    let name = name.as_ref();
    let d = self.dir(dh)?;
    let cname = name_ok(name)?;
    let (h, st) = if name == b"." || (name == b".." && self.is_root(&d)) {
      let st = fstat(d.fd.as_raw_fd())?;
      (if name == b"." { dh.to_vec() } else { self.root_handle.clone() }, st)
    } else {
      let (fd, h, st) = {
        let _c = AsCaller::enter(cred)?;
        let fd = open_entry(d.fd.as_raw_fd(), &cname, false)?;
        let st = fstat(fd.as_raw_fd())?;
        let h = self.handle_at(fd.as_raw_fd(), "")?;
        (fd, h, st)
      };
      if name != b".." {
        self.remember(&h, fd, &st);
      }
      (h, st)
    };
    let dst = fstat(d.fd.as_raw_fd()).ok();
    let mut out = Out::new();
    out.handle(&h).attrs(&st, self.fsid).wcc(None, dst.as_ref(), self.fsid);
    Ok(out.0)
  }

  /// ACCESS3 (RFC 1813 §3.3.4): the bits of `mask` the kernel grants.
  pub fn access(&self, cred: &Cred, h: &[u8], mask: u32) -> OsResult<Vec<u8>> {
    const READ: u32 = 1;
    const LOOKUP: u32 = 2;
    const MODIFY: u32 = 4;
    const EXTEND: u32 = 8;
    const DELETE: u32 = 16;
    const EXECUTE: u32 = 32;
    let o = self.resolve(h)?;
    let st = self.stat_obj(h, &o)?;
    let mut granted = 0;
    {
      let _c = AsCaller::enter(cred)?;
      let fd = o.fd.as_raw_fd();
      let (r, w, x) = (
        mask & READ != 0 && may(fd, libc::R_OK),
        mask & (MODIFY | EXTEND | DELETE) != 0 && may(fd, libc::W_OK),
        mask & (LOOKUP | EXECUTE | DELETE) != 0 && may(fd, libc::X_OK),
      );
      if r {
        granted |= READ;
      }
      if w {
        granted |= MODIFY | EXTEND;
      }
      if st.is_dir() {
        if x {
          granted |= LOOKUP;
        }
        if w && x {
          granted |= DELETE;
        }
      } else if x {
        granted |= EXECUTE;
      }
    }
    let mut out = Out::new();
    out.u32(granted & mask).attrs(&st, self.fsid);
    Ok(out.0)
  }

  pub fn readlink(&self, h: &[u8]) -> OsResult<Vec<u8>> {
    let o = self.resolve(h)?;
    let st = self.stat_obj(h, &o)?;
    if !st.is_lnk() {
      return Err(OsError::new(libc::EINVAL, "not a symbolic link"));
    }
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf has buf.len() bytes.
    let n = unsafe { libc::readlinkat(o.fd.as_raw_fd(), c"".as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
      return Err(OsError::last("readlink"));
    }
    let mut out = Out::new();
    out.str(&buf[..n as usize]).attrs(&st, self.fsid);
    Ok(out.0)
  }

  // ------------------------------------------------------------ data

  fn reg(&self, h: &[u8]) -> OsResult<Arc<Obj>> {
    let o = self.resolve(h)?;
    match o.kind {
      Kind::Reg if o.path_only => self.reopen_for_io(h, &o),
      Kind::Reg => Ok(o),
      Kind::Dir => Err(OsError::new(libc::EISDIR, "is a directory")),
      Kind::Other => Err(OsError::new(libc::EINVAL, "not a regular file")),
    }
  }

  /// pread into `buf` (the caller's Buffer). Out: n u32, eof u8, attrs.
  pub fn read(&self, cred: &Cred, h: &[u8], offset: u64, buf: &mut [u8]) -> OsResult<Vec<u8>> {
    let o = self.reg(h)?;
    if !cred.is_root() {
      let st = self.stat_obj(h, &o)?;
      self.may_io(cred, &o, &st, false)?;
    }
    self.read_obj(&o, offset, buf)
  }

  /// `read` for a READ planned by `try_read_plan`, whose access was
  /// checked then (see `planned`).
  pub fn read_planned(&self, h: &[u8], offset: u64, buf: &mut [u8]) -> OsResult<Vec<u8>> {
    self.read_obj(&*self.planned(h)?, offset, buf)
  }

  fn read_obj(&self, o: &Obj, offset: u64, buf: &mut [u8]) -> OsResult<Vec<u8>> {
    let off = i64::try_from(offset).map_err(|_| OsError::new(libc::EINVAL, "offset"))?;
    let n = pread_full(o.fd.as_raw_fd(), buf, off)?;
    let st = fstat(o.fd.as_raw_fd())?;
    let eof = offset.saturating_add(n as u64) >= st.size;
    let mut out = Out::new();
    out.u32(n as u32).u8(eof as u8).attrs(&st, self.fsid);
    Ok(out.0)
  }

  /// A READ whose data will go from the file to the socket (`send_read`)
  /// without passing through this process: the checks of `read`, the
  /// count cut at end of file, eof and attributes. Only for a file in the
  /// fd cache (never waits for a disk); None otherwise. Out: n u32, eof u8, attrs.
  pub fn try_read_plan(&self, cred: &Cred, h: &[u8], offset: u64, count: u32) -> OsResult<Option<Vec<u8>>> {
    let Some(o) = self.cache.get(h) else { return Ok(None) };
    if o.kind != Kind::Reg || o.path_only || i64::try_from(offset).is_err() {
      return Ok(None);
    }
    let st = self.stat_obj(h, &o)?;
    self.may_io(cred, &o, &st, false)?;
    let n = st.size.saturating_sub(offset).min(count as u64);
    let eof = offset.saturating_add(n) >= st.size;
    self.pin(h, &o);
    let mut out = Out::new();
    out.u32(n as u32).u8(eof as u8).attrs(&st, self.fsid);
    Ok(Some(out.0))
  }

  /// Sends on the socket `sock` (non-blocking): `head`, then `count` bytes
  /// of the file from `offset` with sendfile (page cache to socket, no copy
  /// through user space), then `tail`. It stops at the first EAGAIN (or an
  /// end of file come early): the bytes not sent are put into `spill`, in
  /// order (file bytes by pread, zeros for any the file no longer has), and
  /// their number returned; the caller sends them. `spill` must hold
  /// head + count + tail. An error after bytes went out leaves a partial
  /// record on the socket: the caller must close the connection.
  pub fn send_read(&self, h: &[u8], sock: RawFd, head: &[u8], offset: u64, count: usize, tail: &[u8], spill: &mut [u8]) -> OsResult<usize> {
    let total = head.len() + count + tail.len();
    if spill.len() < total {
      return Err(OsError::new(libc::EINVAL, "spill buffer too small"));
    }
    let o = self.planned(h)?;
    let fd = o.fd.as_raw_fd();
    let start = i64::try_from(offset).map_err(|_| OsError::new(libc::EINVAL, "offset"))?;
    let mut sent = 0usize;
    // MSG_MORE holds the head back for the data behind it; with nothing
    // behind it (a READ at the end of the file: count 0, no padding) the
    // kernel would hold it for its 200 ms cork timeout.
    let more = if count + tail.len() > 0 { libc::MSG_MORE } else { 0 };
    'send: {
      while sent < head.len() {
        // SAFETY: the range lies inside head.
        let r = unsafe { libc::send(sock, head[sent..].as_ptr().cast(), head.len() - sent, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL | more) };
        match sent_or_blocked(r, "send")? {
          Some(k) => sent += k,
          None => break 'send,
        }
      }
      while sent < head.len() + count {
        let mut off = start + (sent - head.len()) as i64;
        // SAFETY: plain syscall on two descriptors we hold.
        let r = unsafe { libc::sendfile(sock, fd, &mut off, head.len() + count - sent) };
        match sent_or_blocked(r, "sendfile")? {
          Some(0) | None => break 'send,
          Some(k) => sent += k,
        }
      }
      while sent < total {
        let t = sent - head.len() - count;
        // SAFETY: the range lies inside tail.
        let r = unsafe { libc::send(sock, tail[t..].as_ptr().cast(), tail.len() - t, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
        match sent_or_blocked(r, "send")? {
          Some(k) => sent += k,
          None => break 'send,
        }
      }
    }
    let mut n = 0usize;
    if sent < head.len() {
      spill[..head.len() - sent].copy_from_slice(&head[sent..]);
      n = head.len() - sent;
    }
    let from = sent.max(head.len()) - head.len();
    if from < count {
      let want = count - from;
      let got = pread_full(fd, &mut spill[n..n + want], start + from as i64)?;
      // The file got shorter since the reply's count was set: zeros keep the record whole.
      spill[n + got..n + want].fill(0);
      n += want;
    }
    let t = sent.max(head.len() + count) - head.len() - count;
    spill[n..n + tail.len() - t].copy_from_slice(&tail[t..]);
    n += tail.len() - t;
    Ok(n)
  }

  /// pwrite from `data` (the caller's Buffer). Out: count u32, committed u8, wcc.
  pub fn write(&self, cred: &Cred, h: &[u8], offset: u64, data: &[u8], stable: Stable) -> OsResult<Vec<u8>> {
    let o = self.reg(h)?;
    let before = self.stat_obj(h, &o)?;
    self.may_io(cred, &o, &before, true)?;
    let off = i64::try_from(offset).ok().filter(|o| o.checked_add(data.len() as i64).is_some()).ok_or_else(|| OsError::new(libc::EFBIG, "offset"))?;
    let reopened;
    let fd = if o.writable {
      o.fd.as_raw_fd()
    } else {
      // Read-only in the cache (e.g. opened while being executed): let the
      // kernel say why it cannot be written now.
      let _c = AsCaller::enter(cred)?;
      reopened = open_at(libc::AT_FDCWD, &proc_path(o.fd.as_raw_fd()), libc::O_WRONLY, 0)?;
      reopened.as_raw_fd()
    };
    let mut turn = self.write_turns[(o.ino % WRITE_STRIPES as u64) as usize].lock().unwrap_or_else(|p| p.into_inner());
    let mut n = 0usize;
    while n < data.len() {
      // SAFETY: the range lies inside data.
      let r = unsafe { libc::pwrite(fd, data[n..].as_ptr().cast(), data.len() - n, off + n as i64) };
      if r < 0 {
        let e = OsError::last("pwrite");
        if e.errno == libc::EINTR {
          continue;
        }
        if n > 0 {
          break; // a short write is a success of n bytes
        }
        return Err(e);
      }
      n += r as usize;
    }
    let kick = if stable == Stable::Unstable && o.writable && flush_behind() { turn.wrote(o.ino, offset, n as u64) } else { None };
    drop(turn);
    if let Some((from, len)) = kick {
      // Advisory: an error here (EIO) is the COMMIT's to report, by
      // fdatasync, which this does not consume.
      // SAFETY: plain syscall on an fd we hold.
      unsafe { libc::sync_file_range(fd, from as i64, len as i64, libc::SYNC_FILE_RANGE_WRITE) };
    }
    match stable {
      Stable::Unstable => {}
      Stable::DataSync => check(unsafe { libc::fdatasync(fd) }, || "fdatasync".into())?,
      Stable::FileSync => check(unsafe { libc::fsync(fd) }, || "fsync".into())?,
    }
    let after = fstat(fd)?;
    let mut out = Out::new();
    out.u32(n as u32).u8(stable as u8).wcc(Some(&before), Some(&after), self.fsid);
    Ok(out.0)
  }

  /// COMMIT: makes unstable data and the file size durable. fdatasync
  /// covers both (the size is needed to read the data back) and skips the
  /// timestamp-only journal commit that fsync would add.
  pub fn commit(&self, h: &[u8]) -> OsResult<Vec<u8>> {
    let o = self.resolve(h)?;
    let before = self.stat_obj(h, &o)?;
    if !o.path_only {
      check(unsafe { libc::fdatasync(o.fd.as_raw_fd()) }, || "fdatasync".into())?;
    }
    let after = fstat(o.fd.as_raw_fd())?;
    let mut out = Out::new();
    out.wcc(Some(&before), Some(&after), self.fsid);
    Ok(out.0)
  }

  // ------------------------------------------------------------ namespace

  /// Out: handle, attrs, dir wcc.
  fn entry_out(&self, h: &[u8], st: &St, pre: Option<&St>, post: Option<&St>) -> Vec<u8> {
    let mut out = Out::new();
    out.handle(h).attrs(st, self.fsid).wcc(pre, post, self.fsid);
    out.0
  }

  fn wants_chmod(&self, mode: u32) -> bool {
    mode & !self.umask & 0o7777 != mode & 0o7777
  }

  pub fn create(&self, cred: &Cred, dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized), how: &CreateHow) -> OsResult<Vec<u8>> {
    let name = name.as_ref();
    let d = self.dir(dh)?;
    let cname = new_name_ok(name)?;
    let pre = fstat(d.fd.as_raw_fd()).ok();
    let dfd = d.fd.as_raw_fd();
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_NOFOLLOW;
    match how {
      CreateHow::Exclusive(verf) => {
        // RFC 1813 §3.3.8: the verifier is kept with the file, so that a
        // retransmitted CREATE finds it and succeeds. Like knfsd, in the
        // mtime and atime seconds; the client sets the real times next.
        let v0 = u32::from_be_bytes(verf[0..4].try_into().unwrap());
        let v1 = u32::from_be_bytes(verf[4..8].try_into().unwrap());
        let _c = AsCaller::enter(cred)?;
        match open_at(dfd, &cname, flags, 0o600) {
          Ok(fd) => {
            let ts = [libc::timespec { tv_sec: v1 as i64, tv_nsec: 0 }, libc::timespec { tv_sec: v0 as i64, tv_nsec: 0 }];
            check(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) }, || "futimens".into())?;
            self.finish_create(fd, dfd, pre.as_ref())
          }
          Err(e) if e.errno == libc::EEXIST => {
            let st = stat_at(dfd, &cname)?;
            if st.is_reg() && st.mtime.0 == v0 as i64 && st.atime.0 == v1 as i64 {
              let h = self.handle_at_c(dfd, &cname)?;
              let post = fstat(dfd).ok();
              Ok(self.entry_out(&h, &st, pre.as_ref(), post.as_ref()))
            } else {
              Err(e)
            }
          }
          Err(e) => Err(e),
        }
      }
      CreateHow::Unchecked(attrs) | CreateHow::Guarded(attrs) => {
        let mode = attrs.mode.unwrap_or(0o644) & 0o7777;
        let created = {
          let _c = AsCaller::enter(cred)?;
          match open_at(dfd, &cname, flags, mode) {
            Ok(fd) => {
              let st = fstat(fd.as_raw_fd())?;
              let mut set = attrs.clone();
              if !self.wants_chmod(mode) {
                set.mode = None;
              }
              if set.size == Some(0) {
                set.size = None;
              }
              if set != SetAttrs::default() {
                self.apply(fd.as_raw_fd(), &st, &set, Some(fd.as_raw_fd()))?;
              }
              Some(fd)
            }
            Err(e) if e.errno == libc::EEXIST && matches!(how, CreateHow::Unchecked(_)) => None,
            Err(e) if e.errno == libc::ELOOP => return Err(OsError::new(libc::EEXIST, format!("{} exists (a symlink)", show(name)))),
            Err(e) => return Err(e),
          }
        };
        match created {
          Some(fd) => {
            let _c = AsCaller::enter(cred)?;
            self.finish_create(fd, dfd, pre.as_ref())
          }
          None => {
            // UNCHECKED on an existing file: like knfsd, apply the size
            // (typically truncation to 0) and keep the rest of the file.
            let h = {
              let _c = AsCaller::enter(cred)?;
              let st = stat_at(dfd, &cname)?;
              if !st.is_reg() {
                return Err(OsError::new(libc::EEXIST, format!("{} exists and is not a regular file", show(name))));
              }
              self.handle_at_c(dfd, &cname)?
            };
            if attrs.size.is_some() {
              let set = SetAttrs { size: attrs.size, ..Default::default() };
              self.setattr(cred, &h, &set, None)?;
            }
            let o = self.resolve(&h)?;
            let st = fstat(o.fd.as_raw_fd())?;
            let post = fstat(dfd).ok();
            Ok(self.entry_out(&h, &st, pre.as_ref(), post.as_ref()))
          }
        }
      }
    }
  }

  /// A new regular file's fd goes straight into the cache: the WRITE that
  /// follows a CREATE needs no open_by_handle_at.
  fn finish_create(&self, fd: OwnedFd, dfd: RawFd, pre: Option<&St>) -> OsResult<Vec<u8>> {
    let st = fstat(fd.as_raw_fd())?;
    let h = self.handle_at(fd.as_raw_fd(), "")?;
    let post = fstat(dfd).ok();
    let out = self.entry_out(&h, &st, pre, post.as_ref());
    self.cache.insert(&h, Arc::new(Obj { fd, kind: Kind::Reg, dev: st.dev, ino: st.ino, writable: true, path_only: false }));
    Ok(out)
  }

  /// After mkdir/symlink/mknod made `name`: attributes, handle, wcc.
  fn finish_make(&self, dfd: RawFd, cname: &CStr, name: &[u8], set: &SetAttrs, pre: Option<&St>) -> OsResult<Vec<u8>> {
    let fd = open_at(dfd, cname, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
    let st = fstat(fd.as_raw_fd())?;
    let mut set = set.clone();
    if set.mode.is_some_and(|m| !self.wants_chmod(m)) || st.is_lnk() {
      set.mode = None;
    }
    set.size = None;
    let st = if set != SetAttrs::default() {
      self.apply(fd.as_raw_fd(), &st, &set, None)?;
      fstat(fd.as_raw_fd())?
    } else {
      st
    };
    let h = self.handle_at(fd.as_raw_fd(), "").map_err(|e| OsError::new(e.errno, format!("handle of {}: {}", show(name), e.context)))?;
    let post = fstat(dfd).ok();
    let out = self.entry_out(&h, &st, pre, post.as_ref());
    self.remember(&h, fd, &st);
    Ok(out)
  }

  pub fn mkdir(&self, cred: &Cred, dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized), set: &SetAttrs) -> OsResult<Vec<u8>> {
    let name = name.as_ref();
    let d = self.dir(dh)?;
    let cname = new_name_ok(name)?;
    let pre = fstat(d.fd.as_raw_fd()).ok();
    let _c = AsCaller::enter(cred)?;
    let mode = set.mode.unwrap_or(0o755) & 0o7777;
    check(unsafe { libc::mkdirat(d.fd.as_raw_fd(), cname.as_ptr(), mode) }, || format!("mkdir {}", show(name)))?;
    self.finish_make(d.fd.as_raw_fd(), &cname, name, &SetAttrs { mode: Some(mode), ..set.clone() }, pre.as_ref())
  }

  /// `target`: the exact bytes the client sent (nfspath3 is opaque too).
  pub fn symlink(&self, cred: &Cred, dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized), target: &(impl AsRef<[u8]> + ?Sized), set: &SetAttrs) -> OsResult<Vec<u8>> {
    let name = name.as_ref();
    let target = target.as_ref();
    let d = self.dir(dh)?;
    let cname = new_name_ok(name)?;
    if target.is_empty() {
      return Err(OsError::new(libc::ENOENT, "empty symlink target"));
    }
    let ctarget = CString::new(target).map_err(|_| OsError::new(libc::EINVAL, "target contains a NUL byte"))?;
    let pre = fstat(d.fd.as_raw_fd()).ok();
    let _c = AsCaller::enter(cred)?;
    check(unsafe { libc::symlinkat(ctarget.as_ptr(), d.fd.as_raw_fd(), cname.as_ptr()) }, || format!("symlink {}", show(name)))?;
    self.finish_make(d.fd.as_raw_fd(), &cname, name, set, pre.as_ref())
  }

  pub fn mknod(&self, cred: &Cred, dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized), kind: NodeType, set: &SetAttrs, rdev: (u32, u32)) -> OsResult<Vec<u8>> {
    let name = name.as_ref();
    let d = self.dir(dh)?;
    let cname = new_name_ok(name)?;
    let pre = fstat(d.fd.as_raw_fd()).ok();
    let mode = set.mode.unwrap_or(0o644) & 0o7777;
    let (fmt, dev) = match kind {
      NodeType::Chr => (libc::S_IFCHR, libc::makedev(rdev.0, rdev.1)),
      NodeType::Blk => (libc::S_IFBLK, libc::makedev(rdev.0, rdev.1)),
      NodeType::Sock => (libc::S_IFSOCK, 0),
      NodeType::Fifo => (libc::S_IFIFO, 0),
    };
    let _c = AsCaller::enter(cred)?;
    check(unsafe { libc::mknodat(d.fd.as_raw_fd(), cname.as_ptr(), fmt | mode, dev) }, || format!("mknod {}", show(name)))?;
    self.finish_make(d.fd.as_raw_fd(), &cname, name, &SetAttrs { mode: Some(mode), ..set.clone() }, pre.as_ref())
  }

  /// The cache key of `name` in `dfd` if it names an object whose last link
  /// is about to go (its fd must close, or the space is never freed).
  fn last_link_key(&self, dfd: RawFd, cname: &CStr) -> Option<(Vec<u8>, St)> {
    let st = stat_at(dfd, cname).ok()?;
    if st.is_dir() || st.nlink <= 1 {
      self.handle_at_c(dfd, cname).ok().map(|h| (h, st))
    } else {
      None
    }
  }

  fn unlink(&self, cred: &Cred, dh: &[u8], name: &[u8], flags: i32) -> OsResult<Vec<u8>> {
    let d = self.dir(dh)?;
    let cname = old_name_ok(name)?;
    let dfd = d.fd.as_raw_fd();
    let pre = fstat(dfd).ok();
    {
      let _c = AsCaller::enter(cred)?;
      let gone = self.last_link_key(dfd, &cname);
      check(unsafe { libc::unlinkat(dfd, cname.as_ptr(), flags) }, || format!("remove {}", show(name)))?;
      if let Some((h, _)) = gone {
        self.cache.remove(&h);
      }
    }
    let post = fstat(dfd).ok();
    let mut out = Out::new();
    out.wcc(pre.as_ref(), post.as_ref(), self.fsid);
    Ok(out.0)
  }

  pub fn remove(&self, cred: &Cred, dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized)) -> OsResult<Vec<u8>> {
    let name = name.as_ref();
    self.unlink(cred, dh, name, 0)
  }

  pub fn rmdir(&self, cred: &Cred, dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized)) -> OsResult<Vec<u8>> {
    let name = name.as_ref();
    self.unlink(cred, dh, name, libc::AT_REMOVEDIR)
  }

  /// Out: from-dir wcc, to-dir wcc.
  pub fn rename(&self, cred: &Cred, fh: &[u8], from: &(impl AsRef<[u8]> + ?Sized), th: &[u8], to: &(impl AsRef<[u8]> + ?Sized)) -> OsResult<Vec<u8>> {
    let (from, to) = (from.as_ref(), to.as_ref());
    let fd_ = self.dir(fh)?;
    let td = self.dir(th)?;
    let cfrom = old_name_ok(from)?;
    let cto = old_name_ok(to)?;
    let (ffd, tfd) = (fd_.as_ref().fd.as_raw_fd(), td.fd.as_raw_fd());
    let fpre = fstat(ffd).ok();
    let tpre = fstat(tfd).ok();
    {
      let _c = AsCaller::enter(cred)?;
      let src = stat_at(ffd, &cfrom)?;
      let gone = self.last_link_key(tfd, &cto).filter(|(_, st)| st.ino != src.ino || st.dev != src.dev);
      check(unsafe { libc::renameat(ffd, cfrom.as_ptr(), tfd, cto.as_ptr()) }, || format!("rename {} to {}", show(from), show(to)))?;
      if let Some((h, _)) = gone {
        self.cache.remove(&h);
      }
    }
    let fpost = fstat(ffd).ok();
    let tpost = fstat(tfd).ok();
    let mut out = Out::new();
    out.wcc(fpre.as_ref(), fpost.as_ref(), self.fsid).wcc(tpre.as_ref(), tpost.as_ref(), self.fsid);
    Ok(out.0)
  }

  /// Out: the file's attrs, dir wcc.
  pub fn link(&self, cred: &Cred, h: &[u8], dh: &[u8], name: &(impl AsRef<[u8]> + ?Sized)) -> OsResult<Vec<u8>> {
    let name = name.as_ref();
    let o = self.resolve(h)?;
    let d = self.dir(dh)?;
    let cname = new_name_ok(name)?;
    if o.kind == Kind::Dir {
      return Err(OsError::new(libc::EISDIR, "hard link to a directory"));
    }
    let dfd = d.fd.as_raw_fd();
    let pre = fstat(dfd).ok();
    {
      let _c = AsCaller::enter(cred)?;
      // Through /proc: linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH,
      // which the caller's identity does not have.
      let src = proc_path(o.fd.as_raw_fd());
      check(unsafe { libc::linkat(libc::AT_FDCWD, src.as_ptr(), dfd, cname.as_ptr(), libc::AT_SYMLINK_FOLLOW) }, || format!("link {}", show(name)))?;
    }
    let st = fstat(o.fd.as_raw_fd())?;
    let post = fstat(dfd).ok();
    let mut out = Out::new();
    out.attrs(&st, self.fsid).wcc(pre.as_ref(), post.as_ref(), self.fsid);
    Ok(out.0)
  }

  // ------------------------------------------------------------ directories

  /// cookieverf3 of a directory: its handle, hashed. Cookies are getdents
  /// offsets (d_off), which ext4 (hash positions), XFS and btrfs keep valid
  /// across calls and across changes to the directory, so the verifier
  /// changes only when the directory itself is another one.
  pub fn cookie_verifier(&self, dh: &[u8]) -> [u8; 8] {
    sip((self.key.1, self.key.0), &[b"cookieverf", dh]).to_le_bytes()
  }

  /// Whether a listing may go on from a cookie with `verf`: the
  /// directory's verifier, or zero. Linux clients that kept the verifier
  /// per inode (before the 2022 readdir rework) zeroed it whenever they
  /// dropped a directory's caches and went on from the cookie they had;
  /// EBADCOOKIE reached the application as "Unknown error 523". A
  /// directory's verifier never changes here, so zero is taken for it
  /// (knfsd and Ganesha ignore verifiers altogether; RFC 1813 §3.3.16 lets
  /// a server check it, nothing obliges it to refuse zero). The cookie
  /// itself is still checked, by the filesystem.
  fn resumes(verf: &[u8], mine: &[u8; 8]) -> bool {
    verf == [0u8; 8] || verf == mine
  }

  /// Out: verifier (8), eof u8, dir attrs (optional), count u32, then per
  /// entry: fileid u64, cookie u64, name (string), plus flag u8 and, when 1,
  /// handle + attrs.
  pub fn readdir(&self, cred: &Cred, dh: &[u8], cookie: u64, verf: &[u8], max: usize, plus: bool) -> OsResult<Vec<u8>> {
    let d = self.dir(dh)?;
    let myverf = self.cookie_verifier(dh);
    if cookie != 0 && !Self::resumes(verf, &myverf) {
      return Err(OsError::new(EBADCOOKIE, "cookie verifier does not match"));
    }
    let at_root = self.is_root(&d);
    let max = max.max(1);
    let mut entries = Out(Vec::with_capacity(max.min(4096) * if plus { 160 } else { 40 }));
    let mut count = 0u32;
    let mut eof = false;
    {
      let _c = AsCaller::enter(cred)?;
      let fd = open_at(d.fd.as_raw_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
      let raw = fd.as_raw_fd();
      if cookie != 0 && unsafe { libc::lseek(raw, cookie as i64, libc::SEEK_SET) } < 0 {
        return Err(OsError::new(EBADCOOKIE, "cookie out of range"));
      }
      // getdents64 fills the whole buffer whatever we need: size it to the page.
      let mut buf = vec![0u8; (max * 48).clamp(4096, 64 * 1024)];
      'outer: loop {
        // SAFETY: getdents64 fills at most buf.len() bytes.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, raw, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
          return Err(OsError::last("getdents64"));
        }
        if n == 0 {
          eof = true;
          break;
        }
        let mut pos = 0usize;
        let n = n as usize;
        while pos < n {
          if count as usize == max {
            break 'outer;
          }
          let rec = &buf[pos..n];
          let ino = u64::from_ne_bytes(rec[0..8].try_into().unwrap());
          let off = u64::from_ne_bytes(rec[8..16].try_into().unwrap());
          let reclen = u16::from_ne_bytes(rec[16..18].try_into().unwrap()) as usize;
          let name_bytes = &rec[19..reclen];
          let name_len = name_bytes.iter().position(|&b| b == 0).unwrap_or(name_bytes.len());
          let name = &name_bytes[..name_len];
          pos += reclen;
          let dotdot = name == b"..";
          let fileid = if dotdot && at_root { self.root_ino } else { ino };
          entries.u64(fileid).u64(off).str(name);
          count += 1;
          if !plus {
            continue;
          }
          let found = if name == b"." {
            fstat(d.fd.as_raw_fd()).ok().map(|st| (dh.to_vec(), st))
          } else if dotdot && at_root {
            fstat(d.fd.as_raw_fd()).ok().map(|st| (self.root_handle.clone(), st))
          } else {
            // SAFETY: name came from getdents64 and has no NUL.
            let cname = unsafe { CStr::from_bytes_with_nul_unchecked(&name_bytes[..=name_len]) };
            match stat_entry(raw, cname) {
              Ok(Some(st)) => self.handle_at_c(raw, cname).ok().map(|h| (h, st)),
              _ => None, // vanished meanwhile, or a mount point (not crossed)
            }
          };
          match found {
            Some((h, st)) => {
              entries.u8(1).handle(&h).attrs(&st, self.fsid);
            }
            None => {
              entries.u8(0);
            }
          }
        }
        if count as usize == max {
          // Full exactly at the end of a batch: eof only if nothing follows.
          let n = unsafe { libc::syscall(libc::SYS_getdents64, raw, buf.as_mut_ptr(), buf.len()) };
          eof = n == 0;
          break;
        }
      }
    }
    let dst = fstat(d.fd.as_raw_fd()).ok();
    let mut out = Out(Vec::with_capacity(entries.0.len() + 128));
    out.0.extend_from_slice(&myverf);
    out.u8(eof as u8).opt_attrs(dst.as_ref(), self.fsid).u32(count);
    out.0.extend_from_slice(&entries.0);
    Ok(out.0)
  }

  // ------------------------------------------------------------ filesystem

  fn statvfs(&self, h: &[u8]) -> OsResult<libc::statvfs> {
    let o = self.resolve(h)?;
    // SAFETY: plain data the kernel fills.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstatvfs(o.fd.as_raw_fd(), &mut s) }, || "statvfs".into())?;
    Ok(s)
  }

  /// Out: total, free, avail bytes; total, free, avail files (u64 each).
  pub fn fsstat(&self, h: &[u8]) -> OsResult<Vec<u8>> {
    let s = self.statvfs(h)?;
    let f = s.f_frsize;
    let mut out = Out::new();
    out.u64(s.f_blocks * f).u64(s.f_bfree * f).u64(s.f_bavail * f).u64(s.f_files).u64(s.f_ffree).u64(s.f_favail);
    Ok(out.0)
  }

  /// Out: name max u32, link max u32.
  pub fn fsinfo(&self, h: &[u8]) -> OsResult<Vec<u8>> {
    let s = self.statvfs(h)?;
    let o = self.resolve(h)?;
    let link_max = unsafe { libc::fpathconf(o.fd.as_raw_fd(), libc::_PC_LINK_MAX) };
    let mut out = Out::new();
    out.u32(s.f_namemax as u32).u32(if link_max > 0 { link_max.min(u32::MAX as i64) as u32 } else { 1 });
    Ok(out.0)
  }
}

/// SipHash-2-4 with a 128-bit key over the concatenated parts.
#[allow(deprecated)]
fn sip(key: (u64, u64), parts: &[&[u8]]) -> u64 {
  let mut h = std::hash::SipHasher::new_with_keys(key.0, key.1);
  for p in parts {
    h.write(p);
  }
  h.finish()
}

mod xdr_dir;
pub use xdr_dir::{DirArgs, WireHandles};

#[cfg(test)]
mod tests;
