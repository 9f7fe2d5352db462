//! Access: ranks and presets, printer access grants, tri-state overrides, and the
//! authorization facts with the version that tells caches and units of work when they changed.

mod facts;
mod grants;
mod overrides;
mod presets;
pub(crate) mod ranks;

pub use facts::*;
pub use grants::*;
pub use overrides::*;
pub use presets::*;
pub use ranks::*;
