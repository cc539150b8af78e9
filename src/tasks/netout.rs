//! Where the network tasks' messages go: frames on stdout for the agent, which sends each to
//! its server as it arrives; plain documents on stdout or in a file for people and the
//! injector; or one file per message in a directory, in the order the injector sends them.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use crate::core::frame::write_frame;

/// Where messages go.
pub enum Sink {
    /// Frames on stdout, for the agent.
    Frames(io::Stdout),
    /// Documents one after another (stdout or a file).
    Plain(Box<dyn Write + Send>),
    /// One file per message in a directory: `0001-start.xml`, `0003-device-10.0.0.5.xml`…
    Dir { dir: PathBuf, n: usize },
}

impl Sink {
    /// `--output`: a directory that exists takes one file per message; anything else is a
    /// file; none is stdout.
    pub fn open(output: Option<&str>, frames: bool) -> io::Result<Sink> {
        if frames {
            return Ok(Sink::Frames(io::stdout()));
        }
        match output {
            None | Some("-") => Ok(Sink::Plain(Box::new(io::stdout()))),
            Some(p) if std::path::Path::new(p).is_dir() => Ok(Sink::Dir {
                dir: PathBuf::from(p),
                n: 0,
            }),
            Some(p) => Ok(Sink::Plain(Box::new(io::BufWriter::new(File::create(p)?)))),
        }
    }

    pub fn send(&mut self, label: &str, msg: &[u8]) -> io::Result<()> {
        match self {
            Sink::Frames(out) => write_frame(&mut out.lock(), msg),
            Sink::Plain(w) => {
                w.write_all(msg)?;
                w.flush()
            }
            Sink::Dir { dir, n } => {
                *n += 1;
                let path = dir.join(format!("{:04}-{label}.xml", n));
                crate::state::write_atomic(&path, msg)
            }
        }
    }
}
