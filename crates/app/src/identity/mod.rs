//! Who someone is: signing in and out, sessions, passwords and personal API tokens.

mod passwords;
mod secrets;
mod sessions;
mod throttle;
mod tokens;

pub use passwords::PasswordHasher;
pub use secrets::TOKEN_PREFIX;
pub(crate) use secrets::{hash_secret, new_api_token, new_secret, one_time_password};
pub use sessions::{ChangePassword, Me, SignIn, SignedIn};
pub use throttle::{SignInThrottle, ThrottlePolicy};
pub use tokens::{CreateToken, CreatedToken};

use crate::App;

/// The use cases of identity: sessions, passwords, tokens.
#[derive(Clone, Copy)]
pub struct Identity<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn identity(&self) -> Identity<'_> {
        Identity { app: self }
    }
}
