//! Running a filesystem call as the NFS caller.
//!
//! Permission checks must be the kernel's, for the caller's AUTH_SYS
//! identity. The worker thread switches its *filesystem* identity only:
//! `setfsuid`/`setfsgid` and the supplementary groups, each through the raw
//! syscall. These are per-thread in the kernel; glibc's `setgroups` (and
//! `setuid` & co.) broadcast to every thread of the process, which would
//! hand the caller's identity to the event loop and to other requests.
//!
//! The switch lasts as long as an [`AsCaller`] guard; dropping it restores
//! the process's own identity, so a libuv worker never runs Node's own `fs`
//! work as a client. Changing fsuid from 0 to non-zero also clears the
//! filesystem capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_CHOWN,
//! CAP_FOWNER, CAP_MKNOD…) from the thread's effective set, and restoring
//! fsuid 0 gives them back (capabilities(7)): `open_by_handle_at` therefore
//! runs before entering the caller's identity.

use crate::errno::{OsError, OsResult};
use std::sync::OnceLock;

/// AUTH_SYS credentials after export squashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cred {
  pub uid: u32,
  pub gid: u32,
  pub gids: Vec<u32>,
}

impl Cred {
  pub fn root() -> Self {
    Cred { uid: 0, gid: 0, gids: Vec::new() }
  }
  pub fn is_root(&self) -> bool {
    self.uid == 0
  }
}

struct Own {
  uid: u32,
  gid: u32,
  groups: Vec<libc::gid_t>,
}

fn own() -> &'static Own {
  static OWN: OnceLock<Own> = OnceLock::new();
  OWN.get_or_init(|| {
    // SAFETY: plain syscalls filling a buffer we size from the first call.
    unsafe {
      let n = libc::getgroups(0, std::ptr::null_mut());
      let mut groups = vec![0 as libc::gid_t; n.max(0) as usize];
      let got = libc::getgroups(groups.len() as i32, groups.as_mut_ptr());
      groups.truncate(got.max(0) as usize);
      Own { uid: libc::geteuid(), gid: libc::getegid(), groups }
    }
  })
}

fn set_groups(groups: &[libc::gid_t]) -> OsResult<()> {
  // SAFETY: raw per-thread setgroups with a valid array of groups.len() ids.
  let rc = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
  if rc < 0 {
    return Err(OsError::last("setgroups"));
  }
  Ok(())
}

fn set_fsuid(uid: u32) -> OsResult<()> {
  // SAFETY: setfsuid takes an id and returns the previous one; -1 only queries.
  unsafe {
    libc::syscall(libc::SYS_setfsuid, uid as libc::c_long);
    if libc::syscall(libc::SYS_setfsuid, -1 as libc::c_long) as u32 != uid {
      return Err(OsError::new(libc::EPERM, format!("setfsuid {uid}")));
    }
  }
  Ok(())
}

fn set_fsgid(gid: u32) -> OsResult<()> {
  // SAFETY: as set_fsuid.
  unsafe {
    libc::syscall(libc::SYS_setfsgid, gid as libc::c_long);
    if libc::syscall(libc::SYS_setfsgid, -1 as libc::c_long) as u32 != gid {
      return Err(OsError::new(libc::EPERM, format!("setfsgid {gid}")));
    }
  }
  Ok(())
}

/// While alive, this thread's filesystem calls run as the caller.
#[must_use]
pub struct AsCaller {
  switched: bool,
}

impl AsCaller {
  /// Switches this thread to `cred`. A caller who is the process's own
  /// identity (root with gid 0, for a root-run server) needs no switch.
  pub fn enter(cred: &Cred) -> OsResult<AsCaller> {
    let me = own();
    if cred.uid == me.uid && cred.gid == me.gid {
      return Ok(AsCaller { switched: false });
    }
    let mut guard = AsCaller { switched: true };
    // Groups and gid first: once fsuid is not 0 the thread may lack the right.
    if let Err(e) = set_groups(&cred.gids).and_then(|_| set_fsgid(cred.gid)).and_then(|_| set_fsuid(cred.uid)) {
      guard.restore();
      guard.switched = false;
      return Err(e);
    }
    Ok(guard)
  }

  fn restore(&self) {
    let me = own();
    // Restoring our own ids cannot fail for the process that had them; if it
    // ever did, continuing as someone else would be worse than stopping.
    if set_fsuid(me.uid).and_then(|_| set_fsgid(me.gid)).and_then(|_| set_groups(&me.groups)).is_err() {
      eprintln!("cairn-native: cannot restore the worker thread's identity; aborting");
      std::process::abort();
    }
  }
}

impl Drop for AsCaller {
  fn drop(&mut self) {
    if self.switched {
      self.restore();
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn fsuid() -> u32 {
    unsafe { libc::syscall(libc::SYS_setfsuid, -1 as libc::c_long) as u32 }
  }

  #[test]
  fn switches_this_thread_only_and_restores() {
    if unsafe { libc::geteuid() } != 0 {
      return;
    }
    let cred = Cred { uid: 4242, gid: 4343, gids: vec![4444, 4545] };
    let other = std::thread::spawn(|| {
      std::thread::sleep(std::time::Duration::from_millis(50));
      fsuid()
    });
    {
      let _g = AsCaller::enter(&cred).unwrap();
      assert_eq!(fsuid(), 4242);
      let mut groups = [0 as libc::gid_t; 8];
      let n = unsafe { libc::syscall(libc::SYS_getgroups, 8, groups.as_mut_ptr()) } as usize;
      assert_eq!(&groups[..n], &[4444, 4545]);
      assert_eq!(other.join().unwrap(), 0, "another thread kept its identity");
    }
    assert_eq!(fsuid(), 0);
  }
}
