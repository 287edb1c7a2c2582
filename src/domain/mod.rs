//! Values with rules. Each type can only hold a valid value (parse, don't
//! validate), and each limit is one constant that both the validators and
//! the OpenAPI document read.

pub mod email;
pub mod limits;
pub mod slug;
pub mod username;

pub use email::Email;
pub use slug::Slug;
pub use username::Username;
