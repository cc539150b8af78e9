//! Reading a system: the live one, or the tree of one under `--root` (a mounted firmware image,
//! a container, a fixture). The inventory's collectors and the agent both read through here.

pub mod os;
pub mod root;
pub mod tz;

pub use root::{LineReader, Root};
