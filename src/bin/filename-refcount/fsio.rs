//! Output: stdout that tolerates a closed pipe, and atomic file writes.

use crate::error::CliError;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Print `s` to stdout; a closed pipe (`| head`) ends the process quietly
/// instead of panicking.
pub fn print_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Write raw bytes to stdout.
pub fn write_stdout_bytes(b: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(b).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::plain(format!("cannot write to stdout: {e}"))),
    }
}

/// `OUT.tmp` beside `OUT`.
fn tmp_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    out.with_file_name(name)
}

/// Write `data` to `out` atomically: to `OUT.tmp` in the same directory,
/// then rename over `OUT`. On any failure the temporary file is removed
/// and `OUT` is left as it was.
pub fn write_atomic(out: &Path, data: &[u8]) -> Result<(), CliError> {
    let file = out.display().to_string();
    if out.file_name().is_none() {
        return Err(CliError::file(&file, "not a file name"));
    }
    let tmp = tmp_path(out);
    let mut created = false;
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        created = true;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, out)
    })();
    result.map_err(|e| {
        if created {
            let _ = std::fs::remove_file(&tmp);
        }
        CliError::file(&file, format!("cannot write: {e}"))
    })
}
