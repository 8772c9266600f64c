//! A function's `bootstrap` binary started the way Lambda starts it: exactly the
//! environment given (nothing inherited), no stdin, its output kept where the caller
//! asks; killed when dropped. The one starter behind the hard-kill harness, the bench's
//! cold starts and the tests that run the real binaries.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where a started binary's stdout and stderr go.
#[derive(Debug, Clone)]
pub enum Output {
    /// Nowhere (the hard-kill harness reads the Runtime API, not the logs).
    Discarded,
    /// Kept in memory, line by line, for assertions on the log lines.
    Collected,
    /// Written to `<stem>.stdout` and `<stem>.stderr` (large runs, read afterwards).
    Files(PathBuf),
}

/// Where one stream went.
enum Sink {
    Discarded,
    Lines(Arc<Mutex<Vec<String>>>),
    File(PathBuf),
}

impl Sink {
    fn lines(&self) -> Vec<String> {
        match self {
            Self::Discarded => Vec::new(),
            Self::Lines(lines) => lines.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            Self::File(path) => std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// A running function binary; killed (and reaped) when dropped.
pub struct Bootstrap {
    child: Child,
    spawned: Instant,
    stdout: Sink,
    stderr: Sink,
}

impl Bootstrap {
    /// Starts `binary` with exactly `environment`.
    pub fn spawn(
        binary: &Path,
        environment: &BTreeMap<String, String>,
        output: Output,
    ) -> std::io::Result<Self> {
        let mut command = Command::new(binary);
        command.env_clear().envs(environment).stdin(Stdio::null());
        match &output {
            Output::Discarded => command.stdout(Stdio::null()).stderr(Stdio::null()),
            Output::Collected => command.stdout(Stdio::piped()).stderr(Stdio::piped()),
            Output::Files(stem) => command
                .stdout(std::fs::File::create(stem.with_extension("stdout"))?)
                .stderr(std::fs::File::create(stem.with_extension("stderr"))?),
        };
        let spawned = Instant::now();
        let mut child = command.spawn()?;
        let (stdout, stderr) = match output {
            Output::Discarded => (Sink::Discarded, Sink::Discarded),
            Output::Collected => (
                collect_lines(child.stdout.take()),
                collect_lines(child.stderr.take()),
            ),
            Output::Files(stem) => (
                Sink::File(stem.with_extension("stdout")),
                Sink::File(stem.with_extension("stderr")),
            ),
        };
        Ok(Self {
            child,
            spawned,
            stdout,
            stderr,
        })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// When the process was started.
    pub fn spawned(&self) -> Instant {
        self.spawned
    }

    /// The exit status, once the process has ended; `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The lines written so far to stdout and to stderr.
    pub fn lines(&self) -> (Vec<String>, Vec<String>) {
        (self.stdout.lines(), self.stderr.lines())
    }

    /// Everything written so far, both streams, for an error message.
    pub fn output(&self) -> String {
        self.tail(usize::MAX)
    }

    /// The last `count` lines of each stream, for an error message.
    pub fn tail(&self, count: usize) -> String {
        let (stdout, stderr) = self.lines();
        let last = |lines: &[String]| lines[lines.len().saturating_sub(count)..].join("\n  ");
        format!("stdout:\n  {}\nstderr:\n  {}", last(&stdout), last(&stderr))
    }
}

impl Drop for Bootstrap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a pipe line by line on a thread of its own, so a chatty binary never blocks.
fn collect_lines(pipe: Option<impl Read + Send + 'static>) -> Sink {
    let lines = Arc::new(Mutex::new(Vec::new()));
    if let Some(pipe) = pipe {
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
    }
    Sink::Lines(lines)
}
