//! Identity: browser sessions and API tokens. Only hashes of their secrets are stored.

mod sessions;
mod tokens;

pub use sessions::*;
pub use tokens::*;
