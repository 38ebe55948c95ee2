//! Unit tests of the posix backend core on real temp directories. They need
//! root (open_by_handle_at wants CAP_DAC_READ_SEARCH) and skip otherwise.

use super::*;

fn root_user() -> bool {
  unsafe { libc::geteuid() == 0 }
}

fn setup() -> Option<(tempfile::TempDir, Export)> {
  if !root_user() {
    return None;
  }
  let dir = tempfile::tempdir().unwrap();
  let ex = Export::open(dir.path().to_str().unwrap(), 64).unwrap();
  Some((dir, ex))
}

fn root() -> Cred {
  Cred::root()
}

fn user() -> Cred {
  Cred { uid: 4242, gid: 4242, gids: vec![] }
}

/// The handle at the start of an entry record.
fn handle_of(rec: &[u8]) -> Vec<u8> {
  rec[1..1 + rec[0] as usize].to_vec()
}

/// (mode, size, fileid) of the attrs record at `at`.
fn attrs_at(rec: &[u8], at: usize) -> (u32, u64, u64) {
  let u32_ = |o: usize| u32::from_le_bytes(rec[at + o..at + o + 4].try_into().unwrap());
  let u64_ = |o: usize| u64::from_le_bytes(rec[at + o..at + o + 8].try_into().unwrap());
  (u32_(0), u64_(16), u64_(48))
}

fn entry_attrs(rec: &[u8]) -> (u32, u64, u64) {
  attrs_at(rec, 1 + rec[0] as usize)
}

fn create(ex: &Export, cred: &Cred, dir: &[u8], name: &str) -> Vec<u8> {
  handle_of(&ex.create(cred, dir, name, &CreateHow::Guarded(SetAttrs { mode: Some(0o644), ..Default::default() })).unwrap())
}

#[test]
fn handles_fit_and_forgeries_are_refused() {
  let Some((_d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  assert!(r.len() <= MAX_BACKEND_HANDLE);
  let h = create(&ex, &root(), &r, "f");
  assert!(h.len() <= MAX_BACKEND_HANDLE);
  let mut forged = h.clone();
  *forged.last_mut().unwrap() ^= 1;
  assert_eq!(ex.getattr(&forged).unwrap_err().code(), "EBADHANDLE");
  assert_eq!(ex.getattr(&h[..5]).unwrap_err().code(), "EBADHANDLE");
  assert_eq!(ex.getattr(&[]).unwrap_err().code(), "EBADHANDLE");
  // Another export's handle is foreign here even for the same inode.
  let other = tempfile::tempdir().unwrap();
  let ex2 = Export::open(other.path().to_str().unwrap(), 8).unwrap();
  assert_eq!(ex.getattr(ex2.root_handle()).unwrap_err().code(), "EBADHANDLE");
}

#[test]
fn directories_outside_the_export_are_stale() {
  if !root_user() {
    return;
  }
  let top = tempfile::tempdir().unwrap();
  std::fs::create_dir(top.path().join("export")).unwrap();
  std::fs::create_dir(top.path().join("outside")).unwrap();
  let ex = Export::open(top.path().join("export").to_str().unwrap(), 8).unwrap();
  let fd = posix::open_root(top.path().to_str().unwrap()).unwrap();
  // A validly signed handle of a directory outside (as if it had been
  // moved out after we issued it): the walk up must refuse it.
  let forged = ex.wrap(&posix::name_to_handle(fd.as_raw_fd(), "outside").unwrap()).unwrap();
  assert_eq!(ex.getattr(&forged).unwrap_err().code(), "ESTALE");
  let r = ex.root_handle().to_vec();
  // `..` of the root is the root.
  let up = ex.lookup(&root(), &r, "..").unwrap();
  assert_eq!(handle_of(&up), r);
  assert_eq!(ex.lookup(&root(), &r, "a/b").unwrap_err().code(), "EACCES");
}

#[test]
fn create_write_read_getattr_and_sparse_offsets() {
  let Some((_d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let h = create(&ex, &root(), &r, "data");
  let far = 5u64 << 30; // past 4 GiB
  let w = ex.write(&root(), &h, far, b"hello", Stable::FileSync).unwrap();
  assert_eq!(u32::from_le_bytes(w[0..4].try_into().unwrap()), 5);
  assert_eq!(w[4], Stable::FileSync as u8);
  let mut buf = vec![0u8; 16];
  let rd = ex.read(&root(), &h, far, &mut buf).unwrap();
  assert_eq!(u32::from_le_bytes(rd[0..4].try_into().unwrap()), 5);
  assert_eq!(rd[4], 1, "eof");
  assert_eq!(&buf[..5], b"hello");
  let (mode, size, _) = attrs_at(&ex.getattr(&h).unwrap(), 0);
  assert_eq!(mode & libc::S_IFMT, libc::S_IFREG);
  assert_eq!(size, far + 5);
  // A hole reads as zeros and is not eof.
  let rd = ex.read(&root(), &h, 4096, &mut buf).unwrap();
  assert_eq!((rd[4], &buf[..4]), (0, &[0u8; 4][..]));
  ex.commit(&h).unwrap();
}

#[test]
fn remove_makes_handles_stale_and_closes_the_cached_fd() {
  let Some((_d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let h = create(&ex, &root(), &r, "gone");
  ex.write(&root(), &h, 0, b"x", Stable::Unstable).unwrap();
  let before = ex.cached_fds();
  ex.remove(&root(), &r, "gone").unwrap();
  assert_eq!(ex.cached_fds(), before - 1);
  assert_eq!(ex.getattr(&h).unwrap_err().code(), "ESTALE");
  assert_eq!(ex.remove(&root(), &r, "gone").unwrap_err().code(), "ENOENT");
  assert_eq!(ex.remove(&root(), &r, "..").unwrap_err().code(), "EINVAL");
}

#[test]
fn guarded_unchecked_and_exclusive_create() {
  let Some((_d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let h = create(&ex, &root(), &r, "f");
  ex.write(&root(), &h, 0, b"content", Stable::Unstable).unwrap();
  let guarded = CreateHow::Guarded(SetAttrs::default());
  assert_eq!(ex.create(&root(), &r, "f", &guarded).unwrap_err().code(), "EEXIST");
  // UNCHECKED with size 0 truncates the existing file.
  let un = ex.create(&root(), &r, "f", &CreateHow::Unchecked(SetAttrs { size: Some(0), ..Default::default() })).unwrap();
  assert_eq!(handle_of(&un), h);
  assert_eq!(entry_attrs(&un).1, 0);
  let v = CreateHow::Exclusive(*b"verifier");
  let first = ex.create(&root(), &r, "x", &v).unwrap();
  let again = ex.create(&root(), &r, "x", &v).unwrap();
  assert_eq!(handle_of(&first), handle_of(&again), "a retransmission succeeds");
  assert_eq!(ex.create(&root(), &r, "x", &CreateHow::Exclusive(*b"other!!!")).unwrap_err().code(), "EEXIST");
  assert_eq!(ex.create(&root(), &r, "..", &guarded).unwrap_err().code(), "EEXIST");
}

#[test]
fn setattr_guard_truncate_mode_and_times() {
  let Some((_d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let h = create(&ex, &root(), &r, "f");
  ex.write(&root(), &h, 0, &[7u8; 100], Stable::Unstable).unwrap();
  let set = SetAttrs { size: Some(10), mode: Some(0o600), mtime: Some(Some((1_000_000, 5))), atime: Some(None), ..Default::default() };
  let wcc = ex.setattr(&root(), &h, &set, None).unwrap();
  assert_eq!(wcc[0], 1);
  let after = 1 + 24 + 1;
  let (mode, size, _) = attrs_at(&wcc, after);
  assert_eq!((mode & 0o7777, size), (0o600, 10));
  let mtime = u32::from_le_bytes(wcc[after + 64..after + 68].try_into().unwrap());
  assert_eq!(mtime, 1_000_000);
  assert_eq!(ex.setattr(&root(), &h, &set, Some((1, 2))).unwrap_err().code(), "ENOT_SYNC");
}

#[test]
fn rename_over_existing_links_and_symlinks() {
  let Some((_d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let a = create(&ex, &root(), &r, "a");
  let b = create(&ex, &root(), &r, "b");
  ex.write(&root(), &a, 0, b"A", Stable::Unstable).unwrap();
  ex.rename(&root(), &r, "a", &r, "b").unwrap();
  assert_eq!(ex.getattr(&b).unwrap_err().code(), "ESTALE", "the replaced file is gone");
  let found = ex.lookup(&root(), &r, "b").unwrap();
  assert_eq!(handle_of(&found), a, "handles survive renames");
  let l = ex.link(&root(), &a, &r, "hard").unwrap();
  assert_eq!(u32::from_le_bytes(l[4..8].try_into().unwrap()), 2, "nlink");
  let s = ex.symlink(&root(), &r, "sl", "../../etc/passwd", &SetAttrs::default()).unwrap();
  let sh = handle_of(&s);
  let rl = ex.readlink(&sh).unwrap();
  let n = u32::from_le_bytes(rl[0..4].try_into().unwrap()) as usize;
  assert_eq!(&rl[4..4 + n], b"../../etc/passwd");
  // A symlink is never followed by name calls.
  assert_eq!(ex.create(&root(), &r, "sl", &CreateHow::Unchecked(SetAttrs::default())).unwrap_err().code(), "EEXIST");
  let mut buf = [0u8; 4];
  assert_eq!(ex.read(&root(), &sh, 0, &mut buf).unwrap_err().code(), "EINVAL");
  let d = handle_of(&ex.mkdir(&root(), &r, "d", &SetAttrs::default()).unwrap());
  create(&ex, &root(), &d, "inner");
  assert_eq!(ex.rmdir(&root(), &r, "d").unwrap_err().code(), "ENOTEMPTY");
  ex.mknod(&root(), &r, "fifo", NodeType::Fifo, &SetAttrs::default(), (0, 0)).unwrap();
}

#[test]
fn permissions_are_the_kernels_for_the_caller() {
  let Some((d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  // The temp dir is root's 0700: a plain user may not create in it.
  assert_eq!(ex.create(&user(), &r, "u", &CreateHow::Guarded(SetAttrs::default())).unwrap_err().code(), "EACCES");
  std::fs::set_permissions(d.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
  let h = create(&ex, &user(), &r, "mine");
  let (_, _, _) = entry_attrs(&ex.lookup(&user(), &r, "mine").unwrap());
  let st = std::fs::metadata(d.path().join("mine")).unwrap();
  assert_eq!(std::os::unix::fs::MetadataExt::uid(&st), 4242);
  // root's 0600 file: the user may neither read nor write it.
  let secret = create(&ex, &root(), &r, "secret");
  ex.setattr(&root(), &secret, &SetAttrs { mode: Some(0o600), ..Default::default() }, None).unwrap();
  let mut buf = [0u8; 4];
  assert_eq!(ex.read(&user(), &secret, 0, &mut buf).unwrap_err().code(), "EACCES");
  assert_eq!(ex.write(&user(), &secret, 0, b"x", Stable::Unstable).unwrap_err().code(), "EACCES");
  let acc = ex.access(&user(), &secret, 0x3f).unwrap();
  assert_eq!(u32::from_le_bytes(acc[0..4].try_into().unwrap()), 0);
  // The owner writes their own 0444 file (knfsd's owner override).
  ex.setattr(&user(), &h, &SetAttrs { mode: Some(0o444), ..Default::default() }, None).unwrap();
  ex.write(&user(), &h, 0, b"ok", Stable::Unstable).unwrap();
  assert_eq!(ex.setattr(&user(), &secret, &SetAttrs { mode: Some(0o777), ..Default::default() }, None).unwrap_err().code(), "EPERM");
}

/// Names of a readdir record, with cookies; also returns (verifier, eof).
fn parse_readdir(rec: &[u8], plus: bool) -> (Vec<u8>, bool, Vec<(String, u64)>) {
  let verf = rec[0..8].to_vec();
  let eof = rec[8] == 1;
  let mut at = 9;
  if rec[at] == 1 {
    at += 1 + ATTRS_LEN;
  } else {
    at += 1;
  }
  let count = u32::from_le_bytes(rec[at..at + 4].try_into().unwrap());
  at += 4;
  let mut out = Vec::new();
  for _ in 0..count {
    let cookie = u64::from_le_bytes(rec[at + 8..at + 16].try_into().unwrap());
    let n = u32::from_le_bytes(rec[at + 16..at + 20].try_into().unwrap()) as usize;
    let name = String::from_utf8(rec[at + 20..at + 20 + n].to_vec()).unwrap();
    at += 20 + n;
    if plus {
      let has = rec[at] == 1;
      at += 1;
      if has {
        at += 1 + rec[at] as usize + ATTRS_LEN;
      }
    }
    out.push((name, cookie));
  }
  (verf, eof, out)
}

#[test]
fn readdir_pages_with_stable_cookies() {
  let Some((d, ex)) = setup() else { return };
  for i in 0..3000 {
    std::fs::write(d.path().join(format!("f{i:05}")), b"").unwrap();
  }
  let r = ex.root_handle().to_vec();
  for plus in [false, true] {
    let mut cookie = 0;
    let mut verf = vec![0u8; 8];
    let mut names = std::collections::HashSet::new();
    let mut calls = 0;
    loop {
      let rec = ex.readdir(&root(), &r, cookie, &verf, 128, plus).unwrap();
      let (v, eof, entries) = parse_readdir(&rec, plus);
      verf = v;
      for (n, c) in &entries {
        assert!(names.insert(n.clone()), "{n} listed twice");
        assert_ne!(*c, 0);
      }
      calls += 1;
      if eof {
        break;
      }
      cookie = entries.last().unwrap().1;
      if calls == 5 {
        // Changes between calls do not invalidate cookies.
        std::fs::write(d.path().join("zz-new"), b"").unwrap();
        std::fs::remove_file(d.path().join("zz-new")).unwrap();
      }
    }
    assert!(names.contains(".") && names.contains(".."));
    assert_eq!(names.len(), 3002, "plus={plus}");
    assert!(calls >= 3000 / 128);
  }
  assert_eq!(ex.readdir(&root(), &r, 5, &[1; 8], 10, false).unwrap_err().code(), "EBADCOOKIE");
}

/// A connected pair of non-blocking Unix stream sockets with small buffers.
fn small_socketpair() -> (OwnedFd, OwnedFd) {
  let mut fds = [0; 2];
  assert_eq!(unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) }, 0);
  let size: libc::c_int = 4096;
  for fd in fds {
    unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, (&size as *const libc::c_int).cast(), 4) };
  }
  unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn drain(fd: &OwnedFd) -> Vec<u8> {
  let mut out = Vec::new();
  let mut buf = [0u8; 65536];
  loop {
    let r = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if r <= 0 {
      return out;
    }
    out.extend_from_slice(&buf[..r as usize]);
  }
}

#[test]
fn send_read_sends_head_file_and_tail_and_spills_what_a_full_socket_refuses() {
  let Some((d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let h = create(&ex, &root(), &r, "f");
  let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
  std::fs::write(d.path().join("f"), &data).unwrap();
  // The plan: count cut at the end of the file, eof set.
  let plan = ex.try_read_plan(&root(), &h, 200_000, 1 << 20).unwrap().expect("cached");
  assert_eq!(u32::from_le_bytes(plan[0..4].try_into().unwrap()), 100_000);
  assert_eq!(plan[4], 1);
  let (a, b) = small_socketpair();
  let (head, tail) = (b"HEAD".to_vec(), b"TL".to_vec());
  let mut spill = vec![0u8; 4 + 100_000 + 2];
  let left = ex.send_read(&h, a.as_raw_fd(), &head, 200_000, 100_000, &tail, &mut spill).unwrap();
  assert!(left > 0 && left < spill.len(), "a 4 KiB socket buffer takes part, not all: {left}");
  let mut got = drain(&b);
  got.extend_from_slice(&spill[..left]);
  let mut want = head.clone();
  want.extend_from_slice(&data[200_000..]);
  want.extend_from_slice(&tail);
  assert!(got == want, "head, file bytes and tail arrive whole and in order");
  // A file that got shorter than the planned count: zeros keep the record whole.
  std::fs::write(d.path().join("f"), &data[..200_010]).unwrap();
  let mut spill = vec![1u8; 4 + 100 + 2];
  let left = ex.send_read(&h, a.as_raw_fd(), &head, 200_000, 100, &tail, &mut spill).unwrap();
  let mut got = drain(&b);
  got.extend_from_slice(&spill[..left]);
  let mut want = head.clone();
  want.extend_from_slice(&data[200_000..200_010]);
  want.extend_from_slice(&[0u8; 90]);
  want.extend_from_slice(&tail);
  assert!(got == want, "missing file bytes are sent as zeros");
  // A peer that is gone: an error, never a partial success.
  drop(b);
  let mut spill = vec![0u8; 4 + 100 + 2];
  assert_eq!(ex.send_read(&h, a.as_raw_fd(), &head, 0, 100, &tail, &mut spill).unwrap_err().errno, libc::EPIPE);
}

#[test]
fn flush_behind_follows_sequential_streams_only() {
  const M: u64 = 1 << 20;
  let mut s = Stream::default();
  // 1 MiB writes in order: writeback of the first 8 MiB starts with the 8th.
  for i in 0..7 {
    assert!(!s.due(7, i * M, M));
    assert_eq!(s.wrote(7, i * M, M), None, "write {i}");
  }
  assert!(s.due(7, 7 * M, M));
  assert_eq!(s.wrote(7, 7 * M, M), Some((0, 8 * M)));
  // Several in flight land out of order: still the stream; the next range
  // starts where the last one ended, even when a write lands below it.
  assert_eq!(s.wrote(7, 9 * M, M), None);
  assert_eq!(s.wrote(7, 8 * M, M), None);
  for i in 10..15 {
    assert_eq!(s.wrote(7, i * M, M), None, "write {i}");
  }
  assert_eq!(s.wrote(7, 15 * M, M), Some((8 * M, 8 * M)));
  // A write far from the head (a VM rewriting a block) starts a new stream:
  // random writes never add up to a flush.
  for i in 0..64u64 {
    let off = (i * 7919 % 997) * 64 * M;
    assert_eq!(s.wrote(7, off, 4096), None, "random write {i}");
  }
  // Another file sharing the stripe takes it over.
  assert_eq!(s.wrote(8, 0, 4 * M), None);
  assert_eq!(s.wrote(7, 16 * M, 4 * M), None);
  assert_eq!(s.wrote(7, 20 * M, 4 * M), Some((16 * M, 8 * M)));
}

/// Dirty and under-writeback pages of a file (cachestat, Linux 6.5), or
/// None where the kernel lacks it.
fn dirty_pages(fd: RawFd) -> Option<(u64, u64)> {
  #[repr(C)]
  struct Range {
    off: u64,
    len: u64,
  }
  #[repr(C)]
  #[derive(Default)]
  struct Cachestat {
    cache: u64,
    dirty: u64,
    writeback: u64,
    evicted: u64,
    recently_evicted: u64,
  }
  let range = Range { off: 0, len: 0 };
  let mut cs = Cachestat::default();
  // SAFETY: both structs as the kernel defines them (include/uapi/linux/mman.h).
  let r = unsafe { libc::syscall(451, fd, &range as *const Range, &mut cs as *mut Cachestat, 0) };
  (r == 0).then_some((cs.dirty, cs.writeback))
}

#[test]
fn flush_behind_starts_writeback_of_a_sequential_stream_and_not_of_random_writes() {
  let Some((_d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let block = vec![0x5au8; 1 << 20];
  let seq = create(&ex, &root(), &r, "seq");
  for i in 0..32u64 {
    ex.write(&root(), &seq, i << 20, &block, Stable::Unstable).unwrap();
  }
  let rnd = create(&ex, &root(), &r, "rnd");
  for i in 0..32u64 {
    ex.write(&root(), &rnd, (i * 13 % 32) * (64 << 20), &block, Stable::Unstable).unwrap();
  }
  let fd_of = |h: &[u8]| ex.reg(h).unwrap();
  let (so, ro) = (fd_of(&seq), fd_of(&rnd));
  let Some((rnd_dirty, _)) = dirty_pages(ro.fd.as_raw_fd()) else { return };
  // Nothing asked the kernel to write the random file (background writeback
  // waits for 10% of memory or 30 s): all of it is still dirty.
  assert_eq!(rnd_dirty, 32 * 256, "random writes: every page still dirty");
  // The sequential one: writeback of all but the last stream's range has been
  // started; it is dirty no more, or on its way to the disk.
  let (dirty, wb) = dirty_pages(so.fd.as_raw_fd()).unwrap();
  assert!(dirty <= 8 * 256, "sequential: {dirty} pages dirty, {wb} under writeback");
  // COMMIT still makes the rest durable.
  ex.commit(&seq).unwrap();
  assert_eq!(dirty_pages(so.fd.as_raw_fd()).unwrap(), (0, 0));
}

#[test]
fn a_closed_export_holds_no_fd_and_answers_stale() {
  let Some((d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let h = create(&ex, &root(), &r, "f");
  let dir_fds = || {
    std::fs::read_dir("/proc/self/fd")
      .unwrap()
      .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
      .filter(|p| p.starts_with(d.path()))
      .count()
  };
  assert!(dir_fds() > 0);
  ex.close();
  // Other tests run in parallel in this process: only fds under this test's directory count.
  assert_eq!(dir_fds(), 0, "fds under the export after close");
  assert_eq!(ex.getattr(&h).unwrap_err().code(), "ESTALE");
}

#[test]
fn send_read_of_nothing_is_not_held_back() {
  // A READ at the end of the file over TCP: the head alone. Sent with
  // MSG_MORE it sat in the kernel until the 200 ms cork timeout.
  let Some((_d, ex)) = setup() else { return };
  let r = ex.root_handle().to_vec();
  let h = create(&ex, &root(), &r, "f");
  let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
  let a = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
  let (b, _) = l.accept().unwrap();
  let head = b"HEAD-OF-AN-EMPTY-READ".to_vec();
  let mut spill = vec![0u8; head.len()];
  assert_eq!(ex.send_read(&h, a.as_raw_fd(), &head, 0, 0, &[], &mut spill).unwrap(), 0);
  let mut p = libc::pollfd { fd: b.as_raw_fd(), events: libc::POLLIN, revents: 0 };
  // SAFETY: one pollfd, ours.
  let n = unsafe { libc::poll(&mut p, 1, 100) };
  assert_eq!(n, 1, "the head is on its way at once, not after the cork timeout");
}
