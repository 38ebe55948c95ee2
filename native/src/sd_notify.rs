//! The systemd notify protocol (sd_notify(3)): one datagram of `KEY=VALUE`
//! lines to the AF_UNIX socket named by `$NOTIFY_SOCKET`. A name starting
//! with `@` is in the abstract namespace. Without `$NOTIFY_SOCKET` (not run
//! by systemd, or not `Type=notify`) notifying is a no-op.

use crate::errno::{OsError, OsResult};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Where a notification goes, parsed from `$NOTIFY_SOCKET`.
#[derive(Debug, PartialEq, Eq)]
pub enum NotifyTarget {
  Path(String),
  Abstract(Vec<u8>),
}

pub fn parse_target(socket: &str) -> OsResult<NotifyTarget> {
  if socket.is_empty() {
    return Err(OsError::new(libc::EINVAL, "NOTIFY_SOCKET is empty"));
  }
  if let Some(name) = socket.strip_prefix('@') {
    return Ok(NotifyTarget::Abstract(name.as_bytes().to_vec()));
  }
  if socket.starts_with('/') {
    return Ok(NotifyTarget::Path(socket.to_string()));
  }
  // systemd also knows vsock: addresses; Cairn never runs under those.
  Err(OsError::new(libc::EAFNOSUPPORT, format!("NOTIFY_SOCKET {socket:?} is neither a path nor an abstract name")))
}

/// Sends `state` to `socket`; returns the number of bytes sent.
pub fn notify_to(socket: &str, state: &str) -> OsResult<usize> {
  let target = parse_target(socket)?;
  let addr = match &target {
    NotifyTarget::Path(p) => SocketAddr::from_pathname(p),
    NotifyTarget::Abstract(name) => SocketAddr::from_abstract_name(name),
  }
  .map_err(|e| OsError::new(e.raw_os_error().unwrap_or(libc::EINVAL), format!("address {socket}")))?;
  let sock = UnixDatagram::unbound().map_err(|e| io_err(e, "socket"))?;
  // A full notify queue must never block the event loop.
  sock.set_nonblocking(true).map_err(|e| io_err(e, "set_nonblocking"))?;
  sock.send_to_addr(state.as_bytes(), &addr).map_err(|e| io_err(e, &format!("sendto {socket}")))
}

/// `sd_notify(0, state)`: Ok(false) when `$NOTIFY_SOCKET` is unset.
pub fn notify(state: &str) -> OsResult<bool> {
  match std::env::var("NOTIFY_SOCKET") {
    Ok(socket) => notify_to(&socket, state).map(|_| true),
    Err(_) => Ok(false),
  }
}

fn io_err(e: std::io::Error, context: &str) -> OsError {
  OsError::new(e.raw_os_error().unwrap_or(libc::EIO), context)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn parses_targets() {
    assert_eq!(parse_target("/run/systemd/notify").unwrap(), NotifyTarget::Path("/run/systemd/notify".into()));
    assert_eq!(parse_target("@abc").unwrap(), NotifyTarget::Abstract(b"abc".to_vec()));
    assert_eq!(parse_target("").unwrap_err().errno, libc::EINVAL);
    assert_eq!(parse_target("vsock:2:3").unwrap_err().errno, libc::EAFNOSUPPORT);
  }

  #[test]
  fn sends_to_a_path_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let rx = UnixDatagram::bind(&path).unwrap();
    let n = notify_to(path.to_str().unwrap(), "READY=1\nSTATUS=up").unwrap();
    assert_eq!(n, 17);
    let mut buf = [0u8; 64];
    let got = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..got], b"READY=1\nSTATUS=up");
  }

  #[test]
  fn sends_to_an_abstract_socket() {
    let name = format!("cairn-test-{}", std::process::id());
    let rx = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    notify_to(&format!("@{name}"), "WATCHDOG=1").unwrap();
    let mut buf = [0u8; 64];
    let got = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..got], b"WATCHDOG=1");
  }

  #[test]
  fn missing_socket_is_an_error_with_errno() {
    let err = notify_to("/nonexistent/cairn/notify", "READY=1").unwrap_err();
    assert_eq!(err.code(), "ENOENT");
  }
}
