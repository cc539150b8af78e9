//! (Placeholder: being written.)

use std::io;

use super::sink::Sink;
use super::Context;

pub fn collect(_ctx: &mut Context, _sink: &mut dyn Sink) -> io::Result<()> {
    Ok(())
}
