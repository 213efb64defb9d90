//! EAL's log, sent to stderr and remembered for error messages.
//!
//! Once initialised, DPDK on Linux writes its log to stdout (and syslog), where it would mix
//! with a program's own output, and when `rte_eal_init` rejects its arguments it prints
//! its whole usage text with `printf`. This module points DPDK's log stream at a
//! `fopencookie` stream of ours that copies every byte to stderr and keeps the last lines,
//! so that an initialisation or probe failure can quote what EAL said about it. Which
//! messages are logged at all stays the user's choice (`--log-level`).

use std::collections::VecDeque;
use std::ffi::{c_char, c_void};
use std::io::Write;
use std::sync::{Mutex, Once};

use crate::ffi;

/// How many recent lines are kept.
const KEEP: usize = 64;

struct Tail {
    /// The last complete lines, oldest first.
    lines: VecDeque<String>,
    /// How many complete lines have been logged in all.
    count: u64,
    /// Bytes after the last newline.
    partial: Vec<u8>,
}

static TAIL: Mutex<Tail> = Mutex::new(Tail {
    lines: VecDeque::new(),
    count: 0,
    partial: Vec::new(),
});
static INSTALL: Once = Once::new();

/// Appends `bytes` to the tail, splitting lines.
fn record(bytes: &[u8]) {
    let mut tail = TAIL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for &b in bytes {
        if b == b'\n' {
            let line = String::from_utf8_lossy(&tail.partial).trim_end().to_owned();
            tail.partial.clear();
            if tail.lines.len() == KEEP {
                tail.lines.pop_front();
            }
            tail.lines.push_back(line);
            tail.count += 1;
        } else if tail.partial.len() < 4096 {
            tail.partial.push(b);
        }
    }
}

/// The write callback of the cookie stream: copies to fd 2, then records.
unsafe extern "C" fn write_cookie(_cookie: *mut c_void, buf: *const c_char, size: usize) -> isize {
    if buf.is_null() || size == 0 {
        return 0;
    }
    // SAFETY: stdio calls this with `buf` pointing at `size` readable bytes of its buffer,
    // valid for the duration of the call.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), size) };
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: writing initialised bytes from a live slice to a file descriptor.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n > 0 {
            rest = &rest[n as usize..];
        } else if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            break; // stderr closed or failing: still record, and report the write as done
        }
    }
    record(bytes);
    size as isize
}

/// Points DPDK's log stream at the tee (once per process). Must run before `rte_eal_init`,
/// which otherwise installs its stdout stream as the default.
pub fn install() {
    INSTALL.call_once(|| {
        let funcs = ffi::CookieIoFunctions {
            read: None,
            write: Some(write_cookie),
            seek: None,
            close: None,
        };
        // SAFETY: the mode is a NUL-terminated literal, the cookie is unused (null), and the
        // callbacks are `extern "C"` functions valid for the whole process; glibc copies
        // `funcs`.
        let stream = unsafe { ffi::fopencookie(std::ptr::null_mut(), c"w".as_ptr(), funcs) };
        if stream.is_null() {
            return; // DPDK keeps its own stream: the log stays on stdout, nothing breaks
        }
        // SAFETY: `stream` is a valid FILE* that is never closed, so DPDK may keep and use
        // it for the rest of the process (rte_vlog flushes it after every message).
        unsafe { ffi::rte_openlog_stream(stream) };
    });
}

/// A position in the log, for [`since`].
pub fn mark() -> u64 {
    TAIL.lock().unwrap_or_else(|p| p.into_inner()).count
}

/// The non-empty lines logged after `mark` that are still kept (at most the last 64).
pub fn since(mark: u64) -> Vec<String> {
    let tail = TAIL.lock().unwrap_or_else(|p| p.into_inner());
    let new = (tail.count - mark).min(tail.lines.len() as u64) as usize;
    let skip = tail.lines.len() - new;
    tail.lines
        .iter()
        .skip(skip)
        .filter(|l| !l.trim().is_empty())
        .cloned()
        .collect()
}

/// Runs `f` with file descriptor 1 pointed at stderr, so that whatever EAL prints with
/// `printf` (its usage text on bad arguments) does not land on the program's stdout.
/// Other threads printing to stdout meanwhile go to stderr too; `rte_eal_init` is short.
pub fn with_stdout_on_stderr<R>(f: impl FnOnce() -> R) -> R {
    let _ = std::io::stdout().flush();
    // SAFETY: fflush(NULL) flushes every C stream; dup/dup2/close act on fds this function
    // owns (`saved`) or on the process's standard fds, restored before returning.
    let saved = unsafe {
        libc::fflush(std::ptr::null_mut());
        let saved = libc::dup(1);
        if saved >= 0 && libc::dup2(2, 1) < 0 {
            libc::close(saved);
            -1
        } else {
            saved
        }
    };
    let result = f();
    // SAFETY: as above; `saved` is the duplicate of the original fd 1 made above.
    unsafe {
        libc::fflush(std::ptr::null_mut());
        if saved >= 0 {
            libc::dup2(saved, 1);
            libc::close(saved);
        }
    }
    result
}
