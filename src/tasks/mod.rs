//! Tasks: the agent's features. Each one runs on its own (a launcher, or a child process of the
//! agent with a time limit) so that the resident part stays small.

pub mod inventory;
