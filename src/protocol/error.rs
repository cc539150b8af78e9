//! How a conversation with a server fails, sorted the way a run needs it: the server could
//! not be reached (try again later, keep the inventory), or it answered with an error.

use std::fmt;

use crate::http::HttpError;

#[derive(Debug)]
pub enum CommError {
    /// Connection refused, reset, timed out, DNS failure, TLS failure: nothing was decided.
    Unreachable(String),
    /// The server answered, but with an error or something that is not a valid reply.
    Refused(String),
}

impl fmt::Display for CommError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            CommError::Unreachable(e) | CommError::Refused(e) => f.write_str(e),
        }
    }
}

/// The class of an HTTP client error.
pub fn from_http(e: HttpError) -> CommError {
    match e {
        HttpError::Protocol { .. }
        | HttpError::BodyTooLarge { .. }
        | HttpError::Unauthorized { .. } => CommError::Refused(e.to_string()),
        _ => CommError::Unreachable(e.to_string()),
    }
}
